"""Benchmark: the checks alone (kept for its old command line; see bench/paths/checks.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/slaops_bench \\
        python bench/checks.py [--scale 0.05] [--repeats 3]

is `python bench/run.py --only checks ...`: the shared data set of bench/data.py, one
pass of every check with 10,000 clocks due (at scale 1) against the hand-written SQL of
bench/paths/checks.py (HAND_SQL), and a pass with nothing due.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run  # noqa: E402
from bench.paths.checks import HAND_SQL  # noqa: E402, F401  (its old home)

if __name__ == "__main__":
    sys.exit(run.main(["--only", "checks", *sys.argv[1:]]))
