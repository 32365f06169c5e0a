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
    ### BEGIN SOLUTION
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr), ("pos", pos)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    if not (0 < start_lr < math.inf and 0 < end_lr < math.inf):
        raise ValueError(f"learning rates must be positive and finite, got start_lr={start_lr!r}, end_lr={end_lr!r}")
    if not 0 <= pos <= 1:
        raise ValueError(f"pos must be in [0, 1] (the fraction of the schedule done), got {pos!r}")
    return float(start_lr * (end_lr / start_lr) ** pos)
    ### END SOLUTION


def smooth_losses(losses, beta: float = 0.98) -> list[float]:
    """fastai's debiased exponential moving average of `losses` (a list, or a 1-D tensor):
    `avg_i = beta * avg_{i-1} + (1 - beta) * loss_i` with `avg_0 = 0`, reported as
    `avg_i / (1 - beta ** i)` for i = 1, 2, ... One value per loss, as Python floats.

    An empty list, or `beta` outside [0, 1), is a ValueError."""
    ### BEGIN SOLUTION
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < 1:
        raise ValueError(f"beta must be a number in [0, 1) (0.98 smooths over about 50 losses), got {beta!r}")
    if isinstance(losses, torch.Tensor):
        losses = losses.detach().reshape(-1).tolist()
    try:
        values = [float(loss) for loss in losses]
    except (TypeError, ValueError):
        raise TypeError(f"losses must be a list of numbers (or a 1-D tensor), got {type(losses).__name__}") from None
    if not values:
        raise ValueError("losses is empty: there is nothing to smooth")
    avg, smoothed = 0.0, []
    for i, loss in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * loss
        smoothed.append(avg / (1 - beta ** i))
    return smoothed
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    from fastai.learner import Learner
    if not isinstance(learn, Learner):
        raise TypeError(f"learn must be a fastai Learner, got {type(learn).__name__}")
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not start_lr < end_lr:
        raise ValueError(f"end_lr must be larger than start_lr: the finder grows the learning rate "
                         f"(got start_lr={start_lr!r}, end_lr={end_lr!r})")
    if isinstance(num_it, bool) or not isinstance(num_it, numbers.Integral) or num_it < 1:
        raise ValueError(f"num_it must be a positive whole number of batches, got {num_it!r}")
    train = learn.dls.train
    if len(train) == 0:
        raise ValueError("the learner's training data gives no batches (fewer items than the batch size?)")
    if learn.opt is None:
        learn.create_opt()
    model, opt, beta = learn.model, learn.opt, 0.98
    saved_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    saved_opt = copy.deepcopy(opt.state_dict())
    was_training = model.training
    n_epochs = num_it // len(train) + 1  # as fastai: from the requested count
    num_it = max(num_it, 6)
    n_inp = getattr(learn.dls, "n_inp", 1)
    lrs, losses = [], []
    avg, best = torch.tensor(0.0), float("inf")
    try:
        model.train()
        for _ in range(n_epochs):
            for batch in train:
                batch = [t.as_subclass(torch.Tensor) if isinstance(t, torch.Tensor) else t for t in batch]
                xb, yb = batch[:n_inp], batch[n_inp:]
                lr = exp_schedule(start_lr, end_lr, len(lrs) / num_it)
                opt.set_hyper("lr", lr)
                loss = learn.loss_func(model(*xb), *yb)
                loss.backward()
                opt.step()
                opt.zero_grad()
                avg = torch.lerp(loss.detach().mean(), avg, beta)  # float32, as fastai's AvgSmoothLoss
                smooth = avg / (1 - beta ** (len(lrs) + 1))
                lrs.append(lr)
                losses.append(smooth.item())
                if smooth < best:
                    best = smooth
                if (stop_div and smooth > 4 * best) or len(lrs) >= num_it:
                    return lrs, losses
        return lrs, losses
    finally:
        model.load_state_dict(saved_weights)
        opt.load_state_dict(saved_opt)
        model.train(was_training)
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    lrs, losses = _curve(lrs, losses)
    best = min(range(len(losses)), key=losses.__getitem__)
    return lrs[best] / 10
    ### END SOLUTION


def suggest_steep(lrs, losses) -> float:
    """Where the loss falls fastest against log(lr): the slopes between neighbouring points,
    (loss[i+1] - loss[i]) / (log lr[i+1] - log lr[i]); the learning rate at the left end of the
    most negative one (the first if several tie). Needs at least 2 points: `_curve(lrs, losses, least=2)`."""
    ### BEGIN SOLUTION
    lrs, losses = _curve(lrs, losses, least=2)
    slopes = [(losses[i + 1] - losses[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i])) for i in range(len(lrs) - 1)]
    return lrs[min(range(len(slopes)), key=slopes.__getitem__)]
    ### END SOLUTION


def suggest_valley(lrs, losses) -> float:
    """fastai's valley: for each point the length of the longest strictly falling run of losses
    (not necessarily neighbours) that ends there; the longest one (its first end if several tie)
    is the valley, taken to start that many points before its end; the suggestion is the learning
    rate at start + L//3 + L//6, L being its length, but never before the first point (fastai's
    index -1 would wrap round to the largest learning rate)."""
    ### BEGIN SOLUTION
    lrs, losses = _curve(lrs, losses)
    longest = [1] * len(losses)
    for i in range(1, len(losses)):
        for j in range(i):
            if losses[i] < losses[j]:
                longest[i] = max(longest[i], longest[j] + 1)
    end = max(range(len(losses)), key=longest.__getitem__)  # max() keeps the first of ties
    start = end - longest[end]
    return lrs[max(start + longest[end] // 3 + longest[end] // 6, 0)]
    ### END SOLUTION
