"""The registry, the contract of names and signatures, and the checks declared for each exercise."""
import importlib
import inspect

import pytest

from petkit.checks.core import KINDS, _CHECKS, checks_for
from petkit import ROOT
from petkit.registry import UnknownTarget, exercises, lesson_table, lessons, select

def _plain_signature(fn) -> str:
    sig = inspect.signature(fn)
    return str(sig.replace(parameters=[p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()],
                           return_annotation=inspect.Signature.empty))


@pytest.mark.parametrize("exercise", exercises(), ids=lambda e: e.id)
def test_solution_and_exercise_keep_the_contract(exercise):
    """The registry's signature of each exercise is the contract (names and defaults included)."""
    for package in ("solutions", "exercises"):
        fn = getattr(importlib.import_module(f"{package}.{exercise.lesson}"), exercise.name)
        assert _plain_signature(fn) == exercise.signature, f"{package}.{exercise.id}"


def test_a_lesson_is_the_registry_its_solutions_its_checks_and_its_wrong_answers():
    from petkit import corpus
    wrong = {e.exercise for e in corpus.read()}
    for l in lessons():
        assert (ROOT / "solutions" / f"{l.id}.py").exists() and (ROOT / "exercises" / f"{l.id}.py").exists()
        assert (ROOT / "petkit" / "checks" / f"{l.id}.py").exists(), f"{l.id} has no checks module"
        assert {e.id for e in l.exercises} <= wrong, f"{l.id}: exercises without wrong answers"


def test_the_readme_lists_the_lessons_in_the_registry_order():
    assert lesson_table() in (ROOT / "README.md").read_text(), (
        "README's lesson table differs from the registry's; paste petkit.registry.lesson_table()")


def test_a_registry_entry_without_a_signature_is_refused(tmp_path, monkeypatch):
    from petkit import registry
    text = registry.REGISTRY_FILE.read_text()
    broken = tmp_path / "exercises.toml"
    broken.write_text(text.replace('  signature = "(x)"\n', "", 1))
    assert broken.read_text() != text
    monkeypatch.setattr(registry, "REGISTRY_FILE", broken)
    registry.lessons.cache_clear()
    try:
        with pytest.raises(registry.RegistryError, match="softmax.sigmoid.*signature"):
            registry.lessons()
    finally:
        registry.lessons.cache_clear()


@pytest.mark.parametrize("exercise", exercises(), ids=lambda e: e.id)
def test_every_exercise_has_every_kind_of_check(exercise):
    kinds = {c.kind for c in checks_for(exercise.id)}
    assert kinds == set(KINDS), f"{exercise.id} lacks checks of kind {set(KINDS) - kinds}"
    assert len(exercise.hints) >= 2 and all(len(h) > 40 for h in exercise.hints)


def test_no_check_for_an_unknown_exercise():
    for e in exercises():
        checks_for(e.id)
    assert set(_CHECKS) <= {e.id for e in exercises()}


def test_select_and_its_errors():
    assert [e.id for e in select("softmax")] == ["softmax.softmax", "softmax.log_softmax", "softmax.sigmoid"]
    assert [e.id for e in select("cross_entropy.nll_loss")] == ["cross_entropy.nll_loss"]
    assert len(select(None)) == len(exercises())
    with pytest.raises(UnknownTarget, match="softmax.log_softmax"):
        select("log_softmx")
    with pytest.raises(UnknownTarget, match="petkit list"):
        select("no-such-thing")
