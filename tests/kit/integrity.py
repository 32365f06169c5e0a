"""The cheat and fault corpora of `petkit grade`, as data: what a submission does, which exercise it
targets, the score that exercise must get and a fragment of the message the instructor must see.
tests/kit/test_integrity.py grades them all through the real `petkit grade` command, and checks that
the README's table is `readme_table()` of this very data.

Every case is one cell (or one change to the notebook, or to the submission's folder) in one
student's softmax notebook; the notebook's other exercises hold the reference answers, so "nothing
else is harmed" is asserted on every one of them. Cases with the same `student` share a notebook
(one kernel start for several cases), at most one per exercise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

LESSON = "softmax"
POINTS = {"softmax": 2, "log_softmax": 2, "sigmoid": 1}
REFERENCE = "{reference}"  # in a cell: the reference answer's function, unchanged


@dataclass(frozen=True)
class Case:
    student: str
    exercise: str          # the function whose points the case targets ("" for the whole notebook)
    attempt: str           # what the submission does, for the README
    handling: str          # what the kit does with it, for the README
    score: float           # the points the targeted exercise must get
    message: str           # must appear in the instructor's per-student lines
    cell: str | None = None                          # the answer cell's code
    notebook: Callable[[dict], dict] | None = None   # a change to the student's notebook
    folder: Callable | None = None                   # writes the submission folder itself


def _edit_cell(grade_id: str, new: str | None):
    def change(nb: dict) -> dict:
        cells = []
        for cell in nb["cells"]:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
                if new is None:
                    continue
                cell = {**cell, "source": new}
            cells.append(cell)
        return {**nb, "cells": cells}
    return change


def _insert_cell(after: str, code: str):
    """A plain code cell (no nbgrader metadata: the static screen does not read it) inserted after
    the cell `after`."""
    def change(nb: dict) -> dict:
        cells = []
        for cell in nb["cells"]:
            cells.append(cell)
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == after:
                cells.append({"cell_type": "code", "execution_count": None, "id": f"inserted-after-{after}",
                              "metadata": {}, "outputs": [], "source": code})
        return {**nb, "cells": cells}
    return change


STATIC = "not run in nbgrader's kernel (the answer cell is screened before it runs), 0 for the exercise"
SANDBOX = ("nbgrader's kernel runs in the OS sandbox (petkit.grading.sandbox), in a scratch copy of the submission "
           "folder: ")
REFEREE = "the referee re-runs the checks in a sealed process, sees the change, records 0 for the exercise"
LATER_STUDENTS = ("the warm server (petkit.warm) finds what its forks would inherit changed before it forks again: "
                  "that fork is refused and starts cold, the server ends and a fresh one grades the rest; every "
                  "later student is graded as usual, and this notebook as it stands")

CHEATS = [
    Case("cheat-1", "softmax", "calls the library's own `torch.softmax` instead of writing it",
         "the checks watch torch calls (TorchFunctionMode): fails as not the learner's own work", 0,
         "not your own implementation: softmax called torch.softmax",
         cell="import torch\n\n\ndef softmax(x, dim=-1):\n    return torch.softmax(x, dim=dim)\n"),
    Case("cheat-1", "log_softmax", "imports the kit's reference answer (`from solutions.softmax import log_softmax`)",
         STATIC, 0, "cheat detected: the answer cell imports solutions.softmax",
         cell="from solutions.softmax import log_softmax\n"),
    Case("cheat-1", "sigmoid", "imports `petkit.nbcheck` and replaces `check` and `check_hidden` with no-ops",
         STATIC, 0, "cheat detected: the answer cell imports petkit.nbcheck",
         cell="import petkit.nbcheck\npetkit.nbcheck.check = petkit.nbcheck.check_hidden = lambda *a, **k: None\n\n\n"
              "def sigmoid(x):\n    return x\n"),
    Case("cheat-2", "softmax", "replaces `check`/`check_hidden` through `getattr(hint, '__glob' + 'als__')`, "
         "which no static scan sees: every later test cell passes in the kernel",
         REFEREE + "; the later test cells' kernel points are capped by the referee too", 0,
         "cheat detected: its answer cell changed petkit.nbcheck.check, petkit.nbcheck.check_hidden",
         cell='_g = getattr(hint, "__glob" + "als__")\n_g["check"] = _g["check_hidden"] = lambda *a, **k: None\n\n\n'
              "def softmax(x, dim=-1):\n    return x\n"),
    Case("cheat-2", "log_softmax", "monkeypatches `torch.allclose` and `torch.testing.assert_close` with "
         "`type(torch).__setattr__`", REFEREE, 0,
         "cheat detected: its answer cell changed torch.allclose, torch.testing.assert_close",
         cell="import torch\n\ntype(torch).__setattr__(torch, 'allclose', lambda *a, **k: True)\n"
              "type(torch).__setattr__(torch.testing, 'assert_close', lambda *a, **k: None)\n\n\n"
              "def log_softmax(x, dim=-1):\n    return x\n"),
    Case("cheat-2", "sigmoid", "monkeypatches a builtin (`round`, reached as `print.__self__`)", REFEREE, 0,
         "cheat detected: its answer cell changed builtins.round",
         cell="import torch\n\n_b = getattr(print, '__self__')\ntype(torch).__setattr__(_b, 'round', lambda *a, **k: 0)\n\n\n"
              "def sigmoid(x):\n    return 1 / (1 + (-x).exp())\n"),
    Case("cheat-3", "softmax", "imports `hypothesis` to turn the property tests down",
         STATIC, 0, "cheat detected: the answer cell imports hypothesis",
         cell="from hypothesis import settings\nsettings.register_profile('lazy', max_examples=1)\n"
              "settings.load_profile('lazy')\n\n\ndef softmax(x, dim=-1):\n    return x\n"),
    Case("cheat-3", "log_softmax", "edits its locked test cell (to a bare `print`), with a right answer",
         "nbgrader runs the original test cell; the referee compares the locked cells with the source "
         "notebook and records 0 for the exercise", 0,
         "cheat detected: the locked cell test_log_softmax was edited",
         cell=REFERENCE, notebook=_edit_cell("test_log_softmax", "print('all good')\n")),
    Case("cheat-3", "sigmoid", "deletes its locked test cell, with a right answer",
         "the referee finds the locked cell missing and records 0 for the exercise", 0,
         "cheat detected: the locked cell test_sigmoid was deleted",
         cell=REFERENCE, notebook=_edit_cell("test_sigmoid", None)),
    Case("cheat-4", "softmax", "writes to the gradebook (`open('../../../gradebook.db', 'w')`)",
         STATIC + "; the gradebook stays whole", 0, "cheat detected: the answer cell calls open()",
         cell="open('../../../gradebook.db', 'w').write('')\n\n\ndef softmax(x, dim=-1):\n    return x\n"),
    Case("cheat-4", "log_softmax", "reads the hidden tests from the source notebook on disk",
         STATIC, 0, "cheat detected: the answer cell",
         cell="from pathlib import Path\n\n_hidden = Path('../../../source/softmax/softmax.ipynb').read_text()\n\n\n"
              "def log_softmax(x, dim=-1):\n    return x\n"),
    Case("cheat-4", "sigmoid", "deletes a file of the course folder (`os.remove` on the source notebook)",
         STATIC + "; the course folder stays whole", 0, "cheat detected: the answer cell uses .remove",
         cell="import os\n\nos.remove('../../../source/softmax/softmax.ipynb')\n\n\ndef sigmoid(x):\n    return x\n"),
    Case("cheat-5", "softmax", "reaches the checks' objects through `gc.get_objects()`",
         STATIC, 0, "cheat detected: the answer cell imports gc",
         cell="import gc\n\n_all = gc.get_objects()\n\n\ndef softmax(x, dim=-1):\n    return x\n"),
    Case("cheat-5", "log_softmax", "pokes memory with `ctypes`", STATIC, 0,
         "cheat detected: the answer cell imports ctypes",
         cell="import ctypes\n\n\ndef log_softmax(x, dim=-1):\n    return x\n"),
    Case("cheat-5", "sigmoid", "walks up the call stack (`sys._getframe`) to the test's locals", STATIC, 0,
         "cheat detected: the answer cell uses .f_locals",
         cell="import sys\n\n\ndef sigmoid(x):\n    sys._getframe(1).f_locals.clear()\n    return x\n"),
    Case("cheat-6", "softmax", "an inserted plain cell (not an answer cell: the screen does not read it) "
         "empties the gradebook (`open('../../../gradebook.db', 'w')`)",
         SANDBOX + "the course folder is not there, the file system is read-only; the gradebook stays whole", 2,
         "Read-only file system", cell=REFERENCE,
         notebook=_insert_cell("softmax", "open('../../../gradebook.db', 'w').write('')\n")),
    Case("cheat-6", "log_softmax", "an inserted plain cell deletes the source notebook and every other "
         "student's submission (`shutil.rmtree('../../../submitted')`)",
         SANDBOX + "nothing outside it can be deleted; the course folder stays whole", 2,
         "FileNotFoundError", cell=REFERENCE,
         notebook=_insert_cell("log_softmax", "import os, shutil\n"
                                              "os.remove('../../../source/softmax/softmax.ipynb')\n"
                                              "shutil.rmtree('../../../submitted')\n")),
    Case("cheat-6", "sigmoid", "an inserted plain cell sends the notebook over the network "
         "(`socket.create_connection`)", SANDBOX + "it has no network", 1, "OSError",
         cell=REFERENCE,
         notebook=_insert_cell("sigmoid", "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=5)\n")),
    Case("cheat-7", "softmax", "an inserted plain cell caps the memory of every later student's kernel "
         "(`resource.prlimit` on its parent, the grading server: 300 MB of address space), with right answers",
         LATER_STUDENTS, 2, "", cell=REFERENCE,
         notebook=_insert_cell("softmax", "import os, resource\n"
                                          "resource.prlimit(os.getppid(), resource.RLIMIT_AS, (300 << 20, 300 << 20))\n")),
    Case("cheat-7", "log_softmax", "an inserted plain cell slows every later student's kernel (its parent set to "
         "the lowest priority, SCHED_IDLE and one CPU), with right answers", LATER_STUDENTS, 2, "", cell=REFERENCE,
         notebook=_insert_cell("log_softmax", "import os\n"
                                              "os.setpriority(os.PRIO_PROCESS, os.getppid(), 19)\n"
                                              "os.sched_setscheduler(os.getppid(), os.SCHED_IDLE, os.sched_param(0))\n"
                                              "os.sched_setaffinity(os.getppid(), {min(os.sched_getaffinity(0))})\n")),
]


def _write_folder(files: dict):
    def write(folder, notebook_text: str) -> None:
        for name, data in files.items():
            path = folder / (name if isinstance(name, str) else name.decode("utf-8", "surrogateescape"))
            if data == "NOTEBOOK":
                path.write_text(notebook_text)
            else:
                path.write_bytes(data)
    return write


LOOP = "def log_softmax(x, dim=-1):\n    while True:\n        pass\n"
MEMORY_BOMB = ("import torch\n\n\ndef sigmoid(x):\n    hog = []\n    while True:\n"
               "        hog.append(torch.empty(2 ** 28))  # 1 GiB each, never touched\n")
# A plain cell (no nbgrader metadata, worth nothing) inserted after a fault: it prints the kernel's
# address-space cap and what the kernel maps then, so test_integrity.py can see the cap is there (a
# memory bomb also ends uncapped, at Linux's map count, seconds later per call: the message alone
# could not tell; the cap had been lost to nbconvert's re-init and no test saw it).
CAP_PROBE = ("import resource\n\nwith open('/proc/self/statm') as f:\n"
             "    mapped = int(f.read().split()[0]) * resource.getpagesize()\n"
             "print('address space cap:', resource.getrlimit(resource.RLIMIT_AS)[0], 'mapped:', mapped)\n")
FLOOD = "for _ in range(30_000):\n    print('flood ' * 20)\n\n\n{reference}"

FAULTS = [
    Case("fault-1", "softmax", "a flood of output (3.6 MB of prints), with a right answer",
         "nbgrader's LimitOutput cuts the notebook's output, the referee's pipe keeps 1 MB; the answer "
         "keeps its points and the instructor sees a note", 2, "printed more than 1 MB", cell=FLOOD),
    Case("fault-1", "log_softmax", "an infinite loop", "stopped at the per-cell time limit, in the kernel and "
         "in the referee; 0 for the exercise", 0, "stopped at the time limit per cell", cell=LOOP),
    Case("fault-1", "sigmoid", "a memory bomb (1 GiB tensors without end)",
         "the kernel's address space is capped (`KernelSurvivingExecute.memory_limit_mb`, the referee's too): "
         "the allocation fails in that exercise's checks only; 0 for the exercise", 0,
         "can't allocate memory", cell=MEMORY_BOMB, notebook=_insert_cell("sigmoid", CAP_PROBE)),
    Case("fault-2", "softmax", "`sys.exit(3)` in the answer cell",
         "the cell fails with SystemExit (IPython and the referee catch it); 0 for the exercise", 0,
         "SystemExit", cell="import sys\n\nsys.exit(3)\n\n\n{reference}"),
    Case("fault-2", "log_softmax", "`os._exit(1)` in the function: the kernel exits",
         "the cell loses its points, a fresh kernel grades the rest; the referee restarts its process too", 0,
         "KernelDied", cell="import os\n\n\ndef log_softmax(x, dim=-1):\n    os._exit(1)\n"),
    Case("fault-2", "sigmoid", "a segfault in the answer cell (`faulthandler._sigsegv()`; `ctypes` is "
         "screened as a cheat)", "as a kernel that exits: the cell's points only", 0, "KernelDied",
         cell="import faulthandler\n\nfaulthandler._sigsegv()\n\n\n{reference}",
         notebook=_insert_cell("test_sigmoid", CAP_PROBE)),  # in a kernel started again
    Case("fault-json", "", "a notebook that is not valid JSON", "0 for the notebook, a message; the others are graded",
         0, "NOT GRADED: softmax.ipynb is not valid notebook JSON",
         folder=_write_folder({"softmax.ipynb": b'{"cells": [', })),
    Case("fault-nbformat", "", "a notebook with the wrong nbformat (3)", "0 for the notebook, a message", 0,
         "NOT GRADED: softmax.ipynb is not a notebook nbformat can read",
         notebook=lambda nb: {**nb, "nbformat": 3}),
    Case("fault-missing", "", "a submission folder without the notebook", "0, a message", 0,
         "NOT GRADED: softmax.ipynb is missing (the folder is empty)", folder=_write_folder({})),
    Case("fault-renamed", "", "the notebook handed in as `my work.ipynb`", "0 (nbgrader grades by the "
         "assignment's notebook names), a message naming the file found", 0,
         "NOT GRADED: softmax.ipynb is missing (the folder holds: my work.ipynb)",
         folder=_write_folder({"my work.ipynb": "NOTEBOOK"})),
    Case("fault-extra-files", "", "extra files, one with a name that is not UTF-8, next to a right notebook",
         "graded as usual: full marks", 5, "",
         folder=_write_folder({"softmax.ipynb": "NOTEBOOK", "notes.txt": b"my notes\n", b"\xff\xfe-data.bin": b"\0\1"})),
]


def _remark(grade_id: str, **marks):
    """The cell's nbgrader metadata changed by the learner (e.g. an answer cell made a grade cell)."""
    def change(nb: dict) -> dict:
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade_id") == grade_id:
                meta.update(marks)
        return nb
    return change


