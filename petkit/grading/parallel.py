"""Autograde many submissions at once: N local processes (`--workers N`) or a Dask cluster
(`--scheduler tcp://HOST:PORT`), with a progress line, resumable and with one writer.

Each worker grades one student in a private scratch course (the course's nbgrader_config.py, its
source/LESSON/, a copy of a template gradebook that holds only the assignment, and the student's
submitted files, all sent in the task: a worker on another machine needs no shared folder). It runs
the very same `grade_submission` the serial path runs, with the same PETKIT_* settings,
and returns data: the autograded files and every grade and comment nbgrader saved.

Only this process writes the real gradebook (SQLite by default, or whatever nbgrader's
`CourseDirectory.db_url` says, e.g. PostgreSQL). Per student, as each result arrives:
  1. a pending marker .petkit/pending/LESSON/STUDENT is made;
  2. autograded/STUDENT/LESSON/ is replaced by the new files (written aside, then renamed);
  3. the submission and all its grades go into the gradebook in ONE transaction;
  4. the marker is removed.
A student counts as graded (and is skipped unless --force) when the gradebook holds its submission,
autograded/STUDENT/LESSON/ holds its notebooks, and no marker is left: a run stopped anywhere
(Ctrl-C, a killed worker, a crashed kernel, a killed parent) loses no grade committed before, and
leaves no half-graded student that a re-run would skip.
"""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import warnings
from pathlib import Path

from petkit import environ, tempdirs
from petkit.grading.course import Course, tools_env
from petkit.grading.results import Graded
from petkit.grading.results import result as read_result
from petkit.grading.submission import grade_submission

SCRATCH_DB = "gradebook.db"


# --- the worker's side: everything it needs comes in the task, everything it makes goes back as data ----

