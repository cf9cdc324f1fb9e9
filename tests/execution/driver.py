"""A study driver run as a subprocess by test_signals.py: ``python driver.py MODE DIR [STORE]``.

Trials 0 and 1 return at once; from trial 2 on every trial sleeps until the driver is
signalled; each recorded trial leaves a file DIR/recorded-N. The trial records are written to DIR/trials.json however optimize ends. With STORE
(a file), the study is durable: study "s" in that SQLite file, resumed if it exists.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from faults import sleeps_forever

from unitune import Float, Study


def space(out: Path) -> dict:
    return {"x": Float(0.0, 1.0), "dir": str(out), "victim": 2}


def _note_recorded(study: Study, trial) -> None:
    """Mark each trial the driver has recorded (``recorded-N``), for the test to wait on."""
    (Path(trial.params["dir"]) / f"recorded-{trial.number}").touch()


def main(mode: str, out: Path, store: str | None = None) -> None:
    durable = {} if store is None else {"storage": store, "study_name": "s", "resume": True}
    study = Study(space(out), seed=0, **durable)
    with contextlib.ExitStack() as stack:
        executor = None if mode == "inline" else mode
        if mode == "dask":
            import distributed

            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None))
            client = stack.enter_context(distributed.Client(cluster))
            executor = client.get_executor(pure=False)
        batch = 1 if mode == "inline" else 2
        try:
            study.optimize(sleeps_forever, n_trials=10, batch_size=batch, executor=executor,
                           callbacks=[_note_recorded])
        finally:
            records = [{"number": t.number, "state": t.state.value, "failure": t.failure,
                        "value": t.value if t.values else None} for t in study.trials]
            (out / "trials.json").write_text(json.dumps(records))
    print("optimize returned", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), *sys.argv[3:])
