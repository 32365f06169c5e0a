"""The referee: each exercise's grade of record, derived where the learner's kernel cannot reach.

nbgrader scores a test cell by whether it raised in the learner's own kernel, so code in an answer
cell can change how its own score is computed (replace `petkit.nbcheck.check`, `torch.allclose`,
a builtin...). After nbgrader's run, `petkit grade` asks the referee instead, and records per test
cell the lower of the two scores (nbgrader's manual-grade override), so the kernel can only ever
lose points it did not earn:

1. the locked cells of the submission are compared with the source notebook: a test cell edited or
   deleted costs its exercise (nbgrader restores the original when it runs; the referee says so);
2. each answer cell is read statically for what an answer never needs (the kit's own packages,
   hypothesis, gc/ctypes/inspect, assigning attributes of modules, opening files, ending the
   process): such a cell scores 0 with a message naming what was found, and is not run at all;
3. the notebook's other code cells (answers and the learner's helper cells, in order; not the
   test cells) run in a fresh process (`python -m petkit.grading.sealed`) in the OS sandbox, time- and
   memory-bounded, in an empty temporary folder, with the course's given cell taken from the source
   notebook, and the checks, oracles and comparison functions imported and sealed BEFORE any
   learner code runs: after each cell and each exercise the sealed attributes are compared by
   identity with the originals (a change scores 0 for that exercise and is undone). Results come
   back on a pipe the parent owns, each line signed with a token the learner's code never sees in
   its namespace.

What this can and cannot guarantee is said in the README ("Integrity").
"""
from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass, field

from petkit.grading import sandbox
from petkit.grading.cell_metadata import restore_source_metadata
from petkit.grading.screen import cell_text, cells_by_id, locked_cell_problems, scan
from petkit.supervisor import ChildProcess, TimedOut

# --- 3. the fresh, bounded process ----------------------------------------------------------------

@dataclass
class Verdict:
    """The referee's word on one exercise: whether its checks pass, and why not."""
    exercise: str               # the exercise's function name (its answer cell's grade_id)
    maths_passed: bool = False  # its maths checks pass (the first test cell)
    bad_input_passed: bool = False  # its bad-input checks pass (the second test cell)
    message: str = ""
    note: str = ""              # something seen that costs nothing (a flood of output)

    @property
    def passed(self) -> bool:
        return self.maths_passed and self.bad_input_passed

    def cell_passed(self, part: str) -> bool:
        """Whether the test cell of this part ("maths" or "bad input", petkit.notebooks.part_of) earns
        its points."""
        return self.bad_input_passed if part == "bad input" else self.maths_passed


@dataclass
class Plan:
    lesson: str
    given: str
    cells: dict[str, str]                 # answer grade_id -> code, in notebook order
    exercises: dict[str, str]             # function name -> exercise id, to check
    skip: set[str] = field(default_factory=set)
    notes: dict[str, str] = field(default_factory=dict)   # answer grade_id -> what the referee saw
    sandbox: bool = True                  # run the sealed child in petkit.grading.sandbox (bwrap)


def judge(source_nb: dict, submitted_nb: dict, lesson_id: str, student: str, timeout: float = 60,
          memory_mb: int = 4096, rerun: set[str] | None = None, sandbox: bool = True) -> dict[str, Verdict]:
    """The referee's verdict on every exercise of the lesson, keyed by function name. With `rerun`,
    only those exercises' checks run again (the others scored 0 in the kernel: nothing to take away);
    the locked cells and the static screen are judged for all of them."""
    from petkit.notebooks import GIVEN_ID, answer_id, test_cells
    from petkit.registry import lesson
    exs = lesson(lesson_id).exercises
    verdicts = {e.name: Verdict(e.name) for e in exs}
    locked = locked_cell_problems(source_nb, submitted_nb)
    given = cell_text(cells_by_id(source_nb)[GIVEN_ID])
    cells, skip, seen = notebook_cells(source_nb, submitted_nb, {answer_id(e) for e in exs})
    todo = {}
    for e in exs:
        v = verdicts[e.name]
        code = cells.get(answer_id(e))
        if code is None:
            v.message = f"its answer cell {answer_id(e)} is missing"
            continue
        found = scan(code)
        if found:
            v.message = f"cheat detected: the answer cell {found}"
            skip.add(answer_id(e))
            continue
        edited = [locked[t] for t in test_cells(e) if t in locked]
        if edited:
            v.message = f"cheat detected: {'; '.join(edited)}"
            continue
        if rerun is None or e.name in rerun:
            todo[e.name] = e.id
    if todo:
        plan = Plan(lesson_id, given, cells, todo, set(skip), sandbox=sandbox)
        for name, (maths, bad_input, message) in _run(plan, student, timeout, memory_mb).items():
            v = verdicts[name]
            v.maths_passed, v.bad_input_passed, v.message = maths, bad_input, message
        for name, note in plan.notes.items():
            if name in verdicts:
                verdicts[name].note = note
    if seen and exs:
        first = verdicts[exs[0].name]
        first.note = "; ".join(filter(None, [first.note, *seen]))
    return verdicts


