"""``python -m unitune_bench ...`` is ``unitune bench ...``."""

import sys

from unitune_bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
