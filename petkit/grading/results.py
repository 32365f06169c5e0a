"""One submission's result as the gradebook and the autograded notebook tell it, and the
instructor's per-student table."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from petkit.grading.causes import one_line
from petkit.grading.referee import said


@dataclass
class Graded:
    student: str
    lesson: str
    score: float = 0.0
    max_score: float = 0.0
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)  # grade cell id -> (score, max)
    notes: list[str] = field(default_factory=list)
    problem: str = ""      # why it could not be graded (whole or in part)

    @property
    def ok(self) -> bool:
        return not self.problem


def result(course, lesson: str, student: str) -> Graded:
    """What the gradebook (and the autograded notebook) say about one submission."""
    from nbgrader.api import MissingEntry
    graded = Graded(student, lesson)
    referee = []
    with course.gradebook() as gb:
        try:
            sub = gb.find_submission(lesson, student)
        except MissingEntry:
            graded.problem = "not graded yet"
            return graded
        graded.score, graded.max_score = sub.score, sub.max_score
        for nb in sub.notebooks:
            for g in nb.grades:
                graded.cells[g.name] = (g.score, g.max_score)
            referee += [f"{c.name}: referee: {said(c.manual_comment)}" for c in nb.comments
                        if said(c.manual_comment)]
    graded.notes += failed_cells(course.root / "autograded" / student / lesson) + referee
    return graded


def failed_cells(folder: Path) -> list[str]:
    """One line per cell that failed in the autograded notebook: which, and why in a line."""
    notes: list[str] = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            for out in cell.get("outputs", []):
                if out.get("output_type") != "error":
                    continue
                what = f"{meta.get('grade_id', cell.get('id', '?'))}"
                note = f"{what}: {one_line(out.get('ename'), out.get('evalue'))}"  # not the learner's advice
                if note not in notes:
                    notes.append(note)
    return notes



def number(x: float) -> str:
    return f"{x:g}"


def summary(results: list[Graded], lesson: str) -> str:
    """The per-student table: total, each exercise's test cell, and what went wrong where."""
    columns: list[str] = []
    for r in results:
        columns += [c for c in r.cells if c not in columns]
    try:
        from petkit.notebooks import tests_id
        from petkit.registry import lesson as find
        order = [tests_id(e) for e in find(lesson).exercises]
        columns.sort(key=lambda c: order.index(c) if c in order else len(order))
    except Exception:  # noqa: BLE001 - a course lesson the registry does not know: gradebook order
        pass
    heads = ["student", "score"] + [c.removeprefix("test_") for c in columns]
    rows = []
    for r in results:
        score = f"{number(r.score)}/{number(r.max_score)}" if r.max_score else "-"
        cells = [f"{number(r.cells[c][0])}/{number(r.cells[c][1])}" if c in r.cells else "-" for c in columns]
        rows.append([r.student, score] + cells + (["NOT GRADED"] if not r.ok else []))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(heads)]
    fmt = lambda row: "  " + "  ".join(v.ljust(widths[i]) if i < len(widths) else v for i, v in enumerate(row))
    out = ["", fmt(heads).rstrip(), fmt(["-" * w for w in widths]).rstrip()] + [fmt(row).rstrip() for row in rows]
    details = []
    for r in results:
        if r.problem:
            details.append(f"  {r.student}: NOT GRADED: {r.problem}")
        details += [f"  {r.student}: {n}" for n in r.notes]
    if details:
        out += ["", "What broke, per student:"] + details
    bad = [r.student for r in results if not r.ok]
    out += ["", f"{len(results) - len(bad)} of {len(results)} submissions graded"
            + (f"; could not grade: {', '.join(bad)}" if bad else ".")]
    return "\n".join(out)
