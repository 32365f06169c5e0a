"""Every check fails on the generated stubs, and says "not started" rather than crashing."""
import pytest

from petkit.checks.core import checks_for
from petkit.checks.runner import NOT_STARTED, load_function, run_check
from petkit.registry import exercises
from petkit.sync import exercise_files

from helpers import make_package


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    files = {p.name: text for p, text in exercise_files().items() if p.name != "__init__.py"}
    return make_package(tmp_path_factory.mktemp("stubs"), files)


@pytest.mark.parametrize("exercise", exercises(), ids=lambda e: e.id)
def test_every_check_reports_a_stub_as_not_started(stubs, exercise):
    fn = load_function(stubs, exercise)
    for c in checks_for(exercise.id):
        outcome = run_check(c, fn)
        assert outcome.status == NOT_STARTED, (c.key, outcome)
        assert outcome.message == f"{exercise.id} is not written yet"


def test_a_function_built_on_a_stub_names_the_stub(tmp_path):
    files = {p.name: text for p, text in exercise_files().items() if p.name != "__init__.py"}
    solved = open("solutions/cross_entropy.py").read()
    pkg = make_package(tmp_path, {**files, "cross_entropy.py": solved})
    ex = next(e for e in exercises() if e.id == "cross_entropy.cross_entropy")
    outcome = run_check(checks_for(ex.id)[0], load_function(pkg, ex))
    assert outcome.status == NOT_STARTED
    assert "uses softmax.log_softmax, which is not written yet" in outcome.message
