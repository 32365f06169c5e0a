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
3. the remaining answer cells run in a fresh process (`python -m petkit.referee`), time- and
   memory-bounded, in an empty temporary folder, with the course's given cell taken from the source
   notebook, and the checks, oracles and comparison functions imported and sealed BEFORE any
   learner code runs: after each cell and each exercise the sealed attributes are compared by
   identity with the originals (a change scores 0 for that exercise and is undone). Results come
   back on a pipe the parent owns, each line signed with a token the learner's code never sees in
   its namespace.

What this can and cannot guarantee is said in the README ("Integrity").
"""
from __future__ import annotations

import ast
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from petkit import ROOT

# --- 1. the locked cells -------------------------------------------------------------------------


def _text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _norm(text: str) -> str:
    return "\n".join(l.rstrip() for l in text.strip().splitlines())


def _by_id(nb: dict) -> dict[str, dict]:
    out = {}
    for cell in nb.get("cells", []):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid and cell.get("cell_type") == "code":
            out.setdefault(gid, cell)
    return out


def locked_cell_problems(source: dict, submitted: dict) -> dict[str, str]:
    """grade_id of each locked cell that the submission changed or lost -> what happened to it."""
    from petkit.notebooks import _without_hidden_tests
    mine = _by_id(submitted)
    problems = {}
    for gid, cell in _by_id(source).items():
        if not cell["metadata"]["nbgrader"].get("locked"):
            continue
        if gid not in mine:
            problems[gid] = f"the locked cell {gid} was deleted"
        elif _norm(_text(mine[gid])) not in (_norm(_without_hidden_tests(_text(cell))), _norm(_text(cell))):
            problems[gid] = f"the locked cell {gid} was edited"
    return problems


# --- 2. what an answer never needs ------------------------------------------------------------------

# modules an answer cell may not import, and why
FORBIDDEN_IMPORTS = {
    "solutions": "the kit's reference answers", "exercises": "the kit's own stubs",
    "petkit": "the kit (its checks and grader)", "hypothesis": "the test framework the checks run on",
    "nbgrader": "the grader", "gc": "the garbage collector (a way to reach the checks' objects)",
    "ctypes": "raw memory access", "inspect": "introspection of the running checks",
    "importlib": "re-importing modules", "builtins": "Python's builtins",
    "sqlite3": "databases (the gradebook)", "shutil": "file operations", "glob": "file search",
    "subprocess": "other processes", "signal": "signals", "pickle": "pickle", "marshal": "code objects",
    "unittest": "mocking", "pytest": "the test framework", "threading": "threads", "multiprocessing": "processes",
}
KIT_FOR_ANSWERS = {"petkit.pretrain", "petkit.data"}  # what the lessons themselves give answers to use
FORBIDDEN_CALLS = {
    "open": "opens a file", "exec": "runs code from a string", "eval": "runs code from a string",
    "compile": "compiles code", "__import__": "imports by name", "setattr": "sets attributes by name",
    "delattr": "deletes attributes by name", "globals": "reaches the notebook's globals",
    "vars": "reaches a namespace", "breakpoint": "starts a debugger",
}
FORBIDDEN_ATTRS = {  # attribute names, however reached
    "__code__", "__globals__", "__builtins__", "__dict__", "__subclasses__", "__closure__",
    "__import__", "__loader__", "__spec__", "_getframe", "system",
    "popen", "spawnv", "execv", "remove", "unlink", "rmdir", "rmtree", "rename", "replace_file",
    "listdir", "scandir", "walk", "read_text", "read_bytes", "write_text", "write_bytes", "open", "getcwd",
    "chdir", "environ", "setrlimit", "f_back", "f_globals", "f_locals", "gi_frame", "tb_frame",
}
COURSE_WORDS = ("gradebook", ".ipynb", "grader", "autograded", "submitted", "nbgrader", "solutions", "source/")


def scan(code: str) -> str:
    """What in an answer cell an answer never needs ('' when nothing): the first finding, in words."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""  # it fails when run, as in the notebook
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if node.__class__ is ast.ImportFrom and node.level:
                    return "a relative import (the kit's own modules)"
                if top in FORBIDDEN_IMPORTS and name not in KIT_FOR_ANSWERS:
                    return f"imports {name} ({FORBIDDEN_IMPORTS[top]}), which an answer never needs"
            for a in node.names:
                modules.add((a.asname or a.name).split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            return f"calls {node.func.id}() ({FORBIDDEN_CALLS[node.func.id]}), which an answer never needs"
        if isinstance(node, ast.Attribute) and node.attr == "modules" and isinstance(node.value, ast.Name) \
                and node.value.id == "sys":
            return "uses sys.modules, which an answer never needs"
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRS:
            return f"uses .{node.attr}, which an answer never needs"
        if isinstance(node, ast.Name) and node.id in ("__builtins__", "__import__", "__loader__", "__spec__"):
            return f"uses {node.id}, which an answer never needs"
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, (ast.Attribute, ast.Subscript)):
                        root = sub
                        while isinstance(root, (ast.Attribute, ast.Subscript)):
                            root = root.value
                        if isinstance(root, ast.Name) and (root.id in modules or root.id in _GIVEN_MODULES):
                            return (f"assigns to {ast.unparse(sub)}: changing a module (what the checks "
                                    f"use) from an answer is not allowed")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            low = node.value.lower()
            for w in COURSE_WORDS:
                if w in low:
                    return f"names {w!r}: an answer never reaches for the course's files"
    return ""


