"""Every adapter against its native library, side by side: runs the three per-library scripts.

Each script runs the same cheap 5-dimensional objective through unitune and through the library's
own loop, with the same sampler and seed (200 trials for TPE and random, 60 for scikit-optimize's
GP), checks that both propose the same points, and prints the wall-time ratio unitune/native
(target: at most 1.05). Usage: ``uv run python benchmarks/scripts/adapter_overhead.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "optuna": HERE / "adapter_vs_native_optuna.py",
    "hyperopt": HERE / "adapter_vs_native_hyperopt.py",
    "skopt": HERE / "adapter_vs_native_skopt.py",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per algorithm")
    parser.add_argument("--only", choices=sorted(SCRIPTS), nargs="+", default=sorted(SCRIPTS))
    args = parser.parse_args()
    status = 0
    for name in args.only:
        print(f"== {name} ==", flush=True)
        done = subprocess.run([sys.executable, str(SCRIPTS[name]), "--repeats", str(args.repeats)])
        status = status or done.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
