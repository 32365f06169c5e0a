"""Benchmark: `petkit check <maths lesson> --impl solutions` against `python -c "import torch"`.

    python -m benchmarks.check [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from petkit import ROOT

TARGET = 1.2  # `petkit check softmax` cold, as a multiple of `python -c "import torch"`


def _time(cmd: list[str], expect_rc: int = 0) -> float:
    start = time.perf_counter()
    rc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    elapsed = time.perf_counter() - start
    if rc != expect_rc:
        sys.exit(f"benchmark command failed (exit {rc}, expected {expect_rc}): {' '.join(cmd)}")
    return elapsed


def bench_check(runs: int) -> int:
    base = [sys.executable, "-c", "import torch"]
    rows = []
    for lesson in ("softmax", "cross_entropy"):
        check = [sys.executable, "-m", "petkit.cli", "check", lesson, "--impl", "solutions"]
        _time(base), _time(check)  # warm the file cache
        t_base, t_check = [], []
        for _ in range(runs):  # interleaved, so both see the same machine
            t_base.append(_time(base))
            t_check.append(_time(check))
        b, c = statistics.median(t_base), statistics.median(t_check)
        rows.append((lesson, c, b, c / b))
    print(f"{'command':<46} {'median s':>9} {'import torch s':>15} {'ratio':>6}  (target <= {TARGET}, issue 16)")
    for lesson, c, b, r in rows:
        print(f"{'petkit check ' + lesson + ' --impl solutions':<46} {c:>9.2f} {b:>15.2f} {r:>6.2f}")
    return 0 if all(r <= TARGET for *_, r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.check", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    return bench_check(p.parse_args(argv).runs)


if __name__ == "__main__":
    sys.exit(main())
