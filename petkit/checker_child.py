"""The child process that runs checks for `petkit check`, one JSON event per line on stdout.

It runs apart from the CLI so that an answer that loops forever, eats memory or kills its process
costs the learner one exercise, not the whole table: the parent (petkit.checker) stops it and goes
on with the rest.

    python -m petkit.checker_child --impl PKG EXERCISE_ID...
"""
from __future__ import annotations

import argparse
import os
import sys

from petkit.supervisor import emitter, limit_memory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m petkit.checker_child")
    parser.add_argument("--impl", default="exercises")
    parser.add_argument("--memory-mb", type=int, default=int(os.environ.get("PETKIT_MEMORY_MB", "4096")))
    parser.add_argument("exercises", nargs="+")
    args = parser.parse_args(argv)
    emit = emitter(sys.stdout)
    sys.stdout = sys.stderr  # whatever the learner's code prints must not break the event stream

    sys.path[:0] = [os.getcwd()]
    from petkit.checks.core import checks_for
    from petkit.checks.runner import ImplProblem, Outcome, load_function, run_check, ERROR
    from petkit.registry import exercise as lookup
    import torch
    torch.set_num_threads(1)
    limit_memory(args.memory_mb)
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
        for c in checks:
            emit(event="outcome", **run_check(c, fn).to_dict())
        emit(event="done", exercise=ex.id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
