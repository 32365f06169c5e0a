"""`petkit grade report` and `petkit grade export --per-exercise` over one generated class, graded
once for the module (real nbgrader and referee runs): the softmax samples, the corpus's wrong answers
and a few faults (a loop that never ends, a kernel that exits, a cheat, a notebook that is not JSON).
Every number of the report's HTML and of the CSV is checked against the gradebook; the page is opened
in a real headless Chromium where it is installed; the feedback pages read well."""
import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from petkit import causes, notebooks
from petkit.corpus import load
from petkit.grade import Course
from petkit.registry import lesson

from test_grade import FAST_GRADING, _copy_course, _submit, grade

LESSON = "softmax"
LOOPS = "def log_softmax(x, dim=-1):\n    while True:\n        pass\n"
EXITS = "import os\n\n\ndef sigmoid(x):\n    os._exit(1)\n"
CHEATS = "import petkit.nbcheck\n\n\ndef softmax(x, dim=-1):\n    return x\n"
ODD_ID = "o'neil & <co>"  # a student id that HTML must escape


def build_class(course: Path) -> dict[str, str]:
    """Submit the class into a course folder: {student: what it is}."""
    l = lesson(LESSON)
    Course(course).add_samples(LESSON)
    kinds = {s.student: s.what for s in notebooks.samples(l)}
    source = notebooks.source_notebook(l)
    for k, batch in enumerate(notebooks.wrong_answer_batches(l, load()), 1):
        _submit(course, f"wrong-{k}", LESSON, notebooks.dumps(notebooks.wrong_answer_notebook(source, l, batch)))
        kinds[f"wrong-{k}"] = "wrong answers: " + ", ".join(batch)
    solved = {e.name: notebooks.solved for e in l.exercises}
    faults = {"loops-forever": {**solved, "log_softmax": notebooks.written(LOOPS)},
              "exits-kernel": {**solved, "sigmoid": notebooks.written(EXITS)},
              ODD_ID: {**solved, "softmax": notebooks.written(CHEATS)}}
    for student, answers in faults.items():
        _submit(course, student, LESSON, notebooks.dumps(notebooks.student_notebook(source, answers)))
        kinds[student] = "a fault"
    _submit(course, "broken-json", LESSON, notebooks.dumps(notebooks.student_notebook(source))[:-300])
    kinds["broken-json"] = "not valid JSON"
    return kinds