# names the given cells bind to modules (assigning their attributes changes a module)
_GIVEN_MODULES = {"torch", "F", "nn", "np", "math", "os", "sys", "fastai", "fastcore", "hypothesis", "petkit",
                  "builtins", "random", "functools", "operator", "itertools", "Tensor"}


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
        """Whether the test cell of this part ("maths" or "bad input") earns its points."""
        return self.bad_input_passed if part == "bad input" else self.maths_passed


@dataclass
class Plan:
    lesson: str
    given: str
    cells: dict[str, str]                 # answer grade_id -> code, in notebook order
    exercises: dict[str, str]             # function name -> exercise id, to check
    skip: set[str] = field(default_factory=set)
    notes: dict[str, str] = field(default_factory=dict)   # answer grade_id -> what the referee saw


def judge(source_nb: dict, submitted_nb: dict, lesson_id: str, student: str, timeout: float = 60,
          memory_mb: int = 4096, rerun: set[str] | None = None) -> dict[str, Verdict]:
    """The referee's verdict on every exercise of the lesson, keyed by function name. With `rerun`,
    only those exercises' checks run again (the others scored 0 in the kernel: nothing to take away);
    the locked cells and the static screen are judged for all of them."""
    from petkit.notebooks import GIVEN_ID, answer_id, test_cells
    from petkit.registry import lesson
    exs = lesson(lesson_id).exercises
    verdicts = {e.name: Verdict(e.name) for e in exs}
    locked = locked_cell_problems(source_nb, submitted_nb)
    mine = _by_id(submitted_nb)
    given = _text(_by_id(source_nb)[GIVEN_ID])
    cells, todo, skip = {}, {}, set()
    for e in exs:
        v = verdicts[e.name]
        code = _text(mine[answer_id(e)]) if answer_id(e) in mine else None
        if code is None:
            v.message = f"its answer cell {answer_id(e)} is missing"
            continue
        cells[answer_id(e)] = code
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
        plan = Plan(lesson_id, given, cells, todo, skip)
        for name, (maths, bad_input, message) in _run(plan, student, timeout, memory_mb).items():
            v = verdicts[name]
            v.maths_passed, v.bad_input_passed, v.message = maths, bad_input, message
        for name, note in plan.notes.items():
            if name in verdicts:
                verdicts[name].note = note
    return verdicts


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
    token = secrets.token_hex(16)
    job = {"token": token, "lesson": plan.lesson, "given": plan.given,
           "cells": {k: v for k, v in plan.cells.items() if k not in skip}, "exercises": pending,
           "memory_mb": memory_mb}
    read_fd, write_fd = os.pipe()
    # the grader's environment (the checks' settings, caches of pretrained bodies), with the kit on the path
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PETKIT_STUDENT": student, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="petkit-referee-") as cwd:
        proc = subprocess.Popen([sys.executable, "-m", "petkit.referee", str(write_fd)], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd, env=env,
                                pass_fds=(write_fd,), start_new_session=True)
        os.close(write_fd)
        tail: deque = deque(maxlen=5)
        threading.Thread(target=lambda: [tail.append(l[:300]) for l in iter(proc.stderr.readline, b"")],
                         daemon=True).start()
        lines: queue.Queue = queue.Queue()

        def reader():
            with os.fdopen(read_fd, "rb") as f:
                for line in f:
                    lines.put(line[:100_000])
            lines.put(None)
        threading.Thread(target=reader, daemon=True).start()
        proc.stdin.write((json.dumps(job) + "\n").encode())
        proc.stdin.close()
        step = None
        try:
            while True:
                try:
                    line = lines.get(timeout=timeout if step else max(timeout, 300))
                except queue.Empty:
                    _kill(proc)
                    if step is None:
                        return None, f"it did not start within {max(timeout, 300):g} s"
                    return step, f"ran past the time limit ({timeout:g} s): does it loop forever?"
                if line is None:
                    break
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(event, dict) or event.get("token") != token:
                    continue
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
        finally:
            _kill(proc)
        code = proc.returncode
        how = f"killed by signal {signal.Signals(-code).name}" if code and code < 0 else f"exit status {code}"
        last = " ".join(tail).strip().splitlines()[-1:] if tail else []
        if step is None:
            return None, f"the process ended before any answer ran ({how})"
        return step, f"killed the process running it ({how}{': ' + last[0].decode(errors='replace') if last else ''})"


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


