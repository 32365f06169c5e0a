"""`petkit grade`: nbgrader's workflow over a course folder (default grader/).

    release LESSON                       the student version (nbgrader generate_assignment)
    autograde LESSON [--student ID]      grade submitted/<student>/LESSON/ (each student on its own)
    export [--to FILE.csv]               the grades as CSV (nbgrader's CSV export)
    feedback LESSON                      feedback HTML per student, without the hidden tests
    all LESSON [--samples]               the whole pass: release, autograde, export, feedback

nbgrader runs in this process through its Python classes, configured by the course's
nbgrader_config.py, with the kit's .venv/bin first on PATH (nbgrader's first database creation runs
`alembic` from PATH). The gradebook is created under a temporary name and renamed when complete, so
a failed first run never leaves a broken one behind. `autograde_submission` grades one submission
and returns what happened to it; nothing it does depends on the other submissions.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import sqlite3
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from petkit import ROOT
from petkit import environ as _env

DEFAULT_COURSE = ROOT / "grader"
GRADEBOOK = "gradebook.db"


class GradeError(Exception):
    """Something the instructor has to fix before grading can go on (a missing lesson, a broken gradebook)."""


# --- nbgrader, configured for one course -------------------------------------------------------

def _tools_env() -> dict[str, str]:
    """PATH with the venv's tools (alembic, jupyter) first, and PYTHONPATH with the kit on it, for
    nbgrader and the kernels it starts."""
    bin_dir = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
    py = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(ROOT)]
    return {"PATH": os.pathsep.join([bin_dir] + path), "PYTHONPATH": os.pathsep.join([str(ROOT)] + py)}


class Course:
    """A course folder: nbgrader_config.py, source/, and whatever nbgrader has made there."""

    def __init__(self, root: Path | str = DEFAULT_COURSE, timeout: float | None = None, verbose: bool = False):
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise GradeError(f"there is no course folder {self.root}; the kit's is grader/ (`--course DIR` picks another)")
        self.config = Config()
        if (self.root / "nbgrader_config.py").exists():
            self.config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config())
        self.config.CourseDirectory.root = str(self.root)
        if timeout is not None:
            self.config.ExecutePreprocessor.timeout = self.config.Execute.timeout = int(timeout)
        self.verbose = verbose
        self.referee = True  # petkit.referee re-derives each score; off only to compare with plain nbgrader
        self.log = logging.getLogger("petkit.grade.nbgrader")  # nbgrader's log: kept, shown with --verbose
        self.log.propagate = False
        self.log.setLevel(logging.INFO)
        if not self.log.handlers:
            self.log.addHandler(logging.NullHandler())

    # nbgrader's objects
    def coursedir(self, **traits):
        from nbgrader.coursedir import CourseDirectory
        cd = CourseDirectory(config=self.config, log=self.log)
        for k, v in traits.items():
            setattr(cd, k, v)
        return cd

    @property
    def course_id(self) -> str:
        return self.coursedir().course_id

    @property
    def db_url(self) -> str:
        return self.coursedir().db_url

    def gradebook(self):
        from nbgrader.api import Gradebook
        self.ensure_gradebook()
        return Gradebook(self.db_url, self.course_id)

    def run(self, converter) -> tuple[bool, str]:
        """Start an nbgrader converter; (whether it succeeded, its log)."""
        buffer = io.StringIO()
        handler = logging.StreamHandler(buffer)
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
        self.log.addHandler(handler)
        echo = None
        if self.verbose:
            echo = logging.StreamHandler(sys.stderr)
            echo.setFormatter(logging.Formatter("  nbgrader: [%(levelname)s] %(message)s"))
            self.log.addHandler(echo)
        ok = True
        try:
            with warnings.catch_warnings(), _env(**_tools_env()):
                warnings.simplefilter("ignore")  # SQLAlchemy's warnings about nbgrader's own sessions
                converter.start()
        except Exception as e:  # noqa: BLE001 - nbgrader raises NbGraderException and others; report them all
            ok = False
            self.log.error("%s: %s", type(e).__name__, e)
        finally:
            self.log.removeHandler(handler)
            if echo:
                self.log.removeHandler(echo)
        return ok, buffer.getvalue()

    # --- the gradebook ---------------------------------------------------------------------

    def ensure_gradebook(self) -> None:
        """Make gradebook.db if it is missing, whole or not at all; remove a broken one that a failed
        first run left behind (tables but no alembic version, and nothing in them)."""
        default = f"sqlite:///{self.root / GRADEBOOK}"
        if self.db_url != default:
            return  # a database the instructor configured: theirs to manage
        db = self.root / GRADEBOOK
        if db.exists():
            problem = _broken_gradebook(db)
            if not problem:
                return
            if _holds_grades(db):
                raise GradeError(f"{db} is damaged ({problem}) but holds grades: back it up, then run "
                                 f"`nbgrader db upgrade` in {self.root}, or move it away to start afresh")
            print(f"petkit grade: removing {db}: {problem} (left by a failed first run); making it again",
                  file=sys.stderr)
            db.unlink()
        from nbgrader.api import Gradebook
        tmp = db.with_name(f".{GRADEBOOK}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            try:
                with _env(**_tools_env()), Gradebook(f"sqlite:///{tmp}", self.course_id):
                    pass
            except Exception as e:  # noqa: BLE001
                raise GradeError(f"could not create the gradebook ({type(e).__name__}: {e}); nbgrader needs "
                                 f"`alembic` on PATH (it is in {Path(sys.executable).parent})") from None
            problem = _broken_gradebook(tmp)
            if problem:
                raise GradeError(f"nbgrader made an incomplete gradebook ({problem})")
            os.replace(tmp, db)
        finally:
            tmp.unlink(missing_ok=True)

    # --- the steps -------------------------------------------------------------------------

    def source_notebook(self, lesson: str) -> Path:
        path = self.root / "source" / lesson / f"{lesson}.ipynb"
        if not path.exists():
            known = sorted(p.name for p in (self.root / "source").glob("*") if p.is_dir())
            raise GradeError(f"there is no {path.relative_to(self.root)} in {self.root} (lessons here: "
                             f"{', '.join(known) or 'none'}); `petkit sync` writes the source notebooks")
        return path

    def release(self, lesson: str) -> Path:
        """The student version, release/LESSON/LESSON.ipynb (made afresh from source/ each time)."""
        from nbgrader.converters import GenerateAssignment
        self.source_notebook(lesson)
        self._warn_if_stale(lesson)
        self.ensure_gradebook()
        conv = GenerateAssignment(coursedir=self.coursedir(assignment_id=lesson), config=self.config, log=self.log)
        conv.force = True
        conv.create_assignment = True
        ok, log = self.run(conv)
        out = self.root / "release" / lesson / f"{lesson}.ipynb"
        if not ok or not out.exists():
            raise GradeError(f"nbgrader generate_assignment {lesson} failed:\n{_tail(log)}")
        return out

    def _warn_if_stale(self, lesson: str) -> None:
        from petkit import notebooks
        from petkit.registry import lessons
        for l in lessons():
            if l.id == lesson:
                want = notebooks.dumps(notebooks.source_notebook(l))
                if self.source_notebook(lesson).read_text() != want:
                    print(f"petkit grade: warning: source/{lesson}/{lesson}.ipynb is not what `petkit sync` "
                          f"writes from solutions/ (edited by hand, or sync not run)", file=sys.stderr)

    def students(self, lesson: str) -> list[str]:
        folder = self.root / "submitted"
        return sorted(p.parent.name for p in folder.glob(f"*/{lesson}") if p.is_dir()) if folder.is_dir() else []

    def add_samples(self, lesson: str) -> list[str]:
        """Copy samples/<student>/LESSON/ into submitted/ (replacing earlier copies of the samples only)."""
        added = []
        for src in sorted((self.root / "samples").glob(f"*/{lesson}")):
            dest = self.root / "submitted" / src.parent.name / lesson
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(src, dest)
            added.append(src.parent.name)
        if not added:
            raise GradeError(f"no samples for {lesson} under {self.root / 'samples'} (`petkit sync` writes them)")
        return added

    def autograde(self, lesson: str, students: list[str] | None = None, force: bool = False,
                  on_start=None, workers: int = 1, scheduler: str | None = None) -> list["Graded"]:
        """Grade each submission of LESSON (all of submitted/*/LESSON/, or `students`), one by one, or
        in `workers` processes / on a Dask `scheduler` (petkit.parallel: resumable, one writer)."""
        self.source_notebook(lesson)
        students = students or self.students(lesson)
        if not students:
            raise GradeError(f"nothing to grade: no submitted/<student>/{lesson}/ in {self.root} "
                             f"(`petkit grade all {lesson} --samples` grades the sample submissions)")
        if not (self.root / "release" / lesson).exists():
            self.release(lesson)  # nbgrader needs the assignment in the gradebook first
        if workers > 1 or scheduler:
            from petkit import parallel
            return parallel.autograde(self, lesson, students, force=force, workers=workers, scheduler=scheduler)
        results = []
        for i, student in enumerate(students, 1):
            if on_start:
                on_start(i, len(students), student)
            results.append(self.autograde_submission(lesson, student, force=force))
        return results

    def autograde_submission(self, lesson: str, student: str, force: bool = False) -> "Graded":
        """Grade one student's submission of LESSON; never raises for a fault in the submission."""
        from nbgrader.converters import Autograde
        folder = self.root / "submitted" / student / lesson
        if not folder.is_dir():
            return Graded(student, lesson, problem=f"no submission: {folder} does not exist")
        self.ensure_gradebook()
        unreadable = {p.name: why for p in sorted(folder.glob("*.ipynb")) if (why := _unreadable(p))}
        from petkit.referee import missing_notebooks
        unreadable.update(missing_notebooks(folder, lesson))
        if unreadable:
            self._record_zero(lesson, student)
            graded = self.result(lesson, student)
            graded.problem = "; ".join(f"{name} {why}" for name, why in unreadable.items()) + ": it gets 0"
            return graded
        conv = Autograde(coursedir=self.coursedir(assignment_id=lesson, student_id=student), config=self.config,
                         log=self.log)
        conv.force = force
        conv.create_student = True
        with _env(PETKIT_STUDENT=student):
            ok, log = self.run(conv)
        if not ok:
            self._record_zero(lesson, student)
        if ok and self.referee and "Skipping existing assignment" not in log:
            from petkit.referee import record  # the grade of record, out of the kernel's reach
            record(self, lesson, student)
        graded = self.result(lesson, student)
        if "Skipping existing assignment" in log:
            graded.notes.insert(0, "already graded: left as it was (--force grades it again)")
        if not ok:
            graded.problem = _why_failed(log)
        return graded

    def _record_zero(self, lesson: str, student: str) -> None:
        """The submission as graded with 0 everywhere (no earlier grade or autograded notebook kept)."""
        stale = self.root / "autograded" / student / lesson
        if stale.exists():
            shutil.rmtree(stale)
        with warnings.catch_warnings(), self.gradebook() as gb:
            warnings.simplefilter("ignore")
            gb.update_or_create_student(student)
            submission = gb.update_or_create_submission(lesson, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score, grade.manual_score, grade.needs_manual_grade = 0, None, False
            gb.db.commit()

    def result(self, lesson: str, student: str) -> "Graded":
        """What the gradebook (and the autograded notebook) say about one submission."""
        from nbgrader.api import MissingEntry
        from petkit.referee import said
        graded = Graded(student, lesson)
        referee = []
        with self.gradebook() as gb:
            try:
                sub = gb.find_submission(lesson, student)
            except MissingEntry:
                graded.problem = "not graded yet"
                return graded
            graded.score, graded.max_score = sub.score, sub.max_score
            for nb in sub.notebooks:
                for g in nb.grades:
                    graded.cells[g.name] = (g.score, g.max_score)
                referee += [f"{c.name}: referee: {said(c.manual_comment)}" for c in nb.comments
                            if said(c.manual_comment)]
        graded.notes += _notes(self.root / "autograded" / student / lesson) + referee
        return graded

    def export(self, to: Path | str | None = None) -> Path:
        from nbgrader.plugins import CsvExportPlugin
        to = Path(to) if to else self.root / "grades.csv"
        to.parent.mkdir(parents=True, exist_ok=True)
        plugin = CsvExportPlugin(config=self.config, log=self.log)
        plugin.to = str(to)
        with self.gradebook() as gb:
            plugin.export(gb)
        return to

    def feedback(self, lesson: str) -> list[Path]:
        """feedback/<student>/LESSON/LESSON.html for every graded submission; refuses to leave any
        that shows hidden test code (a course config that lost ClearHiddenTests)."""
        from nbgrader.converters import GenerateFeedback
        self.source_notebook(lesson)
        if not list((self.root / "autograded").glob(f"*/{lesson}")):
            raise GradeError(f"no autograded submissions of {lesson} yet: run `petkit grade autograde {lesson}` first")
        conv = GenerateFeedback(coursedir=self.coursedir(assignment_id=lesson, student_id="*"), config=self.config,
                                log=self.log)
        conv.force = True
        ok, log = self.run(conv)
        pages = sorted((self.root / "feedback").glob(f"*/{lesson}/*.html"))
        leaking = [p for p in pages if _shows_hidden_tests(p.read_text(errors="replace"))]
        for p in leaking:
            p.unlink()
        if leaking:
            raise GradeError(f"the feedback showed hidden test code, so it was deleted: "
                             f"{', '.join(str(p.relative_to(self.root)) for p in leaking)}. Keep "
                             f"ClearHiddenTests and petkit.grade.HideTestTracebacks in "
                             f"GenerateFeedback.preprocessors (see grader/nbgrader_config.py)")
        if not ok:
            raise GradeError(f"nbgrader generate_feedback {lesson} failed:\n{_tail(log)}")
        return pages


# --- one submission's result -------------------------------------------------------------------

@dataclass
class Graded:
    student: str
    lesson: str
    score: float = 0.0
    max_score: float = 0.0
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)  # grade cell id -> (score, max)
    notes: list[str] = field(default_factory=list)
    problem: str = ""      # why it could not be graded (whole or in part)

    @property
    def ok(self) -> bool:
        return not self.problem


