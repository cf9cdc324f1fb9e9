"""Objectives that misbehave for real (picklable, importable by worker processes)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def _note(path: Path, text: str) -> None:
    """Write a file atomically (a signal may land at any moment: readers never see it half-made)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def value_of(params) -> float:
    return (params["x"] - 0.3) ** 2


def killed_once(params, trial):
    """Trial ``params['victim']`` kills its own worker (SIGKILL) the first time it runs."""
    marker = Path(params["dir"]) / f"killed-{trial.number}"
    if trial.number == params["victim"] and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return value_of(params)


def always_exits(params, trial):
    """Trial ``params['victim']`` ends its worker process every time (``os._exit``)."""
    if trial.number == params["victim"]:
        with open(Path(params["dir"]) / "attempts", "a") as log:
            log.write(f"{os.getpid()}\n")
        os._exit(3)
    return value_of(params)


def hangs(params, trial):
    """Trial ``params['victim']`` hangs (writes its pid first); the others return at once."""
    if trial.number == params["victim"]:
        _note(Path(params["dir"]) / f"hung-{trial.number}", str(os.getpid()))
        time.sleep(1000)
    return value_of(params)


def sleeps_forever(params, trial):
    """Every trial from ``params['victim']`` on writes its pid and sleeps; earlier ones return."""
    if trial.number >= params["victim"]:
        _note(Path(params["dir"]) / f"started-{trial.number}", str(os.getpid()))
        time.sleep(1000)
    return value_of(params)


class Abort(BaseException):
    """A user's exception outside the Exception hierarchy (as asyncio.CancelledError is)."""


def raises_base_exception(params, trial):
    """Trial ``params['victim']`` raises :class:`Abort`, a BaseException; the others return."""
    if trial.number == params["victim"]:
        raise Abort(f"aborted trial {trial.number}")
    return value_of(params)


def terminates_itself(params, trial):
    """Trial ``params['victim']`` sends SIGTERM to its own worker process; the others return."""
    if trial.number == params["victim"]:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # a worker with the default handler ends before this returns
    return value_of(params)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0): read its state
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def wait_for(predicate, limit: float = 60.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def killed_while_idle(params, trial):
    """Trial 0 arranges for its worker to be SIGKILLed 0.3 s later, when it is idle."""
    _note(Path(params["dir"]) / f"pid-{trial.number}", str(os.getpid()))
    if trial.number == 0:
        import subprocess

        subprocess.Popen(["sh", "-c", f"sleep 0.3; kill -9 {os.getpid()}"], start_new_session=True)
    return value_of(params)


class _DiesWhenShipped:
    """A user attribute that kills the worker process pickling it (to send the trial's result
    on), the first time only (``marker`` records that process's pid)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        if not os.path.exists(self.marker):
            _note(Path(self.marker), str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return (str, ("shipped",))


def dies_when_its_result_is_fetched(params, trial):
    """Every run appends its pid to ``runs-N``; trial ``params['victim']`` finishes, and its
    worker dies when its result is fetched (the first time), so Dask computes it again."""
    with open(Path(params["dir"]) / f"runs-{trial.number}", "a") as log:
        log.write(f"{os.getpid()}\n")
    if trial.number == params["victim"]:
        trial.set_user_attr("shipped", _DiesWhenShipped(str(Path(params["dir"]) / "shipped")))
    return value_of(params)


def unpicklable_result(params):
    """Completes, but with a user attribute no pickle can carry back to the driver."""
    import threading

    from unitune import Result

    return Result(value_of(params), user_attrs={"lock": threading.Lock()})


def result_with_a_lambda(params, trial):
    """Logs its run to ``dir/runs``; completes with a user attribute pickle cannot carry back
    (a lambda: pickle raises AttributeError, not PicklingError or TypeError)."""
    from unitune import Result

    with open(Path(params["dir"]) / "runs", "a") as log:
        log.write(f"{trial.number}\n")
    return Result(value_of(params), user_attrs={"hook": lambda: None})


def waits_for_release(params, trial):
    """Notes its start in ``dir/starts``, then waits (up to 60 s) for ``dir/release`` to exist."""
    folder = Path(params["dir"])
    with open(folder / "starts", "a") as starts:
        starts.write(f"{trial.number}\n")
    end = time.monotonic() + 60
    while not (folder / "release").exists() and time.monotonic() < end:
        time.sleep(0.05)
    return value_of(params)
