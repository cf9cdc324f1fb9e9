"""Backend discovery, the registry's errors, and the unitune command."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import unitune
from unitune import BackendNotFoundError, BackendNotInstalledError, Float, Space
from unitune.backend import Backend, Proposal
from unitune.backends.random_search import RandomSearch
from unitune.errors import BackendError, CapabilityError, ConversionError
from unitune.registry import _entry_points, make_backend
from unitune.trial import TrialState


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "unitune.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_unknown_backend_lists_what_is_installed():
    with pytest.raises(BackendNotFoundError, match=r"no backend named 'optuner'; installed backends: \[.*'random'"):
        unitune.optimize(lambda p: 0.0, {"x": Float(0.0, 1.0)}, backend="optuner", n_trials=1)


def test_known_but_uninstalled_backend_says_what_to_install(monkeypatch):
    # Stand-in for an environment without the adapter distribution.
    installed = dict(_entry_points())
    installed.pop("hyperopt", None)
    monkeypatch.setattr("unitune.registry._entry_points", lambda: installed)
    with pytest.raises(BackendNotInstalledError, match=r"pip install unitune-hyperopt"):
        make_backend("hyperopt.tpe", {"x": Float(0.0, 1.0)})
    info = {i.name: i for i in unitune.list_backends()}
    assert not info["hyperopt"].installed
    assert info["hyperopt"].install_hint == "pip install unitune-hyperopt"


class _NeedsLibrary(RandomSearch):
    name = "needslib"
    requires = ("a_library_that_does_not_exist",)
    install = "pip install a-library"


class _EntryPoint:
    """Stand-in for an installed distribution's entry point (no such distribution exists here)."""

    name = "needslib"

    def load(self):
        return _NeedsLibrary


def test_missing_library_is_reported_with_the_install_hint(monkeypatch):
    installed = {**_entry_points(), "needslib": _EntryPoint()}
    monkeypatch.setattr("unitune.registry._entry_points", lambda: installed)
    info = {i.name: i for i in unitune.list_backends()}
    assert info["random"].installed
    assert not info["needslib"].installed
    assert info["needslib"].missing == ("a_library_that_does_not_exist",)
    assert info["needslib"].install_hint == "pip install a-library"
    with pytest.raises(BackendNotInstalledError, match=r"missing module\(s\) \['a_library_that_does_not_exist'\]; install with: pip install a-library"):
        make_backend("needslib", {"x": Float(0.0, 1.0)})


def test_third_party_backend_class_and_instance_plug_in():
    class Constant(Backend):
        name = "constant"

        def ask(self, numbers):
            return [Proposal(n, {"x": 0.5}) for n in numbers]

        def tell(self, trial):
            self.last = trial

        def replay(self, trials):
            self.replayed = list(trials)

    study = unitune.optimize(lambda p: p["x"], {"x": Float(0.0, 1.0)}, backend=Constant, n_trials=3)
    assert [t.params["x"] for t in study.trials] == [0.5] * 3
    instance = Constant(Space({"x": Float(0.0, 1.0)}))
    assert unitune.Study({"x": Float(0.0, 1.0)}, backend=instance).backend is instance
    with pytest.raises(BackendError, match="must be a name such as 'random'"):
        make_backend(42, {"x": Float(0.0, 1.0)})
    with pytest.raises(BackendError, match=r"has no algorithm 'tpe'; choose one of \['random'\]"):
        make_backend("random.tpe", {"x": Float(0.0, 1.0)})
    with pytest.raises(BackendError, match=r"backend options \['seed'\] are set by the study"):
        unitune.Study({"x": Float(0.0, 1.0)}, backend="grid", backend_options={"seed": 3})


class _Scripted(RandomSearch):
    """Random search whose third trial gets ``BAD`` (a class attribute) as its parameters."""

    BAD: object = None

    def ask(self, numbers):
        proposals = super().ask(numbers)
        return [Proposal(p.number, self.BAD) if p.number == 2 else p for p in proposals]


