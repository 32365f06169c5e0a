"""Grading one student's submission of a lesson: nbgrader's Autograde in its kernel, then the
referee's grade of record. Nothing here depends on the other submissions."""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

from petkit import environ
from petkit.grading.course import GradeError, log_tail, tools_env
from petkit.grading.referee import record
from petkit.grading.results import Graded, result


def grade_submission(course, lesson: str, student: str, force: bool = False,
                     early_servers: bool | None = None) -> Graded:
    """Grade one student's submission of LESSON; never raises for a fault in the submission.
    `early_servers`: start the warm server before nbgrader sets up (warm_grading.start_servers); by
    default where this one grading process has the cores for it."""
    from nbgrader.converters import Autograde
    course.check_student_ids([student])
    folder = course.root / "submitted" / student / lesson
    if not folder.is_dir():
        return Graded(student, lesson, problem=f"no submission: {folder} does not exist")
    course.sandboxed  # noqa: B018 - refuses here when the sandbox cannot run
    course.ensure_gradebook()
    unreadable = {p.name: why for p in sorted(folder.glob("*.ipynb")) if (why := unreadable_notebook(p))}
    unreadable.update(missing_notebooks(folder, lesson))
    if unreadable:
        why = "; ".join(f"{name} {why}" for name, why in unreadable.items())
        kept = _record_zero(course, lesson, student)
        graded = result(course, lesson, student)
        graded.problem = f"{why}: " + (kept or "it gets 0")
        return graded
    from petkit.grading.warm_grading import early_start_pays, start_servers
    if early_servers is None:
        early_servers = early_start_pays(1)
    if early_servers:
        start_servers(course, lesson)
    conv = Autograde(coursedir=course.coursedir(assignment_id=lesson, student_id=student), config=course.config,
                     log=course.log)
    conv.force = force
    conv.create_student = True
    done = course.root / "autograded" / student / lesson
    previous = done.with_name(f".{lesson}.petkit-previous")  # nbgrader removes a failed one: keep a copy
    shutil.rmtree(previous, ignore_errors=True)
    if force and done.is_dir():
        shutil.copytree(done, previous, symlinks=True)
    try:
        with environ(PETKIT_STUDENT=student):
            ok, log = course.run(conv)
        kept = ""
        if not ok and _the_submissions_fault(log):
            kept = _record_zero(course, lesson, student, previous=previous)
        elif not ok:
            _put_back(previous, done)
            kept = "the previous result is left as it was; fix the cause and grade it again"
    finally:
        shutil.rmtree(previous, ignore_errors=True)
    if ok and course.referee and "Skipping existing assignment" not in log:
        record(course, lesson, student)  # the grade of record, out of the kernel's reach
    graded = result(course, lesson, student)
    if "Skipping existing assignment" in log:
        graded.notes.insert(0, "already graded: left as it was (--force grades it again)")
    if not ok:
        graded.problem = _why_failed(log, kept)
    return graded


def _record_zero(course, lesson: str, student: str, previous: Path | None = None) -> str:
    """The submission as graded with 0 everywhere, for a fault of the submission: the zeros are
    committed first, and only then is the stale autograded notebook removed. When the gradebook
    cannot be written, nothing is changed (the previous autograded folder put back) and the
    returned text says so ('' when the zero was recorded)."""
    stale = course.root / "autograded" / student / lesson
    try:
        with warnings.catch_warnings(), environ(**tools_env()), course.gradebook() as gb:
            warnings.simplefilter("ignore")
            gb.update_or_create_student(student)
            submission = gb.update_or_create_submission(lesson, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score, grade.manual_score, grade.needs_manual_grade = 0, None, False
            gb.db.commit()
    except GradeError:
        raise
    except Exception as e:  # noqa: BLE001 - SQLAlchemy's errors (read-only, disk full...): nothing lost
        if previous is not None:
            _put_back(previous, stale)
        return (f"its 0 could not be written to the gradebook ({type(e).__name__}: "
                f"{str(e).splitlines()[0][:200]}): the previous result is left as it was")
    if stale.exists():
        shutil.rmtree(stale)
    return ""


def _the_submissions_fault(log: str) -> bool:
    """Whether nbgrader failed because of what the notebook does (its kernel kept dying), rather than
    the tooling (the gradebook, a preprocessor, the machine)."""
    return "DeadKernelError" in log or "Kernel died" in log or "kernel died" in log.lower()


def _put_back(previous: Path, done: Path) -> None:
    """The autograded folder as it was before a failed run."""
    if previous.is_dir():
        shutil.rmtree(done, ignore_errors=True)
        done.parent.mkdir(parents=True, exist_ok=True)
        previous.rename(done)


def unreadable_notebook(path: Path) -> str:
    """Why nbgrader could not read this notebook, in a few words ('' when it can)."""
    import nbformat
    text = path.read_text(errors="replace")
    try:
        json.loads(text)
    except ValueError as e:
        return f"is not valid notebook JSON ({e})"
    try:
        nbformat.reads(text, as_version=4)
    except Exception as e:  # noqa: BLE001 - nbformat raises several kinds
        return f"is not a notebook nbformat can read ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
    return ""


def _why_failed(log: str, kept: str = "") -> str:
    if _the_submissions_fault(log):
        return ("the kernel died while running the notebook (does the code call exit(), quit() or "
                "os._exit(), or use too much memory?): nbgrader could not finish it, so " + (kept or "it gets 0"))
    errors = [l for l in log.splitlines() if l.startswith("[ERROR]") and "There was an error processing" not in l
              and "Please see" not in l and not l.startswith("[ERROR] Traceback")]
    reason = errors[0][len("[ERROR] "):] if errors else log_tail(log, 1)
    return f"nbgrader could not grade it ({reason[:300]}): {kept or 'the previous result is left as it was'}"


def missing_notebooks(folder: Path, lesson_id: str) -> dict[str, str]:
    """{notebook name: why} when the submission lacks the lesson's notebook (say what it holds instead)."""
    name = f"{lesson_id}.ipynb"
    if (folder / name).exists():
        return {}
    held = sorted(p.name for p in folder.iterdir())[:5] if folder.is_dir() else []
    return {name: "is missing" + (f" (the folder holds: {', '.join(map(ascii_name, held))})" if held else
                                  " (the folder is empty)")}


def ascii_name(name: str) -> str:
    """A file name as it can be printed, whatever bytes it is made of."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
