"""Wrong answers to lesson `lr_finder` that learners really write, and the checks that catch them.

They build on the given helper `_curve` and on the reference `exp_schedule` (in a notebook: the
learner's own), as a learner's later answers build on the earlier ones."""
import copy
import math

import torch

from petkit.corpus import wrong
from solutions.lr_finder import _curve, exp_schedule

# --- exp_schedule ------------------------------------------------------------------------------


@wrong("lr_finder.exp_schedule", "interpolates linearly: the same step each batch, not the same factor",
       rejected_by=["exp_schedule_is_geometric", "exp_schedule_oracle", "exp_schedule_book"],
       probes=[(1e-7, 10.0, 0.5), (1e-3, 1.0, 0.25)],
       hint='Each step multiplies the rate by the same factor: start_lr * (end_lr / start_lr) ** pos.')
def exp_schedule_linear(start_lr, end_lr, pos):
    if not 0 <= pos <= 1:
        raise ValueError(f"pos must be in [0, 1], got {pos}")
    return start_lr + pos * (end_lr - start_lr)


@wrong("lr_finder.exp_schedule", "raises end_lr to pos instead of the ratio end_lr / start_lr",
       rejected_by=["exp_schedule_is_geometric", "exp_schedule_oracle", "exp_schedule_book"],
       probes=[(1e-7, 10.0, 0.5), (1e-3, 1.0, 0.25)],
       hint='Raise the ratio to pos: start_lr * (end_lr / start_lr) ** pos, so that pos=1 gives end_lr.')
def exp_schedule_no_ratio(start_lr, end_lr, pos):
    if not 0 <= pos <= 1:
        raise ValueError(f"pos must be in [0, 1], got {pos}")
    return start_lr * end_lr ** pos


@wrong("lr_finder.exp_schedule", "right formula, but no input checks: pos=1.5 or a negative lr goes through",
       rejected_by=["exp_schedule_bad_input"],
       probes=[(1e-7, 10.0, 0.5), (1e-7, 10.0, 1.5), (-1e-3, 1.0, 0.5)],
       hint='Check the arguments first: pos outside [0, 1] or a rate that is not positive should be a ValueError that says so.')
def exp_schedule_unchecked(start_lr, end_lr, pos):
    return start_lr * (end_lr / start_lr) ** pos


@wrong("lr_finder.exp_schedule", "calls fastai's sched_exp",
       rejected_by=["exp_schedule_is_geometric", "exp_schedule_oracle", "exp_schedule_book"])
def exp_schedule_library(start_lr, end_lr, pos):
    from fastai.callback.schedule import sched_exp
    return sched_exp(start_lr, end_lr, pos)


# --- smooth_losses -----------------------------------------------------------------------------


@wrong("lr_finder.smooth_losses", "forgets to debias: the first values are dragged towards 0",
       rejected_by=["smooth_losses_is_debiased_average", "smooth_losses_constant_and_beta0",
                    "smooth_losses_oracle", "smooth_losses_book"],
       probes=[([2.0, 1.0, 3.0, 0.5],), ([1.0, 2.0], 0.5)],
       hint='Divide each running average by (1 - beta**i), i counting from 1: the first values are then not dragged towards 0.')
def smooth_losses_biased(losses, beta=0.98):
    if not losses:
        raise ValueError("losses is empty")
    avg, out = 0.0, []
    for loss in losses:
        avg = beta * avg + (1 - beta) * float(loss)
        out.append(avg)
    return out


@wrong("lr_finder.smooth_losses", "swaps beta and 1 - beta: the newest loss gets weight 0.98",
       rejected_by=["smooth_losses_is_debiased_average", "smooth_losses_oracle", "smooth_losses_book"],
       probes=[([2.0, 1.0, 3.0, 0.5],), ([1.0, 2.0], 0.5)],
       hint='The old average keeps weight beta and the new loss gets 1 - beta: avg = beta * avg + (1 - beta) * loss.')
