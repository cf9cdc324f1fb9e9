"""unitune status / trials / export / resume on a real store, while a real driver writes it."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from storage_driver import HERE, SPACE_JSON, finished, staged, start, wait_for
from storage_driver import objective as storage_objective

import unitune
from unitune import Trial, TrialState
from unitune.cli import _existing, main
from unitune.storage import SQLiteStorage


@pytest.mark.timeout(180)
def test_readers_work_while_a_driver_writes_and_resume_finishes_the_study(tmp_path, capsys):
    path = tmp_path / "study.db"
    proc = start(path, 1000, sleep=0.05)
    try:
        wait_for(path, 3, proc)
        assert main(["status", str(path)]) == 0
        status = capsys.readouterr().out
        assert "study 's'" in status and "of 1000 finished" in status
        assert f"driver      process {proc.pid} on" in status
        assert main(["trials", str(path), "--study", "s"]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[0].split() == ["number", "state", "value", "duration", "x", "k"]
        assert sum(" complete " in line for line in table) >= 3
        assert main(["export", str(path), "--format", "csv"]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert len(rows) >= 3 and {"number", "state", "value", "params_x", "params_k"} <= set(rows[0])
        assert all(row["state"] == "complete" and float(row["value"]) >= 0 for row in rows)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    done = len([t for t in finished(path) if t.state is not TrialState.INTERRUPTED])
    target = done + 3
    result = subprocess.run(
        [sys.executable, "-m", "unitune.cli", "resume", str(path), "--study", "s",
         "--objective", "storage_driver:objective", "--n-trials", str(target)],
        cwd=HERE, env={**os.environ, "DRIVER_SLEEP": "0"}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{target} of {target} trials finished" in result.stdout
    with SQLiteStorage(path, readonly=True) as reader:
        final = reader.trials("s", running=True)
    assert len([t for t in final if t.state is TrialState.COMPLETE]) == target
    assert all(t.state in (TrialState.COMPLETE, TrialState.INTERRUPTED) for t in final)


def test_jsonl_export_reads_back_with_from_record(tmp_path, capsys):
    import unitune
    from unitune import Float

    path = tmp_path / "s.db"
    study = unitune.optimize(lambda p: {"loss": p["x"], "other": float("nan")}, {"x": Float(0.0, 1.0)},
                             n_trials=4, seed=0, metric="loss", storage=path, study_name="m")
    assert main(["export", str(path), "--study", "m", "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert all(r["metrics"]["other"] is None for r in records)  # strict JSON: NaN is null
    back = [Trial.from_record(r) for r in records]
    assert [(t.number, t.values, dict(t.params)) for t in back] == [
        (t.number, t.values, dict(t.params)) for t in study.trials]


def test_readers_refuse_missing_and_damaged_files_with_a_clear_message(tmp_path, capsys):
    assert main(["status", str(tmp_path / "none.db")]) == 2
    assert "no store at" in capsys.readouterr().err
    noise = tmp_path / "noise.db"
    noise.write_bytes(os.urandom(5000))
    before = noise.read_bytes()
    assert main(["trials", str(noise)]) == 2
    assert "is not a SQLite database" in capsys.readouterr().err
    assert noise.read_bytes() == before
    assert main(["resume", str(noise), "--objective", "storage_driver:objective"]) == 2
    assert "is not a SQLite database" in capsys.readouterr().err
    assert noise.read_bytes() == before


@pytest.mark.timeout(180)
def test_resume_stopped_by_ctrl_c_exits_130_and_keeps_every_trial(tmp_path):
    # It exited 0 after Ctrl-C, so `unitune resume ... && next_step` went on.
    path = tmp_path / "s.db"
    unitune.optimize(lambda p: (p["x"] - 0.3) ** 2 + p["k"], unitune.Space.from_dict(SPACE_JSON),
                     "random", n_trials=1, seed=0, storage=path, study_name="s")
    result = subprocess.run(
        [sys.executable, "-m", "unitune.cli", "resume", str(path), "--objective",
         "storage_driver:interrupts_at_two", "--n-trials", "6"],
        cwd=HERE, env={**os.environ, "DRIVER_SLEEP": "0"}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 130, result.stderr
    assert "study 's': 2 of 6 trials finished" in result.stdout
    assert "interrupted; run the same command again to continue study 's'" in result.stderr
    states = [(t.number, t.state) for t in finished(path)]
    assert states == [(0, TrialState.COMPLETE), (1, TrialState.COMPLETE), (2, TrialState.INTERRUPTED)]


def test_commands_take_a_store_location_as_storage_takes_it(tmp_path, capsys):
    path = tmp_path / "s.db"
    unitune.optimize(storage_objective, unitune.Space.from_dict(SPACE_JSON), n_trials=3, seed=0,
                     storage=path, study_name="s")
    for location in (f"{path}?timeout=5", f"sqlite:///{path}?lease_ttl=10&timeout=5"):
        assert main(["trials", location]) == 0
        assert sum(" complete " in line for line in capsys.readouterr().out.splitlines()) == 3
    assert main(["resume", f"{path}?lease_ttl=10", "--objective", "storage_driver:objective",
                 "--n-trials", "5"]) == 0
    assert "study 's': 5 of 5 trials finished" in capsys.readouterr().out
    assert [t.state for t in finished(path)] == [TrialState.COMPLETE] * 5
    assert main(["status", f"{path}?lease=10"]) == 2
    assert "unknown option 'lease'; known: lease_ttl, timeout, synchronous" in capsys.readouterr().err
    assert main(["status", f"{tmp_path / 'none.db'}?timeout=5"]) == 2
    assert f"no store at '{tmp_path / 'none.db'}' (from " in capsys.readouterr().err
    assert _existing(f"sqlite:///{path}?timeout=3&lease_ttl=10") == (str(path), {"timeout": 3.0, "lease_ttl": 10.0})
    for bad in ("?foo", "?timeout=5&"):
        assert main(["status", f"{path}{bad}"]) == 2
        assert "the text after '?' must be options such as timeout=5&lease_ttl=10" in capsys.readouterr().err
    odd = tmp_path / "why?" / "s.db"  # a folder whose name holds a '?': a path, not options
    odd.parent.mkdir()
    path.rename(odd)
    assert main(["trials", str(odd)]) == 0
    assert sum(" complete " in line for line in capsys.readouterr().out.splitlines()) == 5


@pytest.mark.parametrize("study", [[], ["--study", "s"]], ids=["no study", "a study"])
def test_resume_of_a_mistyped_path_says_so_and_creates_nothing(tmp_path, capsys, study):
    typo = tmp_path / "typo.db"
    assert main(["resume", str(typo), "--objective", "storage_driver:objective", *study]) == 2
    assert f"no store at '{typo}'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no empty store, no -wal or -shm file left behind


@pytest.mark.parametrize("command", [["status"], ["trials"], ["export"],
                                     ["resume", "--objective", "storage_driver:objective"]])
def test_an_empty_file_is_no_store_and_is_left_empty(tmp_path, capsys, command):
    empty = tmp_path / "empty.db"
    empty.touch()
    assert main([command[0], str(empty), *command[1:]]) == 2
    assert f"no store at '{empty}': it is an empty database" in capsys.readouterr().err
    assert empty.read_bytes() == b""  # resume did not make it a store


def test_an_export_to_a_path_it_cannot_write_says_so(tmp_path, capsys):
    path = tmp_path / "s.db"
    unitune.optimize(lambda p: p["x"], {"x": unitune.Float(0.0, 1.0)}, n_trials=2, seed=0, storage=path)
    target = tmp_path / "missing" / "trials.csv"
    assert main(["export", str(path), "--format", "csv", "-o", str(target)]) == 2
    assert f"cannot write the export to '{target}': No such file or directory" in capsys.readouterr().err


def test_status_after_a_run_that_asked_for_a_smaller_total(tmp_path, capsys):
    path = str(tmp_path / "s.db")
    for total in (4, 6, 3):  # the study's total: the last run has nothing left to do
        unitune.optimize(lambda p: p["x"], {"x": unitune.Float(0.0, 1.0)}, "random", n_trials=total,
                         seed=0, storage=path, study_name="s", resume=True)
    assert main(["status", path]) == 0
    out = capsys.readouterr().out
    assert "trials      6 finished (the last run asked for 3 in all); 6 complete" in out


def test_status_of_a_study_without_trials_yet(tmp_path, capsys):
    path = str(tmp_path / "s.db")
    unitune.Study({"x": unitune.Float(0.0, 1.0)}, "random", seed=0, storage=path, study_name="s").close()
    assert main(["status", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  trials      0 finished" in lines  # was '0 finished; ', a dangling separator


@pytest.mark.parametrize("pruner", [None, "asha"])
def test_resume_prunes_only_with_a_pruner_given_again(tmp_path, capsys, pruner):
    path = str(tmp_path / "p.db")
    first = unitune.optimize(staged, unitune.Space.from_dict(SPACE_JSON), "random", n_trials=8, seed=0,
                             pruner="asha", storage=path, study_name="s")
    assert TrialState.PRUNED in {t.state for t in first.trials}
    wanted = ["--pruner", pruner] if pruner else []
    assert main(["resume", path, "--objective", "storage_driver:staged", "--n-trials", "24", *wanted]) == 0
    assert "24 of 24 trials finished" in capsys.readouterr().out
    with SQLiteStorage(path, readonly=True) as reader:
        later = [t for t in reader.trials("s") if t.number >= 8]
    assert len(later) == 16
    if pruner is None:  # the store keeps no pruner: every later trial runs its nine steps
        assert all(t.state is TrialState.COMPLETE and len(t.intermediate) == 9 for t in later)
    else:  # judged against the stored trials' reports as well as the new ones
        pruned = [t for t in later if t.state is TrialState.PRUNED]
        assert pruned and all(len(t.intermediate) < 9 for t in pruned)