# --- the worker: runs in the fresh process --------------------------------------------------------

def _sealed_modules():
    import builtins
    import hypothesis
    import torch
    import torch.nn.functional
    import torch.testing
    import hypothesis.strategies
    mods = [builtins, torch, torch.testing, torch.nn.functional, torch.linalg, hypothesis, hypothesis.strategies,
            json, os, sys]
    mods += [m for n, m in sorted(sys.modules.items()) if m is not None and n.split(".")[0] == "petkit"]
    return mods


def _snapshot(mods) -> dict:
    import types
    seal = {}
    for m in mods:
        for k, v in list(vars(m).items()):
            if not (callable(v) or isinstance(v, types.ModuleType)):
                continue  # a module's own data (caches, counters) changes as it works
            seal[(id(m), k)] = (m, k, v, getattr(v, "__code__", None) if isinstance(v, types.FunctionType) else None)
            if isinstance(v, type) and getattr(v, "__module__", "").split(".")[0] in ("petkit", "torch"):
                for ck, cv in list(vars(v).items()):
                    seal[(id(v), ck)] = (v, ck, cv, None)
    import torch
    for ck, cv in list(vars(torch.Tensor).items()):
        seal[(id(torch.Tensor), ck)] = (torch.Tensor, ck, cv, None)
    from petkit.checks.strategies import RUN
    seal[("RUN",)] = (RUN, None, dict(RUN), None)
    return seal


def _tampered(seal: dict, restore: bool = True) -> list[str]:
    import types
    changed = []
    for key, (owner, name, value, code) in seal.items():
        if name is None:  # the examples settings
            if dict(owner) != value:
                changed.append("petkit's example settings")
                if restore:
                    owner.clear()
                    owner.update(value)
            continue
        space = owner if isinstance(owner, type) else vars(owner)
        now = space.__dict__.get(name, _MISSING) if isinstance(owner, type) else space.get(name, _MISSING)
        label = f"{getattr(owner, '__name__', '?')}.{name}"
        if now is not value:
            changed.append(label)
            if restore:
                setattr(owner, name, value) if isinstance(owner, type) or not isinstance(space, dict) else space.__setitem__(name, value)
        elif code is not None and isinstance(value, types.FunctionType) and value.__code__ is not code:
            changed.append(f"{label}'s code")
            if restore:
                value.__code__ = code
    return changed


_MISSING = object()
OUT_OF_MEMORY = ("MemoryError", "can't allocate memory", "Cannot allocate memory")
FLOOD = 10**6  # bytes of output that count as a flood


class _Sink:
    """stdout while the learner's code runs: counted, and only the first MB passed on."""

    def __init__(self, target):
        self.target, self.count = target, 0

    def write(self, text):
        if self.count < FLOOD:
            self.target.write(text[:FLOOD])
        self.count += len(text)
        return len(text)

    def flush(self):
        self.target.flush()

    def take(self) -> int:
        n, self.count = self.count, 0
        return n


