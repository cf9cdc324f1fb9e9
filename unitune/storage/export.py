"""Reading a store for people and other tools: a status summary, a trial table, CSV and JSON lines.

The JSON-lines export writes one :meth:`Trial.to_record` per line, so
``Trial.from_record(json.loads(line))`` reads it back and any backend can take a study over.
"""

from __future__ import annotations

import csv
import json
import socket
import time
from collections import Counter
from collections.abc import Sequence
from typing import IO, Any

from unitune.storage.base import Storage
from unitune.storage.codec import dumps
from unitune.storage.sqlite import _alive
from unitune.trial import Direction, Trial, TrialState

__all__ = ["status_text", "trials_table", "write_csv", "write_jsonl"]


def status_text(store: Storage, name: str) -> str:
    """A few lines on one study: backend, seed, trials by state, the best value, who drives it."""
    info = store.load_study(name)
    if info is None:
        return f"no study named {name!r} in {store.location}"
    trials = store.trials(name, running=True)
    counts = Counter(t.state.value for t in trials)
    finished = sum(n for s, n in counts.items() if s not in ("running", "interrupted"))
    progress = f"{finished} of {info.n_trials} finished" if info.n_trials else f"{finished} finished"
    if info.n_trials and finished > info.n_trials:  # a later run asked for a smaller total
        progress = f"{finished} finished (the last run asked for {info.n_trials} in all)"
    options = f" {dict(info.backend_options)}" if info.backend_options else ""
    metric = f" (metric {', '.join(info.metric)})" if info.metric else ""
    by_state = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines = [
        f"study {name!r} in {store.location}",
        f"  backend     {info.backend}{options}",
        f"  seed        {info.seed}",
        f"  directions  {', '.join(info.directions)}{metric}",
        f"  trials      {progress}; {by_state}" if by_state else f"  trials      {progress}",
    ]
    best = _best(trials, info.directions)
    if best is not None:
        lines.append(f"  best        {best.values[0]:.6g} (trial {best.number}) {dict(best.params)}")
    lease = getattr(store, "lease", None)
    holder = lease(name) if lease is not None else None
    if holder is not None:
        left = holder["expires_at"] - time.time()
        state = f"lease expires in {left:.0f} s" if left > 0 else f"lease expired {-left:.0f} s ago"
        if holder["host"] == socket.gethostname() and not _alive(holder["pid"]):
            state = "gone: a resume takes over at once"
        lines.append(f"  driver      process {holder['pid']} on {holder['host']} ({state})")
    else:
        lines.append("  driver      none")
    for change in store.backend_changes(name):
        lines.append(f"  switched    {change.old_backend} -> {change.new_backend} "
                     f"at trial {change.at_number}")
    return "\n".join(lines)


def _best(trials: Sequence[Trial], directions: Sequence[str]) -> Trial | None:
    if len(directions) != 1:
        return None
    direction = Direction.parse(directions[0])
    best = None
    for trial in trials:
        if trial.state is TrialState.COMPLETE and (best is None or direction.better(trial.values[0],
                                                                                     best.values[0])):
            best = trial
    return best


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def trials_table(trials: Sequence[Trial]) -> str:
    """A plain-text table: number, state, value(s), duration, then one column per parameter."""
    names: list[str] = []
    for trial in trials:
        names.extend(k for k in trial.params if k not in names)
    head = ["number", "state", "value", "duration", *names]
    rows = [head]
    for t in trials:
        value = "" if t.values is None else ", ".join(f"{v:.6g}" for v in t.values)
        rows.append([str(t.number), t.state.value, value, _cell(t.duration)]
                    + [_cell(t.params.get(k)) for k in names])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def write_jsonl(trials: Sequence[Trial], out: IO[str]) -> None:
    """One strict-JSON :meth:`Trial.to_record` per line."""
    for trial in trials:
        out.write(json.dumps(trial.to_record(), allow_nan=False) + "\n")


def write_csv(trials: Sequence[Trial], out: IO[str]) -> None:
    """One row per trial: number, state, value(s), params_*, metrics_*, failure, times;
    user attributes and intermediate values as JSON cells."""
    n_values = max((len(t.values) for t in trials if t.values), default=1)
    value_cols = ["value"] if n_values == 1 else [f"value_{i}" for i in range(n_values)]
    params: list[str] = []
    metrics: list[str] = []
    for t in trials:
        params.extend(k for k in t.params if k not in params)
        metrics.extend(k for k in t.metrics if k not in metrics)
    head = (["number", "state"] + value_cols + [f"params_{k}" for k in params]
            + [f"metrics_{k}" for k in metrics]
            + ["failure", "started_at", "finished_at", "duration", "user_attrs", "intermediate"])
    writer = csv.writer(out)
    writer.writerow(head)
    for t in trials:
        record = t.to_record()
        values = list(t.values) if t.values else [None] * len(value_cols)
        writer.writerow([t.number, t.state.value] + values
                        + [record["params"].get(k) for k in params]
                        + [record["metrics"].get(k) for k in metrics]
                        + [t.failure, t.started_at, t.finished_at, t.duration,
                           dumps(t.user_attrs) if t.user_attrs else "",
                           dumps(record["intermediate"]) if t.intermediate else ""])
