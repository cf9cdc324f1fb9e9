"""Bridges to tools users already have: Optuna storage (dashboards, plots) and MLflow tracking.

Each module imports its library only when used; see docs/tracking.md.
"""

__all__: list[str] = []
