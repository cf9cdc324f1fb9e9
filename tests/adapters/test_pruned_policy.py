"""Every installed backend states what it does with PRUNED trials, and does it.

Each backend class declares ``pruned_policy`` once; ``unitune conversion`` and ``unitune
backends`` print it. Here every installed family is told the same sequence (a PRUNED trial with
reports before anything completed, two COMPLETE trials, a PRUNED trial with reports, a PRUNED
trial without any) and the library's own records are compared with what the policy says.
"""

from __future__ import annotations

import pytest

from unitune import Float, Space
from unitune.backend import PrunedPolicy
from unitune.cli import main
from unitune.registry import list_backends, load_backend_class, make_backend
from unitune.trial import Trial, TrialState

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SPACE = {"x": Float(-5.0, 5.0), "y": Float(-5.0, 5.0)}
#: A quick algorithm per family that proposes natively for every ask (Nevergrad's default NGOpt
#: may pick a one-point-at-a-time optimizer on a small space; CMA does not).
ALGORITHM = {"nevergrad": "nevergrad.cma", "skopt": "skopt.gp"}
OPTIONS = {"skopt": {"n_initial_points": 10}}
INSTALLED = [info.name for info in list_backends() if info.installed]

#: (number, state, value, intermediate) told in this order.
SEQUENCE = [
    (0, TrialState.PRUNED, None, {1: 4.0, 2: 3.0}),  # pruned before any trial completed
    (1, TrialState.COMPLETE, 2.0, {1: 6.0, 2: 2.0}),
    (2, TrialState.COMPLETE, 5.0, {}),
    (3, TrialState.PRUNED, None, {1: 9.0, 3: 7.5}),
    (4, TrialState.PRUNED, None, {}),  # pruned without a report
]


def _drive(family: str, spy: list | None = None):
    """Ask and tell SEQUENCE one trial at a time; return the backend and its proposals."""
    backend = make_backend(ALGORITHM.get(family, family), SPACE, seed=0, options=OPTIONS.get(family))
    if spy is not None and family == "nevergrad":
        optimizer, real = backend.optimizer, backend.optimizer.tell

        def tell(candidate, loss, *args, **kwargs):
            spy.append((backend.codec.decode(candidate.value), loss))
            return real(candidate, loss, *args, **kwargs)

        optimizer.tell = tell
    proposals = {}
    for number, state, value, reports in SEQUENCE:
        [proposal] = backend.ask([number])
        proposals[number] = proposal.params
        for step, reported in reports.items():
            backend.report(number, step, reported)
        if state is TrialState.COMPLETE:
            trial = Trial(number, proposal.params, state, values=(value,), intermediate=reports)
        else:
            trial = Trial(number, proposal.params, state, failure="pruned", intermediate=reports)
        backend.tell(trial)
    return backend, proposals


def _by_point(told: list[tuple[dict, float]], proposals: dict[int, dict]) -> dict[int, list[float]]:
    """Values a library was told, by trial number (matched by the proposed point)."""
    number_of = {(p["x"], p["y"]): n for n, p in proposals.items()}
    out: dict[int, list[float]] = {}
    for params, loss in told:
        out.setdefault(number_of[params["x"], params["y"]], []).append(float(loss))
    return out


def _expected_worst() -> dict[int, list[float]]:
    """WORST_VALUE: the worst COMPLETE value so far; trial 0 waits for trial 1's 2.0."""
    return {0: [2.0], 1: [2.0], 2: [5.0], 3: [5.0], 4: [5.0]}


def test_every_installed_backend_declares_its_policy_and_the_cli_prints_it(tmp_path, capsys) -> None:
    path = tmp_path / "space.json"
    path.write_text(Space(SPACE).to_json())
    for family in INSTALLED:
        policy = load_backend_class(family).pruned_policy
        assert isinstance(policy, PrunedPolicy), f"{family} declares no pruned_policy"
        assert main(["conversion", str(path), "--backend", family]) == 0
        out = capsys.readouterr().out
        assert f"PRUNED trials: {policy.value}: {policy.detail}" in out
    assert main(["backends"]) == 0
    listing = capsys.readouterr().out
    for family in INSTALLED:
        assert f"PRUNED trials            {load_backend_class(family).pruned_policy.value}:" in listing


@pytest.mark.parametrize("family", INSTALLED)
def test_the_stated_policy_is_what_the_library_is_told(family) -> None:
    policy = load_backend_class(family).pruned_policy
    spy: list = []
    backend, proposals = _drive(family, spy)
    if policy is PrunedPolicy.NATIVE:
        assert family == "optuna"
        got = {t.number: (t.state.name, t.value, t.intermediate_values) for t in backend.optuna_study.trials}
        assert got == {
            # Optuna's own tell stores a pruned trial's last intermediate value as its value.
            0: ("PRUNED", 3.0, {1: 4.0, 2: 3.0}),
            1: ("COMPLETE", 2.0, {1: 6.0, 2: 2.0}),
            2: ("COMPLETE", 5.0, {}),
            3: ("PRUNED", 7.5, {1: 9.0, 3: 7.5}),
            4: ("PRUNED", None, {}),
        }
    elif policy is PrunedPolicy.LAST_VALUE:
        assert family == "hyperopt"
        got = {d["tid"]: (d["result"]["status"], d["result"]["loss"]) for d in backend.trials.trials}
        assert got == {0: ("ok", 3.0), 1: ("ok", 2.0), 2: ("ok", 5.0), 3: ("ok", 7.5), 4: ("fail", None)}
    elif policy is PrunedPolicy.WORST_VALUE:
        if family == "skopt":
            told = [(backend.codec.decode(x), y) for x, y in zip(backend.optimizer.Xi, backend.optimizer.yi)]
        else:
            assert family == "nevergrad"
            told = spy
        assert _by_point(told, proposals) == _expected_worst()
    else:
        assert policy is PrunedPolicy.NOT_USED
        # What was told changes nothing: a twin told only COMPLETE trials proposes the same.
        twin = make_backend(family, SPACE, seed=0)
        for number, _, _, _ in SEQUENCE:
            [proposal] = twin.ask([number])
            assert proposal.params == proposals[number]
            twin.tell(Trial.complete(number, proposal.params, 100.0 - number))
        assert backend.ask([5]) == twin.ask([5])
    assert not backend_pending(backend)


def backend_pending(backend) -> int:
    """Trials the backend still holds as running (every told trial must have left)."""
    pending = getattr(backend, "pending", None)
    if pending is None:
        pending = getattr(backend, "_pending", ())
    return len(pending)
