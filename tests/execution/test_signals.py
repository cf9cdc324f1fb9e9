"""Ctrl-C (SIGINT) and SIGTERM sent to a real driver process while trials run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from driver import space
from faults import pid_alive, value_of, wait_for

import unitune
from unitune import TrialState
from unitune.storage import SQLiteStorage

HERE = Path(__file__).parent


def _started(tmp_path: Path) -> list[int]:
    return sorted(int(p.name.split("-")[1]) for p in tmp_path.glob("started-*") if not p.suffix)


def _run_driver(mode: str, tmp_path: Path, signum: int, running: list[int] | int, *store: str):
    """Run driver.py, signal it once trials 0 and 1 are recorded and ``running`` trials (these
    numbers, or that many of any) have started; return what it did."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, str(HERE / "driver.py"), mode, str(tmp_path), *store], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ready() -> bool:
        if not all((tmp_path / f"recorded-{n}").exists() for n in (0, 1)):
            return False
        if isinstance(running, int):
            return len(_started(tmp_path)) >= running
        return all((tmp_path / f"started-{n}").exists() for n in running)

    try:
        started = wait_for(ready, 120)
        assert started, f"trials {running} never started: {proc.poll()} {proc.stderr.read() if proc.poll() is not None else ''}"
        running = running if isinstance(running, list) else _started(tmp_path)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    records = {r["number"]: r for r in json.loads((tmp_path / "trials.json").read_text())}
    pids = [int((tmp_path / f"started-{n}").read_text()) for n in running]
    return proc.returncode, out, err, records, pids, running


@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode", ["processes", "inline"])
@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGINT, 0, "KeyboardInterrupt"),
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),
])
def test_a_signalled_driver_records_running_trials_interrupted_and_exits_cleanly(
        tmp_path, mode, signum, code, said):
    running = [2, 3] if mode == "processes" else [2]
    returncode, out, err, records, pids, _ = _run_driver(mode, tmp_path, signum, running)
    assert returncode == code, err
    assert "Traceback" not in err
    assert ("optimize returned" in out) == (signum == signal.SIGINT)  # SIGTERM: the driver exits
    assert sorted(records) == [0, 1, *running]  # every asked trial recorded, nothing more asked
    for n in (0, 1):
        assert records[n]["state"] == "complete"
    for n in running:
        assert records[n]["state"] == "interrupted"
        assert said in records[n]["failure"]
    if mode == "processes":  # the pool was unitune's: its workers were killed, not orphaned
        assert wait_for(lambda: not any(pid_alive(p) for p in pids), 30)


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 0), (signal.SIGTERM, 143)])
def test_a_signalled_driver_on_a_dask_cluster(tmp_path, signum, code):
    pytest.importorskip("distributed")
    # On Dask unitune keeps a trial queued behind each busy worker (4 in flight for batch 2 on
    # 2 workers), so which two trials from 2 on run first is Dask's choice: wait for any two.
    returncode, _, err, records, _, running = _run_driver("dask", tmp_path, signum, 2)
    assert returncode == code, err
    assert sorted(records) == list(range(len(records)))  # every asked trial recorded, once
    assert 4 <= len(records) <= 6  # 4 in flight, and at most 2 asked after trials 0 and 1
    assert [records[n]["state"] for n in (0, 1)] == ["complete", "complete"]
    assert records[0]["value"] is not None and records[0]["value"] >= 0.0
    assert len(running) >= 2 and set(running) <= set(records) - {0, 1}
    for n in set(records) - {0, 1}:  # running or queued: interrupted, never told as finished
        assert records[n]["state"] == "interrupted", records[n]


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 0), (signal.SIGTERM, 143)])
def test_a_signalled_durable_study_closes_its_store_and_resumes(tmp_path, signum, code):
    db = tmp_path / "study.db"
    returncode, _, err, records, _, _ = _run_driver("processes", tmp_path, signum, [2, 3], str(db))
    assert returncode == code, err
    with SQLiteStorage(db, readonly=True) as reader:
        stored = {t.number: t for t in reader.trials("s")}
        assert reader.lease("s") is None  # the driver gave its lease back on the way out
    assert [stored[n].state for n in range(4)] == [TrialState.COMPLETE, TrialState.COMPLETE,
                                                   TrialState.INTERRUPTED, TrialState.INTERRUPTED]
    assert sorted(stored) == sorted(records) == [0, 1, 2, 3]
    study = unitune.optimize(value_of, space(tmp_path), n_trials=6, seed=0, storage=str(db),
                             study_name="s", resume=True, executor="processes", batch_size=2)
    trials = study.trials
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    done = [t for t in trials if t.state is not TrialState.INTERRUPTED]
    assert len(done) == 6 and all(t.state is TrialState.COMPLETE for t in done)
    for n in (0, 1):  # trials finished before the signal are unchanged
        assert next(t for t in trials if t.number == n) == stored[n]
    again = [dict(t.params) for t in done if t.number > 3]
    for n in (2, 3):  # the interrupted configurations were evaluated again
        assert dict(stored[n].params) in again


