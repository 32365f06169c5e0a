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
    """The per-student table: total, each exercise (its maths and bad-input test cells added up), and
    what went wrong where."""
    column_of: dict[str, str] = {}  # grade cell id -> its exercise's column
    order: list[str] = []
    try:
        from petkit.notebooks import test_cells
        from petkit.registry import lesson as find
        for e in find(lesson).exercises:
            order.append(e.name)
            column_of.update({cell: e.name for cell in test_cells(e)})
    except Exception:  # noqa: BLE001 - a course lesson the registry does not know: a column per cell
        pass
    columns: list[str] = []
    for r in results:
        columns += [c for c in (column_of.get(cell, cell) for cell in r.cells) if c not in columns]
    columns.sort(key=lambda c: order.index(c) if c in order else len(order))
    heads = ["student", "score"] + [c.removeprefix("test_") for c in columns]
    rows = []
    for r in results:
        score = f"{number(r.score)}/{number(r.max_score)}" if r.max_score else "-"
        sums: dict[str, list[float]] = {}
        for cell, (got, most) in r.cells.items():
            total = sums.setdefault(column_of.get(cell, cell), [0.0, 0.0])
            total[0] += got or 0
            total[1] += most or 0
        cells = [f"{number(sums[c][0])}/{number(sums[c][1])}" if c in sums else "-" for c in columns]
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
