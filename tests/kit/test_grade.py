"""`petkit grade` over a copy of grader/ (the checkout is never touched): the gradebook is made whole
or not at all, the samples get the scores they are meant to (faults: the graded class, softmax_class.py), and every
lesson's notebooks grade as they should (source: full marks, release: zero, a wrong answer for each
exercise: its points lost). The grading tests start real kernels, so they are marked slow."""
import csv
import functools
import shutil
import sqlite3
import subprocess
import sys

import pytest

from petkit import ROOT, notebooks
from petkit.corpus import load
from petkit.grading.autograde import autograde
from petkit.grading.course import Course, GradeError, broken_gradebook
from petkit.registry import lessons

from helpers import petkit

# scores only: fewer, unshrunk examples
FAST_GRADING = {"PETKIT_EXAMPLES": "10", "PETKIT_HIDDEN_EXAMPLES": "10", "PETKIT_SHRINK": "0"}


def grade(*args, **kwargs):
    """The real `petkit grade ...` command, in a subprocess."""
    return petkit("grade", *args, **kwargs)


def _copy_course(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "grader" / "nbgrader_config.py", course)
    for folder in ("source", "samples"):
        shutil.copytree(ROOT / "grader" / folder, course / folder)
    return course


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _submit(course, student, lesson_id, text):
    folder = course / "submitted" / student / lesson_id
    folder.mkdir(parents=True)
    (folder / f"{lesson_id}.ipynb").write_text(text)


def _grades(path):
    with open(path) as f:
        return {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(f)}


# --- the gradebook ---------------------------------------------------------------------------------

def test_the_broken_gradebook_nbgrader_leaves_without_alembic_is_replaced(tmp_path, monkeypatch, capsys):
    course = _copy_course(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no venv, so no alembic
    made = subprocess.run([sys.executable, "-c", "from nbgrader.api import Gradebook; "
                           f"Gradebook('sqlite:///{course / 'gradebook.db'}')"], capture_output=True, text=True)
    assert made.returncode != 0 and "alembic" in made.stderr  # nbgrader's own first run, without alembic on PATH
    assert broken_gradebook(course / "gradebook.db") == "it has no alembic version"
    Course(course).ensure_gradebook()  # same PATH: petkit puts the venv's tools first itself
    assert "failed first run" in capsys.readouterr().err
    assert broken_gradebook(course / "gradebook.db") == ""
    assert sorted(p.name for p in course.iterdir()) == ["gradebook.db", "nbgrader_config.py", "samples", "source"]


def test_a_new_gradebook_is_stamped_with_what_alembic_heads_says_without_running_it(tmp_path, monkeypatch):
    import nbgrader.api
    from petkit.grading.course import alembic_version, tools_env
    from petkit import environ
    with environ(**tools_env()):
        heads = nbgrader.api.get_alembic_version()  # the oracle: nbgrader's own `alembic heads` process
    course = _copy_course(tmp_path)

    def no_process(*args, **kwargs):
        raise AssertionError(f"ran {args}")
    monkeypatch.setattr(nbgrader.api.sp, "check_output", no_process)
    with alembic_version():
        assert nbgrader.api.get_alembic_version() == heads
    Course(course).ensure_gradebook()
    with sqlite3.connect(course / "gradebook.db") as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(heads,)]
    assert broken_gradebook(course / "gradebook.db") == ""


def test_a_failed_creation_leaves_no_gradebook_behind(tmp_path, monkeypatch):
    import nbgrader.api
    from alembic.script import ScriptDirectory
    course = _copy_course(tmp_path)
    before = _files(course)

    def unreadable(*args, **kwargs):  # the migrations cannot be read here: nbgrader's own way is tried
        raise OSError("no migrations")

    def alembic_missing():  # what nbgrader meets when `alembic` is not on PATH
        raise FileNotFoundError(2, "No such file or directory", "alembic")
    monkeypatch.setattr(ScriptDirectory, "from_config", unreadable)
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", alembic_missing)
    with pytest.raises(GradeError, match="alembic"):
        Course(course).ensure_gradebook()
    assert _files(course) == before
    monkeypatch.undo()
    Course(course).ensure_gradebook()
    assert broken_gradebook(course / "gradebook.db") == ""


def test_a_damaged_gradebook_that_holds_grades_is_left_alone(tmp_path):
    course = _copy_course(tmp_path)
    db = course / "gradebook.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE student (id VARCHAR(128))")
        con.execute("INSERT INTO student VALUES ('alice')")
    data = db.read_bytes()
    with pytest.raises(GradeError, match="holds grades"):
        Course(course).ensure_gradebook()
    assert db.read_bytes() == data


