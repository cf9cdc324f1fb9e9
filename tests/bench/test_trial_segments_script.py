"""benchmarks/scripts/trial_segments.py: its stretch arithmetic, and a tiny run end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scripts" / "trial_segments.py"


def _segments_module():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import trial_segments
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return trial_segments


def test_stretches_are_read_trial_by_trial_leaving_out_the_first_trials():
    segments = _segments_module()
    sequence = []
    for trial in range(segments.SKIPPED_TRIALS + 2):  # two trials past the skipped ones
        t = 1000 * trial
        sequence += [("ask>", t), ("ask<", t + 10), ("obj>", t + 15), ("obj<", t + 17), ("back", t + 500),
                     ("tell>", t + 503 + trial), ("tell<", t + 600)]
    found = segments.stretches(sequence)
    kept = [segments.SKIPPED_TRIALS, segments.SKIPPED_TRIALS + 1]
    assert found[("obj>", "obj<")] == [2, 2]
    assert found[("back", "tell>")] == [3 + trial for trial in kept]
    assert found[("tell>", "tell<")] == [97 - trial for trial in kept]
    # ask -> obj belongs to the trial the objective starts; tell -> ask spans two trials
    assert found[("ask<", "obj>")] == [5]  # the last trial's: the trial count rises at obj>
    assert found[("tell<", "ask>")] == [400]  # the last trial's ask, after the fifth's tell


@pytest.mark.slow  # imports Nevergrad and runs two lockstep pairs
def test_a_tiny_run_prints_every_stretch_and_the_sum():
    pytest.importorskip("nevergrad")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--rounds", "1", "--trials", "12"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    rows = {" ".join(line.split()[:3]): line.split()[3:] for line in lines if " -> " in line}
    assert set(rows) == {"obj> -> obj<", "back -> tell>", "tell> -> tell<", "tell< -> ask>", "ask> -> ask<",
                         "ask< -> obj>"}
    for name, (trials, native, unitune, *_rest) in rows.items():
        assert int(trials) > 0 and float(native) > 0 and float(unitune) > 0, name
    assert lines[-1].startswith("unitune's own extra a trial, outside Nevergrad's calls: ")
    float(lines[-1].split(": ")[1].split()[0])


def test_too_few_trials_are_refused_with_the_reason():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--trials", "3"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0 and "--trials above 5" in proc.stderr