def _read_tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    """The folder with these files (`_read_tree`'s), made even when there are none: an empty submission
    folder is graded as the serial path grades it (its notebook is missing), not lost with its worker."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _scratch_course(root: Path, task: dict):
    root.mkdir(parents=True)
    if task["config"] is not None:
        (root / "nbgrader_config.py").write_text(task["config"])
    _write_tree(root / "source" / task["lesson"], task["source"])
    course = Course(root, timeout=task["timeout"], no_sandbox=task.get("no_sandbox", False))
    course.config.CourseDirectory.db_url = f"sqlite:///{root / SCRATCH_DB}"  # never the course's real database
    course.config.CourseDirectory.course_id = task["course_id"]
    return course


# One grading at a time per process. A Dask worker runs tasks in several threads by default (`dask worker`
# starts one thread per core), but a grading sets the process's environment (the task's PETKIT_*
# settings, nbgrader's NBGRADER_EXECUTION) and forks its kernels and referee runs from this process's
# warm server, whose spool a job's start wipes of every folder but its own: two gradings side by side
# would lose each other's scratch folders. Threads take turns; `dask worker --nthreads 1 --nworkers N`
# gets N at once.
_ONE_AT_A_TIME = threading.Lock()


def grade_in_scratch(shared: dict, student: dict) -> dict:
    """Grade one student's submission in a private scratch course; return what to commit. `shared`
    is the same for every student (sent once to a Dask cluster), `student` is its own."""
    with _ONE_AT_A_TIME:
        return _grade_in_scratch({**shared, **student})


def _grade_in_scratch(task: dict) -> dict:
    lesson, student = task["lesson"], task["student"]
    with tempdirs.folder("petkit-grade-") as tmp:
        course = _scratch_course(Path(tmp) / "course", task)
        (course.root / SCRATCH_DB).write_bytes(task["gradebook"])
        _write_tree(course.root / "submitted" / student / lesson, task["submission"])
        with environ(**task["env"]):
            graded = grade_submission(course, lesson, student, force=True,
                                      early_servers=task.get("early_servers", False))
        autograded = course.root / "autograded" / student / lesson
        return {"student": student, "problem": graded.problem,
                "autograded": _read_tree(autograded) if autograded.is_dir() else {},
                "grades": _dump_submission(course, lesson, student)}


def _dump_submission(course, lesson: str, student: str) -> dict:
    with warnings.catch_warnings(), course.gradebook() as gb:
        warnings.simplefilter("ignore")
        sub = gb.find_submission(lesson, student)
        return {"timestamp": sub.timestamp, "notebooks": {
            nb.name: {"late_submission_penalty": nb.late_submission_penalty,
                      "grades": {g.name: {"auto_score": g.auto_score, "manual_score": g.manual_score,
                                          "extra_credit": g.extra_credit,
                                          "needs_manual_grade": g.needs_manual_grade} for g in nb.grades},
                      "comments": {c.name: {"auto_comment": c.auto_comment, "manual_comment": c.manual_comment}
                                   for c in nb.comments}}
            for nb in sub.notebooks}}


# --- the one writer ---------------------------------------------------------------------------------

def _pending(course, lesson: str, student: str) -> Path:
    return course.root / ".petkit" / "pending" / lesson / student


def commit(course, lesson: str, result: dict) -> None:
    """Put one student's result into the course: its autograded files and its grades, the grades in
    one transaction; a pending marker covers the moments in between."""
    student = result["student"]
    marker = _pending(course, lesson, student)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    dest = course.root / "autograded" / student / lesson
    new, old = dest.with_name(f".{lesson}.petkit-new"), dest.with_name(f".{lesson}.petkit-old")
    for stale in (new, old):
        if stale.exists():
            shutil.rmtree(stale)
    if result["autograded"]:
        _write_tree(new, result["autograded"])
    if dest.exists():
        dest.rename(old)
    if result["autograded"]:
        new.rename(dest)
    with warnings.catch_warnings(), environ(**tools_env()), course.gradebook() as gb:
        warnings.simplefilter("ignore")
        _store(gb, lesson, student, result["grades"])
    if old.exists():
        shutil.rmtree(old)
    marker.unlink()
    for folder in (marker.parent, marker.parent.parent):
        try:
            folder.rmdir()  # only when empty
        except OSError:
            break


def _store(gb, lesson: str, student: str, grades: dict) -> None:
    session = gb.db.registry()
    real_commit = session.commit
    # nbgrader's update_or_create_* commit as they go; hold those back so the student's submission
    # and all of its grades land in the one commit below (or, on any error, none of it)
    session.commit = session.flush
    try:
        gb.update_or_create_student(student)
        extra = {"timestamp": grades["timestamp"]} if grades["timestamp"] else {}
        sub = gb.update_or_create_submission(lesson, student, **extra)
        notebooks = {nb.name: nb for nb in sub.notebooks}
        for name, saved in grades["notebooks"].items():
            nb = notebooks[name]
            nb.late_submission_penalty = saved["late_submission_penalty"]
            by_name = {g.name: g for g in nb.grades}
            for cell, values in saved["grades"].items():
                for k, v in values.items():
                    setattr(by_name[cell], k, v)
            by_name = {c.name: c for c in nb.comments}
            for cell, values in saved["comments"].items():
                for k, v in values.items():
                    setattr(by_name[cell], k, v)
        del session.commit
        real_commit()
    except BaseException:
        session.__dict__.pop("commit", None)
        session.rollback()
        raise


def finished(course, lesson: str, students: list[str]) -> set[str]:
    """The students whose grading of LESSON is complete: in the gradebook, with autograded notebooks,
    and no commit left half-way."""
    from nbgrader.api import MissingEntry
    done = set()
    with warnings.catch_warnings(), course.gradebook() as gb:
        warnings.simplefilter("ignore")
        for student in students:
            if _pending(course, lesson, student).exists():
                continue
            if not list((course.root / "autograded" / student / lesson).glob("*.ipynb")):
                continue
            try:
                gb.find_submission(lesson, student)
            except MissingEntry:
                continue
            done.add(student)
    return done


# --- the tasks and where they run ------------------------------------------------------------------------

def _template_gradebook(course, lesson: str) -> bytes:
    """A gradebook that knows only LESSON (nbgrader generate_assignment in a scratch course): what
    each worker grades against. Its alembic version is the real gradebook's, read from it."""
    from sqlalchemy import create_engine, text

    from petkit.grading.course import alembic_version
    engine = create_engine(course.db_url)
    try:
        with engine.connect() as con:
            version = con.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    task = _task_base(course, lesson)
    with alembic_version(version), tempdirs.folder("petkit-template-") as tmp:
        scratch = _scratch_course(Path(tmp) / "course", task)
        scratch.release(lesson)
        return (scratch.root / SCRATCH_DB).read_bytes()


def _task_base(course, lesson: str) -> dict:
    config = course.root / "nbgrader_config.py"
    timeout = course.config.ExecutePreprocessor.get("timeout") if "ExecutePreprocessor" in course.config else None
    return {"lesson": lesson, "course_id": course.course_id, "timeout": timeout,
            "config": config.read_text() if config.exists() else None,
            "source": _read_tree(course.root / "source" / lesson),
            "env": {k: v for k, v in os.environ.items() if k.startswith("PETKIT_")},
            "no_sandbox": course.no_sandbox}


WORKER_EXIT_S = 30  # seconds a worker may take to end once every student is graded (its server: 10 s at most)