def test_the_cli_says_what_is_missing(tmp_path):
    course = _copy_course(tmp_path)
    r = grade("release", "no_such_lesson", "--course", str(course))
    assert r.returncode == 2 and "source/no_such_lesson/no_such_lesson.ipynb" in r.stderr and "petkit sync" in r.stderr
    r = grade("autograde", "softmax", "--course", str(course))
    assert r.returncode == 2 and "nothing to grade" in r.stderr
    r = grade()
    assert r.returncode == 2 and "release, autograde, export, feedback, report or all" in r.stderr
    for bad in ("0", "-2", "two"):
        r = grade("autograde", "softmax", "--workers", bad, "--course", str(course))
        assert r.returncode == 2 and "give 1 or more" in r.stderr, r.stderr


# --- the samples, end to end -------------------------------------------------------------------------

# `petkit grade all --samples`, and nbgrader's own commands on its course: test_report.py's graded class


# --- every lesson's notebooks grade as they should ---------------------------------------------------------

@functools.cache
def corpus():
    return load()


def _covering(batches: list[dict]) -> list[dict]:
    """The fewest leading batches that hold a wrong answer for every exercise that has one: each
    exercise's test cell is shown to cost its points under nbgrader; that every other wrong answer
    fails its test cell too is test_notebooks.py's test_every_wrong_answer_fails_its_test_cell
    (the same cells, run in process: a kernel per notebook would cost minutes)."""
    chosen, seen = [], set()
    for batch in batches:
        if set(batch) - seen:
            chosen.append(batch)
            seen |= set(batch)
    return chosen


def _graded_here(lesson, batches, tmp_path, monkeypatch) -> dict:
    """The lesson's source, released and wrong-answer notebooks graded in a course of their own."""
    for k, v in FAST_GRADING.items():
        monkeypatch.setenv(k, v)
    course = _copy_course(tmp_path)
    grader = Course(course)
    released = grader.release(lesson.id)
    _submit(course, "as-source", lesson.id, (course / "source" / lesson.id / f"{lesson.id}.ipynb").read_text())
    _submit(course, "as-released", lesson.id, released.read_text())
    source = notebooks.source_notebook(lesson)
    for k, batch in enumerate(batches, 1):
        _submit(course, f"wrong-{k}", lesson.id, notebooks.dumps(notebooks.wrong_answer_notebook(source, lesson, batch)))
    # one by one, in this process: the softmax lesson's class is graded by the parallel path (--workers 2,
    # softmax_class.py), and here a second worker would only pay its own start (nbgrader's import, a warm
    # server importing fastai: 7-9 s of CPU) on two cores the suite's other worker keeps busy
    from petkit import warm
    try:
        return {r.student: r for r in autograde(grader, lesson.id, workers=1)}
    finally:
        warm.close_all()  # its servers go with the test, not with the pytest worker


@pytest.mark.parametrize("lesson", [pytest.param(l, marks=[pytest.mark.slow, getattr(pytest.mark, l.id)])
                                    for l in lessons()], ids=lambda l: l.id)
def test_notebooks_grade_as_they_should(lesson, tmp_path, monkeypatch, request):
    every = notebooks.wrong_answer_batches(lesson, corpus())
    batches = _covering(every)
    assert {n for b in batches for n in b} == {w.exercise.split(".")[1] for w in corpus()
                                              if w.exercise.startswith(f"{lesson.id}.")}
    from softmax_class import LESSON
    if lesson.id == LESSON:  # the suite's graded class holds these notebooks already (softmax_class.py)
        from petkit.grading.results import result
        course, _ = request.getfixturevalue("graded_class")
        # the class's untouched sample is the released notebook (test_report.py's samples test)
        names = {"as-source": "as-source", "as-released": "sample-untouched",
                 **{f"wrong-{k}": f"wrong-{every.index(batch) + 1}" for k, batch in enumerate(batches, 1)}}
        results = {mine: result(Course(course), lesson.id, theirs) for mine, theirs in names.items()}
    else:
        results = _graded_here(lesson, batches, tmp_path, monkeypatch)
    assert all(r.ok for r in results.values()), [r.problem for r in results.values() if r.problem]
    total = sum(e.points for e in lesson.exercises)
    assert (results["as-source"].score, results["as-source"].max_score) == (total, total), results["as-source"].notes
    assert results["as-released"].score == 0, results["as-released"].cells
    from petkit.checks.core import checks_for
    slipped = []
    for k, batch in enumerate(batches, 1):
        graded = results[f"wrong-{k}"]
        for name, w in batch.items():
            # each part it gets wrong costs that part's test cell (the maths, or the bad-input one)
            kind = {c.key: c.kind for c in checks_for(w.exercise)}
            for cell in {f"test_{name}_bad_input" if kind[key] == "bad input" else f"test_{name}" for key in w.rejected_by}:
                score = graded.cells[cell][0]
                rejected = any(n.startswith(f"{cell}: ChecksFailed") for n in graded.notes)
                if score != 0 or not rejected:
                    slipped.append(f"{w.fn.__name__} ({w.mistake}): {cell}: {score} points; {graded.notes}")
    assert not slipped, "\n".join(slipped)
