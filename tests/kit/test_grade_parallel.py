"""`petkit grade autograde --workers N` and `--scheduler` (petkit.grading.parallel): a worker killed mid-run
loses no finished grade and the re-run grades each student exactly once; a Dask cluster grades into a
PostgreSQL gradebook the suite starts itself. (tests/kit/test_grade.py's
test_notebooks_grade_as_they_should grades every lesson through --workers 2 too.)"""
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest

from petkit import ROOT, notebooks
from petkit.grading.course import Course
from petkit.registry import lesson

from helpers import command_of
from test_grade import FAST_GRADING, _copy_course, _grades, grade

LESSON = "softmax"


def _with_samples(tmp_path, copies=None):
    """A course with the lesson's samples submitted, plus `copies`: {new student: sample it copies}."""
    course = _copy_course(tmp_path)
    Course(course).add_samples(LESSON)
    copies = copies or {}
    for student, sample in copies.items():
        shutil.copytree(course / "submitted" / sample, course / "submitted" / student)
    expected = {s.student: (s.expected, s.max_points) for s in notebooks.samples(lesson(LESSON))}
    return course, {**expected, **{new: expected[old] for new, old in copies.items()}}


def _graded_lines(out):
    """The students the progress lines report as graded."""
    return [line.split("] ", 1)[1].split(":", 1)[0] for line in out.splitlines()
            if line.startswith("  [") and ": graded  (" in line]


def _children(process) -> list:
    """Its children; [] for a process that ended as we looked."""
    import psutil
    try:
        return process.children()
    except psutil.Error:
        return []


def _busy_worker(pid, wait=60):
    """A worker process of `petkit grade` (pid) that is grading right now: it has a kernel under it."""
    import psutil
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            busy = [p for p in psutil.Process(pid).children()
                    if "spawn_main" in command_of(p) and _children(p)]
        except psutil.Error:
            return None
        if busy:
            return busy[0]
        time.sleep(0.2)
    return None


@pytest.mark.slow
def test_a_killed_worker_loses_no_grade_and_the_rerun_grades_each_student_once(tmp_path):
    course, expected = _with_samples(tmp_path)  # 4 students: when the first is done, both workers are busy
    env = {**os.environ, **FAST_GRADING, "NO_COLOR": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    command = [sys.executable, "-m", "petkit.cli", "grade", "autograde", LESSON, "--workers", "2",
               "--course", str(course)]
    run = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, killed = [], None
    try:
        for line in run.stdout:
            out.append(line)
            if killed is None and ": graded  (" in line:
                killed = _busy_worker(run.pid)
                assert killed, "no worker was grading after the first grade: " + "".join(out)
                killed.kill()
        run.wait(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    first = "".join(out)
    assert killed is not None, first
    assert run.returncode == 1, first
    assert "its worker stopped before it was graded" in first and "re-run to grade it" in first, first
    graded_first = _graded_lines(first)
    assert 1 <= len(graded_first) < len(expected), first
    assert not list((course / ".petkit" / "pending").rglob("*.*")), "a commit was left half-way"

    again = grade("autograde", LESSON, "--workers", "2", "--course", str(course), env=FAST_GRADING, timeout=900)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(graded_first)} already graded, skipped" in again.stdout
    assert sorted(_graded_lines(again.stdout)) == sorted(set(expected) - set(graded_first)), again.stdout

    with sqlite3.connect(course / "gradebook.db") as con:
        per_student = dict(con.execute("SELECT student_id, COUNT(*) FROM submitted_assignment GROUP BY student_id"))
        ungraded = con.execute("SELECT COUNT(*) FROM grade WHERE auto_score IS NULL").fetchone()[0]
        cells = con.execute("SELECT COUNT(*) FROM grade").fetchone()[0]
    assert per_student == {s: 1 for s in expected}
    assert ungraded == 0 and cells == len(expected) * sum(len(notebooks.test_cells(e)) for e in lesson(LESSON).exercises)
    r = grade("export", "--course", str(course))
    assert r.returncode == 0, r.stderr
    assert _grades(course / "grades.csv") == expected
    assert sorted(p.parent.parent.name for p in (course / "autograded").glob(f"*/{LESSON}/{LESSON}.ipynb")) == \
        sorted(expected)


@pytest.mark.slow
def test_a_dask_cluster_grades_into_a_postgresql_gradebook(tmp_path, monkeypatch, postgres_url):
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    course, expected = _with_samples(tmp_path)
    shutil.rmtree(course / "submitted")  # `grade all --samples` submits them itself
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    for k, v in {**FAST_GRADING, "PYTHONPATH": str(ROOT)}.items():
        monkeypatch.setenv(k, v)  # the workers' environment (the tasks carry PETKIT_* themselves too)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        r = grade("all", LESSON, "--samples", "--scheduler", cluster.scheduler_address,
                  "--course", str(course), env=FAST_GRADING, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"on the Dask cluster at {cluster.scheduler_address} (2 workers)" in r.stdout, r.stdout
    assert _grades(course / "grades.csv") == expected
    assert not (course / "gradebook.db").exists(), "the grades went to SQLite, not PostgreSQL"
    import sqlalchemy
    engine = sqlalchemy.create_engine(postgres_url)
    try:
        with engine.connect() as con:
            rows = dict(con.execute(sqlalchemy.text(
                "SELECT student_id, COUNT(*) FROM submitted_assignment GROUP BY student_id")).all())
    finally:
        engine.dispose()
    assert rows == {s: 1 for s in expected}


def test_gradings_in_one_process_take_turns(monkeypatch):
    """A Dask worker runs tasks in one thread per core by default; a grading sets the process's
    environment and forks from the process's warm server (whose spool a job's start wipes), so the
    threads of one process grade one at a time (a mock grading, to count how many run at once)."""
    import threading
    from petkit.grading import parallel
    running, most, lock = [0], [0], threading.Lock()

    def grading(task):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return {"student": task["student"]}

    monkeypatch.setattr(parallel, "_grade_in_scratch", grading)
    results = []
    threads = [threading.Thread(target=lambda i=i: results.append(parallel.grade_in_scratch({}, {"student": f"s{i}"})))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1 and sorted(r["student"] for r in results) == ["s0", "s1", "s2", "s3"]
