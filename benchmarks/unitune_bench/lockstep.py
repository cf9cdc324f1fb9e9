"""Two optimization loops timed in lockstep, trial by trial: a comparison the machine's noise cannot tilt.

Timing one loop, then the other, on a shared machine compares two different stretches of time:
runs of the very same work scatter by 10-20 % here (other tenants of the host, cache state).
:func:`run_lockstep` runs the two loops in two threads that take turns at every objective call,
so each side's trial runs next to the other side's, a few milliseconds apart: whatever slows the
machine slows both. Each side's cost is its thread's CPU time (``time.thread_time``); a side
waiting for its turn blocks on a condition and uses none.

Running in the main thread or in a second thread is not neutral (measured: the same loop costs
about 5 % more in the main thread, through the allocator's arenas and the stack). :func:`crossover`
therefore runs each pair twice, once in each orientation, and combines the two ratios by their
geometric mean, in which the thread's share cancels.

A loop is a callable taking the objective to use and returning what it proposed; it must call
that objective once per trial, in its calling thread (every native loop and ``unitune.optimize``
with inline execution do).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

__all__ = ["Crossover", "Side", "crossover", "run_lockstep"]

Objective = Callable[[dict[str, Any]], Any]
Loop = Callable[[Objective], Any]


@dataclass(frozen=True)
class Side:
    """One loop's run: its thread's CPU seconds and what the loop returned."""

    cpu_seconds: float
    result: Any


class _Baton:
    """Two sides (0 and 1) take turns; a finished side gives up its turns for good."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._turn = 0
        self._finished = [False, False]

    def _wait(self, side: int) -> None:
        while self._turn != side and not self._finished[1 - side]:
            self._cond.wait()

    def wait(self, side: int) -> None:
        """Block until it is ``side``'s turn (or the other side has finished)."""
        with self._cond:
            self._wait(side)

    def hand_over(self, side: int) -> None:
        """Give the turn to the other side and wait for it to come back."""
        with self._cond:
            self._turn = 1 - side
            self._cond.notify_all()
            self._wait(side)

    def finish(self, side: int) -> None:
        """``side`` is done: the other side runs on alone."""
        with self._cond:
            self._finished[side] = True
            self._turn = 1 - side
            self._cond.notify_all()


def run_lockstep(objective: Objective, in_thread: Loop, in_main: Loop) -> tuple[Side, Side]:
    """Run ``in_thread`` in a new thread and ``in_main`` in the calling one, alternating at every
    call of ``objective`` (``in_thread`` starts); returns their :class:`Side` in that order.

    An exception raised by either loop is raised here once both have ended (the other loop
    finishes alone).
    """
    baton = _Baton()
    sides: list[Side | None] = [None, None]
    errors: list[BaseException] = []

    def run(side: int, loop: Loop) -> None:
        def handing_over(params: dict[str, Any]) -> Any:
            value = objective(params)
            baton.hand_over(side)
            return value

        baton.wait(side)
        try:
            start = time.thread_time()
            result = loop(handing_over)
            sides[side] = Side(time.thread_time() - start, result)
        except BaseException as exc:  # re-raised in the calling thread below
            errors.append(exc)
        finally:
            baton.finish(side)

    worker = threading.Thread(target=run, args=(0, in_thread), name="unitune-lockstep", daemon=True)
    worker.start()
    run(1, in_main)
    worker.join()
    if errors:
        raise errors[0]
    return cast(Side, sides[0]), cast(Side, sides[1])  # no error: both loops ran to their end


@dataclass(frozen=True)
class Crossover:
    """Both orientations of one pair of loops ``a`` and ``b``."""

    a: tuple[Side, Side]  # a's runs: in the thread, in the main thread
    b: tuple[Side, Side]  # b's runs: in the main thread, in the thread

    @property
    def ratio(self) -> float:
        """b's cost over a's, the thread's share cancelled (geometric mean of both orientations)."""
        (a_thread, a_main), (b_main, b_thread) = self.a, self.b
        b_over_a = (b_main.cpu_seconds / a_thread.cpu_seconds) * (b_thread.cpu_seconds / a_main.cpu_seconds)
        return math.sqrt(b_over_a)

    @property
    def main_thread_ratios(self) -> tuple[float, float]:
        """b/a with b in the main thread, then with b in the new thread: how far the thread alone tilts."""
        (a_thread, a_main), (b_main, b_thread) = self.a, self.b
        return b_main.cpu_seconds / a_thread.cpu_seconds, b_thread.cpu_seconds / a_main.cpu_seconds


def crossover(objective: Objective, a: Loop, b: Loop, between: Callable[[], Any] | None = None) -> Crossover:
    """:func:`run_lockstep` twice: ``a`` in the new thread and ``b`` in the main one, then the other
    way round; ``between`` (e.g. ``gc.collect``) runs before each."""
    if between is not None:
        between()
    a_thread, b_main = run_lockstep(objective, a, b)
    if between is not None:
        between()
    b_thread, a_main = run_lockstep(objective, b, a)
    return Crossover(a=(a_thread, a_main), b=(b_main, b_thread))