def _unreadable(path: Path) -> str:
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


def _why_failed(log: str) -> str:
    if "DeadKernelError" in log or "Kernel died" in log or "kernel died" in log.lower():
        return ("the kernel died while running the notebook (does the code call exit(), quit() or "
                "os._exit(), or use too much memory?): nbgrader could not finish it, so it gets 0")
    errors = [l for l in log.splitlines() if l.startswith("[ERROR]") and "There was an error processing" not in l
              and "Please see" not in l]
    reason = errors[0][len("[ERROR] "):] if errors else _tail(log, 1)
    return f"nbgrader could not grade it ({reason[:300]}): it gets 0"


def _notes(folder: Path) -> list[str]:
    """One line per cell that failed in the autograded notebook: which, and the first line of why."""
    notes: list[str] = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            for out in cell.get("outputs", []):
                if out.get("output_type") != "error":
                    continue
                what = f"{meta.get('grade_id', cell.get('id', '?'))}"
                if out.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
                    note = f"{what}: stopped at the time limit per cell: does it loop forever?"
                else:
                    first = (out.get("evalue") or "").strip().splitlines()[:1]
                    note = f"{what}: {out.get('ename')}" + (f": {first[0][:160]}" if first else "")
                if note not in notes:
                    notes.append(note)
    return notes


