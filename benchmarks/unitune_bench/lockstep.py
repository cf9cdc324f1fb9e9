"""Two optimization loops timed in lockstep, trial by trial: a comparison the machine's noise cannot tilt.

Timing one loop, then the other, on a shared machine compares two different stretches of time:
runs of the very same work scatter by 10-20 % here (other tenants of the host, cache state).
:func:`run_lockstep` runs the two loops in two threads that take turns at every objective call,
so each side's trial runs next to the other side's, a few milliseconds apart: whatever slows the
machine slows both. Each side's cost is its thread's CPU time (``time.thread_time``); a side
waiting for its turn blocks on a semaphore and uses none.

Running in the main thread or in a second thread is not neutral (measured: the same loop costs
about 5 % more in the main thread, through the allocator's arenas and the stack). :func:`crossover`
therefore runs each pair twice, once in each orientation, and combines the two ratios by their
geometric mean, in which the thread's share cancels.

A loop is a callable taking the objective to use and returning what it proposed; it must call
that objective once per trial, in its calling thread (every native loop and ``unitune.optimize``
with inline execution do).

Two threads of one process share one cyclic garbage collector: a full collection walks both
sides' heaps and is paid by whichever side's allocation triggers it (measured with Nevergrad's
PSO: one such collection per run, 20-35 ms, 2-3 % of a side, on unitune's side in 8 runs of 8);
callers hold full collections back while the sides run (``adapter_overhead.py`` does; pausing
the collector altogether lets cyclic garbage pile up instead). Threads also leave out the CPU
time of a library's own helper threads.
:func:`run_lockstep_processes` runs each side in its own process instead, with its own heap and
collector, costed by its process's CPU time (every thread of it), still taking turns at every
objective call. Two processes lay out memory differently, though: the same loop against itself
scatters by about +-5 % a run there, +-0.5 % in two threads.
"""

from __future__ import annotations

import contextlib
import gc
import math
import multiprocessing
import multiprocessing.connection
import threading
import time
import traceback
from collections.abc import Callable, Iterator, MutableSequence
from dataclasses import dataclass
from typing import Any, cast

__all__ = ["CollectorClock", "Crossover", "LockstepError", "Side", "crossover", "run_lockstep",
           "run_lockstep_processes"]

Objective = Callable[[dict[str, Any]], Any]
Loop = Callable[[Objective], Any]
#: Builds a loop inside a side's process (imports, warm-up); picklable where processes are spawned.
Prepare = Callable[[], Loop]


class LockstepError(RuntimeError):
    """A side's process failed or died; the message holds what it reported."""


@dataclass(frozen=True)
class Side:
    """One loop's run: its CPU seconds (in two threads: outside the garbage collector's young
    collections, whose count and seconds are kept apart) and what the loop returned."""

    cpu_seconds: float
    result: Any
    collections: int = 0
    collector_seconds: float = 0.0


class CollectorClock:
    """The CPU seconds each thread spends in the cyclic garbage collector, and its collections
    (through ``gc.callbacks``, which run in the thread whose allocation set the collection off).

    Two threads share one collector, and which side sets a collection off does not say whose
    garbage it collects: with ``nevergrad.oneplusone`` against itself each side set off 620 of
    1,240 young collections; with unitune on one side the two sides still ran 1,240, but
    unitune's side set off 736 of them, about 16 us a trial of the other side's work
    (fourteenth session). Two threads therefore cost each side outside the collector and count
    its collections apart (:class:`Side`).
    """

    def __init__(self) -> None:
        self.seconds: dict[int, float] = {}
        self.counts: dict[int, int] = {}
        self._started: dict[int, float] = {}

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        ident, now = threading.get_ident(), time.thread_time()
        if phase == "start":
            self._started[ident] = now
            return
        started = self._started.pop(ident, None)
        if started is not None:
            self.seconds[ident] = self.seconds.get(ident, 0.0) + now - started
            self.counts[ident] = self.counts.get(ident, 0) + 1

    def reading(self) -> tuple[int, float]:
        """This thread's collections and collector seconds so far."""
        ident = threading.get_ident()
        return self.counts.get(ident, 0), self.seconds.get(ident, 0.0)

    @contextlib.contextmanager
    def installed(self) -> Iterator[CollectorClock]:
        """Count while the block runs."""
        gc.callbacks.append(self)
        try:
            yield self
        finally:
            gc.callbacks.remove(self)