_TWICE_INTERRUPTED_DRIVER = """
import logging, os, signal, sys
import unitune


class SecondCtrlC(logging.Handler):
    def emit(self, record):  # Ctrl-C pressed again as the driver starts to stop
        if record.getMessage().startswith("interrupted"):
            os.kill(os.getpid(), signal.SIGINT)


def objective(params, trial):
    if trial.number == 2:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while trial 2 runs
    return params["x"]


logging.getLogger("unitune").addHandler(SecondCtrlC())
unitune.optimize(objective, {"x": unitune.Float(0.0, 1.0)}, "random", n_trials=6, batch_size=2,
                 seed=0, storage=sys.argv[1], study_name="s")
"""


@pytest.mark.timeout(120)
def test_a_second_ctrl_c_while_the_driver_stops_leaves_no_trial_running(tmp_path):
    # The second Ctrl-C landed before the trials in flight were recorded (while the first was
    # being logged): trials 2 and 3 stayed RUNNING in the store, and its lease was kept.
    script = tmp_path / "twice.py"
    script.write_text(_TWICE_INTERRUPTED_DRIVER)
    db = tmp_path / "study.db"
    proc = subprocess.run([sys.executable, str(script), str(db)], capture_output=True, text=True,
                          timeout=90)
    assert "KeyboardInterrupt" in proc.stderr  # the second Ctrl-C stops the driver at once
    with SQLiteStorage(db, readonly=True) as reader:
        stored = {t.number: t for t in reader.trials("s", running=True)}
        assert reader.lease("s") is None
    assert sorted(stored) == [0, 1, 2, 3]
    assert [stored[n].state for n in (0, 1)] == [TrialState.COMPLETE, TrialState.COMPLETE]
    assert [stored[n].value for n in (0, 1)] == [stored[n].params["x"] for n in (0, 1)]
    for n in (2, 3):
        assert stored[n].state is TrialState.INTERRUPTED
        assert stored[n].failure == "interrupted (KeyboardInterrupt)"


_KILLED_DRIVER = """
import multiprocessing, pathlib, sys, time
import unitune

def objective(params, trial):
    (pathlib.Path(sys.argv[2]) / f"started-{trial.number}").write_text("")
    time.sleep(1000)
    return params["x"]

if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    unitune.optimize(objective, {"x": unitune.Float(0.0, 1.0)}, "random", n_trials=4, batch_size=2,
                     executor="processes", seed=0, pruner=sys.argv[3] or None)
"""


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (Linux /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.timeout(240)
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
@pytest.mark.parametrize(("method", "pruner"), [("fork", "median"), ("forkserver", "")])
def test_a_driver_killed_outright_leaves_no_helper_process_running(tmp_path, method, pruner):
    # SIGKILL: nothing runs in the driver, yet the workers of its pool must not go on running
    # objectives whose results nobody will record (they did, as orphans, until their objective
    # ended: a training run, say, holding its GPU), nor the pruning channel's manager stay.
    script = tmp_path / "killed_driver.py"
    script.write_text(_KILLED_DRIVER)
    proc = subprocess.Popen([sys.executable, str(script), method, str(tmp_path), pruner],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    helpers: set[int] = set()
    try:
        started = wait_for(lambda: all((tmp_path / f"started-{n}").exists() for n in (0, 1)), 120)
        assert started, f"trials 0 and 1 never started: {proc.poll()}"
        helpers = _descendants(proc.pid)
        assert len(helpers) >= 2  # the two workers at least (and the forkserver, the manager)
        proc.kill()
        proc.wait(timeout=60)
        assert wait_for(lambda: not any(pid_alive(pid) for pid in helpers), 60), (
            f"processes {[p for p in helpers if pid_alive(p)]} outlived their driver")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in helpers:  # an old build's orphans: do not leave them behind
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
