"""Autograde a lesson's submissions: one by one in this process, or in N processes / on a Dask
cluster (petkit.grading.parallel: resumable, one writer). The grades are the same either way."""
from __future__ import annotations

import sys

from petkit.grading import parallel
from petkit.grading.gradebook_safety import student_id_problem
from petkit.grading.course import GradeError
from petkit.grading.results import Graded
from petkit.grading.submission import grade_submission


def autograde(course, lesson: str, students: list[str] | None = None, force: bool = False,
              on_start=None, workers: int = 1, scheduler: str | None = None) -> list[Graded]:
    """Grade each submission of LESSON (all of submitted/*/LESSON/, or `students`), one by one, or
    in `workers` processes / on a Dask `scheduler`."""
    course.source_notebook(lesson)
    if students:
        course.check_student_ids(students)
    students = students or course.students(lesson)
    skipped = {s: why for s in students if (why := student_id_problem(s))}
    for s, why in skipped.items():
        print(f"petkit grade: skipping submitted/{ascii(s)[1:-1]}/: not a student id ({why})", file=sys.stderr)
    students = [s for s in students if s not in skipped]
    if not students:
        raise GradeError(f"nothing to grade: no submitted/<student>/{lesson}/ in {course.root} "
                         f"(`petkit grade all {lesson} --samples` grades the sample submissions)")
    course.sandboxed  # noqa: B018 - refuses before any work when the sandbox cannot run
    if not (course.root / "release" / lesson).exists():
        course.release(lesson)  # nbgrader needs the assignment in the gradebook first
    if workers > 1 or scheduler:
        return parallel.autograde(course, lesson, students, force=force, workers=workers, scheduler=scheduler)
    results = []
    for i, student in enumerate(students, 1):
        if on_start:
            on_start(i, len(students), student)
        results.append(grade_submission(course, lesson, student, force=force))
    return results
