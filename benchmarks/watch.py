"""Benchmark: `petkit watch`, from a save to the re-checked result of a maths exercise, against the
time of that exercise's checks alone in a warm process (torch, Hypothesis and the checks imported).

    python -m benchmarks.watch [--exercise softmax.softmax] [--runs 3]

Each run starts `petkit watch EXERCISE --impl mine` on a learner's package (the lesson's file: stubs) (the first check,
and the warm server's start, happen before it says "Watching"), then saves the reference answer and
times until watch says the exercise is done. The same checks are then timed in this process, after
one run to warm it. Target (issue 16): at most 1.5x.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from petkit import ROOT
from petkit.sync import exercise_files


def _learner_package(folder: Path, lesson: str) -> Path:
    """The reference answers, but the lesson's own file as its stubs (its exercises may use the
    earlier lessons': cross_entropy uses softmax's)."""
    pkg = folder / "mine"
    pkg.mkdir()
    for p, text in exercise_files().items():
        (pkg / p.name).write_text(text if p.stem == lesson else (ROOT / "solutions" / p.name).read_text())
    return pkg


def _watch_once(exercise: str, pause: float) -> float:
    """Seconds from the save to watch's 'is done' line."""
    lesson = exercise.split(".")[0]
    with tempfile.TemporaryDirectory(prefix="petkit-bench-watch-") as tmp:
        pkg = _learner_package(Path(tmp), lesson)
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "petkit.cli", "watch", exercise, "--impl", "mine"],
                                cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        watchdog = threading.Timer(600, proc.kill)
        watchdog.start()
        seen: list[str] = []

        def until(text: str) -> float:
            for line in proc.stdout:
                seen.append(line)
                if text in line:
                    return time.perf_counter()
            sys.exit("petkit watch ended before printing %r:\n%s" % (text, "".join(seen)))

        try:
            until("Watching")
            time.sleep(pause)  # as a learner would: a moment between the message and the save
            saved = time.perf_counter()
            (pkg / f"{lesson}.py").write_text((ROOT / "solutions" / f"{lesson}.py").read_text())
            done = until("is done")
        finally:
            watchdog.cancel()
            proc.kill()
            proc.wait()
        return done - saved


def _checks_alone(exercise: str, runs: int) -> float:
    """The median seconds of the exercise's checks in this (warm) process, on the reference answer."""
    import torch
    from petkit.checks.core import checks_for
    from petkit.checks.runner import load_function, run_check
    from petkit.registry import exercise as lookup
    torch.set_num_threads(1)  # as petkit.checker_child runs them
    ex = lookup(exercise)
    fn = load_function("solutions", ex)
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        outcomes = [run_check(c, fn) for c in checks_for(ex.id)]
        times.append(time.perf_counter() - start)
        if any(o.status != "pass" for o in outcomes):
            sys.exit(f"the reference answer of {exercise} failed its checks: {outcomes}")
    return statistics.median(times[1:])  # the first run warmed the process


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.watch", description=__doc__.split("\n\n")[0])
    p.add_argument("--exercise", default="softmax.softmax")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    pauses = random.Random(0).sample([0.6 + 0.1 * i for i in range(10)], args.runs)  # any phase of a poll
    saves = [_watch_once(args.exercise, pause) for pause in pauses]
    alone = _checks_alone(args.exercise, args.runs)
    w = statistics.median(saves)
    print(f"petkit watch {args.exercise}: save -> re-checked, median of {args.runs}: {w:.2f} s "
          f"({', '.join(f'{s:.2f}' for s in saves)})")
    print(f"its checks alone in a warm process, median of {args.runs}: {alone:.2f} s")
    print(f"ratio {w / alone:.2f} (target <= 1.5)")
    return 0 if w / alone <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
