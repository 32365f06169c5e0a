"""A class's results on one lesson, exercise by exercise, with why each lost point was lost: read
from the gradebook (nbgrader's Gradebook API and SQLAlchemy, so SQLite and PostgreSQL alike) and the
autograded notebooks alone; nothing is run again. `petkit grade report` draws it
(petkit.report); `petkit grade export --per-exercise` writes it as CSV (`export_per_exercise`).
"""
from __future__ import annotations

import csv
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from petkit.grading import causes
from petkit.grading.causes import Cause


@dataclass
class ExerciseResult:
    exercise: str              # the exercise's id: softmax.softmax
    score: float
    max_score: float
    cause: Cause | None = None  # why points were lost (None: full points)

    @property
    def outcome(self) -> str:
        """'full', 'part' or 'none': how many of its points it got."""
        if self.max_score and self.score >= self.max_score:
            return "full"
        return "part" if self.score > 0 else "none"


@dataclass
class StudentResult:
    student: str
    exercises: dict[str, ExerciseResult] = field(default_factory=dict)  # exercise id -> result
    graded: bool = True        # an autograded notebook exists (False: the submission could not be read)

    @property
    def score(self) -> float:
        return sum(r.score for r in self.exercises.values())

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.exercises.values())


@dataclass
class ClassResults:
    lesson: str
    exercises: list[str]                 # exercise ids, in the lesson's order
    points: dict[str, float]             # exercise id -> its points
    students: list[StudentResult]        # sorted by student id

    @property
    def max_score(self) -> float:
        return sum(self.points.values())


def exercise_ids(lesson_id: str, cells: list[str]) -> dict[str, str]:
    """grade cell id -> exercise id: the registry's, or LESSON.NAME for a test cell `test_NAME` of a
    course lesson the registry does not know."""
    from petkit.grading.feedback import exercise_ids as known
    ids = known(lesson_id)
    return {c: ids.get(c, f"{lesson_id}.{c.removeprefix('test_')}") for c in cells}


