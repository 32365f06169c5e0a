"""What `petkit check` prints: the progress table and the one exercise to work on next."""
from __future__ import annotations

import os
import sys

from petkit.registry import lessons
from petkit.checker import ExerciseResult

MARKS = {"done": "[x]", "failing": "[!]", "not started": "[ ]", "error": "[?]", "not run": "[ ]"}
COLOURS = {"done": "32", "failing": "31", "error": "35", "not started": "2", "not run": "2"}


def _colour(text: str, status: str, stream=sys.stdout) -> str:
    if os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return text
    return f"\033[{COLOURS.get(status, '0')}m{text}\033[0m"


MATHS_RIGHT = "maths right, bad input not handled yet"


def shown_status(result: ExerciseResult) -> str:
    """The status a learner reads: an exercise whose only failing checks are its bad-input ones has
    its maths right, and is told so (it is still not done: `petkit check` exits non-zero for it)."""
    if result.problem:
        return "stopped"
    unmet = [o for o in result.outcomes if o["status"] != "pass"]
    if result.status == "failing" and unmet and all(o["status"] == "fail" and o["kind"] == "bad input"
                                                    for o in unmet):
        return MATHS_RIGHT
    return result.status


def line(result: ExerciseResult, width: int) -> str:
    """One row of the table."""
    total = len(result.outcomes)
    counts = f"{result.passed}/{total} checks" if total else ""
    status = shown_status(result)
    if result.problem:
        counts = result.problem.split(":")[0]
    row = f"    {MARKS[result.status]} {result.exercise.id:<{width}}  {status:<12} {counts}"
    return _colour(row, result.status)


def table(results: list[ExerciseResult]) -> str:
    width = max(len(r.exercise.id) for r in results)
    by_lesson = {l.id: l for l in lessons()}
    out, seen = [], None
    for r in results:
        if r.exercise.lesson != seen:
            seen = r.exercise.lesson
            out.append(f"  {seen}: {by_lesson[seen].title}")
        out.append(line(r, width))
    return "\n".join(out + [summary(results)])


def summary(results: list[ExerciseResult]) -> str:
    """The line under the table: how many exercises are done, and the points."""
    out = []
    done = [r for r in results if r.status == "done"]
    points = sum(r.exercise.points for r in done)
    total_points = sum(r.exercise.points for r in results)
    bar_len = 24
    filled = round(bar_len * len(done) / len(results))
    out.append("")
    out.append(f"  Progress [{'#' * filled}{'.' * (bar_len - filled)}] {len(done)}/{len(results)} exercises done, "
               f"{points}/{total_points} points")
    return "\n".join(out)


class Streamed:
    """The table printed as it is known: each lesson's heading, then each exercise's row the moment
    its checks end; on a terminal a spinner says which exercise is being checked, in a pipe only the
    rows come (plain lines). `summary` goes under it at the end."""

    FRAMES = "|/-\\"

    def __init__(self, exercises, stream=None):
        import threading
        self.stream = stream or sys.stdout
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.width = max((len(e.id) for e in exercises), default=0)
        self.titles = {l.id: l.title for l in lessons()}
        self.lesson, self.current, self.lock = None, None, threading.Lock()
        self._ticker = None

    def _heading(self, lesson: str) -> None:
        if lesson != self.lesson:
            self.lesson = lesson
            print(f"  {lesson}: {self.titles.get(lesson, '')}", file=self.stream, flush=True)

    def started(self, exercise) -> None:
        if not self.tty:
            return
        import threading
        with self.lock:
            self._heading(exercise.lesson)
            self.current = exercise
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._spin, daemon=True)
            self._ticker.start()

    def _spin(self) -> None:
        import time
        i = 0
        while True:
            with self.lock:
                if self.current is not None:
                    print(f"\r    {self.FRAMES[i % 4]}  checking {self.current.id} ...\033[K", end="",
                          file=self.stream, flush=True)
            i += 1
            time.sleep(0.15)

    def finished(self, result: ExerciseResult) -> None:
        with self.lock:
            self.current = None
            if self.tty:
                print("\r\033[K", end="", file=self.stream)
            self._heading(result.exercise.lesson)
            print(line(result, self.width), file=self.stream, flush=True)


