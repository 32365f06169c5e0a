"""A course folder and nbgrader configured for it: the gradebook, the release, the samples, export
and feedback. Grading a submission is petkit.grading.submission's job; this module grades nothing.

nbgrader runs in this process through its Python classes, configured by the course's
nbgrader_config.py, with the kit's .venv/bin first on PATH. A new gradebook is stamped with the
newest revision of nbgrader's migrations, which nbgrader asks a fresh `alembic heads` process for
(2.5 s of imports); `alembic_version` reads it from the same migrations in this process (0.1 s) and
leaves nbgrader's own way as the fallback. The gradebook is created under a temporary name and
renamed when complete, so a failed first run never leaves a broken one behind.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import sqlite3
import sys
import warnings
from pathlib import Path

from petkit import ROOT
from petkit import environ

DEFAULT_COURSE = ROOT / "grader"
GRADEBOOK = "gradebook.db"


@contextlib.contextmanager
def alembic_version(version: str | None = None):
    """While inside, nbgrader stamps a new gradebook with `version`, or with the head of its own
    migrations read in this process (what its `alembic heads` subprocess prints); when that cannot be
    read, nbgrader asks the subprocess as it always does."""
    import nbgrader.api
    asked = nbgrader.api.get_alembic_version
    if version is None:
        try:
            from alembic.config import Config
            from alembic.script import ScriptDirectory
            config = Config()
            config.set_main_option("script_location", str(Path(nbgrader.api.__file__).parent / "alembic"))
            heads = ScriptDirectory.from_config(config).get_heads()
            version = heads[0] if len(heads) == 1 else None
        except Exception:  # noqa: BLE001 -- nbgrader's own way, below
            version = None
    if version is not None:
        nbgrader.api.get_alembic_version = lambda: version
    try:
        yield
    finally:
        nbgrader.api.get_alembic_version = asked


class GradeError(Exception):
    """Something the instructor has to fix before grading can go on (a missing lesson, a broken gradebook)."""


# --- nbgrader, configured for one course -------------------------------------------------------

# One torch thread per grading kernel, as the referee's sealed run has: graders run side by side,
# one per core, and an OpenMP thread that waits for a busy core spins on it (the right-answer checks
# took 1.6x the CPU with torch's default two threads while the other core was busy); and a kernel's
# sums then add up in the order the referee's do. torch reads them as it is imported (the warm server).
GRADING_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def tools_env() -> dict[str, str]:
    """PATH with the venv's tools (alembic, jupyter) first, PYTHONPATH with the kit on it, and one
    torch thread (GRADING_THREADS), for nbgrader and the kernels it starts."""
    bin_dir = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
    py = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(ROOT)]
    return {"PATH": os.pathsep.join([bin_dir] + path), "PYTHONPATH": os.pathsep.join([str(ROOT)] + py),
            **GRADING_THREADS}


class Course:
    """A course folder: nbgrader_config.py, source/, and whatever nbgrader has made there."""

    def __init__(self, root: Path | str = DEFAULT_COURSE, timeout: float | None = None, verbose: bool = False,
                 no_sandbox: bool = False):
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise GradeError(f"there is no course folder {self.root}; the kit's is grader/ (`--course DIR` picks another)")
        if not (self.root / "nbgrader_config.py").is_file():
            raise GradeError(f"{self.root} has no nbgrader_config.py, so it is not a course folder (grading without "
                             f"it would run without the screen, the sandbox and the memory caps): copy "
                             f"grader/nbgrader_config.py there")
        self.config = Config()
        self.config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config())
        self.config.CourseDirectory.root = str(self.root)
        if timeout is not None:
            self.config.ExecutePreprocessor.timeout = self.config.Execute.timeout = int(timeout)
        self.verbose = verbose
        self.referee = True  # petkit.grading.referee re-derives each score; off only to compare with plain nbgrader
        self.no_sandbox = no_sandbox  # petkit.grading.sandbox: learner code behind bwrap, unless the instructor says not
        self._sandboxed: bool | None = None
        self.log = logging.getLogger("petkit.grading.nbgrader")  # nbgrader's log: kept, shown with --verbose
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
        """The gradebook, made first when missing (for the steps that write grades)."""
        from nbgrader.api import Gradebook
        self.ensure_gradebook()
        return Gradebook(self.db_url, self.course_id)

    def existing_gradebook(self):
        """The gradebook for the steps that only read it (export, report): a GradeError, and nothing
        made or changed, when the course's own gradebook is not there yet or cannot be read."""
        from nbgrader.api import Gradebook
        db = self.root / GRADEBOOK
        if self.db_url == f"sqlite:///{db}":
            if not db.exists():
                raise GradeError(f"there is no gradebook in {self.root} yet: grade first "
                                 f"(`petkit grade autograde LESSON`)")
            problem = broken_gradebook(db)
            if problem:
                raise GradeError(f"{db} cannot be read ({problem}): nothing read from it; `petkit grade "
                                 f"autograde` moves a damaged gradebook aside and says how to recover it")
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
            with warnings.catch_warnings(), environ(**tools_env()):
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

    @property
    def sandboxed(self) -> bool:
        """Whether learner code runs in the OS sandbox (petkit.grading.sandbox); a GradeError saying how
        to get bwrap when it cannot run and --no-sandbox was not given."""
        if self._sandboxed is None:
            from petkit.grading import sandbox
            try:
                self._sandboxed = sandbox.require(self.no_sandbox)
            except sandbox.SandboxError as e:
                raise GradeError(str(e)) from None
            if self._sandboxed and not runs_surviving_execute(self.config):
                raise GradeError("the course's nbgrader_config.py does not run the kernel through "
                                 "petkit.grading.preprocessors.KernelSurvivingExecute (Autograde.autograde_preprocessors), "
                                 "so the learner's code would run outside the sandbox: use grader/nbgrader_config.py's list")
            self.config.KernelSurvivingExecute.sandbox = self._sandboxed
        return self._sandboxed

    # --- the gradebook ---------------------------------------------------------------------

    def ensure_gradebook(self) -> None:
        """Make gradebook.db if it is missing, whole or not at all. A locked one is waited for, then
        refused; one that cannot be read is moved aside (never deleted), the instructor told; an
        incomplete one that a failed first run left (readable, not a row in it) is made again."""
        from petkit.grading import gradebook_safety as safety
        default = f"sqlite:///{self.root / GRADEBOOK}"
        if self.db_url != default:
            return  # a database the instructor configured: theirs to manage
        db = self.root / GRADEBOOK
        if db.exists():
            try:
                safety.wait_until_writable(db)
            except safety.GradebookUnsafe as e:
                raise GradeError(str(e)) from None
            problem = broken_gradebook(db)
            if not problem:
                return
            rows = safety.holds_rows(db)
            if rows:
                raise GradeError(f"{db} is damaged ({problem}) but holds grades: back it up, then run "
                                 f"`nbgrader db upgrade` in {self.root}, or move it away to start afresh")
            if rows is None:
                aside = safety.move_aside(db, problem)
                print(f"petkit grade: {db} is damaged ({problem}): moved aside to {aside.name}, nothing deleted "
                      f"(`sqlite3 {aside.name} .recover` may get its grades back); making a new gradebook",
                      file=sys.stderr, flush=True)
            else:
                print(f"petkit grade: removing {db}: {problem}, and not a row in it (left by a failed first "
                      f"run); making it again", file=sys.stderr)
                db.unlink()
        from nbgrader.api import Gradebook
        tmp = db.with_name(f".{GRADEBOOK}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            try:
                with environ(**tools_env()), alembic_version(), Gradebook(f"sqlite:///{tmp}", self.course_id):
                    pass
            except Exception as e:  # noqa: BLE001
                raise GradeError(f"could not create the gradebook ({type(e).__name__}: {e}); nbgrader needs "
                                 f"`alembic` on PATH (it is in {Path(sys.executable).parent})") from None
            problem = broken_gradebook(tmp)
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
            raise GradeError(f"nbgrader generate_assignment {lesson} failed:\n{log_tail(log)}")
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

    @staticmethod
    def check_student_ids(students: list[str]) -> None:
        """A GradeError naming each id that is not one plain folder name (`--student ../source`)."""
        from petkit.grading.gradebook_safety import student_id_problem
        bad = [f"{s!r} ({why})" for s in students if (why := student_id_problem(s))]
        if bad:
            raise GradeError(f"not a student id: {', '.join(bad)}; a student id is the name of one folder "
                             f"under submitted/")

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

    def export_target(self, to: Path | str | None = None, default: str = "grades.csv") -> Path:
        """Where an export writes (`to`, else COURSE/`default`), or a GradeError when it may not: the
        gradebook itself, not a .csv, a file the kit's exports did not write (gradebook_safety)."""
        from petkit.grading import gradebook_safety as safety
        to = Path(to) if to else self.root / default
        try:
            safety.check_csv_target(to, self.root / GRADEBOOK)
        except safety.GradebookUnsafe as e:
            raise GradeError(str(e)) from None
        return to

    def export(self, to: Path | str | None = None) -> Path:
        """The grades as nbgrader's CSV, written aside then renamed; only over a CSV it wrote, and
        only from a gradebook that is there and whole (a GradeError otherwise: nothing written)."""
        from nbgrader.plugins import CsvExportPlugin
        to = self.export_target(to)
        to.parent.mkdir(parents=True, exist_ok=True)
        tmp = to.with_name(f".{to.name}.{os.getpid()}.tmp")
        plugin = CsvExportPlugin(config=self.config, log=self.log)
        plugin.to = str(tmp)
        try:
            with warnings.catch_warnings(), environ(**tools_env()), self.existing_gradebook() as gb:
                warnings.simplefilter("ignore")
                plugin.export(gb)
            os.replace(tmp, to)
        except GradeError:
            raise
        except Exception as e:  # noqa: BLE001 - SQLAlchemy's errors and others: the gradebook could not be read
            raise GradeError(f"the gradebook could not be read ({type(e).__name__}: {str(e).splitlines()[0][:200]}): "
                             f"nothing exported") from None
        finally:
            tmp.unlink(missing_ok=True)
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
                             f"ClearHiddenTests and petkit.grading.preprocessors.HideTestTracebacks in "
                             f"GenerateFeedback.preprocessors (see grader/nbgrader_config.py)")
        if not ok:
            raise GradeError(f"nbgrader generate_feedback {lesson} failed:\n{log_tail(log)}")
        return pages


