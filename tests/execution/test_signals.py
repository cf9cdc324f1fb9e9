"""Ctrl-C (SIGINT) and SIGTERM sent to a real driver process while trials run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from faults import pid_alive, wait_for

HERE = Path(__file__).parent


def _run_driver(mode: str, tmp_path: Path, signum: int, running: list[int]):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, str(HERE / "driver.py"), mode, str(tmp_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = wait_for(lambda: all((tmp_path / f"started-{n}").exists() for n in running), 120)
        assert started, f"trials {running} never started: {proc.poll()} {proc.stderr.read() if proc.poll() is not None else ''}"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    records = {r["number"]: r for r in json.loads((tmp_path / "trials.json").read_text())}
    pids = [int((tmp_path / f"started-{n}").read_text()) for n in running]
    return proc.returncode, out, err, records, pids


@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode", ["processes", "inline"])
@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGINT, 0, "KeyboardInterrupt"),
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),
])
def test_a_signalled_driver_records_running_trials_interrupted_and_exits_cleanly(
        tmp_path, mode, signum, code, said):
    running = [2, 3] if mode == "processes" else [2]
    returncode, out, err, records, pids = _run_driver(mode, tmp_path, signum, running)
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
    returncode, _, err, records, _ = _run_driver("dask", tmp_path, signum, [2, 3])
    assert returncode == code, err
    assert sorted(records) == [0, 1, 2, 3]
    assert [records[n]["state"] for n in range(4)] == ["complete", "complete", "interrupted", "interrupted"]
    assert records[0]["value"] is not None and records[0]["value"] >= 0.0