class _Baton:
    """Two sides (0 and 1) take turns, side 0 first; a finished side gives up its turns for good.

    One semaphore per side, released to give it the turn (one wake-up per hand-over), and a
    finished flag per side; ``semaphore`` and ``flags`` are threading's and a list for two
    threads, multiprocessing's and a shared array for two processes.
    """

    def __init__(self, semaphore: Callable[[int], Any] = threading.Semaphore,
                 flags: MutableSequence[int] | None = None) -> None:
        self._turns = (semaphore(1), semaphore(0))
        self._finished = [0, 0] if flags is None else flags

    def wait(self, side: int) -> None:
        """Block until it is ``side``'s turn (or the other side has finished)."""
        self._turns[side].acquire()

    def hand_over(self, side: int) -> None:
        """Give the turn to the other side and wait for it to come back (only ``side`` runs here,
        so the other side cannot finish in between)."""
        if self._finished[1 - side]:
            return
        self._turns[1 - side].release()
        self._turns[side].acquire()

    def finish(self, side: int) -> None:
        """``side`` is done: the other side runs on alone."""
        self._finished[side] = 1
        self._turns[1 - side].release()


def _run_side(side: int, loop: Loop, objective: Objective, baton: _Baton, clock: Callable[[], float],
              collector: CollectorClock | None = None) -> Side:
    """Wait for the first turn, run the loop handing the turn over after every objective call,
    give up the turns for good at the end (also on error); the loop's cost by ``clock``, less
    the collections it set off when ``collector`` counts them."""

    def handing_over(params: dict[str, Any]) -> Any:
        value = objective(params)
        baton.hand_over(side)
        return value

    baton.wait(side)
    try:
        collections, collector_seconds = collector.reading() if collector is not None else (0, 0.0)
        start = clock()
        result = loop(handing_over)
        spent = clock() - start
        if collector is None:
            return Side(spent, result)
        collections_now, collector_seconds_now = collector.reading()
        in_collector = collector_seconds_now - collector_seconds
        return Side(spent - in_collector, result, collections_now - collections, in_collector)
    finally:
        baton.finish(side)


def run_lockstep(objective: Objective, in_thread: Loop, in_main: Loop) -> tuple[Side, Side]:
    """Run ``in_thread`` in a new thread and ``in_main`` in the calling one, alternating at every
    call of ``objective`` (``in_thread`` starts); returns their :class:`Side` in that order, each
    costed outside the garbage collections it set off (:class:`CollectorClock`).

    An exception raised by either loop is raised here once both have ended (the other loop
    finishes alone).
    """
    baton = _Baton()
    sides: list[Side | None] = [None, None]
    errors: list[BaseException] = []
    collector = CollectorClock()

    def run(side: int, loop: Loop) -> None:
        try:
            sides[side] = _run_side(side, loop, objective, baton, time.thread_time, collector)
        except BaseException as exc:  # re-raised in the calling thread below
            errors.append(exc)

    with collector.installed():
        worker = threading.Thread(target=run, args=(0, in_thread), name="unitune-lockstep", daemon=True)
        worker.start()
        run(1, in_main)
        worker.join()
    if errors:
        raise errors[0]
    return cast(Side, sides[0]), cast(Side, sides[1])  # no error: both loops ran to their end


