"""The `petkit` command. Importing it is cheap: each subcommand loads only what it needs."""
from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys

from petkit import ROOT


def _impl_default() -> str:
    return os.environ.get("PETKIT_IMPL", "exercises")


def _impl_name(text: str) -> str:
    from petkit.impls import impl_problem
    problem = impl_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def _seconds(text: str) -> float:
    """A time limit: a number of seconds above 0 (not 0, negative, nan or inf)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a time limit: give a number of seconds above 0, e.g. 300")
    return value


def cmd_list(args) -> int:
    from petkit import hints
    from petkit.registry import lessons
    for lesson in lessons():
        print(f"{lesson.id}: {lesson.title}")
        for e in lesson.exercises:
            seen = hints.shown(e)
            print(f"  {e.id:<36} {e.points} pt{'s' if e.points > 1 else ' '}  hints {seen}/{len(e.hints)} seen  {e.title}")
    print("\nCheck one with `petkit check ID`, a lesson with `petkit check LESSON`, all with `petkit check`.")
    return 0


def cmd_check(args) -> int:
    from petkit import checker, progress
    from petkit.registry import select
    exercises = [e for target in (args.targets or [None]) for e in select(target)]
    exercises = list(dict.fromkeys(exercises))
    label = ", ".join(args.targets) if args.targets else "all lessons"
    print(f"petkit check: {label} (implementation: {args.impl})\n", flush=True)
    rows = progress.Streamed(exercises)  # each row as soon as its checks end
    results = checker.run(exercises, args.impl, timeout=args.timeout, on_result=rows.finished, on_start=rows.started)
    print(progress.summary(results))
    print()
    print(progress.next_step(results, args.impl))
    return 0 if all(r.status == "done" for r in results) else 1


def cmd_hint(args) -> int:
    from petkit import hints
    from petkit.registry import exercise
    if args.reset:
        hints.reset(exercise(args.exercise) if args.exercise else None)
        print(f"Hints reset for {args.exercise or 'every exercise'}.")
        return 0
    if not args.exercise:
        print("petkit hint: say which exercise, e.g. `petkit hint softmax.softmax` (`petkit list` shows them)",
              file=sys.stderr)
        return 2
    print(hints.next_hint(exercise(args.exercise)))
    return 0


def cmd_watch(args) -> int:
    from petkit.watch import watch
    return watch(args.target, args.impl, args.timeout, interval=args.interval)


def cmd_sync(args) -> int:
    from petkit.sync import SyncError  # here, not in main(): `petkit check` need not import the sync machinery
    try:
        return _sync(args)
    except SyncError as e:  # a course author's mistake, or learner work it would overwrite
        print(f"petkit sync: {e}", file=sys.stderr)
        return 2


def _sync(args) -> int:
    from petkit import sync
    if args.check:
        stale = sync.out_of_date()
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)}")
        if stale:
            print("Run `petkit sync` to regenerate them from solutions/.", file=sys.stderr)
        return 1 if stale else 0
    report = sync.sync(force=args.force)
    for p in report.backups:
        print(f"kept a copy of the old file: {p.relative_to(ROOT)}")
    for p in report.written:
        print(f"wrote {p.relative_to(ROOT)}")
    print(f"{len(report.written)} written, {len(report.unchanged)} already up to date.")
    return 0


def cmd_selftest(args) -> int:
    """The kit's own test suite: every check against solutions/, and the proofs that stubs and
    known wrong answers fail."""
    # one pytest worker per core (at most 4); `-n 0` among the extra arguments runs in this process
    workers = max(1, min(os.cpu_count() or 1, 4))
    # --durations: the slowest tests in every run's log (CI's too), where the suite's time goes
    cmd = [sys.executable, "-m", "pytest", "tests", "--impl=solutions", "-n", str(workers), "--dist", "worksteal",
           "--durations=25", *args.pytest_args]
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="petkit", description="Exercises for chapter 5 of the fastai book "
                                "(pet breeds): write the functions, check them, get hints.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("list", help="the lessons and exercises, in order")
    s.set_defaults(func=cmd_list)

    def impl_and_timeout(s):
        s.add_argument("--impl", default=_impl_default(), type=_impl_name, metavar="PKG",
                       help="package to check (default: $PETKIT_IMPL or 'exercises'; e.g. 'solutions')")
        s.add_argument("--timeout", type=_seconds, default=None, metavar="S",
                       help="stop a check that runs longer than S seconds (default 120)")

    s = sub.add_parser("check", help="run the checks and show your progress")
    s.add_argument("targets", nargs="*", metavar="LESSON|EXERCISE_ID", help="lessons or exercises (default: all)")
    impl_and_timeout(s)
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("hint", help="the next hint for an exercise")
    s.add_argument("exercise", nargs="?", metavar="EXERCISE_ID")
    s.add_argument("--reset", action="store_true", help="start the hints again (for one exercise, or all)")
    s.set_defaults(func=cmd_hint)

    s = sub.add_parser("watch", help="re-check the exercise you are on whenever a file is saved")
    s.add_argument("target", nargs="?", metavar="LESSON|EXERCISE_ID")
    impl_and_timeout(s)
    s.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_watch)

    s = sub.add_parser("sync", help="(course authors) write exercises/ from solutions/")
    s.add_argument("--check", action="store_true", help="only report files that are out of date (exit 1 if any)")
    s.add_argument("--force", action="store_true", help="overwrite files with learner code (a copy is kept)")
    s.set_defaults(func=cmd_sync)

    # Commands whose module is heavy (numpy, PIL, fastai, nbgrader) load it only when they run.
    lazy = [("data", "write the synthetic Oxford-IIIT Pets data set (or fetch the real one)"),
            ("pretrain", "train pretrained bodies offline (for transfer learning without ImageNet)"),
            ("demo", "the chapter end to end with the reference solutions; writes a report"),
            ("grade", "(instructors) nbgrader: release, autograde, export, feedback")]
    modules = {"grade": "petkit.grading.cli"}
    chosen = (argv if argv is not None else sys.argv[1:])[:1]
    for name, text in lazy:
        s = sub.add_parser(name, help=text)
        if name in chosen:
            module = importlib.import_module(modules.get(name, f"petkit.{name}"))
            module.add_arguments(s)
            s.set_defaults(func=lambda args, module=module: module.run(args))
        else:
            s.set_defaults(func=None)

    s = sub.add_parser("selftest", help="(developers) the kit's own test suite, against solutions/")
    s.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments")
    s.set_defaults(func=cmd_selftest)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "command", None) == "selftest":
        args.pytest_args = extra + args.pytest_args  # options such as -q or -k go straight to pytest
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        build_parser().print_help()
        return 2
    if getattr(args, "timeout", "unset") is None:
        from petkit.checker import DEFAULT_TIMEOUT
        args.timeout = DEFAULT_TIMEOUT
    from petkit.registry import UnknownTarget
    try:
        return args.func(args)
    except BrokenPipeError:
        return _reader_left()
    except UnknownTarget as e:
        print(f"petkit {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _reader_left() -> int:
    """The reader of our output went away (`petkit list | head`): stop quietly, as `cat` does, and keep
    Python from complaining when it flushes stdout on exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


if __name__ == "__main__":
    sys.exit(main())