def _broken_gradebook(db: Path) -> str:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:
                return "it is empty"
            if "alembic_version" not in tables:
                return "it has no alembic version"
            if not con.execute("SELECT COUNT(*) FROM alembic_version").fetchone()[0]:
                return "its alembic version is missing"
    except sqlite3.DatabaseError as e:
        return f"it is not an SQLite database ({e})"
    return ""


def _holds_grades(db: Path) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            return any(con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                       for t in ("student", "assignment", "submitted_assignment") if t in tables)
    except sqlite3.DatabaseError:
        return False


def _shows_hidden_tests(html: str) -> bool:
    from petkit.notebooks import BEGIN_HIDDEN
    return BEGIN_HIDDEN.strip("# ") in html or "check_hidden(" in html


def _tail(log: str, n: int = 15) -> str:
    return "\n".join(log.strip().splitlines()[-n:])


# --- the feedback preprocessor named in grader/nbgrader_config.py ------------------------------

def _feedback_preprocessor():
    from nbgrader.preprocessors import NbGraderPreprocessor

    class HideTestTracebacks(NbGraderPreprocessor):
        """Cut the tracebacks of autograder test cells down to the error's message: a traceback quotes
        the cell's code, hidden tests included, while the message says what broke in plain words."""

        def preprocess_cell(self, cell, resources, index):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "error":
                        out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
            return cell, resources
    return HideTestTracebacks