def broken_gradebook(db: Path) -> str:
    """What is wrong with an SQLite gradebook ('' when nothing); a GradeError when another process holds it."""
    from petkit.grading import gradebook_safety as safety
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=safety.LOCK_WAIT)) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:
                return "it is empty"
            if "alembic_version" not in tables:
                return "it has no alembic version"
            if not con.execute("SELECT COUNT(*) FROM alembic_version").fetchone()[0]:
                return "its alembic version is missing"
    except sqlite3.DatabaseError as e:
        if safety.is_locked(e):  # busy is not broken
            raise GradeError(f"{db} is locked by another process (another `petkit grade` or `nbgrader` command?): "
                             f"run again when it has finished") from None
        return f"it is not an SQLite database ({e})"
    return ""


def runs_surviving_execute(config) -> bool:
    """Whether the course's autograde steps run the kernel through KernelSurvivingExecute (the only
    Execute that starts it in the sandbox)."""
    steps = config.Autograde.get("autograde_preprocessors", [])
    return any((s if isinstance(s, str) else f"{s.__module__}.{s.__name__}").endswith("KernelSurvivingExecute")
               for s in steps)


def _shows_hidden_tests(html: str) -> bool:
    from petkit.notebooks import BEGIN_HIDDEN
    return BEGIN_HIDDEN.strip("# ") in html or "check_hidden(" in html


def log_tail(log: str, n: int = 15) -> str:
    return "\n".join(log.strip().splitlines()[-n:])


