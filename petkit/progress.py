"""What `petkit check` prints: the progress table and the one exercise to work on next."""
from __future__ import annotations

import os
import sys

from petkit.registry import lessons
from petkit.runs import ExerciseResult

MARKS = {"done": "[x]", "failing": "[!]", "not started": "[ ]", "error": "[?]", "not run": "[ ]"}
COLOURS = {"done": "32", "failing": "31", "error": "35", "not started": "2", "not run": "2"}


def _colour(text: str, status: str, stream=sys.stdout) -> str:
    if os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return text
    return f"\033[{COLOURS.get(status, '0')}m{text}\033[0m"


def line(result: ExerciseResult, width: int) -> str:
    """One row of the table."""
    total = len(result.outcomes)
    counts = f"{result.passed}/{total} checks" if total else ""
    status = "stopped" if result.problem else result.status
    if result.problem:
        counts = result.problem.split(":")[0]
    elif result.status == "failing" and all(o["kind"] == "bad input" for o in result.outcomes if o["status"] != "pass"):
        counts += ": maths right, bad input not handled yet"
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
    done = [r for r in results if r.status == "done"]
    points = sum(r.exercise.points for r in done)
    total_points = sum(r.exercise.points for r in results)
    bar_len = 24
    filled = round(bar_len * len(done) / len(results))
    out.append("")
    out.append(f"  Progress [{'#' * filled}{'.' * (bar_len - filled)}] {len(done)}/{len(results)} exercises done, "
               f"{points}/{total_points} points")
    return "\n".join(out)


def next_step(results: list[ExerciseResult], impl: str) -> str:
    todo = next((r for r in results if r.status != "done"), None)
    if todo is None:
        return "  All done. Well played! Try the next lesson, or look at how solutions/ does it."
    ex = todo.exercise
    path = f"{impl.replace('.', '/')}/{ex.lesson}.py"
    head = f"  Next: {ex.id}: {ex.title}"
    hint = f"    Stuck? petkit hint {ex.id}"
    if todo.problem:
        return f"{head}\n    {todo.problem}\n{hint}"
    problem = todo.first_problem or {}
    if todo.status == "not started":
        msg = problem.get("message", "")
        if msg and not msg.startswith(ex.id):
            return f"{head}\n    {msg}\n{hint}"
        return (f"{head}\n    Not written yet: in {path}, replace the `raise NotImplementedError(...)` in "
                f"{ex.name}() with your code, then run `petkit check {ex.id}`.\n{hint}")
    failing = sum(o["status"] != "pass" for o in todo.outcomes)
    detail = "\n      ".join(problem.get("message", "").splitlines())
    named = "".join(f"    {m}\n" for m in todo.mistakes)
    return (f"{head}  ({failing} of {len(todo.outcomes)} checks fail)\n"
            f"    x {problem.get('kind', '')}: {problem.get('title', '')}\n      {detail}\n{named}{hint}")
