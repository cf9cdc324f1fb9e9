"""Driver signals: SIGTERM handled like Ctrl-C while a study runs, and both held back while a
backend updates its model.

>>> with termination_handled():
...     pass  # inside: SIGTERM raises Terminated (a KeyboardInterrupt) in the main thread
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from threading import get_ident
from typing import Any

from unitune.errors import SearchExhausted

__all__ = ["Terminated", "interrupts_deferred", "pass_on_termination", "termination_handled"]

logger = logging.getLogger("unitune")


class Terminated(KeyboardInterrupt):
    """SIGTERM reached the driver while a study ran. A KeyboardInterrupt, so everything that
    stops cleanly on Ctrl-C stops cleanly on SIGTERM too."""

    def __init__(self, previous: Any = signal.SIG_DFL):
        super().__init__("terminated (SIGTERM)")
        self.previous = previous


_MAIN_IDENT = threading.main_thread().ident


def _main_thread() -> bool:
    return threading.get_ident() == _MAIN_IDENT


class _HeldState:
    """Signals that arrived while a backend was updating its model (the main thread only).

    One instance, :data:`_Held`, not class attributes: writing a class attribute (the depth,
    twice a block) invalidates the interpreter's caches for the class, and each read after it
    looks the name up again through the type (~30 such misses a trial, measured with
    callgrind: docs/backends.md#adapter-overhead).
    """

    __slots__ = ("depth", "installed", "replaced", "signals")

    def __init__(self) -> None:
        self.depth = 0
        self.installed = False  # True while termination_handled's handlers are in place
        self.signals: list[int] = []
        self.replaced: dict[int, Any] = {}  # signal -> the handler termination_handled put aside


_Held = _HeldState()


def _after_fork_in_child() -> None:
    """A process forked while a study runs (a worker a user's ProcessPoolExecutor starts at
    its first task, say) is not the driver: it gets the handlers the driver had before the
    study, so that SIGTERM ends it as it would have without unitune."""
    replaced, _Held.replaced = _Held.replaced, {}
    _Held.depth, _Held.installed, _Held.signals = 0, False, []
    for signum, handler in replaced.items():
        try:
            signal.signal(signum, handler)
        except (ValueError, OSError) as exc:  # not the child's main thread: nothing to put back
            logger.debug("could not restore handler of signal %d after fork: %s", signum, exc)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _OurHandler:
    """The SIGTERM handler installed by :func:`termination_handled` (recognisable by type)."""

    def __init__(self, previous: Any):
        self.previous = previous

    def __call__(self, signum: int, frame: Any) -> None:
        if _Held.depth:
            _Held.signals.append(signum)
            return
        raise Terminated(self.previous)


def _interrupt(signum: int, frame: Any) -> None:
    """Python's own Ctrl-C behaviour, except while a backend updates its model."""
    if _Held.depth:
        _Held.signals.append(signum)
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def termination_handled() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` and Ctrl-C KeyboardInterrupt in
    the main thread, except inside :func:`interrupts_deferred`, where both wait for the block's
    end. The previous handlers are put back afterwards. Outside the main thread, nothing
    changes; SIGTERM is left alone when ignored (``SIG_IGN``) and SIGINT unless its handler is
    Python's default. A process forked inside the block starts with the previous handlers."""
    if not _main_thread():
        yield
        return
    installed: dict[int, Any] = {}
    previous = signal.getsignal(signal.SIGTERM)
    if not (previous == signal.SIG_IGN or isinstance(previous, _OurHandler) or previous is None):
        installed[signal.SIGTERM] = previous
        signal.signal(signal.SIGTERM, _OurHandler(previous))
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        installed[signal.SIGINT] = signal.default_int_handler
        signal.signal(signal.SIGINT, _interrupt)
    outer, _Held.installed = _Held.installed, bool(installed) or _Held.installed
    outer_replaced, _Held.replaced = _Held.replaced, {**installed, **_Held.replaced}
    try:
        yield
    finally:
        _Held.installed, _Held.replaced = outer, outer_replaced
        for signum, handler in installed.items():
            signal.signal(signum, handler)


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


def interrupts_deferred() -> Any:
    """Hold Ctrl-C (SIGINT) and a handled SIGTERM back until the block ends, then raise them.

    Used around a backend's ask and tell so that an interrupt never leaves a library halfway
    through updating its model (``with interrupts_deferred(): ...``). Inside
    :func:`termination_handled` (a running ``optimize``) this is a counter; elsewhere (a
    hand-driven ask/tell) a holding handler is installed for the block. Only the main thread
    receives signals; elsewhere this does nothing, and SIGINT is only held when its handler is
    Python's default (or ours). Held signals are raised when the block ends normally, or with
    SearchExhausted (a backend out of candidates: no error to hide, and the study ends there);
    if it raises anything else, they wait for the next block to end.

    (The two common cases return a shared, stateless block: a study enters one around every ask
    and tell, and a new object a trial costs more than the call, cold, between a library's
    work. The hand-driven case gets a fresh :class:`_HoldingBlock`.)
    """
    if get_ident() != _MAIN_IDENT:
        return _NOTHING_HELD
    if _Held.installed:
        return _COUNTED
    return _HoldingBlock()


def _ended_plainly(exc_type: Any) -> bool:
    """A block that raised nothing, or SearchExhausted: what it held is raised at its end."""
    return exc_type is None or issubclass(exc_type, SearchExhausted)


def _raise_held(term: Any) -> None:
    """Raise what arrived while blocks were held (SIGTERM first), the list emptied."""
    held, _Held.signals = _Held.signals, []
    if term is None:
        term = signal.getsignal(signal.SIGTERM)
    if signal.SIGTERM in held and isinstance(term, _OurHandler):
        raise Terminated(term.previous)
    raise KeyboardInterrupt


class _NothingHeld:
    """Outside the main thread: signals never arrive here, nothing to hold."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        return False


class _Counted:
    """In the main thread inside :func:`termination_handled`: its handlers hold what arrives
    while the depth is above zero."""

    __slots__ = ()

    def __enter__(self) -> None:
        _Held.depth += 1

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        _Held.depth -= 1
        if _Held.signals and _Held.depth == 0 and _ended_plainly(exc_type):
            _raise_held(None)
        return False


_NOTHING_HELD, _COUNTED = _NothingHeld(), _Counted()


class _HoldingBlock:
    """A hand-driven ask/tell in the main thread: a holding SIGINT handler for the block, unless
    the handler in place is not Python's default (then SIGINT is left alone)."""

    __slots__ = ("_active", "_saved", "_term")

    def __enter__(self) -> None:
        self._active, self._saved = False, None
        term = self._term = signal.getsignal(signal.SIGTERM)
        ours = signal.getsignal(signal.SIGINT) is _interrupt or isinstance(term, _OurHandler)
        if not ours:  # hold Ctrl-C with a handler of the block's own
            if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
                return
            self._saved = signal.default_int_handler
            signal.signal(signal.SIGINT, _interrupt)
        self._active = True
        _Held.depth += 1

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if not self._active:
            return False
        _Held.depth -= 1
        if self._saved is not None:
            signal.signal(signal.SIGINT, self._saved)
        if _Held.signals and _Held.depth == 0 and _ended_plainly(exc_type):
            _raise_held(self._term)
        return False
