"""The child process that runs checks for `petkit check`, one JSON event per line on stdout.

It runs apart from the CLI so that an answer that loops forever, eats memory or kills its process
costs the learner one exercise, not the whole table: the parent (petkit.checker) stops it and goes
on with the rest.

    python -m petkit.checker_child --impl PKG EXERCISE_ID...
    python -m petkit.checker_child --impl PKG --wait     # then the ids on stdin, as a JSON list, one line

With --wait it is started ahead of its exercises (petkit watch, while the learner edits: petkit.checker's
Ready): it sets itself up, then waits, and loads the answer only once it is told what to check.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys

from petkit.supervisor import die_with_supervisor, emitter, limit_memory


PRINTS_KEPT = 2000  # characters of what an answer prints that reach the learner; the rest is counted


class _CappedText(io.TextIOBase):
    """A text stream that keeps the first PRINTS_KEPT characters written to it and counts the rest."""

    def __init__(self):
        self.kept, self.total = "", 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.total += len(text)
        if len(self.kept) < PRINTS_KEPT:
            self.kept += text[:PRINTS_KEPT - len(self.kept)]
        return len(text)


@contextlib.contextmanager
def _captured_prints():
    """What the answer prints with print() while its checks run, capped (12 MB per call stays 2 KB)."""
    capture = _CappedText()
    saved, sys.stdout = sys.stdout, capture
    try:
        yield capture
    finally:
        sys.stdout = saved


def _private_stdout():
    """The JSON stream on a file descriptor of its own; fd 1 (what C code and children write to) goes to
    stderr, so nothing the answer writes can break the stream."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def _note_forks() -> list:
    """A list that becomes non-empty in any child the answer forks (os.fork, multiprocessing)."""
    forked: list = []
    os.register_at_fork(after_in_child=lambda: forked.append(True))
    return forked


def _told() -> list[str]:
    """The exercise ids the parent sends on stdin (a JSON list on one line); none when it closes it
    unsent (it did not need this child after all)."""
    import json
    line = sys.stdin.buffer.readline()
    try:
        ids = json.loads(line) if line.strip() else []
    except ValueError:
        ids = None
    if not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise SystemExit(f"petkit.checker_child: expected a JSON list of exercise ids on stdin, got {line[:80]!r}")
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m petkit.checker_child")
    parser.add_argument("--impl", default="exercises")
    parser.add_argument("--memory-mb", type=int, default=int(os.environ.get("PETKIT_MEMORY_MB", "4096")))
    parser.add_argument("--wait", action="store_true", help="set up, then read the exercise ids from stdin")
    parser.add_argument("exercises", nargs="*")
    args = parser.parse_args(argv)
    if bool(args.exercises) == args.wait:
        parser.error("give the exercise ids, or --wait for them on stdin")
    die_with_supervisor()  # a killed petkit check must not leave a looping answer running
    send = emitter(_private_stdout())
    forked = _note_forks()

    def emit(**event) -> None:
        if not forked:  # a child the answer forked: the events are its parent's to send
            send(**event)

    sys.path[:0] = [os.getcwd()]
    from petkit.checks.core import checks_for
    from petkit.checks.runner import ImplProblem, Outcome, load_function, run_check, ERROR, FAIL
    from petkit.misconceptions import known_mistakes
    from petkit.registry import exercise as lookup
    import torch
    torch.set_num_threads(1)
    limit_memory(args.memory_mb)
    exercises = args.exercises or _told()
    for exercise_id in exercises:
        ex = lookup(exercise_id)
        emit(event="start", exercise=ex.id)
        checks = checks_for(ex.id)
        with _captured_prints() as printed:
            try:
                fn = load_function(args.impl, ex)
            except ImplProblem as e:
                for c in checks:
                    emit(event="outcome", **Outcome(ex.id, c.kind, c.title, ERROR, str(e)).to_dict())
                fn = None
            outcomes = []
            for c in checks if fn is not None else ():
                outcomes.append(run_check(c, fn))
                emit(event="outcome", **outcomes[-1].to_dict())
        named = None
        if any(o.status == FAIL for o in outcomes):
            with _captured_prints():  # what the answer prints on the probes is not the learner's debugging
                named = known_mistakes(ex.id, fn)
        emit(event="done", exercise=ex.id, printed=printed.kept, printed_chars=printed.total,
             mistakes=named.splitlines() if named else [])
    emit(event="finished")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # a thread the answer left running must not keep the worker (and the learner) waiting
