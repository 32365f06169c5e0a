"""No gradebook operation deletes or overwrites grades: a locked gradebook is waited for and refused,
a damaged one moved aside (never deleted), `export` writes only over its own CSV and fails when the
gradebook cannot be read, a failed grading step leaves the previous result, student ids are one
plain folder name, and a folder without nbgrader_config.py is not a course."""
import contextlib
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petkit.grading import gradebook_safety as safety
from petkit.grading import submission
from petkit.registry import exercises
from petkit.grading.course import Course, GradeError, broken_gradebook as _broken_gradebook
from petkit.grading.submission import grade_submission

from test_grade import _copy_course, _files, _submit, grade

QUICK = {"PETKIT_GRADEBOOK_WAIT": "1"}


def _gradebook_with_a_student(course):
    grader = Course(course)
    with grader.gradebook() as gb:
        gb.update_or_create_student("alice")
    return course / "gradebook.db"


@contextlib.contextmanager
def _locked(db):
    con = sqlite3.connect(str(db))
    con.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        con.rollback()
        con.close()


def test_a_locked_gradebook_is_waited_for_then_refused_and_kept(tmp_path, monkeypatch):
    course = _copy_course(tmp_path)
    db = _gradebook_with_a_student(course)
    (course / "grades.csv").write_text(safety.CSV_HEADER + "\nsoftmax,,,alice,,,,5,0,5,5\n")
    csv_before, db_before = (course / "grades.csv").read_bytes(), db.read_bytes()
    _submit(course, "bob", "softmax", (course / "source" / "softmax" / "softmax.ipynb").read_text())
    monkeypatch.setattr(safety, "LOCK_WAIT", 0.5)
    with _locked(db):
        with pytest.raises(GradeError, match="locked by another process"):
            Course(course).ensure_gradebook()
        for step in (["export"], ["autograde", "softmax"]):
            r = grade(*step, "--course", str(course), env=QUICK)
            assert r.returncode == 2 and "locked by another process" in r.stderr, r.stdout + r.stderr
    assert db.read_bytes() == db_before and (course / "grades.csv").read_bytes() == csv_before
    assert not list(course.glob("gradebook.db.damaged-*"))
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT id FROM student").fetchall() == [("alice",)]


def test_a_damaged_gradebook_is_moved_aside_never_deleted(tmp_path, capsys):
    course = _copy_course(tmp_path)
    db = _gradebook_with_a_student(course)
    damaged = b"not an sqlite header" + db.read_bytes()[20:]
    db.write_bytes(damaged)
    r = grade("export", "--course", str(course))
    assert r.returncode == 2 and "cannot be read" in r.stderr and not (course / "grades.csv").exists()
    Course(course).ensure_gradebook()
    err = capsys.readouterr().err
    [aside] = list(course.glob("gradebook.db.damaged-*"))
    assert aside.read_bytes() == damaged and "moved aside" in err and aside.name in err
    assert _broken_gradebook(db) == ""  # a new, whole one in its place


def test_export_writes_only_over_its_own_csv(tmp_path):
    course = _copy_course(tmp_path)
    r = grade("export", "--course", str(course))
    assert r.returncode == 2 and "no gradebook" in r.stderr and not (course / "gradebook.db").exists()
    db = _gradebook_with_a_student(course)
    before = db.read_bytes()
    (course / "notes.csv").write_text("my own notes\n")
    (course / "roster.csv").write_text("student_id,name\nalice,Alice\n")
    for target, says in (("gradebook.db", "is the gradebook"), ("notes.csv", "not a grades CSV"),
                         ("roster.csv", "not a grades CSV"), ("grades.txt", "ending in .csv")):
        r = grade("export", "--course", str(course), "--to", str(course / target))
        assert r.returncode == 2 and says in r.stderr, r.stderr
    assert db.read_bytes() == before and (course / "notes.csv").read_text() == "my own notes\n"
    assert (course / "roster.csv").read_text() == "student_id,name\nalice,Alice\n"
    assert not (course / "grades.txt").exists()
    for _ in range(2):  # a new file, then over the CSV it wrote
        r = grade("export", "--course", str(course), "--to", str(course / "out.csv"))
        assert r.returncode == 0, r.stderr
        assert (course / "out.csv").read_text().splitlines()[0] == safety.CSV_HEADER


def test_grade_all_refuses_a_bad_export_target_before_grading_anyone(tmp_path):
    """Where `grade all` (or export) would write its CSV, given with --to or the default, is checked
    before the release and the grading, not after a whole class."""
    course = _copy_course(tmp_path)
    mine = "my own notes\n"
    (tmp_path / "notes.csv").write_text(mine)
    (course / "grades.csv").write_text(mine)  # where grade all writes by default
    before = _files(course)
    for to, extra, says in ((tmp_path / "grades.txt", (), "ending in .csv"),
                            (tmp_path / "notes.csv", (), "not a grades CSV"),
                            (None, (), "not a grades CSV"),
                            (tmp_path / "notes.csv", ("--per-exercise",), "not a grades CSV")):
        step = ("export", *extra) if extra else ("all", "softmax", "--samples")
        r = grade(*step, *(("--to", str(to)) if to else ()), "--course", str(course), timeout=120)
        assert r.returncode == 2 and says in r.stderr and "graded" not in r.stdout, (to, r.stdout, r.stderr)
    assert _files(course) == before  # nothing released, copied, graded or written
    assert (course / "grades.csv").read_text() == (tmp_path / "notes.csv").read_text() == mine
    assert not (tmp_path / "grades.txt").exists()


