"""Nothing a gradebook operation does loses a grade: what `petkit grade` checks before it touches the
gradebook, the grades CSV or a student's folder.

- a gradebook another process holds locked is waited for (`LOCK_WAIT` seconds), then refused with a
  message; a lock is never taken for damage;
- a damaged gradebook (not an SQLite file any more, a broken header) is never deleted: it is moved
  aside under a timestamped name and the instructor is told where it is and how to recover it;
- `export` (both CSVs: nbgrader's and the per-exercise one) writes only a `.csv` that is new or one
  of the two the kit writes (by its header: nbgrader's, or student_id then each exercise and its
  cause), never the gradebook or another file (a roster with a student_id column is another file),
  and atomically;
- a student id is one plain folder name: no path separator, no `..`, no leading dot.
"""
from __future__ import annotations

import contextlib
import csv
import datetime
import os
import sqlite3
import time
from pathlib import Path

LOCK_WAIT = float(os.environ.get("PETKIT_GRADEBOOK_WAIT", "30"))  # seconds a locked gradebook is waited for
CSV_HEADER = "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,late_submission_penalty,score,max_score"
CAUSE_SUFFIX = " cause"  # the per-exercise CSV: student_id, then each exercise's points and "<exercise> cause"


class GradebookUnsafe(Exception):
    """Going on would lose or overwrite grades: the message says what to do."""


def is_locked(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def wait_until_writable(db: Path, wait: float | None = None) -> None:
    """Return once this process could write `db` (an SQLite file); wait up to `wait` seconds for
    another writer to finish, then raise GradebookUnsafe. Damage is not this function's business:
    an unreadable file passes (the caller inspects it)."""
    wait = LOCK_WAIT if wait is None else wait
    start = time.monotonic()
    try:
        with contextlib.closing(sqlite3.connect(str(db), timeout=max(wait, 0.01))) as con:
            con.execute("BEGIN IMMEDIATE")  # the write lock: waits (busy timeout) while another holds it
            con.execute("ROLLBACK")
    except sqlite3.OperationalError as e:
        if is_locked(e):
            raise GradebookUnsafe(f"{db} is locked by another process (another `petkit grade` or `nbgrader` "
                                  f"command?): waited {time.monotonic() - start:.0f} s; run again when it has "
                                  f"finished (PETKIT_GRADEBOOK_WAIT sets the wait)") from None
        if "readonly" in str(e).lower() or "read-only" in str(e).lower():
            raise GradebookUnsafe(f"{db} is read-only ({e}): nothing was graded or changed; make it writable "
                                  f"and run again") from None
    except sqlite3.DatabaseError:
        return


def move_aside(db: Path, why: str) -> Path:
    """Rename a damaged gradebook (and its journal files) to GRADEBOOK.damaged-STAMP; return the new path."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = db.with_name(f"{db.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = db.with_name(f"{db.name}.damaged-{stamp}-{n}")
    for suffix in ("-journal", "-wal", "-shm"):
        extra = db.with_name(db.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    os.replace(db, aside)
    return aside


def holds_rows(db: Path) -> bool | None:
    """Whether any table of the SQLite file holds a row; None when it cannot be read (locked, damaged)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=LOCK_WAIT)) as con:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return any(con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables if t != "alembic_version")
    except sqlite3.DatabaseError:
        return None


def check_csv_target(to: Path, gradebook: Path) -> None:
    """Refuse (GradebookUnsafe) where an export would write: the gradebook itself, a name that does not
    end in .csv, a folder, or an existing file that is not one of the kit's grades CSVs
    (`written_by_the_kit`). The one check of both exports' targets."""
    to = Path(to)
    give = "give --to FILE.csv"
    if to.exists() and gradebook.exists() and to.resolve() == gradebook.resolve():
        raise GradebookUnsafe(f"{to} is the gradebook itself: {give}, a new file")
    if to.suffix.lower() != ".csv":
        raise GradebookUnsafe(f"{to}: the grades are written as CSV, to a file ending in .csv: {give}")
    if to.is_dir():
        raise GradebookUnsafe(f"{to} is a folder: {give}")
    if to.exists() and not written_by_the_kit(to):
        raise GradebookUnsafe(f"{to} exists and is not a grades CSV that `petkit grade export` wrote, so it is "
                              f"left as it is: {give}, another file")


def written_by_the_kit(path: Path) -> bool:
    """Whether the file's first line is the header of a CSV the kit writes: nbgrader's export's, or the
    per-exercise one's (student_id, then each exercise and its cause column). A file that merely has
    a student_id column (a roster) is not."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader([f.readline(65536)]), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    if ",".join(header) == CSV_HEADER:
        return True
    exercises, causes = header[1::2], header[2::2]
    return (header[:1] == ["student_id"] and len(exercises) == len(causes)
            and all(e and c == e + CAUSE_SUFFIX for e, c in zip(exercises, causes)))


def student_id_problem(name: str) -> str:
    """Why `name` cannot be a student id ('' when it can): it names one folder under submitted/."""
    if not name:
        return "it is empty"
    if "/" in name or "\\" in name or os.sep in name or (os.altsep and os.altsep in name):
        return "it holds a path separator"
    if name in (".", "..") or ".." in name:
        return "it holds '..'"
    if name.startswith("."):
        return "it starts with a dot (a hidden folder)"
    if any(ord(c) < 32 for c in name):
        return "it holds a control character"
    return ""