def _is_library(value) -> bool:
    import types
    if isinstance(value, types.ModuleType):
        return True
    return (getattr(value, "__module__", None) or "").split(".")[0] in ("petkit", "torch", "fastai", "hypothesis",
                                                                         "numpy", "fastcore")


def _worker(fd: int) -> int:
    job = json.loads(sys.stdin.readline())
    out = os.fdopen(fd, "w", buffering=1)
    token = job.pop("token")

    def emit(**event):
        out.write(json.dumps({"token": token, **event}) + "\n")
        out.flush()

    sink = sys.stdout = _Sink(sys.stderr)
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
    import torch
    torch.set_num_threads(1)
    from petkit.checks.core import checks_for
    from petkit.checks.runner import FAIL, NOT_OWN, PASS, run_check
    from petkit.checks.strategies import examples
    from petkit.nbcheck import BAD_INPUT, HIDDEN_EXAMPLES, SHRINK, _notebook_stubs_named, _quiet_stderr, student_seed
    from petkit.misconceptions import entries, known_mistakes
    from petkit.worker import _limit_memory
    checks = {ex: checks_for(ex) for ex in job["exercises"].values()}
    for ex in job["exercises"].values():
        entries(ex)  # the known mistakes' corpus, loaded before any learner code runs
    ns: dict = {"__name__": "__main__"}
    exec(compile(job["given"], "<given>", "exec"), ns)  # the course's own cell, from the source notebook
    if "fastai" in job["given"]:
        import fastai.vision.all  # noqa: F401 - the checks import it later; its patches to torch are not the answer's
    seal = _snapshot(_sealed_modules())
    seal_ns = dict(ns)
    _limit_memory(job["memory_mb"])
    broken: dict[str, str] = {}
    for name, code in job["cells"].items():
        emit(event="cell", name=name)
        try:
            exec(compile(code, f"<answer {name}>", "exec"), ns)
        except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too: the cell fails
            broken[name] = f"its answer cell raised {type(e).__name__}: {str(e)[:200]}"
        changed = _tampered(seal)
        for k, v in seal_ns.items():  # the names the course's cell gives: torch, F, check...
            if ns.get(k, _MISSING) is not v and _is_library(v):
                changed.append(f"the given name {k}")
                ns[k] = v
        if changed:
            broken[name] = f"cheat detected: its answer cell changed {', '.join(sorted(set(changed))[:4])}"
        if sink.take() > FLOOD:
            emit(event="note", name=name, message=f"its answer cell printed more than {FLOOD // 10**6} MB: "
                                                  f"the output was cut, nothing else changes")
        emit(event="cell-done", name=name)
    for name, ex in job["exercises"].items():
        emit(event="check", name=name)
        if name in broken:
            emit(event="result", name=name, passed=False, message=broken[name])
            continue
        fn = ns.get(name)
        if not callable(fn):
            emit(event="result", name=name, passed=False, message=f"{name} is not defined as a function")
            continue
        answer, fn = fn, _notebook_stubs_named(ex, fn)
        failures, died, named = [], "", None
        try:
            with _quiet_stderr():
                for part in (lambda c: c.kind not in BAD_INPUT, lambda c: c.kind in BAD_INPUT):  # a test cell each
                    mine = [c for c in checks[ex] if part(c)]
                    with examples(shrink=SHRINK):
                        found = [(c, o) for c in mine if (o := run_check(c, fn)).status != PASS]
                    if not found:
                        with examples(max_examples=HIDDEN_EXAMPLES, seed=student_seed(ex), shrink=SHRINK):
                            found = [(c, o) for c in mine if (o := run_check(c, fn)).status != PASS]
                    failures += found
                if any(o.status == FAIL for _, o in failures):
                    named = known_mistakes(ex, answer)
        except BaseException as e:  # noqa: BLE001 - sys.exit() inside the answer, and the like
            died = f"{name} raised {type(e).__name__} ({str(e)[:200]}) out of the checks"
        maths_ok = not died and not any(c.kind not in BAD_INPUT for c, _ in failures)
        bad_input_ok = not died and not any(c.kind in BAD_INPUT for c, _ in failures)
        changed = _tampered(seal)
        if changed:
            message = f"cheat detected: calling {name} changed {', '.join(sorted(set(changed))[:4])}"
        elif died:
            message = died
        elif any(o.message.startswith(NOT_OWN) for _, o in failures):
            message = next(o.message for _, o in failures if o.message.startswith(NOT_OWN)).splitlines()[0][:300]
        elif any(w in o.message for _, o in failures for w in OUT_OF_MEMORY):
            message = "ran out of memory: " + next(o.message for _, o in failures
                                                   if any(w in o.message for w in OUT_OF_MEMORY)).splitlines()[0][:300]
        elif failures and maths_ok:
            c, o = failures[0]
            message = f"maths right, bad input not handled yet: {c.title}: {o.message.splitlines()[0][:200]}"
        elif failures:
            c, o = failures[0]
            message = f"{len(failures)} check(s) fail; first: {c.title}: {o.message.splitlines()[0][:200]}"
        else:
            message = ""
        if named and message and not changed:
            message += "; " + "; ".join(named.splitlines())
        if changed or died or (message and not failures):
            maths_ok = bad_input_ok = False
        emit(event="result", name=name, passed=maths_ok, bad_input_passed=bad_input_ok, message=message)
    emit(event="finished")
    out.close()
    os._exit(0)  # no atexit or finalizers of the learner's code after the results


