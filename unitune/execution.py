"""Where objectives run: any ``concurrent.futures.Executor``; inline by default.

``InlineExecutor`` runs each call at submission, in the calling thread, so the study loop has
one code path whether trials run inline, in local processes or on a Dask cluster
(``client.get_executor(pure=False)``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

__all__ = ["InlineExecutor"]


class InlineExecutor(Executor):
    """Run ``fn(*args)`` immediately and return an already finished Future."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future
