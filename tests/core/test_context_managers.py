"""The two context managers entered around every ask and tell: error translation and held
interrupts (real signals, sent to this process)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from unitune import Float, Study, TrialState
from unitune.backends.random_search import RandomSearch
from unitune.errors import BackendError, SearchExhausted, SpaceError
from unitune.execution import Terminated, interrupts_deferred, termination_handled
from unitune.kit import library_errors


def _raise_in_library(exc: BaseException) -> None:
    with library_errors("lib.algo", "tell a trial"):
        raise exc


def test_a_library_error_becomes_a_backend_error_naming_backend_and_action():
    original = ValueError("bad shape")
    with pytest.raises(BackendError, match=r"backend 'lib\.algo' failed to tell a trial: ValueError: bad shape") as info:
        _raise_in_library(original)
    assert info.value.__cause__ is original


def test_unitune_errors_and_interrupts_pass_through_unchanged():
    with pytest.raises(SpaceError, match="no such parameter"):
        _raise_in_library(SpaceError("no such parameter"))
    with pytest.raises(KeyboardInterrupt):
        _raise_in_library(KeyboardInterrupt())


def _interrupted_block(steps: list[str], depth: int) -> None:
    """Send Ctrl-C to this process inside ``depth`` nested deferred blocks."""
    if depth == 0:
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("signalled")
        return
    with interrupts_deferred():
        _interrupted_block(steps, depth - 1)
        steps.append(f"block {depth} ran to its end")


def test_ctrl_c_inside_the_block_is_raised_when_the_block_has_finished():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    steps: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        _interrupted_block(steps, 1)
    assert steps == ["signalled", "block 1 ran to its end"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_nested_blocks_hold_ctrl_c_until_the_outermost_ends():
    steps: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        _interrupted_block(steps, 2)
    assert steps == ["signalled", "block 1 ran to its end", "block 2 ran to its end"]


def test_inside_a_running_study_blocks_hold_ctrl_c_and_sigterm_until_the_outermost_ends():
    """Inside termination_handled (a running optimize) a block is a counter its handlers read."""
    steps: list[str] = []

    def nested_blocks() -> None:
        with interrupts_deferred():
            with interrupts_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                steps.append("inner block ran to its end")
            steps.append("outer block ran to its end")

    def both_signals() -> None:
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("both held")

    with termination_handled():
        with pytest.raises(KeyboardInterrupt):
            nested_blocks()
        with pytest.raises(Terminated):
            both_signals()
        with interrupts_deferred():  # nothing arrived: nothing raised
            steps.append("quiet block")
    assert steps == ["inner block ran to its end", "outer block ran to its end", "both held", "quiet block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_outside_the_main_thread_nothing_changes():
    errors = []

    def worker():
        try:
            with interrupts_deferred():
                pass
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert errors == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_reraise_raises_what_the_block_raises():
    """An adapter's per-trial path catches errors itself and calls reraise: same error, same cause."""
    errors = library_errors("lib.algo", "ask")
    original = ValueError("bad shape")
    with pytest.raises(BackendError, match=r"backend 'lib\.algo' failed to ask: ValueError: bad shape") as info:
        errors.reraise(original)
    assert info.value.__cause__ is original
    own = SpaceError("no such parameter")
    with pytest.raises(SpaceError) as passed:
        errors.reraise(own)
    assert passed.value is own and passed.value.__cause__ is None


def test_reraise_lets_an_interrupt_through_as_the_block_does():
    interrupt = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt) as info:
        library_errors("lib.algo", "ask").reraise(interrupt)
    assert info.value is interrupt


class _RunsOutWhenSignalled(RandomSearch):
    """Random search whose ask, at trial 3, receives a signal and then runs out of candidates."""

    signum = signal.SIGINT

    def ask(self, numbers):
        if numbers[0] == 3:
            os.kill(os.getpid(), self.signum)
            raise SearchExhausted("no more candidates")
        return super().ask(numbers)


def _later_study_is_untouched() -> None:
    """A signal held in an ask that raised must not fire in some later, unrelated block."""
    other = Study({"x": Float(0.0, 1.0)}, seed=1)
    other.tell(other.ask(), 0.5)
    assert [t.state for t in other.trials] == [TrialState.COMPLETE]


@pytest.mark.parametrize("path", ["plain", "general"])
def test_a_ctrl_c_in_an_ask_that_runs_out_stops_the_study_there_and_nowhere_else(path):
    study = Study({"x": Float(0.0, 1.0)}, backend=_RunsOutWhenSignalled, seed=0)
    study.optimize(lambda p: p["x"], n_trials=10,
                   callbacks=[lambda s, t: None] if path == "general" else ())  # a Ctrl-C ends the call
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert study._interrupted  # stopped as on Ctrl-C (store closed), not as an ordinary exhaustion
    _later_study_is_untouched()


@pytest.mark.parametrize("path", ["plain", "general"])
def test_a_sigterm_in_an_ask_that_runs_out_ends_the_process_as_sigterm(path):
    class Terminating(_RunsOutWhenSignalled):
        signum = signal.SIGTERM

    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    study = Study({"x": Float(0.0, 1.0)}, backend=Terminating, seed=0)
    with pytest.raises(SystemExit) as info:
        study.optimize(lambda p: p["x"], n_trials=10, callbacks=[lambda s, t: None] if path == "general" else ())
    assert info.value.code == 128 + signal.SIGTERM
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    _later_study_is_untouched()


def test_a_block_ending_in_search_exhausted_raises_what_it_held_another_error_keeps_it():
    def exhausted_block() -> None:
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            raise SearchExhausted("no more candidates")

    with pytest.raises(KeyboardInterrupt) as info:
        exhausted_block()
    assert isinstance(info.value.__context__, SearchExhausted)

    def failing_block() -> None:
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            raise ValueError("the library broke")

    with pytest.raises(ValueError, match="the library broke"):
        failing_block()  # the error is not hidden: the Ctrl-C waits for the next block's end
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        pass
