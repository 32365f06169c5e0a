"""Every check of every lesson against the chosen implementation (`pytest --impl=PKG`).

Run one lesson with `pytest -m softmax`, one exercise with `pytest -k softmax.log_softmax`.
"""
import pytest

from petkit.checks.core import checks_for
from petkit.checks.runner import ImplProblem, load_function, run_check
from petkit.registry import exercises


def _cases():
    for ex in exercises():
        for c in checks_for(ex.id):
            yield pytest.param(ex, c, id=f"{ex.id}:{c.key}", marks=getattr(pytest.mark, ex.lesson))


@pytest.mark.parametrize("exercise,check", list(_cases()))
def test_check(exercise, check, impl):
    try:
        fn = load_function(impl, exercise)
    except ImplProblem as e:
        pytest.fail(str(e), pytrace=False)
    outcome = run_check(check, fn)
    if outcome.status != "pass":
        pytest.fail(f"{exercise.id} is {outcome.status}. {check.kind}: {check.title}\n  {outcome.message}\n"
                    f"  (stuck? petkit hint {exercise.id})", pytrace=False)