KERNEL_DIED = "KernelDied"


def _surviving_execute():
    from jupyter_core.utils import ensure_async, run_sync
    from nbclient.exceptions import DeadKernelError
    from nbformat.notebooknode import NotebookNode
    from nbgrader.preprocessors import Execute
    from traitlets import Integer

    class KernelSurvivingExecute(Execute):
        """nbgrader's Execute, except that a cell that kills the kernel (exit(), os._exit(), a crash)
        costs that cell only: it gets an error output saying so, a fresh kernel re-runs the code cells
        before it that define things (not the test cells), and the notebook goes on from the next cell.
        The per-cell time limit is for the student's code: the read-only cells the course gives (the
        imports: torch, fastai) get `read_only_timeout`, so a busy machine cannot fail a whole notebook."""

        max_kernel_deaths = Integer(3, help="how many kernel deaths one notebook may cause before it "
                                            "is given up").tag(config=True)
        read_only_timeout = Integer(600, help="seconds a read-only cell that is not a test may run: the "
                                              "course's own code (imports), never the student's").tag(config=True)

        memory_limit_mb = Integer(0, help="address space (MB) a kernel may map beyond what it has at start; "
                                          "0: no limit").tag(config=True)

        def _get_timeout(self, cell):
            meta = (cell or {}).get("metadata", {}).get("nbgrader", {})
            timeout = super()._get_timeout(cell)
            if meta.get("locked") and not meta.get("grade") and not meta.get("solution") and timeout:
                return max(timeout, self.read_only_timeout)
            return timeout

        def preprocess(self, nb, resources=None, km=None):
            self._deaths = 0
            if self.memory_limit_mb and not any("petkit.worker" in a for a in self.extra_arguments):
                self.extra_arguments = [*self.extra_arguments, "--IPKernelApp.exec_lines="
                                        f"__import__('petkit.worker').worker._limit_memory({self.memory_limit_mb})"]
            return super().preprocess(nb, resources, km)

        def preprocess_cell(self, cell, resources, index):
            try:
                return super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                self._deaths += 1
                cell.outputs = [NotebookNode(
                    output_type="error", ename=KERNEL_DIED,
                    evalue="the kernel died while running this cell (exit(), quit(), os._exit() or a crash): "
                           "the cell loses its points, and the rest of the notebook runs in a fresh kernel",
                    traceback=[f"{KERNEL_DIED}: the kernel died while running this cell"])]
                if self._deaths > self.max_kernel_deaths:
                    raise
                self.log.warning("The kernel died in cell %d; restarting it and re-running the cells before", index)
                run_sync(self._async_restart)()
                for i, earlier in enumerate(self.nb.cells[:index]):
                    meta = earlier.get("metadata", {}).get("nbgrader", {})
                    if earlier.cell_type == "code" and not meta.get("grade"):
                        self.execute_cell(NotebookNode(earlier.copy(), outputs=[]), i, store_history=False)
                return cell, self.resources

        async def _async_restart(self):
            await ensure_async(self.km.restart_kernel(now=True))
            await ensure_async(self.kc.stop_channels())
            self.kc = None
            await self.async_start_new_kernel_client()

    return KernelSurvivingExecute