def smooth_losses_swapped(losses, beta=0.98):
    if not losses:
        raise ValueError("losses is empty")
    avg, out = 0.0, []
    for i, loss in enumerate(losses, start=1):
        avg = (1 - beta) * avg + beta * float(loss)
        out.append(avg / (1 - beta ** i))
    return out


@wrong("lr_finder.smooth_losses", "debiases with beta**(i+1): off by one",
       rejected_by=["smooth_losses_is_debiased_average", "smooth_losses_constant_and_beta0",
                    "smooth_losses_oracle", "smooth_losses_book"],
       probes=[([2.0, 1.0, 3.0, 0.5],), ([1.0, 2.0], 0.5)],
       hint='Debias the i-th average (i from 1) with 1 - beta**i: the first smoothed value is then the first loss itself.')
def smooth_losses_off_by_one(losses, beta=0.98):
    if not losses:
        raise ValueError("losses is empty")
    avg, out = 0.0, []
    for i, loss in enumerate(losses, start=1):
        avg = beta * avg + (1 - beta) * float(loss)
        out.append(avg / (1 - beta ** (i + 1)))
    return out


@wrong("lr_finder.smooth_losses", "right maths, but an empty list returns [] and beta=1 divides by zero",
       rejected_by=["smooth_losses_bad_input"],
       probes=[([2.0, 1.0, 3.0, 0.5],), ([],), ([1.0, 2.0], 1.0)],
       hint='Check the arguments first: an empty list, or beta outside [0, 1), should be a ValueError that says so.')
def smooth_losses_unchecked(losses, beta=0.98):
    avg, out = 0.0, []
    for i, loss in enumerate(losses, start=1):
        avg = beta * avg + (1 - beta) * float(loss)
        out.append(avg / (1 - beta ** i))
    return out


# --- lr_find -----------------------------------------------------------------------------------


@wrong("lr_finder.lr_find", "never puts the model back: the finder's huge learning rates wreck the weights",
       rejected_by=["lr_find_puts_the_learner_back", "lr_find_oracle"])
