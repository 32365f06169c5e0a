"""`petkit grade`: nbgrader's workflow over a course folder (default grader/).

    release LESSON                       the student version (nbgrader generate_assignment)
    autograde LESSON [--student ID]      grade submitted/<student>/LESSON/ (each student on its own)
    export [--to FILE.csv]               the grades as CSV (nbgrader's CSV export)
    export --per-exercise [--to FILE.csv]  per student, each exercise's points and why it lost them
    feedback LESSON                      feedback HTML per student, without the hidden tests
    report LESSON                        reports/LESSON/index.html: who lost what and why
    all LESSON [--samples]               the whole pass: release, autograde, export, feedback, report
"""
from __future__ import annotations

import sys
from pathlib import Path

from petkit.grading import report
from petkit.grading.autograde import autograde
from petkit.grading.classbook import export_per_exercise, per_exercise_target
from petkit.grading.course import DEFAULT_COURSE, Course, GradeError
from petkit.grading.results import summary


def add_arguments(parser) -> None:
    steps = parser.add_subparsers(dest="step", metavar="STEP")

    def common(s):
        s.add_argument("--course", type=Path, default=DEFAULT_COURSE, metavar="DIR",
                       help="the nbgrader course folder (default: grader/)")
        s.add_argument("--verbose", "-v", action="store_true", help="show nbgrader's own log")

    s = steps.add_parser("release", help="make the student version of a lesson (nbgrader generate_assignment)")
    s.add_argument("lesson", metavar="LESSON")
    common(s)
    s = steps.add_parser("autograde", help="grade the submissions of a lesson in submitted/")
    s.add_argument("lesson", metavar="LESSON")
    s.add_argument("--student", action="append", metavar="ID", help="only this student (repeatable)")
    s.add_argument("--force", action="store_true", help="grade again submissions already graded")
    s.add_argument("--timeout", dest="cell_timeout", type=float, default=None, metavar="S",
                   help="seconds one cell may run (default: the course config's)")
    parallel_options(s)
    common(s)
    s = steps.add_parser("export", help="the grades as CSV (default: COURSE/grades.csv)")
    s.add_argument("--to", type=Path, default=None, metavar="FILE.csv")
    s.add_argument("--per-exercise", action="store_true",
                   help="one column per exercise and one with the cause of its lost points "
                        "(default: COURSE/grades-per-exercise.csv)")
    common(s)
    s = steps.add_parser("report", help="reports/LESSON/index.html: the class's scores and why points were lost")
    s.add_argument("lesson", metavar="LESSON")
    common(s)
    s = steps.add_parser("feedback", help="feedback HTML for each graded submission of a lesson")
    s.add_argument("lesson", metavar="LESSON")
    common(s)
    s = steps.add_parser("all", help="release, autograde (again) every submission, export, feedback, report")
    s.add_argument("lesson", metavar="LESSON")
    s.add_argument("--samples", action="store_true", help="first copy the sample submissions into submitted/")
    s.add_argument("--timeout", dest="cell_timeout", type=float, default=None, metavar="S",
                   help="seconds one cell may run (default: the course config's)")
    s.add_argument("--to", type=Path, default=None, metavar="FILE.csv")
    parallel_options(s)
    common(s)


def _at_least_one(text: str) -> int:
    import argparse
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers: give 1 or more (1 grades one by one)")
    return n


def parallel_options(s) -> None:
    s.add_argument("--no-sandbox", action="store_true",
                   help="run the learner's code without the OS sandbox (bwrap): it could reach the course "
                        "folder; said on every run and in the gradebook")
    s.add_argument("--workers", type=_at_least_one, default=1, metavar="N",
                   help="grade in N processes at once, with a progress line; resumable (default: 1, one by one)")
    s.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="grade on this Dask distributed cluster instead (see the README)")


def run(args) -> int:
    if not getattr(args, "step", None):
        print("petkit grade: say which step: release, autograde, export, feedback, report or all "
              "(`petkit grade --help`)", file=sys.stderr)
        return 2
    try:
        course = Course(args.course, timeout=getattr(args, "cell_timeout", None), verbose=args.verbose,
                        no_sandbox=getattr(args, "no_sandbox", False))
        _check_export_target(course, args)
        if course.no_sandbox:
            from petkit.grading.sandbox import NO_SANDBOX_WARNING
            print(f"petkit grade: warning: {NO_SANDBOX_WARNING}", file=sys.stderr, flush=True)
        return STEPS[args.step](course, args)
    except GradeError as e:
        print(f"petkit grade {args.step}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _check_export_target(course: Course, args) -> None:
    """Refuse where the CSV would go (given or default) before any work: `grade all` would otherwise
    grade the whole class, then refuse the export (and skip the feedback and the report). The steps
    check it again as they write."""
    if args.step == "export" and args.per_exercise:
        per_exercise_target(course, args.to)
    elif args.step in ("export", "all"):
        course.export_target(args.to)


def _lesson(course: Course, lesson: str) -> str:
    course.source_notebook(lesson)
    return lesson


def _step_release(course: Course, args) -> int:
    out = course.release(_lesson(course, args.lesson))
    print(f"released {args.lesson}: {_rel(out)}")
    return 0


def _step_autograde(course: Course, args) -> int:
    lesson = _lesson(course, args.lesson)
    print(f"petkit grade autograde {lesson} ({course.root})", flush=True)
    results = autograde(course, lesson, args.student, force=args.force, on_start=_progress,
                               workers=args.workers, scheduler=args.scheduler)
    print(summary(results, lesson))
    return 0 if all(r.ok for r in results) else 1


def _progress(i: int, n: int, student: str) -> None:
    print(f"  [{i}/{n}] {student} ...", flush=True)


def _step_export(course: Course, args) -> int:
    if args.per_exercise:
        out = export_per_exercise(course, args.to)
        print(f"points per exercise of {max(0, len(out.read_text().splitlines()) - 1)} students: {_rel(out)}")
        return 0
    out = course.export(args.to)
    rows = max(0, len(out.read_text().splitlines()) - 1)
    print(f"grades of {rows} student-lesson pairs: {_rel(out)}")
    return 0


def _step_feedback(course: Course, args) -> int:
    pages = course.feedback(_lesson(course, args.lesson))
    print(f"feedback for {len(pages)} submissions of {args.lesson}: {_rel(course.root / 'feedback')}/<student>/{args.lesson}/")
    return 0


def _step_all(course: Course, args) -> int:
    lesson = _lesson(course, args.lesson)
    print(f"petkit grade all {lesson} ({course.root})", flush=True)
    out = course.release(lesson)
    print(f"released: {_rel(out)}")
    if args.samples:
        print(f"samples copied into submitted/: {', '.join(course.add_samples(lesson))}")
    results = autograde(course, lesson, force=True, on_start=_progress, workers=args.workers, scheduler=args.scheduler)
    print(summary(results, lesson))
    csv = course.export(args.to)
    print(f"\ngrades: {_rel(csv)}")
    pages = course.feedback(lesson)
    print(f"feedback: {len(pages)} pages under {_rel(course.root / 'feedback')}/<student>/{lesson}/")
    print(f"report: {_rel(report.write(course, lesson))}")
    return 0 if all(r.ok for r in results) else 1


def _step_report(course: Course, args) -> int:
    page = report.write(course, _lesson(course, args.lesson))
    print(f"report of {args.lesson}: {_rel(page)}")
    return 0


STEPS = {"release": _step_release, "autograde": _step_autograde, "export": _step_export,
         "feedback": _step_feedback, "report": _step_report, "all": _step_all}


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