def notebook_cells(source_nb: dict, submitted_nb: dict, answers: set[str]) -> tuple[dict[str, str], set[str], list[str]]:
    """The code cells the referee runs, in the notebook's order, as nbgrader's kernel runs them: every
    code cell but the test cells and the given cell (which comes from the source notebook first);
    an answer cell keyed by its grade_id, any other cell (a helper of the learner's) by its place,
    `cell N`; a locked cell of the course as the source notebook has it. Returns (cells, the other
    cells the static screen keeps from running, a note for each of those)."""
    from petkit.notebooks import GIVEN_ID
    source = cells_by_id(source_nb)
    cells: dict[str, str] = {}
    skip: set[str] = set()
    notes: list[str] = []
    for i, cell in enumerate(submitted_nb.get("cells", []), 1):
        if cell.get("cell_type") != "code":
            continue
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        theirs = source.get(gid, {}).get("metadata", {}).get("nbgrader", {}) if gid else {}
        if gid == GIVEN_ID or theirs.get("grade"):
            continue  # the given cell runs first, from the source; the tests are the referee's own
        if gid in answers and gid not in cells:
            cells[gid] = cell_text(cell)
            continue
        name = f"cell {i}"
        cells[name] = cell_text(source[gid]) if theirs.get("locked") else cell_text(cell)
        found = scan(cells[name])
        if found:
            skip.add(name)
            notes.append(f"{name} (not an answer cell) was not run by the referee: it {found}")
    return cells, skip, notes


def _run(plan: Plan, student: str, timeout: float, memory_mb: int) -> dict[str, tuple[bool, bool, str]]:
    """Run the plan in fresh worker processes until every exercise has a result: a worker that runs
    past `timeout` on one step, or dies, costs that step's exercise, and a new one goes on."""
    results: dict[str, tuple[bool, bool, str]] = {}  # name -> (maths pass, bad input pass, message)
    skip = set(plan.skip)
    by_cell = {name: name for name in plan.exercises}  # answer cell grade_id == function name
    while len(results) < len(plan.exercises):
        pending = {n: i for n, i in plan.exercises.items() if n not in results}
        step, why = _one_worker(plan, pending, skip, student, timeout, memory_mb, results, plan.notes)
        if step is None:
            for n in pending:
                results.setdefault(n, (False, False, f"the referee could not run the checks ({why or 'no result'})"))
            break
        kind, name = step
        if kind == "cell":
            skip.add(name)
            if name in by_cell and name not in results:
                results[name] = (False, False, f"running its answer cell {why}")
        else:
            results.setdefault(name, (False, False, f"its checks {why}"))
    return results


def _one_worker(plan, pending, skip, student, timeout, memory_mb, results, notes):
    """One sealed child runs what is pending; returns (the step it was on when it stopped, why), or
    (None, ...) when it finished or never started an answer."""
    from petkit import misconceptions
    token = secrets.token_hex(16)
    job = {"token": token, "lesson": plan.lesson, "given": plan.given,
           "cells": {k: v for k, v in plan.cells.items() if k not in skip}, "exercises": pending,
           "memory_mb": memory_mb,
           # what recognising a known mistake takes, worked out here: the sandbox shows the child neither
           # the corpus nor the reference answers
           "mistakes": misconceptions.pack(pending.values())}
    from petkit.grading import warm_grading
    env = warm_grading.referee_env(student)
    # the kernels' server (one per grading process); None: a fresh Python
    server = warm_grading.grading_server(plan.given, plan.lesson, plan.sandbox, env=env)
    from petkit import tempdirs
    with tempdirs.folder("petkit-referee-", warm_grading.spool_of(server)) as folder:
        cwd = str(folder)
        prefix = sandbox.argv(folder) if plan.sandbox else []
        if not plan.sandbox:  # what the answers write to temporary files goes with the run (sandboxed: /tmp is wiped)
            env = {**env, "TMPDIR": cwd}
        launcher = (lambda argv, fds: server.launcher(argv, fds, keep=cwd)) if server else None
        child = ChildProcess(prefix + [sys.executable, "-m", "petkit.grading.sealed"], cwd=cwd, env=env,
                             event_fd=True, token=token, stdin=(json.dumps(job) + "\n").encode(), launcher=launcher)
        with child:
            return _follow(child, plan, pending, timeout, results, notes)