def _insert_grade_cell(after: str, grade_id: str, points: int, code: str):
    """An inserted cell that carries nbgrader's marks of a grade cell the source notebook does not have."""
    def change(nb: dict) -> dict:
        nb = _insert_cell(after, code)(nb)
        for cell in nb["cells"]:
            if cell.get("id") == f"inserted-after-{after}":
                cell["metadata"] = {"nbgrader": {"grade": True, "grade_id": grade_id, "locked": False,
                                                 "points": points, "schema_version": 3, "solution": False,
                                                 "task": False}}
        return nb
    return change


HELPER = '''def _shift(x, dim):
    """x minus its maximum along dim: exp() of it cannot overflow."""
    return x - x.max(dim, keepdim=True).values
'''
SOFTMAX_WITH_HELPER = '''import torch


def softmax(x, dim=-1):
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError("x must be a floating-point tensor")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"dim={dim} is out of range")
    e = _shift(x, dim).exp()
    return e / e.sum(dim, keepdim=True)
'''
FAIR_HANDLING = "graded as nbgrader's kernel runs the notebook: "

FAIR = [
    Case("fair-1", "softmax", "a right answer that uses a helper the learner wrote in a cell of its own",
         FAIR_HANDLING + "the referee runs every code cell but the tests, in order; full points", 2, "",
         cell=SOFTMAX_WITH_HELPER, notebook=_insert_cell("given", HELPER)),
    Case("fair-1", "log_softmax", "a right answer in a cell that also sets `hint = None`",
         FAIR_HANDLING + "rebinding a name of the notebook changes no check: not a cheat; full points", 2, "",
         cell="hint = None\n\n\n{reference}"),
    Case("fair-1", "sigmoid", "the answer cell's metadata re-marked as a grade cell worth 100 points, with a "
         "right answer", "graded by the source notebook's marks and points (petkit.cell_metadata), the change "
         "named", 1, "the nbgrader metadata of cell sigmoid was changed", cell=REFERENCE,
         notebook=_remark("sigmoid", grade=True, points=100)),
    Case("fair-2", "softmax", "an inserted grade cell worth 50 points (`assert True`), with right answers",
         "graded by the source notebook's cells: the inserted cell is a plain cell worth nothing, and named", 2,
         "carries nbgrader marks the source notebook does not have",
         cell=REFERENCE, notebook=_insert_grade_cell("test_softmax", "test_bonus", 50, "assert True\n")),
]