def _local(workers: int):
    """Run tasks in `workers` fresh processes; yield (student, result or exception) as each ends."""
    import concurrent.futures as cf
    import multiprocessing
    from petkit import reaper
    # each worker is killed when this process dies, even by SIGKILL, and its kernels follow it (bwrap's
    # --die-with-parent): nothing is left running (without prctl, Ctrl-C still kills the workers' trees)
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=reaper.die_with_parent, initargs=(os.getpid(),))

    from petkit.grading.warm_grading import early_start_pays
    early = early_start_pays(workers)

    def run(shared, tasks):
        shared = {**shared, "early_servers": early}
        futures = {pool.submit(grade_in_scratch, shared, t): t["student"] for t in tasks}
        finished = False
        try:
            for f in cf.as_completed(futures):
                yield futures[f], (f.exception() or f.result())
            finished = True
        finally:
            processes = list((pool._processes or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            if finished:  # each worker ends as a process does, closing its warm server and its folders in /tmp
                for p in processes:
                    p.join(WORKER_EXIT_S)
            for p in processes:  # on Ctrl-C, a broken pool, or a worker that did not end: none goes on unseen
                if p.is_alive():
                    _kill_tree(p.pid)
    return run


def _kill_tree(pid: int) -> None:
    import psutil
    try:
        parent = psutil.Process(pid)
        for p in parent.children(recursive=True) + [parent]:
            p.kill()
    except psutil.Error:
        pass


def _dask(address: str):
    def run(shared, tasks):
        from distributed import Client, as_completed
        with Client(address, timeout="30s") as client:
            [shared] = client.scatter([shared], broadcast=True)  # the gradebook and notebooks: once per worker
            print(f"  on the Dask cluster at {address} ({len(client.scheduler_info()['workers'])} workers)", flush=True)
            futures = {client.submit(grade_in_scratch, shared, t, pure=False, key=f"petkit-grade-{t['student']}"
                                     f"-{time.time_ns()}"): t["student"] for t in tasks}
            try:
                for f in as_completed(futures):
                    yield futures[f], (f.exception() or f.result())
            finally:
                client.cancel(list(futures))
    return run


class Progress:
    """One line per finished student (or a bar redrawn in place on a terminal): graded, failed,
    time left."""

    def __init__(self, total: int, skipped: int = 0, stream=None):
        self.total, self.done, self.failed, self.start = total, 0, 0, time.monotonic()
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        if skipped:
            print(f"  {skipped} already graded, skipped (--force grades them again)", file=self.stream, flush=True)

    def update(self, student: str, what: str, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        state = f"{self.done}/{self.total} done, {self.failed} failed, about {_duration(left)} left"
        if self.tty:
            bar = "#" * round(20 * self.done / self.total)
            print(f"\r  [{bar:<20}] {state}  ({student}: {what})\033[K", end="" if self.done < self.total else "\n",
                  file=self.stream, flush=True)
        else:
            print(f"  [{self.done}/{self.total}] {student}: {what}  ({state})", file=self.stream, flush=True)


def _duration(s: float) -> str:
    s = round(s)
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def autograde(course, lesson: str, students: list[str], force: bool = False, workers: int = 2,
              scheduler: str | None = None, progress: bool = True) -> list:
    """Grade `students` of LESSON in parallel; the results in `students` order, as the serial path
    gives them. A student whose worker died or was cancelled is reported as not graded (re-run)."""
    course.ensure_gradebook()
    skip = set() if force else finished(course, lesson, students)
    problems: dict[str, str] = {}
    for s in students:
        if not (folder := course.root / "submitted" / s / lesson).is_dir():
            problems[s] = f"no submission: {folder} does not exist"
    todo = [s for s in students if s not in skip and s not in problems]
    unreached = {s for s in todo if _pending(course, lesson, s).exists()}  # an earlier run stopped before them
    if force:  # until each is committed, a re-run knows this run did not reach it
        for s in todo:
            _pending(course, lesson, s).parent.mkdir(parents=True, exist_ok=True)
            _pending(course, lesson, s).touch()
    bar = Progress(len(todo), len(skip)) if progress else None
    base = _task_base(course, lesson) if todo else None
    if todo:
        base["gradebook"] = _template_gradebook(course, lesson)
        tasks = ({"student": s, "submission": _read_tree(course.root / "submitted" / s / lesson)} for s in todo)
        run = _dask(scheduler) if scheduler else _local(workers)
        try:
            for student, out in run(base, tasks):
                if isinstance(out, BaseException):
                    problems[student] = (f"its worker stopped before it was graded ({type(out).__name__}: "
                                         f"{out}); re-run to grade it")
                    what = "worker lost"
                else:
                    commit(course, lesson, out)
                    problems[student] = out["problem"]
                    what = "not graded" if out["problem"] else "graded"
                if bar:
                    bar.update(student, what, not problems[student])
        except KeyboardInterrupt:
            print(f"\ninterrupted: {sum(1 for p in problems.values() if not p)} graded and kept; re-run to "
                  f"grade the rest", file=sys.stderr, flush=True)
            raise
    results = []
    for s in students:
        graded = read_result(course, lesson, s) if (course.root / "submitted" / s / lesson).is_dir() else Graded(s, lesson)
        if s in skip:
            graded.notes.insert(0, "already graded: left as it was (--force grades it again)")
        elif s in unreached and s in problems and not problems[s]:
            graded.notes.insert(0, "graded now: an earlier run (a --force run, or one stopped mid-way) had not reached it")
        elif s not in problems:
            graded = Graded(s, lesson, problem="not graded: the run stopped before it; re-run to grade it")
        elif problems[s]:
            graded.problem = problems[s]
        results.append(graded)
    return results
