"""benchmarks/scripts/adapter_overhead.py end to end, in both time measures, on a tiny run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nevergrad")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scripts" / "adapter_overhead.py"


@pytest.mark.slow  # the script's first line measures unitune's own cost (one cold round here)
@pytest.mark.parametrize("measure", [[], ["--processes"]], ids=["threads", "processes"])
def test_a_tiny_run_times_both_sides_and_finds_the_same_points(measure):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "nevergrad.random", "--rounds", "1", "--trials", "15",
         "--floor-rounds", "1", *measure],
        capture_output=True, text=True, timeout=600, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert ("process CPU seconds" if measure else "thread CPU seconds") in lines[0]
    assert lines[1].startswith("unitune's own cost per trial") and " us cold " in lines[1]
    assert ("second/first" if measure else "main/thread") in lines[2]
    [row] = [line for line in lines if line.startswith("nevergrad.random")]
    fields = row.split()
    assert fields[1:3] == ["15", "1"]  # trials, rounds
    assert float(fields[3]) > 0 and float(fields[4]) > 0  # both sides' CPU seconds
    assert fields[-2] == "yes"  # both sides proposed the same points


def test_the_measure_against_itself_runs_the_native_loop_on_both_sides():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--aa", "--only", "nevergrad.random", "--rounds", "2", "--trials", "15"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].startswith("A/A: the native loop against itself")
    assert "unitune's own cost" not in proc.stdout  # the floor is unitune's: not measured in A/A
    [row] = [line for line in lines if line.startswith("nevergrad.random")]
    fields = row.split()
    assert fields[1:3] == ["15", "2"]
    assert float(fields[3]) > 0 and float(fields[4]) > 0
    assert fields[-2] == "yes"  # the same loop and seed on both sides: the same points


def test_the_adapter_alone_runs_in_unitunes_place_and_finds_the_same_points():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--adapter-alone", "--only", "nevergrad.de", "--rounds", "2",
         "--trials", "15"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].startswith("adapter alone: the backend driven through ask/tell by hand")
    assert "unitune's own cost" not in proc.stdout  # the floor is the study's: not measured here
    [row] = [line for line in lines if line.startswith("nevergrad.de")]
    fields = row.split()
    assert fields[1:3] == ["15", "2"]
    assert float(fields[3]) > 0 and float(fields[4]) > 0
    assert fields[-2] == "yes"  # the adapter proposes Nevergrad's own points, trial by trial


def test_the_adapter_alone_proposes_what_the_study_proposes():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import adapter_overhead
    finally:
        sys.path.remove(str(SCRIPT.parent))
    for name in ("nevergrad.de", "random"):
        alone = adapter_overhead._adapter_alone(name, 12, 3)
        study = adapter_overhead._unitune(name, 12, 3)
        assert len(alone) == 12
        assert alone == study


@pytest.mark.parametrize(("flags", "reason"), [
    (["--aa", "--instructions"], "--aa times the measure against itself"),
    (["--aa", "--adapter-alone"], "--adapter-alone runs the adapter there"),
    # The side that runs first after the warm-up misses more: each must run first as often.
    (["--instructions", "--cache-sim", "--rounds", "1"], "--cache-sim needs an even number of rounds"),
], ids=["aa-instructions", "aa-adapter-alone", "cache-sim-odd-rounds"])
def test_contradictory_or_biased_flags_are_refused_with_the_reason(flags, reason):
    proc = subprocess.run([sys.executable, str(SCRIPT), *flags], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert reason in proc.stderr


SPLIT = SCRIPT.with_name("adapter_split.py")


@pytest.mark.parametrize("piece", ["bare", "decode", "ask", "tell"])
def test_each_piece_of_the_split_runs_in_the_adapters_place_and_finds_the_same_points(piece):
    proc = subprocess.run(
        [sys.executable, str(SPLIT), piece, "--only", "nevergrad.oneplusone", "--rounds", "1", "--trials", "15"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    [row] = [line for line in proc.stdout.splitlines() if line.startswith("nevergrad.oneplusone")]
    fields = row.split()
    assert fields[1:3] == ["15", "1"]
    assert float(fields[3]) > 0 and float(fields[4]) > 0
    assert fields[-2] == "yes"  # each piece keeps Nevergrad's own points, trial by trial


def test_the_split_refuses_an_unknown_piece():
    proc = subprocess.run([sys.executable, str(SPLIT), "study"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "usage: adapter_split.py {bare,decode,ask,tell}" in proc.stderr
