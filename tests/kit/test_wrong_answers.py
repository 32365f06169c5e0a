"""The corpus of realistic wrong answers: every one is rejected by the checks it names, every check
rejects at least one, and what a learner reads about it is short and plain."""
import collections

import pytest

from petkit.checks.core import checks_for
from petkit.checks.runner import FAIL, run_check
from petkit.checks.strategies import examples
from petkit.corpus import load
from petkit.registry import exercise, exercises

CORPUS = load()


def test_at_least_two_wrong_answers_per_exercise():
    counts = collections.Counter(w.exercise for w in CORPUS)
    assert {e.id for e in exercises()} <= set(counts)
    assert min(counts.values()) >= 2, counts


def test_every_check_rejects_some_wrong_answer():
    named = {(w.exercise, key) for w in CORPUS for key in w.rejected_by}
    for e in exercises():
        for c in checks_for(e.id):
            assert (e.id, c.key) in named, f"no wrong answer proves {e.id}:{c.key} can fail"


@pytest.mark.parametrize("answer", CORPUS, ids=lambda w: f"{w.exercise}:{w.fn.__name__}")
def test_wrong_answer_is_rejected(answer):
    checks = {c.key: c for c in checks_for(answer.exercise)}
    unknown = set(answer.rejected_by) - set(checks)
    assert not unknown, f"rejected_by names checks that do not exist: {unknown}"
    with examples(shrink=False):  # only pass/fail matters here; messages are tested below
        outcomes = {key: run_check(checks[key], answer.fn) for key in answer.rejected_by}
    for key, o in outcomes.items():
        assert o.status == FAIL, f"{key} did not reject ({o.status}: {o.message}): {answer.mistake}"


# The grade of record draws more examples, from a seed per student: a wrong answer must be rejected
# there too, not only by the luck of `petkit check`'s draw (fixed edge cases make sure of it where the
# drawn inputs seldom show a mistake). The exercises whose checks build no data and train nothing: those
# that take no learner, DataLoaders, folder or image sizes (read from the registry's signatures).
BUILDS = ("learn", "dls", "path", "item_size")
PURE = [w for w in CORPUS if not any(a.strip().split("=")[0] in BUILDS
                                     for a in exercise(w.exercise).signature.strip("()").split(","))]


@pytest.mark.parametrize("answer", PURE, ids=lambda w: f"{w.exercise}:{w.fn.__name__}")
def test_wrong_answer_is_rejected_at_every_grading_seed(answer, monkeypatch):
    from petkit.nbcheck import HIDDEN_EXAMPLES, student_seed
    checks = {c.key: c for c in checks_for(answer.exercise)}
    for student in ("alice", "bob", "carol"):
        monkeypatch.setenv("PETKIT_STUDENT", student)
        with examples(max_examples=HIDDEN_EXAMPLES, seed=student_seed(answer.exercise), shrink=False):
            for key in answer.rejected_by:
                o = run_check(checks[key], answer.fn)
                assert o.status == FAIL, f"{student}'s seed: {key} did not reject ({o.status}): {answer.mistake}"


FIRST_PER_EXERCISE = list({w.exercise: w for w in reversed(CORPUS)}.values())


@pytest.mark.parametrize("answer", FIRST_PER_EXERCISE, ids=lambda w: f"{w.exercise}:{w.fn.__name__}")
def test_failure_message_is_plain_and_shows_the_input(answer):
    check = next(c for c in checks_for(answer.exercise) if c.key == answer.rejected_by[0])
    message = run_check(check, answer.fn).message
    assert "Traceback" not in message and "hypothesis" not in message.lower()
    assert len(message.splitlines()) <= 4, message
    name = answer.exercise.split(".")[1]
    assert f"{name}(" in message, f"the message should show the call that fails: {message}"


def test_library_shortcut_is_named_as_not_your_own_work():
    answer = next(w for w in CORPUS if w.fn.__name__ == "softmax_library")
    check = checks_for("softmax.softmax")[0]
    outcome = run_check(check, answer.fn)
    assert outcome.message.startswith("not your own implementation: softmax called torch.softmax")


def test_a_library_function_bound_before_the_call_is_caught_and_restored():
    """`from sklearn.metrics import confusion_matrix` at the top of a learner's file binds the
    function itself (a decorated one, with a closure): it is still seen, and works again after."""
    from sklearn.metrics import confusion_matrix
    from petkit.checks.core import Guarded, NotOwnWork

    def answer(preds, targets):
        return confusion_matrix(targets, preds)

    guarded = Guarded("interpret.confusion_matrix", answer, frozenset({"sklearn.metrics:confusion_matrix"}))
    with pytest.raises(NotOwnWork, match="called confusion_matrix"):
        guarded([0, 1], [0, 1])
    assert confusion_matrix([0, 1], [0, 1]).tolist() == [[1, 0], [0, 1]]
