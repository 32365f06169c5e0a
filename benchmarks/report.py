"""Benchmark: how long `petkit grade report` takes to render a class of generated students.

    python -m benchmarks.report [--students 200] [--lesson softmax] [--keep DIR]

Makes a course folder in a temporary directory (the kit's nbgrader_config.py and source notebook,
the lesson released by nbgrader: no kernel), then writes STUDENTS synthetic submissions straight
through nbgrader's Gradebook API: every exercise's score, the referee's comments, and an autograded
notebook whose cells carry the errors grading leaves (a failing check, a known mistake, hidden tests,
not started, a syntax error, a timeout, a dead kernel, a cheat verdict), plus a few submissions that
could not be read at all. Then times `petkit.grading.report.write` (gradebook queries, notebooks read,
figures drawn, page written). Target: under 10 s for 200 students. `synthetic_class` is also what the
suite's scale tests build.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

TARGET_S = 10.0

# (kind, weight): what one exercise of one synthetic student went through
OUTCOMES = [("full", 55), ("check", 12), ("mistake", 8), ("hidden", 4), ("part", 3), ("not started", 6),
            ("syntax", 3), ("timeout", 2), ("crash", 2), ("cheat", 2)]
CHECK_TITLES = ["rows sum to 1", "matches torch.softmax", "no nan for large inputs", "keeps the shape",
                "shift invariance"]
MISTAKES = ["no max shift: exp overflows for large logits", "sums over the whole tensor instead of along dim"]
NOT_GRADED_EVERY = 50  # one student in this many handed in a notebook that is not valid JSON


def _report_text(exercise_id: str, title: str, message: str, extra: str = "") -> str:
    """A ChecksFailed message, formatted by the checks' own formatter."""
    from petkit.nbcheck import _report
    failure = (SimpleNamespace(kind="property", title=title),
               SimpleNamespace(status="fail", message=message + (f"\n{extra}" if extra else "")))
    return _report(exercise_id, [failure], 5)


def _error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


def synthetic_class(course_root: Path, lesson_id: str, students: int, seed: int = 0,
                    ids=None) -> dict[tuple[str, str], str]:
    """Write `students` synthetic graded submissions of the lesson into a course folder whose
    assignment is released; return {(student, exercise id): what happened} ('full', 'check', ...,
    'not graded')."""
    from nbgrader.api import Gradebook
    from petkit import environ as _env
    from petkit.grading.course import Course, tools_env as _tools_env
    from petkit.notebooks import answer_id, tests_id
    from petkit.grading.referee import REFEREE_SAYS
    from petkit.registry import lesson
    rng = random.Random(seed)
    course = Course(course_root)
    exercises = lesson(lesson_id).exercises
    source = json.loads(course.source_notebook(lesson_id).read_text())
    kinds, weights = zip(*OUTCOMES)
    ids = list(ids) if ids is not None else [f"student-{i:04d}" for i in range(students)]
    truth: dict[tuple[str, str], str] = {}
    with warnings.catch_warnings(), _env(**_tools_env()), Gradebook(course.db_url, course.course_id) as gb:
        warnings.simplefilter("ignore")
        for n, student in enumerate(ids):
            gb.update_or_create_student(student)
            sub = gb.update_or_create_submission(lesson_id, student)
            unread = n % NOT_GRADED_EVERY == NOT_GRADED_EVERY - 1
            if unread:
                folder = course.root / "submitted" / student / lesson_id
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{lesson_id}.ipynb").write_text('{"cells": [')
            nb = json.loads(json.dumps(source))
            cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")}
            grades = {g.name: g for snb in sub.notebooks for g in snb.grades}
            comments = {c.name: c for snb in sub.notebooks for c in snb.comments}
            for e in exercises:
                kind = "not graded" if unread else rng.choices(kinds, weights)[0]
                truth[(student, e.id)] = kind
                g, answer, test = grades[tests_id(e)], cells[answer_id(e)], cells[tests_id(e)]
                g.needs_manual_grade = False
                g.auto_score, g.manual_score = (e.points if kind in ("full", "cheat") else 0), None
                if kind == "part":
                    g.manual_score = e.points / 2
                if kind == "cheat":  # passed in the kernel, not in the referee's eyes
                    g.manual_score = 0
                    comments[answer_id(e)].manual_comment = (
                        f"{REFEREE_SAYS}cheat detected: calling {e.name} changed torch.allclose")
                title, value = rng.choice(CHECK_TITLES), rng.randint(-1000, 1000)
                message = f"{title}: fails for x = tensor([{value}.0])"
                outputs = {
                    "check": [_error("ChecksFailed", _report_text(e.id, title, message))],
                    "part": [_error("ChecksFailed", _report_text(e.id, title, message))],
                    "mistake": [_error("ChecksFailed", _report_text(
                        e.id, title, message, f"This looks like a known mistake: {rng.choice(MISTAKES)}"))],
                    "hidden": [_error("ChecksFailed", "the grader's hidden tests (the same checks on 60 other "
                                      "inputs) found a problem the visible checks missed.\n"
                                      + _report_text(e.id, title, message))],
                    "not started": [_error("ChecksFailed", f"{e.id} is not written yet: replace `raise "
                                           "NotImplementedError(...)` with your code, then run this cell again.")],
                    "timeout": [_error("CellTimeoutError", "A cell timed out while it was being executed, "
                                       "after 60 seconds.")],
                    "crash": [_error("KernelDied", "the kernel died while running this cell")],
                }.get(kind)
                if kind == "syntax":
                    answer["outputs"] = [_error("SyntaxError", "'(' was never closed (<ipython-input>, line 3)")]
                    outputs = [_error("NameError", f"name '{e.name}' is not defined")]
                test["outputs"] = outputs or []
            if not unread:
                folder = course.root / "autograded" / student / lesson_id
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{lesson_id}.ipynb").write_text(json.dumps(nb))
        gb.db.commit()
    return truth


def prepare(root: Path, lesson_id: str, db_url: str | None = None) -> Path:
    """A course folder with the kit's config and the lesson's source, released (nbgrader, no kernel);
    its gradebook at `db_url` when given (nbgrader's CourseDirectory.db_url, e.g. PostgreSQL)."""
    from petkit import ROOT
    from petkit.grading.course import Course
    course = root / "course"
    course.mkdir(parents=True)
    shutil.copy(ROOT / "grader" / "nbgrader_config.py", course)
    if db_url:
        with open(course / "nbgrader_config.py", "a") as f:
            f.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    shutil.copytree(ROOT / "grader" / "source" / lesson_id, course / "source" / lesson_id)
    Course(course).release(lesson_id)
    return course


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--lesson", default="softmax")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="build the course here and keep it")
    args = parser.parse_args(argv)
    from petkit.grading import report
    from petkit.grading.course import Course
    tmp = None if args.keep else tempfile.mkdtemp(prefix="petkit-bench-report-")
    root = args.keep or Path(tmp)
    try:
        t0 = time.perf_counter()
        course = prepare(root, args.lesson)
        synthetic_class(course, args.lesson, args.students)
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        page = report.write(Course(course), args.lesson)
        took = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in page.parent.iterdir())
        print(f"{args.students} synthetic students of {args.lesson} (gradebook and notebooks built in {built:.1f} s)")
        print(f"report rendered in {took:.2f} s (target: under {TARGET_S:g} s): {page} ({size / 1024:.0f} KB "
              f"with its figures)")
        return 0 if took < TARGET_S else 1
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
