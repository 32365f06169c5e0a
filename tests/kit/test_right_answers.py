"""Fair to right maths (issue 17): every textbook formulation in tests/kit/right_answers/ passes every
check of its maths, at `petkit check`'s settings and at the grade of record's (more examples, a seed
per student): what a learner sees locally and what the grader counts agree on right answers."""
import pytest

from petkit.checks.core import checks_for
from petkit.checks.runner import PASS, run_check
from petkit.checks.strategies import examples
from petkit.corpus import load_right
from petkit.nbcheck import HIDDEN_EXAMPLES, student_seed

RIGHT = load_right()
STUDENTS = ["alice", "bob", "carol"]  # seeds as the grader derives them (student_seed), one per student


def _seed(student, exercise_id, monkeypatch):
    monkeypatch.setenv("PETKIT_STUDENT", student)
    return student_seed(exercise_id)


def test_every_exercise_of_the_maths_lessons_has_several_right_formulations():
    counts = {}
    for a in RIGHT:
        counts[a.exercise] = counts.get(a.exercise, 0) + 1
    assert all(counts.get(e, 0) >= 2 for e in ("softmax.softmax", "softmax.log_softmax", "softmax.sigmoid",
                                                 "cross_entropy.nll_loss", "cross_entropy.cross_entropy",
                                                 "cross_entropy.cross_entropy_grad")), counts


@pytest.mark.parametrize("answer", RIGHT, ids=lambda a: f"{a.exercise}:{a.fn.__name__}")
def test_a_right_answer_passes_locally_and_at_every_grading_seed(answer, monkeypatch):
    checks = [c for c in checks_for(answer.exercise) if answer.validates or c.kind != "bad input"]
    runs = [dict(shrink=False)] + [dict(max_examples=HIDDEN_EXAMPLES, seed=_seed(s, answer.exercise, monkeypatch),
                                        shrink=False) for s in STUDENTS]
    for settings in runs:
        with examples(**settings):
            for c in checks:
                o = run_check(c, answer.fn)
                assert o.status == PASS, f"{answer.formulation} ({settings}): {c.key}: {o.message}"
