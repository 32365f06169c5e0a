"""The process that runs checks for `petkit check`, one JSON line per event on stdout.

It runs apart from the CLI so that an answer that loops forever, eats memory or kills its process
costs the learner one exercise, not the whole table: the CLI stops it and goes on with the rest.

    python -m petkit.worker --impl PKG EXERCISE_ID...
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys


def _limit_memory(megabytes: int) -> None:
    """Cap the address space at what is mapped now plus `megabytes`: torch maps a lot before any
    learner code runs, so a fixed cap would break the import rather than the answer."""
    if megabytes <= 0:
        return
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    limit = mapped + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m petkit.worker")
    parser.add_argument("--impl", default="exercises")
    parser.add_argument("--memory-mb", type=int, default=int(os.environ.get("PETKIT_MEMORY_MB", "4096")))
    parser.add_argument("exercises", nargs="+")
    args = parser.parse_args(argv)
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever the learner's code prints must not break the JSON stream

    def emit(**event) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    sys.path[:0] = [os.getcwd()]
    from petkit.checks.core import checks_for
    from petkit.checks.runner import ImplProblem, Outcome, load_function, run_check, ERROR, FAIL
    from petkit.misconceptions import known_mistakes
    from petkit.registry import exercise as lookup
    import torch
    torch.set_num_threads(1)
    _limit_memory(args.memory_mb)
    for exercise_id in args.exercises:
        ex = lookup(exercise_id)
        emit(event="start", exercise=ex.id)
        checks = checks_for(ex.id)
        try:
            fn = load_function(args.impl, ex)
        except ImplProblem as e:
            for c in checks:
                emit(event="outcome", **Outcome(ex.id, c.kind, c.title, ERROR, str(e)).to_dict())
            emit(event="done", exercise=ex.id)
            continue
        outcomes = []
        for c in checks:
            outcomes.append(run_check(c, fn))
            emit(event="outcome", **outcomes[-1].to_dict())
        named = known_mistakes(ex.id, fn) if any(o.status == FAIL for o in outcomes) else None
        if named:
            emit(event="mistakes", exercise=ex.id, lines=named.splitlines())
        emit(event="done", exercise=ex.id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