_EXERCISE_IDS = st.lists(st.sampled_from([e.id for e in exercises()]), unique=True, max_size=8)


@settings(max_examples=60, deadline=None)
@given(ids=_EXERCISE_IDS, rows=st.lists(st.text(max_size=5), max_size=3))
def test_the_kits_own_csvs_are_recognised_whatever_exercises_they_hold(tmp_path_factory, ids, rows):
    """Written as the per-exercise export writes it (classbook's header), or nbgrader's export: ours."""
    import csv
    from petkit.grading.classbook import cause_column
    path = tmp_path_factory.mktemp("csv") / "g.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student_id"] + [c for e in ids for c in (e, cause_column(e))])
        w.writerows([[r] for r in rows])
    assert safety.written_by_the_kit(path)
    path.write_text(safety.CSV_HEADER + "\nsoftmax,,,alice,,,,5,0,5,5\n")
    assert safety.written_by_the_kit(path)


@settings(max_examples=60, deadline=None)
@given(ids=_EXERCISE_IDS.filter(bool), data=st.data())
def test_a_csv_that_only_looks_like_ours_is_not(tmp_path_factory, ids, data):
    """A roster with a student_id column, a per-exercise header missing a cause column, with a column
    renamed or moved, nbgrader's header cut short: none is ours to overwrite."""
    from petkit.grading.classbook import cause_column
    ours = ["student_id"] + [c for e in ids for c in (e, cause_column(e))]
    k = data.draw(st.integers(0, len(ours) - 1))
    wrong = data.draw(st.sampled_from([
        ["student_id", "name", "email"],
        ours[:k] + ours[k + 1:],  # a column missing
        ours[:k] + [ours[k] + "x"] + ours[k + 1:],  # a column renamed
        ours[1:] + ours[:1],  # student_id not first
        safety.CSV_HEADER.split(",")[:-1]]))
    path = tmp_path_factory.mktemp("csv") / "g.csv"
    path.write_text(",".join(wrong) + "\nalice,1\n", encoding="utf-8")
    assert not safety.written_by_the_kit(path), wrong


@pytest.mark.parametrize("bad", ["../source", "a/b", "..", ".hidden", "", "x\\y", "a\nb"])
def test_a_student_id_is_one_plain_folder_name(bad):
    assert safety.student_id_problem(bad)


@pytest.mark.parametrize("good", ["alice", "sample-partial", "étudiant_1", "O'Brien", "a.b"])
def test_plain_student_ids_pass(good):
    assert safety.student_id_problem(good) == ""


def test_student_outside_submitted_is_refused_and_nothing_is_touched(tmp_path):
    course = _copy_course(tmp_path)
    source = sorted(p.relative_to(course) for p in (course / "source").rglob("*"))
    r = grade("autograde", "softmax", "--student", "../source", "--force", "--course", str(course))
    assert r.returncode == 2 and "not a student id: '../source'" in r.stderr, r.stdout + r.stderr
    assert sorted(p.relative_to(course) for p in (course / "source").rglob("*")) == source
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()


def test_a_folder_without_nbgrader_config_is_not_a_course(tmp_path):
    course = _copy_course(tmp_path)
    (course / "nbgrader_config.py").unlink()
    r = grade("autograde", "softmax", "--course", str(course))
    assert r.returncode == 2 and "no nbgrader_config.py" in r.stderr
    assert not (course / "gradebook.db").exists()


def _graded_before(course, student="alice"):
    folder = course / "autograded" / student / "softmax"
    folder.mkdir(parents=True)
    (folder / "softmax.ipynb").write_text("the earlier result")
    return folder


def test_a_failed_tooling_step_leaves_the_previous_result(tmp_path, monkeypatch):
    course = _copy_course(tmp_path)
    grader = Course(course)
    grader.release("softmax")
    _submit(course, "alice", "softmax", (course / "source" / "softmax" / "softmax.ipynb").read_text())
    done = _graded_before(course)

    def failing_nbgrader(conv):  # as nbgrader does when its gradebook write fails: the output removed
        import shutil
        shutil.rmtree(done)
        return False, "[ERROR] OperationalError: attempt to write a readonly database\n"
    monkeypatch.setattr(grader, "run", failing_nbgrader)
    graded = grade_submission(grader, "softmax", "alice", force=True)
    assert "attempt to write a readonly database" in graded.problem and "left as it was" in graded.problem
    assert (done / "softmax.ipynb").read_text() == "the earlier result"
    assert not list(done.parent.glob(".*petkit-previous"))


def test_a_zero_that_cannot_be_written_deletes_nothing(tmp_path, monkeypatch):
    course = _copy_course(tmp_path)
    grader = Course(course)
    grader.release("softmax")
    _submit(course, "alice", "softmax", '{"cells": [')  # not JSON: the submission's fault, a 0
    done = _graded_before(course)

    class ReadOnly:
        def __enter__(self):
            raise sqlite3.OperationalError("attempt to write a readonly database")

        def __exit__(self, *exc):
            return False
    real = grader.gradebook
    monkeypatch.setattr(grader, "gradebook", ReadOnly)
    assert "could not be written" in submission._record_zero(grader, "softmax", "alice")
    assert (done / "softmax.ipynb").read_text() == "the earlier result"
    monkeypatch.setattr(grader, "gradebook", real)
    graded = grade_submission(grader, "softmax", "alice")
    assert "not valid notebook JSON" in graded.problem and graded.score == 0
    assert not done.exists()  # recorded: the stale notebook goes only after the 0 is in the gradebook