if __name__ == "__main__":
    sys.exit(_worker(int(sys.argv[1])))


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


# --- the grade of record ----------------------------------------------------------------------------

REFEREE_SAYS = "The grader's referee: "  # how its word starts in a gradebook comment


def record(course, lesson_id: str, student: str) -> None:
    """Judge one autograded submission and write the grade of record into the gradebook, in one
    transaction: per test cell, the lower of nbgrader's score and the referee's (as nbgrader's manual
    score, so every run writes the same and `needs_manual_grade` stays off), and the referee's word on
    each exercise as the manual comment of its answer cell (the learner's feedback shows it, and
    `Course.result` reads it back, whichever process graded the submission)."""
    from petkit.notebooks import GIVEN_ID, part_of, test_cells
    from petkit.registry import lesson
    source = json.loads(course.source_notebook(lesson_id).read_text())
    folder = course.root / "submitted" / student / lesson_id
    try:
        submitted = json.loads((folder / f"{lesson_id}.ipynb").read_text())
    except FileNotFoundError:
        submitted = {"cells": []}  # every answer missing: the referee says so, each scores 0
    exercises = {e.name: e for e in lesson(lesson_id).exercises}
    test_of = {cell: name for name, e in exercises.items() for cell in test_cells(e)}  # both test cells
    timeout = float(course.config.ExecutePreprocessor.get("timeout", 60) or 60)
    import warnings
    with warnings.catch_warnings(), course.gradebook() as gb:
        warnings.simplefilter("ignore")
        earned = {test_of[g.name] for nb in gb.find_submission(lesson_id, student).notebooks
                  for g in nb.grades if g.name in test_of and (g.auto_score or 0) > 0}
    verdicts = judge(source, submitted, lesson_id, student, timeout=timeout,
                     memory_mb=int(os.environ.get("PETKIT_REFEREE_MEMORY_MB", "8192")), rerun=earned)
    words: dict[str, list[str]] = {name: [] for name in exercises}
    given = locked_cell_problems(source, submitted).get(GIVEN_ID)
    if given:  # nbgrader ran the course's own cell; say so once, on the first exercise
        words[next(iter(exercises))].append(f"{given}: graded with the course's own cell")
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


# --- before nbgrader's kernel runs anything ----------------------------------------------------------

SCREENED = "petkit grade did not run this cell"


def _screen_preprocessor():
    from nbgrader.preprocessors import NbGraderPreprocessor

    class ScreenAnswers(NbGraderPreprocessor):
        """An answer cell in which `scan` finds what an answer never needs is not run in nbgrader's
        kernel at all (it could write to the gradebook or read the course's files there): its code
        is kept as comments, under an error that says what was found. Its test cell then fails."""

        def preprocess_cell(self, cell, resources, index):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
                found = scan(cell.source)
                if found:
                    kept = "\n".join("# " + line for line in cell.source.splitlines())
                    cell.source = (f"{kept}\nraise PermissionError({SCREENED + ': cheat detected: the answer cell ' + found!r})")
            return cell, resources
    return ScreenAnswers


def __getattr__(name: str):
    # nbgrader imports the preprocessor by name (grader/nbgrader_config.py)
    if name == "ScreenAnswers":
        cls = globals()[name] = _screen_preprocessor()
        return cls
    raise AttributeError(name)
