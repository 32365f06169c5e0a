"""Why an exercise lost its points, in one line an instructor reads, grouped across a class.

Everything here reads what grading already left behind: the error outputs of the autograded notebook
(the answer cell's and the test cell's) and the referee's word (petkit.grading.referee, stored as the answer
cell's manual comment in the gradebook). Nothing is run again.

A `Cause` has a `kind` (one of KINDS: not started, syntax error, timeout, crash, cheat, a known
mistake, a failing check, ...), a `group` (what the students who lost points the same way share: the
failing check's title, the known mistake's description) and a `detail` (this student's one line).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from petkit.checks.runner import NOT_OWN  # how a failure for calling the library's shortcut starts
from petkit.misconceptions import PREFIX as KNOWN_MISTAKE  # how the checks' output names a known misconception

NOT_GRADED = "could not be graded"
NOT_STARTED = "not started"
SYNTAX = "syntax error"
TIMEOUT = "timeout"
CRASH = "crash"
CHEAT = "cheat verdict"
MISTAKE = "known mistake"
CHECK = "check fails"
HIDDEN = "hidden tests fail"
ERROR = "error"
UNKNOWN = "no error recorded"
KINDS = (NOT_GRADED, NOT_STARTED, SYNTAX, TIMEOUT, CRASH, CHEAT, MISTAKE, CHECK, HIDDEN, ERROR, UNKNOWN)

TIMEOUT_ERRORS = ("CellTimeoutError", "KeyboardInterrupt")
SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")
KERNEL_DIED = "KernelDied"   # the error petkit.grading.preprocessors.KernelSurvivingExecute writes into a cell that killed the kernel
SCREENED = "petkit grade did not run this cell"  # the error petkit.grading.preprocessors.ScreenAnswers puts in a screened cell
HIDDEN_SAYS = "the grader's hidden tests"
LONGEST = 200  # characters of one line


@dataclass(frozen=True)
class Cause:
    kind: str
    group: str   # the grouping key within its kind, in words ('' when the kind says it all)
    detail: str  # this submission's one line

    @property
    def label(self) -> str:
        """The group as the report names it: the kind, then what its students share."""
        return f"{self.kind}: {self.group}" if self.group else self.kind

    def __str__(self) -> str:
        return self.detail or self.label


def _line(text: str) -> str:
    first = next((l.strip() for l in (text or "").splitlines() if l.strip()), "")
    return first if len(first) <= LONGEST else first[:LONGEST - 3] + "..."


def known_mistake(text: str) -> str:
    """The known mistake a message names ('' when none): the rest of its `This looks like a known
    mistake: ...` line (or part of a line, as the referee joins its findings with "; ")."""
    for line in (text or "").replace(f"; {KNOWN_MISTAKE}", f"\n{KNOWN_MISTAKE}").splitlines():
        line = line.strip().lstrip("-* ").strip()
        if line.startswith(KNOWN_MISTAKE):  # "...: the mistake. The hint for it": the mistake is the group
            return line[len(KNOWN_MISTAKE):].strip().split(". ", 1)[0].rstrip(".")
    return ""


_FIRST_CHECK = re.compile(r"^- [^:]+: (?P<title>.+)$")
_NOT_WRITTEN = re.compile(r"^(?:\S+ )?(?:is not written yet|uses (?P<other>\S+), which is not written yet)")


def from_checks(message: str) -> Cause:
    """A ChecksFailed message of petkit.nbcheck: not started, a known mistake, or the first failing
    check with its plain message (the visible checks' or the hidden tests')."""
    lines = [l for l in (message or "").splitlines() if l.strip()]
    first = _line(message)
    mistake = known_mistake(message)
    if "not written yet" in first and not mistake:
        m = re.search(r"uses (\S+), which is not written yet", first)
        group = f"uses {m.group(1)}, which is not written yet" if m else ""
        return Cause(NOT_STARTED, group, first.split(": replace", 1)[0])
    hidden = first.startswith(HIDDEN_SAYS)
    summary = next((l for l in lines[1 if hidden else 0:] if not l.startswith(("- ", " "))), first)
    summary = _line(summary.split(": ", 1)[1] if re.match(r"^\S+\.\S+: \d+ of \d+ checks fail", summary) else summary)
    detail = (f"{HIDDEN_SAYS}: " if hidden else "") + summary
    if mistake:
        return Cause(MISTAKE, mistake, detail)
    said = summary.split("; ", 1)[-1]  # the message the first line quotes
    if said.startswith(NOT_OWN):  # the library's shortcut, whichever check caught it
        called = re.search(r" called (\S+?)[:,]", said)
        return Cause(HIDDEN if hidden else CHECK, f"{NOT_OWN}" + (f" (calls {called.group(1)})" if called else ""),
                     detail)
    blocks = _check_blocks(lines)
    title = next((t for t, msg in blocks if msg and said[:80].rstrip(".") in msg), blocks[0][0] if blocks else "")
    return Cause(HIDDEN if hidden else CHECK, title or _line(summary), detail)


def _check_blocks(lines: list[str]) -> list[tuple[str, str]]:
    """(title, first line of its message) of each failing check in a ChecksFailed report."""
    blocks, title = [], None
    for l in lines:
        m = _FIRST_CHECK.match(l)
        if m:
            title = m.group("title").strip()
            blocks.append((title, ""))
        elif title is not None and l.startswith("    ") and not blocks[-1][1]:
            blocks[-1] = (title, l.strip())
    return blocks


def from_error(ename: str, evalue: str) -> Cause:
    """An error output of a cell of the autograded notebook (answer or test cell)."""
    ename, evalue = ename or "Error", evalue or ""
    if ename in TIMEOUT_ERRORS:
        return Cause(TIMEOUT, "", "stopped at the time limit per cell: does it loop forever?")
    if ename == KERNEL_DIED:
        return Cause(CRASH, "the kernel died", f"{KERNEL_DIED}: {_line(evalue)}")
    if SCREENED in evalue:
        return Cause(CHEAT, _cheat_group(evalue), _line(evalue.split(SCREENED + ": ", 1)[-1]))
    if ename in SYNTAX_ERRORS:
        return Cause(SYNTAX, "", _line(f"{ename}: {evalue}"))
    if ename == "NotImplementedError" and "not written yet" in evalue:
        return Cause(NOT_STARTED, "", _line(evalue))
    if ename == "ChecksFailed" or (ename == "AssertionError" and HIDDEN_SAYS in evalue):
        return from_checks(evalue)
    if ename == "MemoryError":
        return Cause(CRASH, "out of memory", _line(f"{ename}: {evalue}"))
    return Cause(ERROR, ename, _line(f"{ename}: {evalue}"))


def _cheat_group(text: str) -> str:
    """What a cheat verdict found, without the cell's own names: 'imports petkit', 'changed torch.allclose'."""
    text = _line(text.split("cheat detected: ", 1)[-1])
    text = re.sub(r"^(the answer cell|its answer cell|calling \S+) ", "", text)
    return text.split(" (", 1)[0].split(", which", 1)[0].split(": ", 1)[0]


