"""scikit-learn integration: :class:`SearchCV`, a ``GridSearchCV`` that runs on any unitune backend.

Needs scikit-learn: ``pip install 'unitune[sklearn]'``. Importing :mod:`unitune` alone never
imports scikit-learn; only importing this package does.
"""

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn installed
    raise ImportError(
        "unitune.sklearn needs scikit-learn and scipy: pip install 'unitune[sklearn]'"
    ) from exc

from unitune.sklearn.params import ParamSpace, to_param_space
from unitune.sklearn.search import SearchCV

__all__ = ["ParamSpace", "SearchCV", "to_param_space"]
