# Exercises for lesson `lr_finder`, written by `petkit sync` from solutions/lr_finder.py.
# Replace each `raise NotImplementedError(...)` with your code; check it with `petkit check lr_finder`.

"""Lesson `lr_finder`: the learning-rate finder, from scratch.

The finder trains for a few dozen batches while the learning rate grows geometrically from tiny to
huge, records a smoothed loss after each batch, stops once the loss blows up, and puts the model
back as it was. The plot of loss against learning rate (on a log axis) shows where training is
fast and still stable; three rules of thumb read a suggestion off it.

Write `lr_find` with the learner's model, loss function, optimiser and training data: calling
`learn.lr_find` or fastai's `LRFinder` (or its `minimum`/`steep`/`valley` for the suggestions) is
reported as not your own work. Check yourself with `petkit check lr_finder`.
"""
import copy
import math
import numbers

import torch


def exp_schedule(start_lr: float, end_lr: float, pos: float) -> float:
    """The learning rate at position `pos` in [0, 1] of an exponential (geometric) schedule:
    `start_lr * (end_lr / start_lr) ** pos`, so `start_lr` at 0 and `end_lr` at 1.

    Learning rates must be positive numbers and `pos` a number in [0, 1] (ValueError otherwise;
    TypeError for something that is not a number)."""
    # YOUR CODE HERE
    raise NotImplementedError("lr_finder.exp_schedule is not written yet: replace this line with your code (stuck? run `petkit hint lr_finder.exp_schedule`)")


def smooth_losses(losses, beta: float = 0.98) -> list[float]:
    """fastai's debiased exponential moving average of `losses` (a list, or a 1-D tensor):
    `avg_i = beta * avg_{i-1} + (1 - beta) * loss_i` with `avg_0 = 0`, reported as
    `avg_i / (1 - beta ** i)` for i = 1, 2, ... One value per loss, as Python floats.

    An empty list, or `beta` outside [0, 1), is a ValueError."""
    # YOUR CODE HERE
    raise NotImplementedError("lr_finder.smooth_losses is not written yet: replace this line with your code (stuck? run `petkit hint lr_finder.smooth_losses`)")


def lr_find(learn, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True) -> tuple[list[float], list[float]]:
    """The learning-rate finder, by hand, on a fastai `Learner`.

    Before training batch i (i = 0, 1, ...) every parameter group's learning rate is set to
    `exp_schedule(start_lr, end_lr, i / num_it)`; after it, the smoothed training loss (fastai's
    debiased moving average, beta = 0.98) is recorded. It stops after `num_it` batches (going
    through the training data as many times as needed), or, when `stop_div`, as soon as the
    smoothed loss exceeds 4 times the best one so far (that batch is recorded too). Like fastai it
    runs at least 6 batches, and no validation. Returns (learning rates, smoothed losses), and
    leaves the model's weights and the optimiser's state exactly as it found them.
    """
    # YOUR CODE HERE
    raise NotImplementedError("lr_finder.lr_find is not written yet: replace this line with your code (stuck? run `petkit hint lr_finder.lr_find`)")


def _curve(lrs, losses, least: int = 1) -> tuple[list[float], list[float]]:
    """(lrs, losses) as lists of floats, checked (given: the suggestions below start with it):
    the same length, at least `least` points, learning rates positive and increasing, no NaN loss."""
    lrs, losses = ([float(v) for v in (x.detach().reshape(-1).tolist() if isinstance(x, torch.Tensor) else x)]
                   for x in (lrs, losses))
    if len(lrs) != len(losses):
        raise ValueError(f"lrs and losses must have the same length, got {len(lrs)} and {len(losses)}")
    if len(lrs) < least:
        raise ValueError(f"lrs and losses make a curve of {len(lrs)} point{'s' if len(lrs) != 1 else ''}, "
                         f"but it needs at least {least}" + (": they are empty" if not lrs else ""))
    bad = next((i for i, lr in enumerate(lrs) if not 0 < lr < math.inf), None)
    if bad is not None:
        raise ValueError(f"lrs must be positive, finite learning rates, but lrs[{bad}] is {lrs[bad]!r}")
    down = next((i for i, (a, b) in enumerate(zip(lrs, lrs[1:])) if b <= a), None)
    if down is not None:
        raise ValueError(f"lrs must increase from one point to the next, as the finder's do, but lrs[{down}] is "
                         f"{lrs[down]!r} and lrs[{down + 1}] is {lrs[down + 1]!r}")
    nan = next((i for i, loss in enumerate(losses) if math.isnan(loss)), None)
    if nan is not None:
        raise ValueError(f"losses[{nan}] is nan: cut the curve before the first nan (as fastai's lr_find does)")
    return lrs, losses


def suggest_minimum(lrs, losses) -> float:
    """The learning rate at the lowest loss, divided by 10 (the first one if several tie).

    `lrs` and `losses` are lists (or 1-D tensors) of the same length, as `lr_find` returns them;
    start with `lrs, losses = _curve(lrs, losses)`, which converts them and rejects bad input."""
    # YOUR CODE HERE
    raise NotImplementedError("lr_finder.suggest_minimum is not written yet: replace this line with your code (stuck? run `petkit hint lr_finder.suggest_minimum`)")


def suggest_steep(lrs, losses) -> float:
    """Where the loss falls fastest against log(lr): the slopes between neighbouring points,
    (loss[i+1] - loss[i]) / (log lr[i+1] - log lr[i]); the learning rate at the left end of the
    most negative one (the first if several tie). Needs at least 2 points: `_curve(lrs, losses, least=2)`."""
    # YOUR CODE HERE
    raise NotImplementedError("lr_finder.suggest_steep is not written yet: replace this line with your code (stuck? run `petkit hint lr_finder.suggest_steep`)")


def suggest_valley(lrs, losses) -> float:
    """fastai's valley: for each point the length of the longest strictly falling run of losses
    (not necessarily neighbours) that ends there; the longest one (its first end if several tie)
    is the valley, taken to start that many points before its end; the suggestion is the learning
    rate at start + L//3 + L//6, L being its length, but never before the first point (fastai's
    index -1 would wrap round to the largest learning rate)."""
    # YOUR CODE HERE
    raise NotImplementedError("lr_finder.suggest_valley is not written yet: replace this line with your code (stuck? run `petkit hint lr_finder.suggest_valley`)")
