"""Run every side-by-side benchmark, one after another, and summarise.

    python benchmarks/run_all.py            # all of them (a few minutes)
    python benchmarks/run_all.py sync refresh

Each benchmark prints its own table and exits non-zero when it misses its
target; this script runs them in turn (never in parallel: they measure time)
and lists which passed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = (
    "overhead",
    "refresh",
    "pagination",
    "sync",
    "ratelimit",
    "fake_routing",
    "resources",
    "files",
)


def main(names: list[str]) -> int:
    chosen = names or list(BENCHMARKS)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    results: list[tuple[str, int, float]] = []
    for name in chosen:
        print(f"\n=== bench_{name}.py ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / f"bench_{name}.py")])
        results.append((name, code, time.perf_counter() - started))
    print("\n=== summary ===")
    for name, code, elapsed in results:
        print(f"{name:<12}{'target met' if code == 0 else 'MISSED':<14}{elapsed:>7.1f} s")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
