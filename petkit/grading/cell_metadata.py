"""A submission is graded by the source notebook's cells and points, whatever its cell metadata says.

A learner can edit a cell's nbgrader metadata (re-mark an answer cell as a grade cell worth 100,
unlock the given cell) or insert cells that carry nbgrader metadata (a new grade cell). Left as they
are, nbgrader's own checks fail on the whole notebook; here, before nbgrader's sanitizing steps,
every cell the source notebook knows (by grade_id) gets the source's nbgrader marks back, and a cell
with marks the source does not know becomes a plain cell. `changes` names each, for the instructor.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

MARKS = ("grade", "solution", "locked", "points", "task", "grade_id")  # what decides how a cell is graded


def _marks(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
    return {k: meta[k] for k in MARKS if k in meta and meta[k] not in (False, None)}


def restore_source_metadata(source_nb: dict, submitted_nb: dict) -> list[str]:
    """Give the submission (changed in place) the source notebook's nbgrader marks; what was changed,
    one line per cell."""
    source = {}
    for cell in source_nb.get("cells", []):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid:
            source.setdefault(gid, cell)
    changes, seen = [], set()
    for i, cell in enumerate(submitted_nb.get("cells", []), 1):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not meta:
            continue
        gid = meta.get("grade_id")
        if gid in source and gid not in seen and cell.get("cell_type") == source[gid].get("cell_type"):
            seen.add(gid)
            want = source[gid]["metadata"]["nbgrader"]
            if _marks(cell) != _marks(source[gid]):
                what = ", ".join(f"{k}: {_marks(source[gid]).get(k)!r} -> {_marks(cell).get(k)!r}"
                                 for k in MARKS if _marks(cell).get(k) != _marks(source[gid]).get(k))
                changes.append(f"the nbgrader metadata of cell {gid} was changed ({what}): graded as the "
                               f"source notebook marks it")
                keep = {k: v for k, v in meta.items() if k not in MARKS}
                cell["metadata"]["nbgrader"] = {**keep, **copy.deepcopy({k: want[k] for k in MARKS if k in want})}
            continue
        marks = _marks(cell)
        if marks.get("grade") or marks.get("solution") or marks.get("locked"):
            changes.append(f"cell {i} carries nbgrader marks the source notebook does not have "
                           f"({gid or 'no grade_id'}): graded as a plain cell, worth nothing")
        del cell["metadata"]["nbgrader"]
    return changes


def _preprocessor():
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import NbGraderPreprocessor

    class RestoreSourceMetadata(NbGraderPreprocessor):
        """First of nbgrader's sanitizing steps (Autograde.sanitize_preprocessors): the submission's
        nbgrader marks as the source notebook has them."""

        def preprocess(self, nb, resources):
            info = resources.get("nbgrader", {})
            cd = CourseDirectory(config=self.config)
            path = Path(cd.root) / cd.source_directory / info.get("assignment", "") / f"{info.get('notebook', '')}.ipynb"
            if path.is_file():
                from nbformat import from_dict
                plain = json.loads(json.dumps(nb))
                for line in restore_source_metadata(json.loads(path.read_text()), plain):
                    self.log.warning("%s", line)
                nb = from_dict(plain)
            return nb, resources
    return RestoreSourceMetadata


def __getattr__(name: str):
    # nbgrader imports the preprocessor by name (grader/nbgrader_config.py)
    if name == "RestoreSourceMetadata":
        cls = globals()[name] = _preprocessor()
        return cls
    raise AttributeError(name)
