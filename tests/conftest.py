"""Test-wide settings."""

from __future__ import annotations

import os

from hypothesis import settings

# CI replays the same examples every run (a red CI then always means a real regression);
# local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
