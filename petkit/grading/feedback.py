"""Feedback pages that read well: petkit's template for nbgrader's generate_feedback, and the
preprocessor that feeds it (both named in grader/nbgrader_config.py).

- the table of contents names each exercise ("1. Softmax (softmax.softmax)") instead of nbgrader's
  "Test cell", and lists a comment only where the grader (the referee) said something;
- nbgrader's automatic "No response." comment on an answer cell left as released is dropped: the
  score and the test cell's message already say the exercise was not started;
- the check output wraps instead of running past the right edge (the template's CSS).
"""
from __future__ import annotations

import re
from pathlib import Path

TEMPLATE = "petkit_feedback"       # the template's folder under TEMPLATES (its base: nbgrader's "feedback")
TEMPLATE_FILE = "petkit.html.j2"   # not index.html.j2: it extends nbgrader's, found by that name
TEMPLATES = Path(__file__).parent / "templates"
NO_RESPONSE = "No response."  # the comment nbgrader's SaveAutoGrades gives an unchanged answer cell


def template_dirs() -> list[str]:
    """Where nbconvert finds petkit's feedback template and the nbgrader template it extends. nbgrader is
    found, not imported: every course's nbgrader_config.py calls this, and `import nbgrader` costs 0.7 s
    (its server extensions), which a `petkit grade` refusing a bad argument need not pay."""
    import importlib.util
    spec = importlib.util.find_spec("nbgrader")
    if spec is None or not spec.origin:
        raise ModuleNotFoundError("nbgrader is not installed: the feedback template extends its own", name="nbgrader")
    return [str(TEMPLATES), str(Path(spec.origin).parent / "server_extensions" / "formgrader" / "templates")]


def heading_title(markdown: str) -> str:
    """The first heading of a markdown cell, without its '(N points)': '1. Softmax'."""
    for line in markdown.splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip()
            return re.sub(r"\s*\(\d+(\.\d+)? points?\)\s*$", "", text)
    return ""


def exercise_ids(lesson_id: str) -> dict[str, str]:
    """grade_id of each test cell (an exercise has two: its maths and its bad input) -> the exercise's
    id, for a lesson the registry knows ({} otherwise)."""
    try:
        from petkit.notebooks import test_cells
        from petkit.registry import lesson
        return {cell: e.id for e in lesson(lesson_id).exercises for cell in test_cells(e)}
    except Exception:  # noqa: BLE001 - a course lesson that is not one of the kit's
        return {}


def titles(cells, lesson_id: str = "") -> dict[int, str]:
    """index of each graded or answer cell -> the title the table of contents gives it: the heading
    above it (and the exercise id where the registry knows the test cell), else its grade_id."""
    from petkit.notebooks import part_of
    ids = exercise_ids(lesson_id) if lesson_id else {}
    out, heading = {}, ""
    for i, cell in enumerate(cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "markdown" and not meta.get("grade"):
            heading = heading_title(_source(cell)) or heading
            continue
        gid = meta.get("grade_id", "")
        if not (meta.get("grade") or meta.get("solution") or meta.get("task")):
            continue
        title = heading or gid
        if gid in ids and ids[gid] not in title:
            title = f"{title} ({ids[gid]})"
        if gid in ids and part_of(gid) == "bad input":  # an exercise's second test cell: say which part
            title = f"{title}: bad input"
        out[i] = title
    return out


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _preprocessor():
    from nbgrader.preprocessors import NbGraderPreprocessor

    class ReadableFeedback(NbGraderPreprocessor):
        """After GetGrades: a title per graded cell for petkit's template, and no automatic
        "No response." comment."""

        def preprocess(self, nb, resources):
            lesson_id = (resources.get("nbgrader") or {}).get("assignment", "")
            for i, title in titles(nb.cells, lesson_id).items():
                nb.cells[i].metadata.setdefault("petkit", {})["title"] = title
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if (meta.get("comment") or "").strip() == NO_RESPONSE:
                    meta["comment"] = None
            return nb, resources
    return ReadableFeedback


def __getattr__(name: str):
    # nbgrader imports the preprocessor by name (grader/nbgrader_config.py)
    if name == "ReadableFeedback":
        cls = globals()[name] = _preprocessor()
        return cls
    raise AttributeError(name)
