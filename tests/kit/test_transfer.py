"""The transfer lesson's checks themselves: isolated from the machine's caches and the network,
strict where they claim to be (bit for bit), and they leave the environment as they found it."""
import os

import pytest

pytest.importorskip("fastai")
import torch

from petkit.checks.core import checks_for
WEIGHTS_ENV = ("PETKIT_CACHE", "TORCH_HOME", "PETKIT_OFFLINE")
from petkit.checks.runner import FAIL, PASS, run_check

import solutions.transfer as reference


def _check(exercise, key):
    return next(c for c in checks_for(f"transfer.{exercise}") if c.key == key)


def test_make_learner_checks_ignore_the_machines_caches(tmp_path, monkeypatch):
    """A developer's cache (here: damaged files) or a network never decides a check."""
    bogus_cache, bogus_home = tmp_path / "petkit", tmp_path / "torch"
    (bogus_cache).mkdir()
    (bogus_cache / "resnet18.pth").write_bytes(b"a damaged body")
    (bogus_home / "hub" / "checkpoints").mkdir(parents=True)
    (bogus_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth").write_bytes(b"a damaged download")
    monkeypatch.setenv("PETKIT_CACHE", str(bogus_cache))
    monkeypatch.setenv("TORCH_HOME", str(bogus_home))
    monkeypatch.delenv("PETKIT_OFFLINE", raising=False)
    before = {k: os.environ.get(k) for k in WEIGHTS_ENV}
    for c in checks_for("transfer.make_learner"):
        outcome = run_check(c, reference.make_learner)
        assert outcome.status == PASS, (c.key, outcome.message)
    assert {k: os.environ.get(k) for k in WEIGHTS_ENV} == before


def test_environment_is_restored_when_the_answer_raises():
    before = {k: os.environ.get(k) for k in WEIGHTS_ENV}

    def broken(dls, arch="resnet34", pretrained=True, fp16=False):
        assert os.environ["PETKIT_OFFLINE"] == "1"  # the checks switch the network off while it runs
        raise RuntimeError("boom")

    outcome = run_check(_check("make_learner", "make_learner_pretrained"), broken)
    assert outcome.status == FAIL and "boom" in outcome.message
    assert {k: os.environ.get(k) for k in WEIGHTS_ENV} == before


def test_fine_tune_oracle_is_bit_for_bit():
    """One part in a million, in a learning rate or in one weight: the oracle notices."""
    def nearly_the_rate(learn, epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100):
        reference.fine_tune(learn, epochs, base_lr=base_lr * (1 + 1e-6), freeze_epochs=freeze_epochs, lr_mult=lr_mult)

    def nudged_weight(learn, epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100):
        reference.fine_tune(learn, epochs, base_lr=base_lr, freeze_epochs=freeze_epochs, lr_mult=lr_mult)
        with torch.no_grad():
            next(learn.model.parameters()).view(-1)[0] *= 1 + 1e-6

    outcome = run_check(_check("fine_tune", "fine_tune_oracle"), nearly_the_rate)
    assert outcome.status == FAIL and "rates" in outcome.message
    outcome = run_check(_check("fine_tune", "fine_tune_oracle"), nudged_weight)
    assert outcome.status == FAIL and "final weights" in outcome.message and "differs" in outcome.message


def test_library_shortcuts_are_named():
    def uses_fastai(learn, epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100):
        learn.fine_tune(epochs, base_lr=base_lr, freeze_epochs=freeze_epochs, lr_mult=lr_mult)

    outcome = run_check(_check("fine_tune", "fine_tune_book"), uses_fastai)
    assert outcome.message.startswith("not your own implementation: fine_tune called Learner.fine_tune")

    def freezes_with_fastai(learn, n, train_bn=True):
        learn.freeze_to(n)

    outcome = run_check(_check("freeze_to", "freeze_to_book"), freezes_with_fastai)
    assert outcome.message.startswith("not your own implementation: freeze_to called Learner.freeze_to")
