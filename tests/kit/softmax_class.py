"""The softmax class the suite grades for real, ONCE per run (conftest.py's `graded_class`), as an
instructor's first run does it: `petkit grade all --samples --workers 2`, then the per-exercise CSV.
test_report.py reads its report, CSVs and feedback; test_grade.py's notebooks and samples tests and test_integrity.py's
cheat, fault and fair cases read its gradebook and output. One grading of all of them: each used to
grade a class of its own, paying the imports, and an answer that loops forever its time limit, again.

Its students: the lesson's samples, the source notebook itself (`as-source`), one per batch of the corpus's wrong answers (`wrong-K`), every
case of tests/kit/integrity.py (cheats, faults, fair answers), an answer that fits the visible checks
only, a cheat under a student id HTML must escape, and a notebook that is not valid JSON.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from petkit import ROOT, notebooks
from petkit.corpus import load
from petkit.grading.course import Course
from petkit.registry import lesson

import integrity
from test_grade import FAST_GRADING, _copy_course, _submit, grade

LESSON = integrity.LESSON  # the cases are written for its notebook
CHEAT_CELL = "import petkit.nbcheck\n\n\ndef softmax(x, dim=-1):\n    return x\n"
ODD_ID = "o'neil & <co>"  # a student id that HTML must escape
# the students whose notebook cannot be graded: this file's broken-json, integrity.py's faults
NOT_GRADABLE = {"broken-json"} | {c.student for c in integrity.FAULTS if c.message.startswith("NOT GRADED")}

# Right for as many calls as the visible checks make, wrong after: it fits the visible examples only.
# (It cannot ask petkit which run it is in: an answer cell that imports the kit is screened as a cheat.)
FITS_THE_VISIBLE_CHECKS = '''import torch

_calls = [0]


def sigmoid(x):
    _calls[0] += 1
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError("x must be a floating-point tensor")
    e = (-x.abs()).exp()
    s = torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return s if _calls[0] <= {visible_calls} else s * 0.5
'''


def _visible_calls(exercise_id: str, env: dict) -> int:
    """How many times the visible maths checks (the test cell's `check`) call the reference answer, counted
    in a fresh process with the grader's PETKIT_* settings, as in nbgrader's kernel."""
    lesson_id, name = exercise_id.split(".")
    code = (f"from petkit.nbcheck import MATHS, check\nfrom solutions.{lesson_id} import {name} as fn\ncalls = [0]\n"
            f"def counted(*a, **k):\n    calls[0] += 1\n    return fn(*a, **k)\n"
            f"check({exercise_id!r}, counted, kinds=MATHS)\nprint(calls[0])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def build_class(course: Path) -> None:
    """Submit the class into a course folder."""
    l = lesson(LESSON)
    Course(course).add_samples(LESSON)
    source = notebooks.source_notebook(l)
    _submit(course, "as-source", LESSON, (course / "source" / LESSON / f"{LESSON}.ipynb").read_text())
    for k, batch in enumerate(notebooks.wrong_answer_batches(l, load()), 1):
        _submit(course, f"wrong-{k}", LESSON, notebooks.dumps(notebooks.wrong_answer_notebook(source, l, batch)))
    cases = integrity.CHEATS + integrity.FAULTS + integrity.FAIR
    integrity.submit(course, cases)
    solved = {e.name: notebooks.solved for e in l.exercises}
    faults = {ODD_ID: {**solved, "softmax": notebooks.written(CHEAT_CELL)},
              "fits-visible-only": {**solved, "sigmoid": notebooks.written(FITS_THE_VISIBLE_CHECKS.format(
                  visible_calls=_visible_calls("softmax.sigmoid", FAST_GRADING)))}}
    for student, answers in faults.items():
        _submit(course, student, LESSON, notebooks.dumps(notebooks.student_notebook(source, answers)))
    _submit(course, "broken-json", LESSON, notebooks.dumps(notebooks.student_notebook(source))[:-300])


def grade_the_class(folder: Path) -> str:
    """`petkit grade all --samples` (release, the samples copied in again, autograde, export, feedback,
    report) of the class in `folder`/course, then the per-exercise CSV; what `grade all` printed."""
    course = _copy_course(folder)
    build_class(course)
    # the per-cell limit, which each cell of an answer that loops forever pays (its maths and its bad-input
    # test cell): 10 s, several times what a cell of these notebooks takes on two loaded cores
    done = grade("all", LESSON, "--samples", "--workers", "2", "--timeout", "10", "--course", str(course),
                 env=FAST_GRADING, timeout=1800)
    assert done.returncode == 1, done.stdout + done.stderr  # the notebooks that cannot be graded are reported
    r = grade("export", "--per-exercise", "--to", str(course / "per-exercise.csv"), "--course", str(course), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return done.stdout