def students(cases: list[Case]) -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = {}
    for c in cases:
        out.setdefault(c.student, []).append(c)
    return out


def readme_table() -> str:
    rows = ["| attempt | kind | targets | score | message the instructor sees (fragment) | what the kit does |",
            "| --- | --- | --- | --- | --- | --- |"]
    for kind, cases in (("cheat", CHEATS), ("fault", FAULTS), ("fair", FAIR)):
        for c in cases:
            target = f"`{c.exercise}` ({POINTS[c.exercise]} pts)" if c.exercise else "the notebook"
            message = f"`{c.message}`" if c.message else "(none)"
            rows.append(f"| {c.attempt} | {kind} | {target} | {c.score:g} | {message} | {c.handling} |")
    return "\n".join(rows)


def submit(course, cases) -> None:
    """Write each student's submission of the cases into the course's submitted/ folder: the reference
    answers, with each case's cell, notebook change or folder writer applied."""
    from petkit import notebooks
    from petkit.registry import lesson
    l = lesson(LESSON)
    source = notebooks.source_notebook(l)
    reference = {e.name: notebooks.solved(notebooks.read_source(l).functions[e.name]) for e in l.exercises}
    for student, mine in students(cases).items():
        answers = {e.name: notebooks.solved for e in l.exercises}
        for c in mine:
            if c.cell is not None:
                answers[c.exercise] = notebooks.written(c.cell.replace(REFERENCE, reference[c.exercise]))
        nb = notebooks.student_notebook(source, answers)
        for c in mine:
            if c.notebook:
                nb = c.notebook(nb)
        folder = course / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        writers = [c.folder for c in mine if c.folder]
        if writers:
            for w in writers:
                w(folder, notebooks.dumps(nb))
        else:
            (folder / f"{LESSON}.ipynb").write_text(notebooks.dumps(nb))


if __name__ == "__main__":
    print(readme_table())
