"""Benchmarks that print ratios (DESIGN.md: targets are ratios measured in one run on one machine).

    python -m petkit.bench check [--runs N]   petkit check <maths lesson> against `import torch`
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from petkit import ROOT


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
    print(f"{'command':<46} {'median s':>9} {'import torch s':>15} {'ratio':>6}  (target <= 2.5)")
    for lesson, c, b, r in rows:
        print(f"{'petkit check ' + lesson + ' --impl solutions':<46} {c:>9.2f} {b:>15.2f} {r:>6.2f}")
    return 0 if all(r <= 2.5 for *_, r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m petkit.bench")
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("check", help="petkit check on a maths lesson vs python -c 'import torch'")
    s.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    return bench_check(args.runs)


if __name__ == "__main__":
    sys.exit(main())
