"""Right answers to lesson `lr_finder` (its pure functions), as people write them: fastai's own code
copied (float32 tensors from lists), numpy, 0-based loops."""
import math

import numpy as np
import torch

from petkit.corpus import right


@right("lr_finder.exp_schedule", "interpolation in log space: exp(log a + pos * (log b - log a))")
def exp_in_log_space(start_lr, end_lr, pos):
    return math.exp(math.log(start_lr) + pos * (math.log(end_lr) - math.log(start_lr)))


@right("lr_finder.exp_schedule", "the formula on the page")
def exp_formula(start_lr, end_lr, pos):
    return start_lr * (end_lr / start_lr) ** pos


@right("lr_finder.smooth_losses", "a 0-based loop debiased by 1 - beta ** (i + 1)")
def smooth_zero_based(losses, beta=0.98):
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * float(loss)
        out.append(avg / (1 - beta ** (i + 1)))
    return out


@right("lr_finder.smooth_losses", "fastai's lerp form: avg = torch.lerp(loss, avg, beta)")
def smooth_lerp(losses, beta=0.98):
    avg, out = torch.tensor(0.0, dtype=torch.float64), []
    for i, loss in enumerate(losses, start=1):
        avg = torch.lerp(torch.tensor(float(loss), dtype=torch.float64), avg, beta)
        out.append(float(avg / (1 - beta ** i)))
    return out


@right("lr_finder.suggest_minimum", "numpy's argmin")
def minimum_argmin(lrs, losses):
    return float(np.asarray(lrs, dtype=np.float64)[int(np.argmin(np.asarray(losses, dtype=np.float64)))]) / 10


@right("lr_finder.suggest_minimum", "min over (loss, index) pairs")
def minimum_pairs(lrs, losses):
    lrs, losses = [float(v) for v in lrs], [float(v) for v in losses]
    return lrs[min((loss, i) for i, loss in enumerate(losses))[1]] / 10


@right("lr_finder.suggest_steep", "fastai's steep copied: torch.tensor of the lists (float32), log-slopes, argmin")
def steep_fastai(lrs, losses):
    lrs_t, losses_t = torch.tensor(lrs), torch.tensor(losses)
    grads = (losses_t[1:] - losses_t[:-1]) / (lrs_t[1:].log() - lrs_t[:-1].log())
    return float(lrs_t[grads.argmin()])


@right("lr_finder.suggest_steep", "a loop over neighbouring points in float64")
def steep_loop(lrs, losses):
    lrs, losses = [float(v) for v in lrs], [float(v) for v in losses]
    best, at = math.inf, 0
    for i in range(len(lrs) - 1):
        slope = (losses[i + 1] - losses[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i]))
        if slope < best:
            best, at = slope, i
    return lrs[at]


@right("lr_finder.suggest_valley", "fastai's valley copied, its index kept from wrapping round")
def valley_fastai(lrs, losses):
    losses = [float(v) for v in losses]
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[max(idx, 0)])