def to_work_on(results: list[ExerciseResult]) -> ExerciseResult | None:
    """The exercise `Next:` points at. What the learner has written and does not pass yet comes
    first: the first exercise, in chapter order, that is failing or in error (or stopped); only when
    there is none, the first one not started. So a failing softmax is never skipped for a later
    exercise that is merely not written yet, and `Next:` never points past the learner's work."""
    todo = [r for r in results if r.status != "done"]
    written = [r for r in todo if r.status != "not started" or r.problem]
    return (written or todo or [None])[0]


def all_done(results: list[ExerciseResult], impl: str) -> str:
    """Said when every exercise checked passes: what is left of their lessons, and where to go next."""
    checked = {r.exercise.id for r in results}
    touched = [l for l in lessons() if any(e.id in checked for e in l.exercises)]
    left = [e.id for l in touched for e in l.exercises if e.id not in checked]
    if left:
        return (f"  All {len(results)} checked pass. Left in {', '.join(l.id for l in touched)}: {', '.join(left)} "
                f"(`petkit check {' '.join(l.id for l in touched)}` checks the whole lesson).")
    order = [l.id for l in lessons()]
    after = [l for l in order[order.index(touched[-1].id) + 1:] if l not in {t.id for t in touched}]
    tip = "" if impl.split(".")[0] == "solutions" else " Compare with solutions/ when you want another view."
    nxt = f" Next lesson: {after[0]} (`petkit check {after[0]}`)." if after else " That was the last lesson."
    return f"  All done. Well played!{nxt}{tip}"


def next_step(results: list[ExerciseResult], impl: str) -> str:
    todo = to_work_on(results)
    if todo is None:
        return all_done(results, impl)
    ex = todo.exercise
    path = f"{impl.replace('.', '/')}/{ex.lesson}.py"
    head = f"  Next: {ex.id}: {ex.title}"
    hint = f"    Stuck? petkit hint {ex.id}"
    if todo.problem:
        return f"{head}\n    {todo.problem}\n{hint}"
    problem = todo.first_problem or {}
    if problem.get("blame"):  # the problem lies in another exercise: its hints are the ones that help
        hint = f"    Stuck? petkit hint {problem['blame']}"
    if todo.status == "not started":
        msg = problem.get("message", "")
        if msg and problem.get("blame"):
            return f"{head}\n    {msg}\n{hint}"
        return (f"{head}\n    Not written yet: in {path}, replace the `raise NotImplementedError(...)` in "
                f"{ex.name}() with your code, then run `petkit check {ex.id}`.\n{hint}")
    failing = sum(o["status"] != "pass" for o in todo.outcomes)
    detail = "\n      ".join(problem.get("message", "").splitlines())
    named = "".join(f"    {m}\n" for m in todo.mistakes)
    return (f"{head}  ({failing} of {len(todo.outcomes)} checks fail)\n"
            f"    x {problem.get('kind', '')}: {problem.get('title', '')}\n      {detail}\n"
            f"{named}{printed_excerpt(todo)}{hint}")


def printed_excerpt(result: ExerciseResult, lines: int = 4, width: int = 100) -> str:
    """The first lines the answer printed while it was checked (prints are the learner's debugging)."""
    if not result.printed_chars:
        return ""
    shown = [l[:width] + ("..." if len(l) > width else "") for l in result.printed.splitlines()[:lines]]
    more = "" if result.printed_chars <= len("\n".join(shown)) else f" (the start of {result.printed_chars} characters)"
    return (f"    Your code printed{more}:\n" + "".join(f"      | {l}\n" for l in shown))
