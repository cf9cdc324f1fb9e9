"""Driver signals: SIGTERM handled like Ctrl-C while a study runs, and both held back while a
backend updates its model.

>>> with termination_handled():
...     pass  # inside: SIGTERM raises Terminated (a KeyboardInterrupt) in the main thread
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Terminated", "interrupts_deferred", "pass_on_termination", "termination_handled"]


class Terminated(KeyboardInterrupt):
    """SIGTERM reached the driver while a study ran. A KeyboardInterrupt, so everything that
    stops cleanly on Ctrl-C stops cleanly on SIGTERM too."""

    def __init__(self, previous: Any = signal.SIG_DFL):
        super().__init__("terminated (SIGTERM)")
        self.previous = previous


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class _OurHandler:
    """The SIGTERM handler installed by :func:`termination_handled` (recognisable by type)."""

    def __init__(self, previous: Any):
        self.previous = previous

    def __call__(self, signum: int, frame: Any) -> None:
        raise Terminated(self.previous)


@contextlib.contextmanager
def termination_handled() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` in the main thread; the previous
    handler is put back afterwards. Outside the main thread, or when SIGTERM is ignored
    (``SIG_IGN``) or already handled by us, nothing changes."""
    if not _main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN or isinstance(previous, _OurHandler) or previous is None:
        yield
        return
    signal.signal(signal.SIGTERM, _OurHandler(previous))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def pass_on_termination(exc: Terminated) -> None:
    """After a study stopped on SIGTERM and put everything away, do what the handler in place
    before the study would have done: call it, or (the default action) exit with status 143,
    the shell's code for a process ended by SIGTERM, through ``SystemExit`` so that ``finally``
    blocks and atexit hooks still run."""
    previous = exc.previous
    if callable(previous) and not isinstance(previous, _OurHandler):
        previous(signal.SIGTERM, None)
        return
    if previous == signal.SIG_IGN:
        return
    raise SystemExit(128 + signal.SIGTERM)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and a handled SIGTERM back until the block ends, then raise them.

    Used around a backend's ask and tell so that an interrupt never leaves a library halfway
    through updating its model. Only the main thread receives signals; elsewhere this does
    nothing, and SIGINT is only held when its handler is Python's default.
    """
    if not _main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)

    saved: dict[int, Callable[..., Any]] = {}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        saved[signal.SIGINT] = signal.default_int_handler
    term = signal.getsignal(signal.SIGTERM)
    if isinstance(term, _OurHandler):
        saved[signal.SIGTERM] = term
    if not saved:
        yield
        return
    for signum in saved:
        signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    if signal.SIGTERM in caught:
        raise Terminated(saved[signal.SIGTERM].previous)
    if caught:
        raise KeyboardInterrupt