def from_referee(word: str) -> Cause:
    """The referee's word on an exercise whose points it took away (petkit.grading.referee.record)."""
    parts = [p.strip() for p in re.split(r"; (?!first: )", word or "") if p.strip()]  # "N check(s) fail; first: ..." is one
    for p in parts:
        if "cheat detected" in p:
            return Cause(CHEAT, _cheat_group(p), _line(p))
    costly = [p for p in parts if "graded with the course's own cell" not in p and "the output was cut" not in p]
    p = costly[0] if costly else ""
    if not p:
        return Cause(UNKNOWN, "", "")
    mistake = known_mistake(word)
    m = re.search(r"check\(s\) fail; first: (?P<title>[^:]+): (?P<msg>.*)", p)
    if mistake:
        return Cause(MISTAKE, mistake, _line(p))
    if m:
        return Cause(CHECK, m.group("title").strip(), _line(f"the referee's run: {m.group('title')}: {m.group('msg')}"))
    if "time limit" in p:
        return Cause(TIMEOUT, "", _line(p))
    if "killed the process" in p or "ran out of memory" in p:
        return Cause(CRASH, "out of memory" if "memory" in p else "the referee's process died", _line(p))
    if "answer cell raised" in p and any(s in p for s in SYNTAX_ERRORS):
        return Cause(SYNTAX, "", _line(p))
    if "is missing" in p:
        return Cause(NOT_STARTED, "the answer cell is missing", _line(p))
    return Cause(ERROR, "the referee's checks", _line(p))


def _errors(cell: dict | None) -> list[tuple[str, str]]:
    return [(o.get("ename", ""), o.get("evalue", "")) for o in (cell or {}).get("outputs", [])
            if o.get("output_type") == "error"]


def of_exercise(answer_cell: dict | None, test_cells: dict | list | None, referee: str = "") -> Cause:
    """Why one exercise lost points, from its cells in the autograded notebook (the answer cell, then
    its test cells: the maths, then the bad input) and the referee's word: a cheat verdict first, then
    what broke in the answer cell (it explains its test cells' failures), then the first test cell's
    error, then the referee's own finding (an answer that passed in the learner's kernel but not in
    the referee's run). A failing check the referee names as a known mistake is that mistake (the
    notebook's kernel, in the sandbox, has no corpus to name it with)."""
    if referee and "cheat detected" in referee:
        return from_referee(referee)
    for ename, evalue in _errors(answer_cell):
        return from_error(ename, evalue)
    for cell in test_cells if isinstance(test_cells, list) else [test_cells]:
        for ename, evalue in _errors(cell):
            cause = from_error(ename, evalue)
            mistake = known_mistake(referee)
            if cause.kind in (CHECK, HIDDEN) and mistake:
                return Cause(MISTAKE, mistake, cause.detail)
            return cause
    if referee:
        return from_referee(referee)
    return Cause(UNKNOWN, "", "")


def one_line(ename: str, evalue: str) -> str:
    """An error output as the instructor's table shows it: the error's name and one line."""
    cause = from_error(ename, evalue)
    if cause.kind == TIMEOUT:
        return cause.detail
    if cause.kind == NOT_STARTED:
        return f"{ename}: not started ({cause.detail})"
    if ename == "ChecksFailed":
        return f"{ename}: {cause.detail}" + (f" (a known mistake: {cause.group})" if cause.kind == MISTAKE else "")
    first = _line(evalue)
    return f"{ename}: {first}" if first else ename
