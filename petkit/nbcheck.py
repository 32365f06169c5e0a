"""What the notebooks' test cells call: the very checks of pytest and `petkit check`, run on the
learner's function from the notebook.

    check("softmax.softmax", softmax, kinds=MATHS)  # visible: the quick checks, as `petkit check` runs them
    check_hidden("softmax.softmax", softmax)        # hidden (graders only): more examples, a seed per student
    check_bad_input("softmax.softmax", softmax)     # the bad-input checks: their own cell, a small share

An exercise's points are split between its maths (most of them) and its bad-input checks, each part
in its own test cell. In a notebook the result is a coloured box (green: passed; red: failed, one
paragraph per cause, and a known mistake named when the answer makes one: petkit.misconceptions).
`hint()` gives the next hint for the exercise last checked; the counts live beside the notebook.

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

from petkit.checks.core import ANSWER_ATTR, KINDS, STUB_MARK
from petkit.checks.runner import NOT_OWN

# How hard the hidden tests look (the visible ones use the same settings as `petkit check`).
HIDDEN_EXAMPLES = int(os.environ.get("PETKIT_HIDDEN_EXAMPLES", "60"))
# PETKIT_SHRINK=0: report the first failing input found rather than the simplest one. Shrinking is
# most of the time a wrong answer costs; a grader that only needs the scores can skip it.
SHRINK = None if os.environ.get("PETKIT_SHRINK", "1") != "0" else False  # None: as petkit check does


# The two graded parts of an exercise (each its own test cell): the maths, and the bad-input checks
BAD_INPUT = ("bad input",)
MATHS = tuple(k for k in KINDS if k not in BAD_INPUT)
# hint() with no argument: the exercise the last test cell checked; its hint counts live beside the
# notebook (never in the kit's checkout), or only in memory where that folder cannot be written
HINT_STATE = ".petkit-hints.json"
_last_checked: list[str] = []
_hints_in_memory: dict[str, int] = {}


class ChecksFailed(AssertionError):
    """Some checks of an exercise do not pass; the message says which, and on which input."""

    shown = False  # set once the coloured box has said it all in the notebook

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the message is the whole story, and a traceback
        # would quote the test cell's code (hidden tests included) and petkit's internals
        if self.shown:
            return [f"{type(self).__name__}: {str(self).splitlines()[0]} (the red box above says what and why)"]
        return [f"{type(self).__name__}: {self}"]


def check(exercise_id: str, fn, kinds: tuple[str, ...] | None = None) -> None:
    """Run the exercise's checks on `fn`, exactly as `petkit check EXERCISE_ID` does; `kinds` (such as
    MATHS or BAD_INPUT) runs only the checks of those kinds (each graded part has its own test cell)."""
    _remember(exercise_id)
    failures, total = failing(exercise_id, fn, kinds=kinds)
    if failures:
        _fail(_report(exercise_id, failures, total, kinds, _named(exercise_id, fn, failures)))
    _passed(f"{exercise_id}: all {total} {_what(kinds)} pass.")


def check_bad_input(exercise_id: str, fn) -> None:
    """The bad-input checks alone: does `fn` reject what it cannot handle, in plain words?"""
    check(exercise_id, fn, kinds=BAD_INPUT)


def check_hidden(exercise_id: str, fn, seed: int | None = None, kinds: tuple[str, ...] | None = None) -> None:
    """The grader's stricter run: the same checks on more generated inputs, with a seed that differs
    from student to student (so an answer cannot be fitted to one fixed set of examples)."""
    failures, total = failing(exercise_id, fn, hidden=True, seed=seed, kinds=kinds)
    if failures:
        _fail(f"the grader's hidden tests (the same checks on {HIDDEN_EXAMPLES} other inputs) "
              f"found a problem the visible checks missed.\n"
              + _report(exercise_id, failures, total, kinds, _named(exercise_id, fn, failures)))


def hint(exercise_id: str | None = None) -> None:
    """The next hint for an exercise; without an id, for the exercise the last test cell checked."""
    from petkit.hints import notebook_hint
    from petkit.registry import UnknownTarget, exercise
    if exercise_id is None:
        if not _last_checked:
            print("hint() shows the next hint for the exercise you last checked, and you have not run a "
                  "test cell yet: run one first, or name the exercise, e.g. hint('softmax.softmax').")
            return
        exercise_id = _last_checked[-1]
    try:
        ex = exercise(str(exercise_id))
    except UnknownTarget as e:
        print(f"hint({exercise_id!r}): {e}")
        return
    print(notebook_hint(ex, Path.cwd() / HINT_STATE, _hints_in_memory))


def _remember(exercise_id: str) -> None:
    _last_checked[:] = [exercise_id]


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

def failing(exercise_id: str, fn, *, hidden: bool = False, seed: int | None = None, checks=None,
            kinds: tuple[str, ...] | None = None):
    """The checks of an exercise that `fn` fails, as (check, outcome) pairs, and how many checks there
    are: the visible run, as `petkit check` does it, or with `hidden` the grader's (HIDDEN_EXAMPLES
    inputs, a seed per student unless `seed`); with `kinds` (MATHS, BAD_INPUT) only the checks of those
    kinds. The referee passes `checks` it took before any learner code ran."""
    from petkit.checks.core import checks_for
    from petkit.checks.runner import PASS, run_check
    from petkit.checks.strategies import examples
    from petkit.registry import exercise
    exercise(exercise_id)  # an unknown id is a clear error, not an empty list of checks
    unknown = set(kinds or ()) - set(KINDS)
    if unknown:
        raise ValueError(f"kinds {sorted(unknown)} are not check kinds; use some of {KINDS}")
    checks = checks_for(exercise_id) if checks is None else checks
    checks = [c for c in checks if kinds is None or c.kind in kinds]
    if not callable(fn):
        name = exercise_id.rpartition(".")[2]
        _fail(f"{name} should be a function, but it is {type(fn).__name__}: keep the `def {name}(...)` "
              f"the exercise gives")
    fn = _notebook_stubs_named(exercise_id, fn)
    if hidden:
        seed = student_seed(exercise_id) if seed is None else seed
        settings = {"max_examples": HIDDEN_EXAMPLES, "seed": seed, "shrink": SHRINK}
    else:
        settings = {"shrink": SHRINK}
    with _quiet_stderr(), examples(**settings):
        outcomes = [(c, run_check(c, fn)) for c in checks]
    return [(c, o) for c, o in outcomes if o.status != PASS], len(checks)


def _named(exercise_id: str, fn, failures) -> str | None:
    """The known mistakes `fn` makes (petkit.misconceptions), when a check failed on its answer."""
    from petkit.checks.runner import FAIL
    if not any(o.status == FAIL for _, o in failures):
        return None
    from petkit.misconceptions import known_mistakes
    with _quiet_stderr():
        return known_mistakes(exercise_id, fn)


def _what(kinds) -> str:
    return {MATHS: "maths checks", BAD_INPUT: "bad-input checks"}.get(tuple(kinds or ()), "checks")


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


def _report(exercise_id: str, failures, total: int, kinds=None, named: str | None = None) -> str:
    if all(o.status == "not started" for _, o in failures):
        return (f"{failures[0][1].message}: replace `raise NotImplementedError(...)` with your code and run "
                f"that answer cell first, then run this test cell.")
    # one message per cause: checks that fail for the same reason (a library shortcut fails them all)
    # are listed together, the reason said once
    causes: dict[str, list] = {}
    for c, o in failures:
        causes.setdefault(o.message, []).append(c)
    # the first line is what a gradebook or an instructor's table shows: say what failed, and a
    # library shortcut before anything else
    first = next((m for m in causes if m.startswith(NOT_OWN)), next(iter(causes)))
    head = (first.splitlines() or ["failed"])[0]
    own = first.startswith(NOT_OWN)  # said in full on the first line, and not again under each check
    lines = [f"{exercise_id}: {len(failures)} of {total} {_what(kinds)} fail; {head if own else shorten(head, 160)}"]
    lines += (named or "").splitlines()
    for message, checks in causes.items():
        lines += [f"- {c.kind}: {c.title}" for c in checks]
        said = message.splitlines()
        if message is first and own:
            said = said[1:]  # the first line said it already: once per exercise, not once per check
        lines += ["    " + line for line in said]
    lines.append(f"Stuck? hint({exercise_id!r}) shows the next hint (or `petkit hint {exercise_id}` in a terminal).")
    return "\n".join(lines)


def shorten(text: str, width: int) -> str:
    """`text` cut to at most `width` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    if " " in cut:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


