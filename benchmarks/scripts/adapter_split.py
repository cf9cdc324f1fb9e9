"""The Nevergrad adapter's overhead split into its pieces, in adapter_overhead.py's lockstep.

Runs ``adapter_overhead.py --adapter-alone`` with the adapter's side replaced by one of these
loops (all on the adapter's own Nevergrad optimizer, so only the named piece differs from the
native side):

- ``bare``: Nevergrad's ask/tell loop exactly as native (the measure against itself);
- ``decode``: the bare loop with the codec's ``decode`` of each candidate;
- ``ask``: the adapter's ``ask`` (kit, proposal, pending trial), the candidate told bare;
- ``tell``: a bare ask and decode, told through ``Trial.complete`` and the adapter's ``tell``.

The ``adapter alone`` and full-study readings come from adapter_overhead.py itself. Findings:
docs/backends.md#adapter-overhead (thirteenth session).

    uv run --no-sync python benchmarks/scripts/adapter_split.py tell --only nevergrad.oneplusone --rounds 16
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import adapter_overhead

from unitune.registry import make_backend
from unitune.trial import Trial

PIECES = ("bare", "decode", "ask", "tell")


def split_loop(piece: str) -> Any:
    """The adapter-alone side for ``piece``: ``run(name, n_trials, seed, fn)`` -> the params."""

    def run(name: str, n_trials: int, seed: int, fn=adapter_overhead.objective) -> list[dict[str, Any]]:
        backend = make_backend(name, adapter_overhead.SPACE, seed=seed)
        optimizer, decode, pending = backend.optimizer, backend.codec.decode, backend.pending
        proposed = []
        try:
            for number in range(n_trials):
                if piece == "ask":
                    (proposal,) = backend.ask([number])
                    candidate, _ = pending.pop(number)
                    params = dict(proposal.params)
                    optimizer.tell(candidate, fn(dict(params)))
                    proposed.append(params)
                    continue
                candidate = optimizer.ask()
                if piece == "bare":
                    params = dict(candidate.value)
                    optimizer.tell(candidate, fn(params))
                elif piece == "decode":
                    params = decode(candidate.value)
                    optimizer.tell(candidate, fn(dict(params)))
                else:  # tell
                    params = decode(candidate.value)
                    pending._by_number[number] = (candidate, True)  # as the adapter's ask keeps it
                    backend.tell(Trial.complete(number, params, fn(dict(params))))
                proposed.append(dict(params))
        finally:
            backend.close()
        return proposed

    return run


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in PIECES:
        raise SystemExit(f"usage: adapter_split.py {{{','.join(PIECES)}}} [adapter_overhead.py options]")
    piece = sys.argv.pop(1)
    if not any(arg.startswith("--only") for arg in sys.argv):
        sys.argv += ["--only", "nevergrad"]
    adapter_overhead._adapter_alone = split_loop(piece)
    sys.argv.append("--adapter-alone")
    return adapter_overhead.main()


if __name__ == "__main__":
    sys.exit(main())