def _gradebook_rows(course, lesson_id: str):
    """(grades, comments, students) of every submission of the lesson, in three queries."""
    from nbgrader.api import (BaseCell, Comment, Grade, MissingEntry, Notebook, SubmittedAssignment,
                              SubmittedNotebook)
    from petkit.grading.course import GradeError
    with warnings.catch_warnings(), course.existing_gradebook() as gb:
        warnings.simplefilter("ignore")
        try:
            assignment = gb.find_assignment(lesson_id)
        except MissingEntry:
            raise GradeError(f"the gradebook holds no grades of {lesson_id}: run `petkit grade autograde "
                             f"{lesson_id}` first") from None
        base = (gb.db.query(SubmittedAssignment.student_id, BaseCell.name)
                .join(SubmittedNotebook, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
                .filter(SubmittedAssignment.assignment_id == assignment.id))
        grades = (base.add_columns(Grade.score, Grade.max_score)
                  .join(Grade, Grade.notebook_id == SubmittedNotebook.id)
                  .join(BaseCell, Grade.cell_id == BaseCell.id).all())
        comments = (base.add_columns(Comment.manual_comment)
                    .join(Comment, Comment.notebook_id == SubmittedNotebook.id)
                    .join(BaseCell, Comment.cell_id == BaseCell.id).all())
        students = [s for (s,) in gb.db.query(SubmittedAssignment.student_id)
                    .filter(SubmittedAssignment.assignment_id == assignment.id).all()]
    return _source_order(course, lesson_id), grades, comments, students


def _source_order(course, lesson_id: str) -> list[str]:
    """The grade cells' ids in the order of the lesson's source notebooks."""
    order = []
    for path in sorted((course.root / "source" / lesson_id).glob("*.ipynb")):
        for gid, cell in (_autograded_cells(path.parent, [path]) or {}).items():
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and gid not in order:
                order.append(gid)
    return order


def _autograded_cells(folder: Path, paths: list[Path] | None = None) -> dict[str, dict] | None:
    """grade_id -> cell of the autograded notebooks in a folder (None when there are none)."""
    if paths is None:
        paths = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    if not paths:
        return None
    cells: dict[str, dict] = {}
    for path in paths:
        try:
            nb = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid:
                cells.setdefault(gid, cell)
    return cells


def _not_graded(course, lesson_id: str, student: str) -> Cause:
    from petkit.grading.submission import unreadable_notebook as _unreadable
    from petkit.grading.submission import missing_notebooks
    folder = course.root / "submitted" / student / lesson_id
    why = {p.name: w for p in sorted(folder.glob("*.ipynb")) if (w := _unreadable(p))} if folder.is_dir() else {}
    if folder.is_dir():
        why.update(missing_notebooks(folder, lesson_id))
    detail = "; ".join(f"{name} {w}" for name, w in why.items()) or "there is no autograded notebook"
    return Cause(causes.NOT_GRADED, "", causes._line(detail))


def collect(course, lesson_id: str) -> ClassResults:
    """Every graded submission of the lesson, exercise by exercise, with the cause of each lost point."""
    from petkit.grading.referee import said
    order, grades, comments, students = _gradebook_rows(course, lesson_id)
    ids = exercise_ids(lesson_id, sorted({cell for _, cell, _, _ in grades} | set(order)))
    rank = {c: i for i, c in enumerate(order)}
    cells_in_order = sorted(ids, key=lambda c: (rank.get(c, len(rank)), c))
    exercises = list(dict.fromkeys(ids[c] for c in cells_in_order))
    answer_cell = {ex: ex.rpartition(".")[2] for ex in exercises}  # answer grade_id == function name
    test_cells = {ex: [c for c in cells_in_order if ids[c] == ex] for ex in exercises}  # maths, then bad input
    cell_points: dict[str, float] = {}
    by_student: dict[str, StudentResult] = {s: StudentResult(s) for s in sorted(set(students))}
    for student, cell, score, max_score in grades:  # an exercise's test cells add up
        ex = ids[cell]
        cell_points[cell] = max(cell_points.get(cell, 0.0), float(max_score or 0))
        r = by_student[student].exercises.setdefault(ex, ExerciseResult(ex, 0.0, 0.0))
        r.score += float(score or 0)
        r.max_score += float(max_score or 0)
    points = {ex: sum(cell_points.get(c, 0.0) for c in test_cells[ex]) for ex in exercises}
    referee = {(student, cell): said(text) for student, cell, text in comments if said(text)}
    for s in by_student.values():
        s.exercises = {ex: s.exercises[ex] for ex in exercises if ex in s.exercises}
        lost = [r for r in s.exercises.values() if r.outcome != "full"]
        if not lost:
            continue
        cells = _autograded_cells(course.root / "autograded" / s.student / lesson_id)
        if cells is None:
            s.graded = False
            unread = _not_graded(course, lesson_id, s.student)
            for r in lost:
                r.cause = unread
            continue
        for r in lost:
            answer = answer_cell[r.exercise]
            r.cause = causes.of_exercise(cells.get(answer), [cells.get(c) for c in test_cells[r.exercise]],
                                         referee.get((s.student, answer), ""))
    return ClassResults(lesson_id, exercises, points, list(by_student.values()))


def lessons_graded(course) -> list[str]:
    """The assignments of the gradebook that have submissions, in the gradebook's order."""
    with warnings.catch_warnings(), course.existing_gradebook() as gb:
        warnings.simplefilter("ignore")
        return [a.name for a in gb.assignments if a.num_submissions]


# --- the per-exercise CSV ----------------------------------------------------------------------


def cause_column(exercise_id: str) -> str:
    from petkit.grading.gradebook_safety import CAUSE_SUFFIX
    return exercise_id + CAUSE_SUFFIX


def describe(cause: Cause | None) -> str:
    """A cause in one CSV cell: its group, then this student's line where it says more."""
    if cause is None:
        return ""
    return cause.label + (f" ({cause.detail})" if cause.detail and cause.detail not in cause.label else "")


def per_exercise_rows(course, lessons: list[str] | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """The CSV's header and rows: per student, each exercise's points and the cause of what it lost."""
    from petkit.grading.results import number as _num
    lessons = lessons if lessons is not None else lessons_graded(course)
    header, rows = ["student_id"], {}
    with warnings.catch_warnings(), course.existing_gradebook() as gb:
        warnings.simplefilter("ignore")
        for s in gb.students:
            rows[s.id] = {"student_id": s.id}
    for lesson_id in lessons:
        results = collect(course, lesson_id)
        header += [c for ex in results.exercises for c in (ex, cause_column(ex))]
        submitted = {s.student: s for s in results.students}
        for student, row in rows.items():
            s = submitted.get(student)
            for ex in results.exercises:
                r = s.exercises.get(ex) if s else None
                row[ex] = _num(r.score) if r else ""
                row[cause_column(ex)] = describe(r.cause) if r else "no submission"
    return header, [rows[s] for s in sorted(rows)]


def per_exercise_target(course, to: Path | str | None = None) -> Path:
    """Where `export_per_exercise` writes (default COURSE/grades-per-exercise.csv), or a GradeError
    when it may not (Course.export_target)."""
    return course.export_target(to, default="grades-per-exercise.csv")


def export_per_exercise(course, to: Path | str | None = None) -> Path:
    """Write the per-exercise CSV (default COURSE/grades-per-exercise.csv), whole or not at all."""
    to = per_exercise_target(course, to)
    header, rows = per_exercise_rows(course)
    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = to.with_name(f".{to.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, to)
    finally:
        tmp.unlink(missing_ok=True)
    return to
