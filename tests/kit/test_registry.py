"""The registry, the contract of names and signatures, and the checks declared for each exercise."""
import importlib
import inspect

import pytest

from petkit.checks.core import KINDS, _CHECKS, checks_for
from petkit.registry import UnknownTarget, exercises, lessons, select

# EXERCISES.md: the public names and signatures are a contract shared with notebooks and harnesses.
CONTRACT = {
    "datablock.breed_from_filename": "(name)",
    "datablock.is_cat": "(name)",
    "datablock.pets_datablock": "(item_size=460, crop_size=224, min_scale=0.75, seed=42)",
    "datablock.pets_dataloaders": "(path, bs=64, item_size=460, crop_size=224, min_scale=0.75, seed=42, num_workers=0)",
    "softmax.softmax": "(x, dim=-1)",
    "softmax.log_softmax": "(x, dim=-1)",
    "softmax.sigmoid": "(x)",
    "cross_entropy.nll_loss": "(log_probs, targets, reduction='mean')",
    "cross_entropy.cross_entropy": "(logits, targets, reduction='mean')",
    "cross_entropy.cross_entropy_grad": "(logits, targets)",
    "lr_finder.exp_schedule": "(start_lr, end_lr, pos)",
    "lr_finder.smooth_losses": "(losses, beta=0.98)",
    "lr_finder.lr_find": "(learn, start_lr=1e-07, end_lr=10, num_it=100, stop_div=True)",
    "lr_finder.suggest_minimum": "(lrs, losses)",
    "lr_finder.suggest_steep": "(lrs, losses)",
    "lr_finder.suggest_valley": "(lrs, losses)",
    "transfer.make_learner": "(dls, arch='resnet34', pretrained=True, fp16=False)",
    "transfer.freeze_to": "(learn, n, train_bn=True)",
    "transfer.discriminative_lrs": "(lr, n_groups)",
    "transfer.one_cycle_lr": "(pos, lr_max, div=25.0, div_final=100000.0, pct_start=0.25)",
    "transfer.fine_tune": "(learn, epochs, base_lr=0.002, freeze_epochs=1, lr_mult=100)",
    "transfer.choose_epochs": "(valid_metric, higher_is_better=False)",
    "interpret.confusion_matrix": "(preds, targets, n_classes)",
    "interpret.most_confused": "(cm, vocab, min_val=1)",
    "interpret.error_rate": "(logits, targets)",
}
CHAPTER_ORDER = ["datablock", "softmax", "cross_entropy", "lr_finder", "transfer", "interpret"]


def _plain_signature(fn) -> str:
    sig = inspect.signature(fn)
    return str(sig.replace(parameters=[p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()],
                           return_annotation=inspect.Signature.empty))


@pytest.mark.parametrize("exercise_id", sorted(CONTRACT))
def test_solution_and_exercise_keep_the_contract(exercise_id):
    lesson, name = exercise_id.split(".")
    for package in ("solutions", "exercises"):
        fn = getattr(importlib.import_module(f"{package}.{lesson}"), name)
        assert _plain_signature(fn) == CONTRACT[exercise_id], f"{package}.{exercise_id}"


def test_lessons_follow_the_chapter():
    ids = [l.id for l in lessons()]
    assert ids == [l for l in CHAPTER_ORDER if l in ids]
    assert set(CONTRACT) <= {e.id for e in exercises()}


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