def _follow(child, plan, pending, timeout, results, notes):
    """Read the sealed child's events until it finishes, stops or dies."""
    step = None
    while True:
        try:
            event = child.next_event(timeout if step else max(timeout, 300))
        except TimedOut:
            child.kill()
            if step is None:
                return None, f"it did not start within {max(timeout, 300):g} s"
            return step, f"ran past the time limit ({timeout:g} s): does it loop forever?"
        if event is None:
            break
        kind = event.get("event")
        if kind in ("cell", "check"):
            step = (kind, event["name"])
        elif kind == "result" and event["name"] in pending and event["name"] not in results:
            results[event["name"]] = (bool(event["passed"]), bool(event.get("bad_input_passed", event["passed"])),
                                      str(event["message"]))
            step = None
        elif kind == "note" and event.get("name") in plan.cells:
            notes.setdefault(event["name"], str(event["message"]))
        elif kind == "cell-done":
            step = None
        elif kind == "finished":
            return None, ""
    child.kill()
    how = child.ended()
    if step is None:
        return None, f"the process ended before any answer ran ({how})"
    return step, f"killed the process running it ({how})"


# --- the grade of record ----------------------------------------------------------------------------

REFEREE_SAYS = "The grader's referee: "  # how its word starts in a gradebook comment


def record(course, lesson_id: str, student: str) -> None:
    """Judge one autograded submission and write the grade of record into the gradebook, in one
    transaction: per test cell, the lower of nbgrader's score and the referee's (as nbgrader's manual
    score, so every run writes the same and `needs_manual_grade` stays off), and the referee's word on
    each exercise as the manual comment of its answer cell (the learner's feedback shows it, and
    `results.result` reads it back, whichever process graded the submission)."""
    from petkit.notebooks import GIVEN_ID, part_of, test_cells
    from petkit.registry import lesson
    source = json.loads(course.source_notebook(lesson_id).read_text())
    folder = course.root / "submitted" / student / lesson_id
    try:
        submitted = json.loads((folder / f"{lesson_id}.ipynb").read_text())
    except FileNotFoundError:
        submitted = {"cells": []}  # every answer missing: the referee says so, each scores 0
    changed = restore_source_metadata(source, submitted)  # graded by the source's marks, as nbgrader now is
    exercises = {e.name: e for e in lesson(lesson_id).exercises}
    test_of = {cell: name for name, e in exercises.items() for cell in test_cells(e)}  # both test cells
    timeout = float(course.config.ExecutePreprocessor.get("timeout", 60) or 60)
    import warnings
    with warnings.catch_warnings(), course.gradebook() as gb:
        warnings.simplefilter("ignore")
        earned = {test_of[g.name] for nb in gb.find_submission(lesson_id, student).notebooks
                  for g in nb.grades if g.name in test_of and (g.auto_score or 0) > 0}
    verdicts = judge(source, submitted, lesson_id, student, timeout=timeout,
                     memory_mb=int(os.environ.get("PETKIT_REFEREE_MEMORY_MB", "8192")), rerun=earned,
                     sandbox=course.sandboxed)
    words: dict[str, list[str]] = {name: [] for name in exercises}
    if not course.sandboxed:
        words[next(iter(exercises))].append(sandbox.NO_SANDBOX_WARNING)
    given = locked_cell_problems(source, submitted).get(GIVEN_ID)
    if given:  # nbgrader ran the course's own cell; say so once, on the first exercise
        words[next(iter(exercises))].append(f"{given}: graded with the course's own cell")
    for line in changed:  # on the exercise whose cell it was, else on the first
        owner = next((n for n, e in exercises.items()
                      if f"cell {n} " in line or any(f"cell {t} " in line for t in test_cells(e))),
                     next(iter(exercises)))
        words[owner].append(line)
    for name, v in verdicts.items():
        # a screened cell: the error nbgrader's notebook shows already says what was found
        if v.message and not v.passed and not v.message.startswith("cheat detected: the answer cell"):
            words[name].append(v.message)
        if v.note:
            words[name].append(v.note)
    with warnings.catch_warnings(), course.gradebook() as gb:
        warnings.simplefilter("ignore")
        submission = gb.find_submission(lesson_id, student)
        for nb in submission.notebooks:
            for g in nb.grades:
                if g.name in test_of:
                    v = verdicts[test_of[g.name]]
                    g.manual_score = min(g.auto_score or 0, g.max_score if v.cell_passed(part_of(g.name)) else 0)
                    g.needs_manual_grade = False
            for c in nb.comments:
                if c.name in words:
                    c.manual_comment = REFEREE_SAYS + "; ".join(words[c.name]) if words[c.name] else None
        gb.db.commit()


def said(comment: str | None) -> str:
    """The referee's word in a gradebook comment ('' when it said nothing)."""
    return comment[len(REFEREE_SAYS):] if comment and comment.startswith(REFEREE_SAYS) else ""