@pytest.mark.parametrize(("bad", "why"), [
    ({"x": 5.0, "k": "a"}, r"parameter 'x': 5.0 \(float\) is not a value of Float\(0.0, 1.0\)"),
    ({"k": "a"}, r"parameter 'x' is missing"),
    ({"x": np.float64(0.5), "k": "a"}, r"a Float takes a Python float"),
    ({"x": 0.5, "k": "a", "extra": 1}, r"parameters \['extra'\] are not active"),
], ids=["out_of_bounds", "missing", "numpy_float", "extra"])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_proposal_outside_the_space_is_refused_before_any_trial_runs(tmp_path, bad, why, batch_size):
    backend = type("Bad", (_Scripted,), {"BAD": bad, "name": "bad"})
    # RandomSearch declares its proposals in the space; a subclass with its own ask is checked again
    assert RandomSearch.proposals_in_space and not _Scripted.proposals_in_space
    seen = []
    study = unitune.Study({"x": Float(0.0, 1.0), "k": unitune.Categorical(["a", "b"])}, backend,
                          seed=0, storage=tmp_path / "s.db")
    with pytest.raises(BackendError, match=rf"backend 'bad' proposed for trial 2 .*{why}.*No trial was started"):
        study.optimize(lambda p: seen.append(p) or p["x"], n_trials=6, batch_size=batch_size,
                       show_progress=False)
    good = 2 if batch_size == 1 else 0  # a batch is refused whole
    assert [(t.number, t.state, t.value) for t in study.trials] == [
        (n, TrialState.COMPLETE, seen[n]["x"]) for n in range(good)]
    assert all(type(p["x"]) is float and 0.0 <= p["x"] <= 1.0 for p in seen) and len(seen) == good
    assert not study._running
    study.close()
    reopened = unitune.Study(study.space, "random", seed=0, storage=tmp_path / "s.db", resume=True,
                             allow_backend_change=True)
    assert [t.state for t in reopened.trials] == [TrialState.COMPLETE] * good


def test_after_a_refused_proposal_the_study_goes_on_with_the_same_trial_numbers():
    from unitune.backend import Algorithm
    from unitune.kit import KitBackend

    class OnceBad(KitBackend):  # keeps its proposals pending by number; trial 2's first is out of bounds
        name = "once-bad"
        algorithms = {"once-bad": Algorithm("x = number / 10, once out of bounds")}
        refused = False

        def propose(self, numbers):
            out = []
            for number in numbers:
                bad = number == 2 and not self.refused
                self.refused = self.refused or bad
                out.append(self.proposal(number, {"x": 5.0 if bad else number / 10}))
            return out

        def learn(self, trial, native):
            pass

    study = unitune.Study({"x": Float(0.0, 1.0)}, OnceBad, seed=0)
    with pytest.raises(BackendError, match="proposed for trial 2"):
        study.optimize(lambda p: p["x"], n_trials=4, show_progress=False)
    study.optimize(lambda p: p["x"], n_trials=2, show_progress=False)  # was: trial 2 already proposed
    assert [(t.number, t.state, t.value) for t in study.trials] == [
        (n, TrialState.COMPLETE, n / 10) for n in range(4)]
    assert len(study.backend.pending) == 0


def test_a_proposal_that_is_not_a_proposal_is_refused():
    class Tuples(RandomSearch):
        name = "tuples"

        def ask(self, numbers):
            return [(p.number, p.params) for p in super().ask(numbers)]

    study = unitune.Study({"x": Float(0.0, 1.0)}, Tuples, seed=0)
    with pytest.raises(BackendError, match=r"answered ask\(\[0\]\) with proposals for trials \[\(0, "
                                            r"\{'x': .*\}\)\]; it must return one Proposal per trial"):
        study.optimize(lambda p: p["x"], n_trials=2, show_progress=False)
    assert study.trials == () and not study._running


def test_single_objective_backend_refuses_two_directions_before_the_study_starts():
    class SingleOnly(RandomSearch):
        algorithms = {"random": unitune.Algorithm("single objective only",
                                                  unitune.Capabilities(multi_objective=False))}

    with pytest.raises(CapabilityError, match="optimizes a single objective; the study has 2 directions"):
        unitune.Study({"x": Float(0.0, 1.0)}, backend=SingleOnly, direction=["minimize", "maximize"])


def test_strict_mode_refuses_lossy_conversions():
    class Lossy(RandomSearch):
        def conversion_report(self):
            return [unitune.Conversion("x", unitune.Fidelity.APPROXIMATED, "rounded to 3 decimals")]

    with pytest.raises(ConversionError, match=r"strict mode: .*x: approximated \(rounded to 3 decimals\)"):
        unitune.Study({"x": Float(0.0, 1.0)}, backend=Lossy, strict=True)
    assert unitune.Study({"x": Float(0.0, 1.0)}, backend=Lossy).backend is not None
    report = unitune.conversion_report("random", {"x": Float(0.0, 1.0)})
    assert [c.fidelity.value for c in report] == ["exact"]


def test_cli_lists_backends_with_capabilities():
    out = run_cli("backends")
    assert out.returncode == 0, out.stderr
    assert "random     installed" in out.stdout
    assert "random.random (default)" in out.stdout
    listed = json.loads(run_cli("backends", "--json").stdout)
    names = {b["name"] for b in listed}
    assert {"random", "grid", "optuna", "hyperopt", "skopt"} <= names
    table = run_cli("backends", "--markdown").stdout
    assert table.startswith("| backend | conditional | batch")


def test_cli_conversion_report(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(Space({"x": Float(0.0, 1.0)}).to_json())
    out = run_cli("conversion", str(path), "--backend", "random")
    assert out.returncode == 0, out.stderr
    assert "x  exact" in out.stdout
    missing = run_cli("conversion", str(tmp_path / "nope.json"), "--backend", "random")
    assert missing.returncode == 2
    assert "cannot read the space file" in missing.stderr