def lr_find_no_restore(learn, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True):
    if learn.opt is None:
        learn.create_opt()
    learn.model.train()
    lrs, losses, avg, best = [], [], torch.tensor(0.0), float("inf")
    for _ in range(num_it // len(learn.dls.train) + 1):
        for xb, yb in learn.dls.train:
            lr = exp_schedule(start_lr, end_lr, len(lrs) / num_it)
            learn.opt.set_hyper("lr", lr)
            loss = learn.loss_func(learn.model(xb), yb)
            loss.backward()
            learn.opt.step()
            learn.opt.zero_grad()
            avg = torch.lerp(loss.detach().mean(), avg, 0.98)
            smooth = (avg / (1 - 0.98 ** (len(lrs) + 1))).item()
            lrs.append(lr)
            losses.append(smooth)
            best = min(best, smooth)
            if (stop_div and smooth > 4 * best) or len(lrs) >= num_it:
                return lrs, losses
    return lrs, losses


@wrong("lr_finder.lr_find", "tests for divergence before recording, so the batch that blows up is missing",
       rejected_by=["lr_find_schedule_and_stop", "lr_find_oracle", "lr_find_book"])
def lr_find_stop_before_recording(learn, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True):
    if learn.opt is None:
        learn.create_opt()
    weights = {k: v.clone() for k, v in learn.model.state_dict().items()}
    opt_state = copy.deepcopy(learn.opt.state_dict())
    lrs, losses, avg, best = [], [], torch.tensor(0.0), float("inf")
    try:
        learn.model.train()
        for _ in range(num_it // len(learn.dls.train) + 1):
            for xb, yb in learn.dls.train:
                lr = exp_schedule(start_lr, end_lr, len(lrs) / num_it)
                learn.opt.set_hyper("lr", lr)
                loss = learn.loss_func(learn.model(xb), yb)
                loss.backward()
                learn.opt.step()
                learn.opt.zero_grad()
                avg = torch.lerp(loss.detach().mean(), avg, 0.98)
                smooth = (avg / (1 - 0.98 ** (len(lrs) + 1))).item()
                if stop_div and smooth > 4 * best:
                    return lrs, losses
                lrs.append(lr)
                losses.append(smooth)
                best = min(best, smooth)
                if len(lrs) >= num_it:
                    return lrs, losses
        return lrs, losses
    finally:
        learn.model.load_state_dict(weights)
        learn.opt.load_state_dict(opt_state)


@wrong("lr_finder.lr_find", "uses pos = i / (num_it - 1), so the last batch reaches end_lr",
       rejected_by=["lr_find_schedule_and_stop", "lr_find_oracle"])
def lr_find_schedule_to_the_end(learn, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True):
    if learn.opt is None:
        learn.create_opt()
    weights = {k: v.clone() for k, v in learn.model.state_dict().items()}
    opt_state = copy.deepcopy(learn.opt.state_dict())
    lrs, losses, avg, best = [], [], torch.tensor(0.0), float("inf")
    try:
        learn.model.train()
        for _ in range(num_it // len(learn.dls.train) + 1):
            for xb, yb in learn.dls.train:
                lr = exp_schedule(start_lr, end_lr, len(lrs) / (num_it - 1))
                learn.opt.set_hyper("lr", lr)
                loss = learn.loss_func(learn.model(xb), yb)
                loss.backward()
                learn.opt.step()
                learn.opt.zero_grad()
                avg = torch.lerp(loss.detach().mean(), avg, 0.98)
                smooth = (avg / (1 - 0.98 ** (len(lrs) + 1))).item()
                lrs.append(lr)
                losses.append(smooth)
                best = min(best, smooth)
                if (stop_div and smooth > 4 * best) or len(lrs) >= num_it:
                    return lrs, losses
        return lrs, losses
    finally:
        learn.model.load_state_dict(weights)
        learn.opt.load_state_dict(opt_state)


@wrong("lr_finder.lr_find", "starts a new smoother (and a new bias correction) on every pass through the data",
       rejected_by=["lr_find_oracle"])
def lr_find_smoother_per_pass(learn, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True):
    if learn.opt is None:
        learn.create_opt()
    weights = {k: v.clone() for k, v in learn.model.state_dict().items()}
    opt_state = copy.deepcopy(learn.opt.state_dict())
    lrs, losses, best = [], [], float("inf")
    try:
        learn.model.train()
        for _ in range(num_it // len(learn.dls.train) + 1):
            avg, count = torch.tensor(0.0), 0
            for xb, yb in learn.dls.train:
                lr = exp_schedule(start_lr, end_lr, len(lrs) / num_it)
                learn.opt.set_hyper("lr", lr)
                loss = learn.loss_func(learn.model(xb), yb)
                loss.backward()
                learn.opt.step()
                learn.opt.zero_grad()
                count += 1
                avg = torch.lerp(loss.detach().mean(), avg, 0.98)
                smooth = (avg / (1 - 0.98 ** count)).item()
                lrs.append(lr)
                losses.append(smooth)
                best = min(best, smooth)
                if (stop_div and smooth > 4 * best) or len(lrs) >= num_it:
                    return lrs, losses
        return lrs, losses
    finally:
        learn.model.load_state_dict(weights)
        learn.opt.load_state_dict(opt_state)


@wrong("lr_finder.lr_find", "puts the weights back but not the optimiser: Adam's averages keep the finder's steps",
       rejected_by=["lr_find_puts_the_learner_back", "lr_find_oracle"])
def lr_find_weights_only(learn, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True):
    if learn.opt is None:
        learn.create_opt()
    weights = {k: v.clone() for k, v in learn.model.state_dict().items()}
    lrs, losses, avg, best = [], [], torch.tensor(0.0), float("inf")
    try:
        learn.model.train()
        for _ in range(num_it // len(learn.dls.train) + 1):
            for xb, yb in learn.dls.train:
                lr = exp_schedule(start_lr, end_lr, len(lrs) / num_it)
                learn.opt.set_hyper("lr", lr)
                loss = learn.loss_func(learn.model(xb), yb)
                loss.backward()
                learn.opt.step()
                learn.opt.zero_grad()
                avg = torch.lerp(loss.detach().mean(), avg, 0.98)
                smooth = (avg / (1 - 0.98 ** (len(lrs) + 1))).item()
                lrs.append(lr)
                losses.append(smooth)
                best = min(best, smooth)
                if (stop_div and smooth > 4 * best) or len(lrs) >= num_it:
                    return lrs, losses
        return lrs, losses
    finally:
        learn.model.load_state_dict(weights)


@wrong("lr_finder.lr_find", "calls learn.lr_find() and hands back what its recorder saw",
       rejected_by=["lr_find_schedule_and_stop", "lr_find_puts_the_learner_back", "lr_find_oracle", "lr_find_book",
                    "lr_find_bad_input"])
def lr_find_library(learn, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True):
    learn.lr_find(start_lr=start_lr, end_lr=end_lr, num_it=num_it, stop_div=stop_div, show_plot=False)
    return list(learn.recorder.lrs), [float(v) for v in learn.recorder.losses]


@wrong("lr_finder.lr_find", "works, but end_lr below start_lr or num_it=0 trains anyway instead of saying so",
       rejected_by=["lr_find_bad_input"])
def lr_find_unchecked(learn, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True):
    from fastai.learner import Learner
    if not isinstance(learn, Learner):
        raise TypeError("learn must be a fastai Learner")
    if learn.opt is None:
        learn.create_opt()
    weights = {k: v.clone() for k, v in learn.model.state_dict().items()}
    opt_state = copy.deepcopy(learn.opt.state_dict())
    n_epochs, num_it = num_it // len(learn.dls.train) + 1, max(num_it, 6)
    lrs, losses, avg, best = [], [], torch.tensor(0.0), float("inf")
    try:
        learn.model.train()
        for _ in range(n_epochs):
            for xb, yb in learn.dls.train:
                lr = start_lr * (end_lr / start_lr) ** (len(lrs) / num_it)
                learn.opt.set_hyper("lr", lr)
                loss = learn.loss_func(learn.model(xb), yb)
                loss.backward()
                learn.opt.step()
                learn.opt.zero_grad()
                avg = torch.lerp(loss.detach().mean(), avg, 0.98)
                smooth = (avg / (1 - 0.98 ** (len(lrs) + 1))).item()
                lrs.append(lr)
                losses.append(smooth)
                best = min(best, smooth)
                if (stop_div and smooth > 4 * best) or len(lrs) >= num_it:
                    return lrs, losses
        return lrs, losses
    finally:
        learn.model.load_state_dict(weights)
        learn.opt.load_state_dict(opt_state)


# --- suggest_minimum ---------------------------------------------------------------------------


@wrong("lr_finder.suggest_minimum", "returns the learning rate at the minimum itself, not a tenth of it",
       rejected_by=["suggest_minimum_is_tenth_of_the_minimum", "suggest_minimum_oracle", "suggest_minimum_book"],
       probes=[([1e-4, 1e-3, 1e-2, 1e-1], [2.0, 1.0, 0.5, 3.0])],
       hint='fastai suggests a tenth of the learning rate at the minimum: lrs[i_min] / 10.')
def suggest_minimum_not_divided(lrs, losses):
    lrs, losses = _curve(lrs, losses)
    return lrs[losses.index(min(losses))]


@wrong("lr_finder.suggest_minimum", "keeps the last of tied minima (<= instead of <)",
       rejected_by=["suggest_minimum_is_tenth_of_the_minimum"],
       probes=[([1e-4, 1e-3, 1e-2, 1e-1], [2.0, 0.5, 0.5, 3.0])],
       hint='On tied minima keep the first one: compare with <, or use losses.index(min(losses)).')
def suggest_minimum_last_tie(lrs, losses):
    lrs, losses = _curve(lrs, losses)
    best = 0
    for i in range(len(losses)):
        if losses[i] <= losses[best]:
            best = i
    return lrs[best] / 10


@wrong("lr_finder.suggest_minimum", "right rule, but mismatched lists or a nan loss go through unnoticed",
       rejected_by=["suggest_minimum_bad_input"],
       probes=[([1e-4, 1e-3, 1e-2, 1e-1], [2.0, 1.0, 0.5, 3.0]), ([1e-4, 1e-3, 1e-2], [2.0, 1.0, 0.5, 3.0]), ([1e-4, 1e-3], [float("nan"), 1.0])],
       hint='Check the lists first: different lengths or a nan loss should be a ValueError that says so.')
def suggest_minimum_unchecked(lrs, losses):
    lrs, losses = [float(v) for v in lrs], [float(v) for v in losses]
    return lrs[losses.index(min(losses))] / 10


@wrong("lr_finder.suggest_minimum", "calls fastai's minimum",
       rejected_by=["suggest_minimum_is_tenth_of_the_minimum", "suggest_minimum_oracle", "suggest_minimum_book"])
def suggest_minimum_library(lrs, losses):
    from fastai.callback.schedule import minimum
    return minimum(torch.tensor(lrs), torch.tensor(losses), len(lrs))[0]


# --- suggest_steep -----------------------------------------------------------------------------


@wrong("lr_finder.suggest_steep", "takes the right end of the steepest segment",
       rejected_by=["suggest_steep_is_steepest", "suggest_steep_oracle", "suggest_steep_book"],
       probes=[([1e-4, 1e-3, 1e-2, 1e-1], [2.0, 1.8, 0.6, 0.5])],
       hint='Suggest the left end of the steepest segment: lrs[i] for the slope from point i to i + 1.')
def suggest_steep_right_end(lrs, losses):
    lrs, losses = _curve(lrs, losses, least=2)
    slopes = [(losses[i + 1] - losses[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i])) for i in range(len(lrs) - 1)]
    return lrs[slopes.index(min(slopes)) + 1]


@wrong("lr_finder.suggest_steep", "measures the slope against lr instead of log(lr)",
       rejected_by=["suggest_steep_is_steepest", "suggest_steep_oracle", "suggest_steep_book"],
       probes=[([1e-4, 1e-3, 1e-2, 1e-1], [2.0, 1.9, 1.0, 0.9])],
       hint="Measure the slope against log(lr): the finder's rates grow geometrically, so equal steps are in log(lr).")
def suggest_steep_linear_lr(lrs, losses):
    lrs, losses = _curve(lrs, losses, least=2)
    slopes = [(losses[i + 1] - losses[i]) / (lrs[i + 1] - lrs[i]) for i in range(len(lrs) - 1)]
    return lrs[slopes.index(min(slopes))]


@wrong("lr_finder.suggest_steep", "right rule, but one point (no slope at all) crashes deep inside instead",
       rejected_by=["suggest_steep_bad_input"],
       probes=[([1e-4, 1e-3, 1e-2, 1e-1], [2.0, 1.8, 0.6, 0.5]), ([1e-4, 1e-3, 1e-2], [2.0, 1.8, 0.6, 0.5])],
       hint='Check the lists first: lists of different lengths, or fewer than two points (no slope at all), should be a ValueError that says so.')
def suggest_steep_unchecked(lrs, losses):
    lrs, losses = [float(v) for v in lrs], [float(v) for v in losses]
    slopes = [(losses[i + 1] - losses[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i])) for i in range(len(lrs) - 1)]
    return lrs[slopes.index(min(slopes))]


# --- suggest_valley ----------------------------------------------------------------------------


@wrong("lr_finder.suggest_valley", "copies fastai's valley as it is: index -1 wraps round to the largest lr",
       rejected_by=["suggest_valley_falling_and_edge"],
       probes=[([1e-3, 1e-2], [2.0, 1.0])],
       hint="fastai's start index can be -1, which Python reads as the last element: clamp it at 0.")
def suggest_valley_wraps_round(lrs, losses):
    lrs, losses = _curve(lrs, losses)
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return lrs[max_start + int(sections) + int(sections / 2)]


@wrong("lr_finder.suggest_valley", "counts only falls between neighbouring points, not the longest falling subsequence",
       rejected_by=["suggest_valley_oracle"],
       probes=[([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0], [3.0, 2.0, 2.5, 1.5, 1.0, 0.8, 4.0])],
       hint='The valley is the longest strictly falling subsequence, whose points need not be neighbours: two loops over i and j.')
def suggest_valley_neighbours(lrs, losses):
    lrs, losses = _curve(lrs, losses)
    run = [1] * len(losses)
    for i in range(1, len(losses)):
        if losses[i] < losses[i - 1]:
            run[i] = run[i - 1] + 1
    end = run.index(max(run))
    start = end - run[end]
    return lrs[max(start + run[end] // 3 + run[end] // 6, 0)]


@wrong("lr_finder.suggest_valley", "starts the valley at its first point (end - L + 1), one later than fastai",
       rejected_by=["suggest_valley_falling_and_edge", "suggest_valley_oracle", "suggest_valley_book"],
       probes=[([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0], [3.0, 2.0, 2.5, 1.5, 1.0, 0.8, 4.0])],
       hint='As fastai counts it, the valley starts L points before its end (start = end - L), not L - 1.')
def suggest_valley_starts_at_first_point(lrs, losses):
    lrs, losses = _curve(lrs, losses)
    longest = [1] * len(losses)
    for i in range(1, len(losses)):
        for j in range(i):
            if losses[i] < losses[j]:
                longest[i] = max(longest[i], longest[j] + 1)
    end = longest.index(max(longest))
    start = end - longest[end] + 1
    return lrs[start + longest[end] // 3 + longest[end] // 6]


@wrong("lr_finder.suggest_valley", "right rule, but lists of different lengths or a nan loss go through",
       rejected_by=["suggest_valley_bad_input"],
       probes=[([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0], [3.0, 2.0, 2.5, 1.5, 1.0, 0.8, 4.0]), ([1e-3, 1e-2], [2.0]), ([1e-3, 1e-2], [float("nan"), 1.0])],
       hint='Check the lists first: different lengths or a nan loss should be a ValueError that says so.')
def suggest_valley_unchecked(lrs, losses):
    lrs, losses = [float(v) for v in lrs], [float(v) for v in losses]
    longest = [1] * len(losses)
    for i in range(1, len(losses)):
        for j in range(i):
            if losses[i] < losses[j]:
                longest[i] = max(longest[i], longest[j] + 1)
    end = longest.index(max(longest))
    return lrs[max(end - longest[end] + longest[end] // 3 + longest[end] // 6, 0)]


@wrong("lr_finder.suggest_valley", "picks the point before the biggest single drop: it looks at how much, not where, the loss falls",
       rejected_by=["suggest_valley_depends_on_order"],
       probes=[([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0], [3.0, 2.9, 2.8, 2.7, 2.6, 0.5, 4.0])],
       hint='Look for where the loss keeps falling (the longest falling subsequence), not for the biggest single drop.')
def suggest_valley_biggest_drop(lrs, losses):
    lrs, losses = _curve(lrs, losses)
    if len(losses) < 2:
        return lrs[0]
    drops = [losses[i] - losses[i + 1] for i in range(len(losses) - 1)]
    return lrs[drops.index(max(drops))]