def _process_side(side: int, prepare: Prepare, objective: Objective, baton: _Baton, ready: Any,
                  report: multiprocessing.connection.Connection) -> None:
    """A side's process: build the loop, wait for the other side to be ready too, run in turns;
    send back ("ok", Side) or ("error", traceback text)."""
    try:
        loop = prepare()
        ready.wait()
        report.send(("ok", _run_side(side, loop, objective, baton, time.process_time)))
    except BaseException:  # sent to the parent, which raises it as LockstepError
        ready.abort()  # the other side must not wait for this one at the start
        report.send(("error", traceback.format_exc()))
    finally:
        report.close()


def run_lockstep_processes(objective: Objective, first: Prepare, second: Prepare) -> tuple[Side, Side]:
    """Like :func:`run_lockstep`, but each side in a process of its own (forked where the platform
    can, else spawned: then ``first``, ``second`` and ``objective`` must be picklable).

    Each process calls its ``prepare`` (imports, warm-up: not timed), both wait until both are
    ready, then the loops take turns at every objective call, ``first`` starting. A side's cost is
    its process's CPU time during its loop (``time.process_time``: all its threads, so a
    library's helper threads count). Raises :class:`LockstepError` with the side's traceback if
    a side fails or its process dies.
    """
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    baton = _Baton(ctx.Semaphore, ctx.Array("i", 2, lock=False))
    ready = ctx.Barrier(2)
    pipes = [ctx.Pipe(duplex=False) for _ in range(2)]
    processes = [
        ctx.Process(target=_process_side, args=(side, prepare, objective, baton, ready, pipes[side][1]),
                    name=f"unitune-lockstep-{side}", daemon=True)
        for side, prepare in enumerate((first, second))
    ]
    for process in processes:
        process.start()
    for _, sender in pipes:
        sender.close()  # the children hold theirs: a dead child's pipe then reads as closed
    reports: list[tuple[str, Any] | None] = [None, None]
    running = {0, 1}
    try:
        while running:
            multiprocessing.connection.wait(
                [pipes[side][0] for side in running] + [processes[side].sentinel for side in running]
            )
            for side in sorted(running):
                receiver = pipes[side][0]
                if receiver.poll():
                    running.discard(side)
                    try:
                        reports[side] = receiver.recv()
                    except EOFError:
                        baton.finish(side)
                elif not processes[side].is_alive():  # died without a word: the other runs alone
                    running.discard(side)
                    baton.finish(side)
    finally:
        for process in processes:
            process.join()
    failures = [
        f"side {side} ({processes[side].name}): "
        + (f"its process died (exit code {processes[side].exitcode})" if report is None else report[1])
        for side, report in enumerate(reports)
        if report is None or report[0] != "ok"
    ]
    if failures:
        raise LockstepError("\n".join(failures))
    return cast(Side, reports[0][1]), cast(Side, reports[1][1])  # type: ignore[index]


@dataclass(frozen=True)
class Crossover:
    """Both orientations of one pair of loops ``a`` and ``b``."""

    a: tuple[Side, Side]  # a's runs: in the thread (or first), in the main thread (or second)
    b: tuple[Side, Side]  # b's runs: in the main thread (or second), in the thread (or first)

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


def crossover(
    objective: Objective,
    a: Any,
    b: Any,
    between: Callable[[], Any] | None = None,
    runner: Callable[[Objective, Any, Any], tuple[Side, Side]] = run_lockstep,
) -> Crossover:
    """``runner`` twice: ``a`` in the new thread and ``b`` in the main one, then the other way
    round; ``between`` (e.g. ``gc.collect``) runs before each. With
    ``runner=run_lockstep_processes`` (``a`` and ``b`` then build their loops), each side starts
    first once."""
    if between is not None:
        between()
    a_thread, b_main = runner(objective, a, b)
    if between is not None:
        between()
    b_thread, a_main = runner(objective, b, a)
    return Crossover(a=(a_thread, a_main), b=(b_main, b_thread))