# --- how a result looks in the notebook ---------------------------------------------------------------

def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _box(ok: bool, text: str) -> None:
    """A coloured box as the cell's output (green: passed; red: failed, one paragraph per cause)."""
    import html
    from IPython.display import display
    colour, back = ("#1a7f37", "#e6f4ea") if ok else ("#b42318", "#fdecea")
    head, *rest = text.splitlines()
    body = "".join(f"<div style='margin-left:1em'>{html.escape(l)}</div>" if l.startswith("    ")
                   else f"<div>{html.escape(l)}</div>" for l in rest)
    display({"text/html": f"<div style='border-left:6px solid {colour};background:{back};padding:8px 12px;"
                          f"margin:4px 0;font-family:monospace;white-space:pre-wrap'>"
                          f"<b>{'&#10004;' if ok else '&#10008;'} {html.escape(head)}</b>{body}</div>",
             "text/plain": text}, raw=True)


def _passed(text: str) -> None:
    if _in_notebook():
        _box(True, text)
    else:
        print(text)


def _fail(text: str) -> None:
    """Raise ChecksFailed(text): the cell must raise so that nbgrader scores it 0, and the text stays in
    the exception for the feedback and the referee; in a notebook the red box says it first."""
    error = ChecksFailed(text)
    if _in_notebook():
        _box(False, text)
        error.shown = True
    raise error from None


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
    setattr(call, ANSWER_ATTR, fn)  # the memo of answers that ran out of memory sees through it
    return call