_LAZY = {"HideTestTracebacks": _feedback_preprocessor, "KernelSurvivingExecute": _surviving_execute}


def __getattr__(name: str):
    # nbgrader imports these preprocessors by name (grader/nbgrader_config.py); building them on
    # first use keeps `import petkit.grade` light
    if name in _LAZY:
        cls = _LAZY[name]()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


# --- the command line ----------------------------------------------------------------------------

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
    common(s)
    s = steps.add_parser("feedback", help="feedback HTML for each graded submission of a lesson")
    s.add_argument("lesson", metavar="LESSON")
    common(s)
    s = steps.add_parser("all", help="release, autograde (again) every submission, export, feedback")
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
    s.add_argument("--workers", type=_at_least_one, default=1, metavar="N",
                   help="grade in N processes at once, with a progress line; resumable (default: 1, one by one)")
    s.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="grade on this Dask distributed cluster instead (see the README)")


def run(args) -> int:
    if not getattr(args, "step", None):
        print("petkit grade: say which step: release, autograde, export, feedback or all "
              "(`petkit grade --help`)", file=sys.stderr)
        return 2
    try:
        course = Course(args.course, timeout=getattr(args, "cell_timeout", None), verbose=args.verbose)
        return STEPS[args.step](course, args)
    except GradeError as e:
        print(f"petkit grade {args.step}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


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
    results = course.autograde(lesson, args.student, force=args.force, on_start=_progress,
                               workers=args.workers, scheduler=args.scheduler)
    print(summary(results, lesson))
    return 0 if all(r.ok for r in results) else 1


def _progress(i: int, n: int, student: str) -> None:
    print(f"  [{i}/{n}] {student} ...", flush=True)


def _step_export(course: Course, args) -> int:
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
    results = course.autograde(lesson, force=True, on_start=_progress, workers=args.workers, scheduler=args.scheduler)
    print(summary(results, lesson))
    csv = course.export(args.to)
    print(f"\ngrades: {_rel(csv)}")
    pages = course.feedback(lesson)
    print(f"feedback: {len(pages)} pages under {_rel(course.root / 'feedback')}/<student>/{lesson}/")
    return 0 if all(r.ok for r in results) else 1


STEPS = {"release": _step_release, "autograde": _step_autograde, "export": _step_export,
         "feedback": _step_feedback, "all": _step_all}


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _num(x: float) -> str:
    return f"{x:g}"


def summary(results: list[Graded], lesson: str) -> str:
    """The per-student table: total, each exercise (its maths and bad-input test cells together), and
    what went wrong where."""
    column_of: dict[str, str] = {}  # grade cell id -> its exercise's column
    order: list[str] = []
    try:
        from petkit.notebooks import test_cells
        from petkit.registry import lesson as find
        for e in find(lesson).exercises:
            order.append(e.name)
            column_of.update({cell: e.name for cell in test_cells(e)})
    except Exception:  # noqa: BLE001 - a course lesson the registry does not know: gradebook order
        pass
    columns: list[str] = []
    for r in results:
        columns += [c for c in (column_of.get(cell, cell) for cell in r.cells) if c not in columns]
    columns.sort(key=lambda c: order.index(c) if c in order else len(order))
    heads = ["student", "score"] + [c.removeprefix("test_") for c in columns]
    rows = []
    for r in results:
        score = f"{_num(r.score)}/{_num(r.max_score)}" if r.max_score else "-"
        sums: dict[str, list[float]] = {}
        for cell, (got, most) in r.cells.items():
            total = sums.setdefault(column_of.get(cell, cell), [0.0, 0.0])
            total[0] += got or 0
            total[1] += most or 0
        cells = [f"{_num(sums[c][0])}/{_num(sums[c][1])}" if c in sums else "-" for c in columns]
        rows.append([r.student, score] + cells + (["NOT GRADED"] if not r.ok else []))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(heads)]
    fmt = lambda row: "  " + "  ".join(v.ljust(widths[i]) if i < len(widths) else v for i, v in enumerate(row))
    out = ["", fmt(heads).rstrip(), fmt(["-" * w for w in widths]).rstrip()] + [fmt(row).rstrip() for row in rows]
    details = []
    for r in results:
        if r.problem:
            details.append(f"  {r.student}: NOT GRADED: {r.problem}")
        details += [f"  {r.student}: {n}" for n in r.notes]
    if details:
        out += ["", "What broke, per student:"] + details
    bad = [r.student for r in results if not r.ok]
    out += ["", f"{len(results) - len(bad)} of {len(results)} submissions graded"
            + (f"; could not grade: {', '.join(bad)}" if bad else ".")]
    return "\n".join(out)
