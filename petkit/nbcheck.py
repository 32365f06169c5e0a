"""What the notebooks' test cells call: the very checks of pytest and `petkit check`, run on the
learner's function from the notebook.

    check("softmax.softmax", softmax)         # visible: the quick checks, as `petkit check` runs them
    check_hidden("softmax.softmax", softmax)  # hidden (graders only): more examples, a seed per student

Each raises an AssertionError (ChecksFailed) in plain words when a check does not pass, so the cell
loses its points (nbgrader's rule). IPython shows that message alone, without a traceback, so a
failure never quotes the test cell's code (hidden tests included); the feedback also cuts any other
error in a test cell down to its message (petkit.grading.preprocessors.HideTestTracebacks).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import warnings
from pathlib import Path

from petkit.checks.core import STUB_MARK
from petkit.checks.runner import NOT_OWN

# How hard the hidden tests look (the visible ones use the same settings as `petkit check`).
HIDDEN_EXAMPLES = int(os.environ.get("PETKIT_HIDDEN_EXAMPLES", "60"))
# PETKIT_SHRINK=0: report the first failing input found rather than the simplest one. Shrinking is
# most of the time a wrong answer costs; a grader that only needs the scores can skip it.
SHRINK = None if os.environ.get("PETKIT_SHRINK", "1") != "0" else False  # None: as petkit check does


class ChecksFailed(AssertionError):
    """Some checks of an exercise do not pass; the message says which, and on which input."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the message is the whole story, and a traceback
        # would quote the test cell's code (hidden tests included) and petkit's internals
        return [f"{type(self).__name__}: {self}"]


def check(exercise_id: str, fn) -> None:
    """Run the exercise's checks on `fn`, exactly as `petkit check EXERCISE_ID` does."""
    failures, total = failing(exercise_id, fn)
    if failures:
        raise ChecksFailed(_report(exercise_id, failures, total)) from None
    print(f"{exercise_id}: all {total} checks pass.")


def check_hidden(exercise_id: str, fn, seed: int | None = None) -> None:
    """The grader's stricter run: the same checks on more generated inputs, with a seed that differs
    from student to student (so an answer cannot be fitted to one fixed set of examples)."""
    failures, total = failing(exercise_id, fn, hidden=True, seed=seed)
    if failures:
        raise ChecksFailed(f"the grader's hidden tests (the same checks on {HIDDEN_EXAMPLES} other inputs) "
                           f"found a problem the visible checks missed.\n"
                           + _report(exercise_id, failures, total)) from None


def hint(exercise_id: str) -> None:
    """The next hint for an exercise (as `petkit hint EXERCISE_ID` in a terminal)."""
    from petkit import hints
    from petkit.registry import exercise
    print(hints.next_hint(exercise(exercise_id)))


def student_id() -> str | None:
    """The student being graded: $PETKIT_STUDENT, or the folder nbgrader runs the notebook in
    (autograded/<student>/<assignment>/)."""
    if os.environ.get("PETKIT_STUDENT"):
        return os.environ["PETKIT_STUDENT"]
    cwd = Path.cwd()
    if cwd.parent.parent.name == "autograded":
        return cwd.parent.name
    return None


def student_seed(exercise_id: str) -> int:
    """A seed of 32 bits that is the same each time one student is graded, and differs between students."""
    text = f"{student_id() or ''}:{exercise_id}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


# --- running the checks ------------------------------------------------------------------------

def failing(exercise_id: str, fn, *, hidden: bool = False, seed: int | None = None, checks=None):
    """The checks of an exercise that `fn` fails, as (check, outcome) pairs, and how many checks there
    are: the visible run, as `petkit check` does it, or with `hidden` the grader's (HIDDEN_EXAMPLES
    inputs, a seed per student unless `seed`). The referee passes `checks` it took before any learner
    code ran."""
    from petkit.checks.core import checks_for
    from petkit.checks.runner import PASS, run_check
    from petkit.checks.strategies import examples
    from petkit.registry import exercise
    exercise(exercise_id)  # an unknown id is a clear error, not an empty list of checks
    checks = checks_for(exercise_id) if checks is None else checks
    if not callable(fn):
        name = exercise_id.rpartition(".")[2]
        raise ChecksFailed(f"{name} should be a function, but it is {type(fn).__name__}: keep the `def {name}(...)` "
                           f"the exercise gives") from None
    fn = _notebook_stubs_named(exercise_id, fn)
    if hidden:
        seed = student_seed(exercise_id) if seed is None else seed
        settings = {"max_examples": HIDDEN_EXAMPLES, "seed": seed, "shrink": SHRINK}
    else:
        settings = {"shrink": SHRINK}
    with _quiet_stderr(), examples(**settings):
        outcomes = [(c, run_check(c, fn)) for c in checks]
    return [(c, o) for c, o in outcomes if o.status != PASS], len(checks)


@contextlib.contextmanager
def _quiet_stderr():
    """nbgrader gives a test cell 0 points for ANY output on stderr, so the warnings that torch, fastai
    or the answer print while the checks run must not reach it: only a failed check costs points."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            saved = os.dup(2)  # C-level writes too (ipykernel forwards file descriptor 2 to the cell)
        except OSError:
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


def _report(exercise_id: str, failures, total: int) -> str:
    if all(o.status == "not started" for _, o in failures):
        return (f"{failures[0][1].message}: replace `raise NotImplementedError(...)` with your code, "
                f"then run this cell again.")
    # the first line is what a gradebook or an instructor's table shows: say what failed, and a
    # library shortcut before anything else
    first = next((o for _, o in failures if o.message.startswith(NOT_OWN)), failures[0][1])
    lines = [f"{exercise_id}: {len(failures)} of {total} checks fail; "
             f"{(first.message.splitlines() or [first.status])[0][:160]}"]
    for c, o in failures:
        lines.append(f"- {c.kind}: {c.title}")
        lines += ["    " + line for line in o.message.splitlines()]
    lines.append(f"Stuck? hint({exercise_id!r}) shows the next hint (or `petkit hint {exercise_id}` in a terminal).")
    return "\n".join(lines)


def _notebook_stubs_named(exercise_id: str, fn):
    """nbgrader replaces each answer with one stub for all exercises; say which exercise it was, in the
    words the checks use for a stub ("X is not written yet"), so `uses X, which is not written yet`
    names the right function."""
    from petkit.registry import lesson
    lesson_id = exercise_id.partition(".")[0]
    names = {e.name for e in lesson(lesson_id).exercises}

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NotImplementedError as exc:
            tb = exc.__traceback__
            while tb.tb_next is not None:
                tb = tb.tb_next
            name = tb.tb_frame.f_code.co_name
            if name in names and STUB_MARK not in str(exc):
                stub = f"{lesson_id}.{name}"
                raise NotImplementedError(f"{stub} is not written yet ({STUB_MARK} {stub})") from None
            raise
    return call
