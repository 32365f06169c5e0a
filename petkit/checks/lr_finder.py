"""Checks for lesson `lr_finder`: exp_schedule, smooth_losses, lr_find, and the three suggestions.

The oracles are fastai's own: `sched_exp`, `AvgSmoothLoss`, `learn.lr_find()` on an identical tiny
learner (petkit.learners, same seed, threads and workers), and `minimum`/`steep`/`valley` on
finder curves (generated ones, and real ones recorded in `lr_finder_curves`). fastai is imported
inside the checks only, so that loading this module stays as cheap as `import torch`.

Where fastai has a quirk, the lesson teaches the sensible answer and the checks say so: fastai's
`valley` can compute index -1 (a curve whose only fall is from its first point to its second),
which Python reads as the *last*, largest learning rate; `suggest_valley` gives the first one there.
"""
import copy
import math
import os
from pathlib import Path

import torch
from hypothesis import strategies as st

from petkit.checks.core import CheckFailure, check, forbid, show
from petkit.checks.expect import expect_raises, require
from petkit.checks.strategies import prop

SCHEDULE = "fastai.callback.schedule"
SUGGESTIONS = ["lr_finder.suggest_minimum", "lr_finder.suggest_steep", "lr_finder.suggest_valley"]
WHY = {
    "lr_finder.exp_schedule": "Write the formula yourself; fastai's sched_exp is what the checks compare with.",
    "lr_finder.smooth_losses": "Write the moving average yourself with a loop; fastai's AvgSmoothLoss is what "
                               "the checks compare with.",
    "lr_finder.lr_find": "Write the finder's loop yourself with the learner's model, loss_func, opt and "
                         "dls.train; fastai's learn.lr_find() is what the checks compare with.",
    **{e: "Compute it yourself from the two lists (a loop, min, math.log); fastai's minimum, steep and valley "
          "are what the checks compare with." for e in SUGGESTIONS},
}
LIBRARY = {  # what each exercise asks you to write yourself ("module:attribute", see core._call_watching)
    "lr_finder.exp_schedule": [f"{SCHEDULE}:sched_exp", f"{SCHEDULE}:SchedExp"],
    "lr_finder.smooth_losses": ["fastai.learner:AvgSmoothLoss.accumulate"],
    "lr_finder.lr_find": [f"{SCHEDULE}:Learner.lr_find", f"{SCHEDULE}:LRFinder.__init__",
                          f"{SCHEDULE}:LRFinder.before_fit", f"{SCHEDULE}:LRFinder.after_batch"],
    **{e: [f"{SCHEDULE}:minimum", f"{SCHEDULE}:steep", f"{SCHEDULE}:valley", f"{SCHEDULE}:slide"]
       for e in SUGGESTIONS},
}
for _exercise, _names in LIBRARY.items():
    forbid([_exercise], _names, why=WHY[_exercise])

def _close(got, want: float, rel: float = 1e-9, abs_: float = 0.0) -> bool:
    return isinstance(got, (int, float)) and not isinstance(got, bool) and math.isclose(got, want, rel_tol=rel, abs_tol=abs_)


def _number(value, what: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckFailure(f"{what} should be a float, but it is {type(value).__name__}: {show(value)}")
    return float(value)


def _float_list(value, what: str, length: int | None = None) -> list[float]:
    if not isinstance(value, (list, tuple)):
        raise CheckFailure(f"{what} should be a list of floats, but it is {type(value).__name__}: {show(value)}")
    out = [_number(v, f"each value in {what}") for v in value]
    if length is not None and len(out) != length:
        raise CheckFailure(f"{what} should have {length} values (one per loss), but it has {len(out)}")
    return out


def _f32(x: float) -> float:
    return float(torch.tensor(x, dtype=torch.float32))


# --- exp_schedule ----------------------------------------------------------------------------

lr_exponents = st.integers(-8, 1).map(lambda e: 10.0 ** e)
some_lrs = st.floats(1e-8, 1e2, allow_nan=False).filter(lambda x: x > 0)
positions = st.floats(0, 1, allow_nan=False)


@check("lr_finder.exp_schedule", "property", "start_lr at 0, end_lr at 1, and log(lr) is linear in pos")
def exp_schedule_is_geometric(exp_schedule):
    @prop(some_lrs, some_lrs, positions, positions)
    def p(start, end, a, b):
        at0 = _number(exp_schedule(start, end, 0.0), "exp_schedule(start_lr, end_lr, 0)")
        require(_close(at0, start), f"exp_schedule({start!r}, {end!r}, 0) is {at0!r}, but at pos 0 it should be start_lr")
        at1 = _number(exp_schedule(start, end, 1.0), "exp_schedule(start_lr, end_lr, 1)")
        require(_close(at1, end), f"exp_schedule({start!r}, {end!r}, 1) is {at1!r}, but at pos 1 it should be end_lr")
        la, lb = (_number(exp_schedule(start, end, x), "exp_schedule(...)") for x in (a, b))
        mid = _number(exp_schedule(start, end, (a + b) / 2), "exp_schedule(...)")
        require(la > 0 and lb > 0 and _close(mid, math.sqrt(la * lb), rel=1e-9),
                f"exp_schedule({start!r}, {end!r}, pos) is not geometric: halfway between pos {a!r} and {b!r} "
                f"it gives {mid!r}, but the geometric mean of {la!r} and {lb!r} is {math.sqrt(max(la * lb, 0))!r}")
    p()


@check("lr_finder.exp_schedule", "oracle", "equals fastai's sched_exp")
def exp_schedule_oracle(exp_schedule):
    from fastai.callback.schedule import sched_exp

    @prop(some_lrs, some_lrs, positions)
    def p(start, end, pos):
        got = _number(exp_schedule(start, end, pos), "exp_schedule(...)")
        want = sched_exp(start, end, pos)
        require(_close(got, want, rel=1e-12), f"exp_schedule({start!r}, {end!r}, {pos!r}) is {got!r}, "
                                              f"but fastai's sched_exp gives {want!r}")
    p()


@check("lr_finder.exp_schedule", "book", "the finder's defaults: 1e-7 to 10 in 100 batches, x1.202 per batch")
def exp_schedule_book(exp_schedule):
    lrs = [_number(exp_schedule(1e-7, 10, i / 100), f"exp_schedule(1e-7, 10, {i}/100)") for i in range(100)]
    require(_close(lrs[0], 1e-7), f"the first batch's learning rate is {lrs[0]!r}, but it should be start_lr = 1e-7")
    require(_close(lrs[50], 1e-3), f"halfway (pos 0.5) the learning rate is {lrs[50]!r}, but it should be 1e-3: "
                                   f"the geometric mean of 1e-7 and 10")
    ratio = 10 ** 0.08
    for i in range(99):
        require(_close(lrs[i + 1] / lrs[i], ratio, rel=1e-9),
                f"from batch {i} to {i + 1} the learning rate goes from {lrs[i]!r} to {lrs[i + 1]!r}, but it "
                f"should grow by the same factor 10**(8/100) = {ratio:.6f} every batch")
    require(_close(lrs[99], 10 / ratio), f"the last batch (pos 0.99) gets {lrs[99]!r}, but it should be "
                                         f"10 / 1.2023 = {10 / ratio:.6g} (end_lr itself is never used)")


@check("lr_finder.exp_schedule", "bad input", "pos outside [0, 1] or a learning rate <= 0 is a ValueError")
def exp_schedule_bad_input(exp_schedule):
    expect_raises(exp_schedule, (1e-7, 10, 1.5), when="pos is 1.5", offending="pos", value=1.5)
    expect_raises(exp_schedule, (1e-7, 10, -0.1), when="pos is -0.1", offending="pos", value=-0.1)
    expect_raises(exp_schedule, (0.0, 10, 0.5), when="start_lr is 0", offending="start_lr", value=0.0)
    expect_raises(exp_schedule, (1e-7, -10, 0.5), when="end_lr is -10", offending="end_lr", value=-10)
    expect_raises(exp_schedule, ("1e-7", 10, 0.5),
                  when="start_lr is the string '1e-7'", offending="start_lr", value="1e-7")


# --- smooth_losses ---------------------------------------------------------------------------

loss_lists = st.lists(st.floats(0, 50, allow_nan=False, width=32), min_size=1, max_size=40)
betas = st.sampled_from([0.0, 0.5, 0.9, 0.98, 0.99])


def _reference_smooth(losses, beta):
    """The contract's formula in float64."""
    avg, out = 0.0, []
    for i, loss in enumerate(losses, 1):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** i))
    return out


def _expect_values(got: list[float], want: list[float], what: str, expected_name: str,
                   rel: float = 1e-6, abs_: float = 1e-9) -> None:
    for i, (g, w) in enumerate(zip(got, want)):
        if not math.isclose(g, w, rel_tol=rel, abs_tol=abs_):
            raise CheckFailure(f"{what}[{i}] is {g:.7g}, but it should be {w:.7g} ({expected_name})")


@check("lr_finder.smooth_losses", "property", "one value per loss, the first is the first loss, a weighted average")
def smooth_losses_is_debiased_average(smooth_losses):
    @prop(loss_lists, betas)
    def p(losses, beta):
        got = _float_list(smooth_losses(losses, beta=beta), f"smooth_losses(losses, beta={beta})", len(losses))
        require(math.isclose(got[0], losses[0], rel_tol=1e-6, abs_tol=1e-9),
                f"smooth_losses(losses, beta={beta})[0] is {got[0]:.7g}, but the first value should be the first "
                f"loss, {losses[0]:.7g}: dividing by 1 - beta**1 removes the bias of starting at 0")
        for i, g in enumerate(got):
            lo, hi = min(losses[:i + 1]), max(losses[:i + 1])
            slack = 1e-6 * max(1.0, hi)
            require(lo - slack <= g <= hi + slack,
                    f"smooth_losses(losses, beta={beta})[{i}] is {g:.7g}, outside the range of the losses so far "
                    f"[{lo:.7g}, {hi:.7g}]: a (debiased) average cannot leave it")
        _expect_values(got, _reference_smooth(losses, beta), f"smooth_losses(losses, beta={beta})",
                       "avg_i / (1 - beta**i)", rel=1e-6, abs_=1e-6)
    p()


@check("lr_finder.smooth_losses", "property", "constant losses stay constant; beta=0 gives the losses back")
def smooth_losses_constant_and_beta0(smooth_losses):
    @prop(st.floats(0, 50, allow_nan=False, width=32), st.integers(1, 60), loss_lists)
    def p(c, n, losses):
        got = _float_list(smooth_losses([c] * n), f"smooth_losses([{c!r}] * {n})", n)
        _expect_values(got, [c] * n, f"smooth_losses([{c!r}] * {n})", "a constant curve stays constant",
                       rel=1e-6, abs_=1e-9)
        got = _float_list(smooth_losses(losses, beta=0.0), "smooth_losses(losses, beta=0.0)", len(losses))
        _expect_values(got, losses, "smooth_losses(losses, beta=0.0)", "with beta=0 nothing is smoothed")
    p()


@check("lr_finder.smooth_losses", "oracle", "equals fastai's AvgSmoothLoss fed one loss at a time")
def smooth_losses_oracle(smooth_losses):
    from fastai.learner import AvgSmoothLoss

    class Batch:  # what AvgSmoothLoss.accumulate reads from a learner
        loss = None

    @prop(loss_lists, betas)
    def p(losses, beta):
        metric, batch, want = AvgSmoothLoss(beta=beta), Batch(), []
        for loss in losses:
            batch.loss = torch.tensor(loss)
            metric.accumulate(batch)
            want.append(float(metric.value))
        got = _float_list(smooth_losses(losses, beta=beta), f"smooth_losses(losses, beta={beta})", len(losses))
        _expect_values(got, want, f"smooth_losses(losses, beta={beta})", "fastai's AvgSmoothLoss, in float32",
                       rel=1e-4, abs_=1e-5)
    p()


@check("lr_finder.smooth_losses", "book", "worked examples: [1, 0.5] with beta=0.5 is [1, 2/3]")
def smooth_losses_book(smooth_losses):
    got = _float_list(smooth_losses([1.0, 0.5], beta=0.5), "smooth_losses([1.0, 0.5], beta=0.5)", 2)
    # avg_1 = 0.5*0 + 0.5*1 = 0.5 -> 0.5 / (1 - 0.5) = 1;  avg_2 = 0.5*0.5 + 0.5*0.5 = 0.5 -> 0.5 / 0.75
    _expect_values(got, [1.0, 2 / 3], "smooth_losses([1.0, 0.5], beta=0.5)", "worked by hand: [0.5/0.5, 0.5/0.75]")
    got = _float_list(smooth_losses([2.0, 2.0, 2.0]), "smooth_losses([2.0, 2.0, 2.0])", 3)
    _expect_values(got, [2.0, 2.0, 2.0], "smooth_losses([2.0, 2.0, 2.0])", "debiased, a flat curve stays flat")
    got = _float_list(smooth_losses([4.0, 0.0]), "smooth_losses([4.0, 0.0])", 2)
    _expect_values(got, [4.0, 4 * 0.02 * 0.98 / (1 - 0.98 ** 2)], "smooth_losses([4.0, 0.0])",
                   "0.98*0.08 / (1 - 0.98**2), about 1.98: a sudden drop shows only slowly")


@check("lr_finder.smooth_losses", "bad input", "an empty list, or beta outside [0, 1), is a ValueError")
def smooth_losses_bad_input(smooth_losses):
    expect_raises(smooth_losses, ([],), when="losses is empty", offending="losses")
    expect_raises(smooth_losses, ([1.0, 2.0],), {"beta": 1.0},
                  when="beta is 1 (1 - beta**i is 0)", offending="beta", value=1.0)
    expect_raises(smooth_losses, ([1.0, 2.0],), {"beta": -0.5}, when="beta is -0.5", offending="beta", value=-0.5)
    expect_raises(smooth_losses, (["a", "b"],), when="losses are strings", offending="losses", value=str)


# --- lr_find ---------------------------------------------------------------------------------

def _learner(seed: int = 5, fitted: bool = False):
    """A fresh tiny learner (petkit.learners); `fitted` trains it one epoch first, so that the
    optimiser has state (Adam's moving averages) for lr_find to leave alone."""
    from fastai.vision.all import set_seed
    from petkit.learners import tiny_learner
    learn = tiny_learner(seed=seed)
    if fitted:
        set_seed(seed, reproducible=True)
        with learn.no_logging():
            learn.fit(1, 1e-3)
    return learn


def _files(learn) -> set:
    """What is under the learner's path, and a models/ folder in the working folder (where fastai
    saves when a learner's path is the current folder)."""
    here = Path(os.getcwd()) / "models"
    return set(Path(learn.path).rglob("*")) | ({here} if here.exists() else set())


def _snapshot(learn) -> dict:
    return {"weights": {k: v.detach().clone() for k, v in learn.model.state_dict().items()},
            "opt": copy.deepcopy(learn.opt.state_dict()) if learn.opt is not None else None,
            "training": learn.model.training, "files": _files(learn)}


def _same(a, b) -> bool:
    a, b = (list(x) if type(x).__name__ == "L" else x for x in (a, b))  # fastcore's L holds the hypers
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _expect_put_back(before: dict, learn, call: str) -> None:
    after = _snapshot(learn)
    for name, w in before["weights"].items():
        if not _same(w, after["weights"].get(name)):
            kind = "running statistic" if "running" in name or "batches" in name else "weight"
            raise CheckFailure(f"after {call} the model's {kind} {name!r} is not what it was: save "
                               f"learn.model.state_dict() (cloned) first and load it back at the end")
    if before["opt"] is not None:
        was, now = before["opt"], after["opt"]
        if not _same(was["hypers"], now["hypers"]):
            raise CheckFailure(f"after {call} the optimiser's hyper-parameters (learning rates, ...) are not what "
                               f"they were: save learn.opt.state_dict() (a deep copy) first and load it back at the end")
        if not _same(was["state"], now["state"]):
            raise CheckFailure(f"after {call} the optimiser's state (Adam's moving averages) is not what it was: "
                               f"save a deep copy of learn.opt.state_dict() first and load it back at the end")
    require(after["training"] == before["training"],
            f"after {call} the model is in {'training' if after['training'] else 'eval'} mode, but it was in "
            f"{'training' if before['training'] else 'eval'} mode")
    new = sorted(str(p) for p in after["files"] - before["files"])
    require(not new, f"{call} left files behind: {', '.join(new[:3])}; keep the saved state in memory")


def _expect_finder_output(result, call: str) -> tuple[list[float], list[float]]:
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailure(f"{call} should return a tuple (lrs, losses), but it returned {show(result)}")
    lrs = _float_list(result[0], f"the lrs {call} returned")
    losses = _float_list(result[1], f"the losses {call} returned", len(lrs))
    require(lrs, f"{call} recorded nothing: it should record one point per batch")
    return lrs, losses


def _expect_stop_rule(lrs, losses, num_it, stop_div, call) -> None:
    n = len(losses)
    require(n <= num_it, f"{call} recorded {n} points, but it should stop after num_it={num_it} batches")
    if not stop_div:
        require(n == num_it, f"{call} recorded {n} points, but with stop_div=False it should run all num_it={num_it} "
                             f"batches (going through the training data again when it runs out)")
        return
    for j in range(n - 1):
        best = min(losses[:j + 1])
        require(not losses[j] > 4 * best,
                f"{call}: at batch {j} the smoothed loss {losses[j]:.4g} is above 4 x the best so far "
                f"({best:.4g}), but the finder went on: it should stop right after that batch")
    if n < num_it:
        best = min(losses)
        require(losses[-1] > 4 * best,
                f"{call} stopped after {n} of {num_it} batches, but its last smoothed loss {losses[-1]:.4g} is not "
                f"above 4 x the best ({best:.4g}): stop only when it is (and record that batch first)")


finder_settings = st.tuples(st.integers(-7, -3), st.integers(-1, 6), st.integers(6, 16), st.booleans())


@check("lr_finder.lr_find", "property", "geometric learning rates from start_lr, at most num_it points, the stop rule")
def lr_find_schedule_and_stop(lr_find):
    def one(start_exp, end_exp, num_it, stop_div):
        start_lr, end_lr = 10.0 ** start_exp, 10.0 ** end_exp
        call = f"lr_find(learn, start_lr={start_lr:g}, end_lr={end_lr:g}, num_it={num_it}, stop_div={stop_div})"
        lrs, losses = _expect_finder_output(
            lr_find(_learner(), start_lr=start_lr, end_lr=end_lr, num_it=num_it, stop_div=stop_div), call)
        for i, lr in enumerate(lrs):
            want = start_lr * (end_lr / start_lr) ** (i / num_it)
            require(_close(lr, want, rel=1e-9),
                    f"{call}: batch {i} has learning rate {lr:.6g}, but it should be "
                    f"exp_schedule(start_lr, end_lr, {i}/{num_it}) = {want:.6g}")
        _expect_stop_rule(lrs, losses, num_it, stop_div, call)

    one(-2, 6, 20, True)  # always one run that diverges, so that the stop rule is seen at work
    prop(finder_settings, cost=8)(lambda settings: one(*settings))()


@check("lr_finder.lr_find", "property", "puts the weights, the optimiser state and the mode back; writes no files")
def lr_find_puts_the_learner_back(lr_find):
    @prop(st.sampled_from([(6, True), (10, False), (16, True)]), cost=10)
    def p(setting):
        num_it, stop_div = setting
        learn = _learner(seed=11, fitted=True)
        before = _snapshot(learn)
        call = f"lr_find(learn, start_lr=1e-4, end_lr=100, num_it={num_it}, stop_div={stop_div})"
        _expect_finder_output(lr_find(learn, start_lr=1e-4, end_lr=100, num_it=num_it, stop_div=stop_div), call)
        _expect_put_back(before, learn, call)
    p()


ORACLE_RUNS = (  # (lr_find keyword arguments, what it shows)
    ({"num_it": 8}, "8 batches over 4 passes through the training data, no stop"),
    ({"start_lr": 1e-2, "end_lr": 1e6, "num_it": 20}, "a run that diverges and stops early"),
    ({"start_lr": 1e-2, "end_lr": 1e6, "num_it": 12, "stop_div": False}, "stop_div=False goes on after divergence"),
)


@check("lr_finder.lr_find", "oracle", "records what learn.lr_find() records, on an identical learner")
def lr_find_oracle(lr_find):
    from fastai.vision.all import set_seed
    for kwargs, story in ORACLE_RUNS:
        theirs, mine = _learner(seed=5), _learner(seed=5)
        set_seed(7, reproducible=True)
        with theirs.no_logging():
            theirs.lr_find(show_plot=False, suggest_funcs=None, **kwargs)
        want_lrs, want_losses = list(theirs.recorder.lrs), [float(v) for v in theirs.recorder.losses]
        before = _snapshot(mine)
        call = f"lr_find(learn, {', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
        set_seed(7, reproducible=True)
        lrs, losses = _expect_finder_output(lr_find(mine, **kwargs), call)
        require(len(lrs) == len(want_lrs),
                f"{call} ({story}) recorded {len(lrs)} points, but learn.lr_find() records {len(want_lrs)} "
                f"on the same learner" + (": it stops when the smoothed loss passes 4 x the best, and records that "
                                          "batch" if len(want_lrs) < kwargs.get("num_it", 100) else ""))
        for i, (lr, want) in enumerate(zip(lrs, want_lrs)):
            require(_close(lr, want, rel=1e-9), f"{call}: batch {i} has learning rate {lr:.6g}, but learn.lr_find() "
                                                f"uses {want:.6g}")
        for i, (loss, want) in enumerate(zip(losses, want_losses)):
            require(math.isclose(loss, want, rel_tol=1e-4, abs_tol=1e-6),
                    f"{call} ({story}): the smoothed loss after batch {i} is {loss:.6g}, but learn.lr_find() records "
                    f"{want:.6g} (same learner, same seed): smooth with beta 0.98 over the whole run, debiased")
        _expect_put_back(before, mine, call)


@check("lr_finder.lr_find", "book", "a run like the book's: from chance-level loss, it stops when the loss blows up")
def lr_find_book(lr_find):
    learn = _learner(seed=5)
    call = "lr_find(learn, start_lr=1e-2, end_lr=1e6, num_it=20)"
    lrs, losses = _expect_finder_output(lr_find(learn, start_lr=1e-2, end_lr=1e6, num_it=20), call)
    require(_close(lrs[0], 1e-2), f"{call}: the first learning rate is {lrs[0]:.6g}, but it should be start_lr = 0.01")
    chance = math.log(learn.dls.c)  # a model that knows nothing gives each of c breeds 1/c: loss ln(c)
    require(abs(losses[0] - chance) < 0.25,
            f"{call}: the first smoothed loss is {losses[0]:.4g}, but an untrained model over {learn.dls.c} breeds "
            f"should start near ln({learn.dls.c}) = {chance:.3f} (is it debiased?)")
    require(len(lrs) < 20 and losses[-1] > 4 * min(losses),
            f"{call} recorded {len(lrs)} points ending at loss {losses[-1]:.4g} (best {min(losses):.4g}); as in "
            f"the book's plot, the loss blows up at large learning rates and the finder should stop there")


@check("lr_finder.lr_find", "bad input", "not a Learner is a TypeError; bad rates or num_it a ValueError")
def lr_find_bad_input(lr_find):
    expect_raises(lr_find, ("learner",),
                  when="learn is a string, not a fastai Learner", offending="learn", value=str)
    learn = _learner()
    expect_raises(lr_find, (learn,), {"start_lr": 0.0}, when="start_lr is 0", offending="start_lr", value=0.0)
    expect_raises(lr_find, (learn,), {"start_lr": 1e-2, "end_lr": 1e-5},
                  when="end_lr (1e-5) is below start_lr (1e-2)", offending=("end_lr", "start_lr"))
    expect_raises(lr_find, (learn,), {"num_it": 0}, when="num_it is 0", offending="num_it", value=0)


# --- the suggestions -------------------------------------------------------------------------

@st.composite
def finder_curves(draw, min_points: int = 2, max_points: int = 40):
    """(lrs, losses) like a finder's: learning rates log-spaced over 1 to 9 decades, losses a noisy
    U (flat or falling, a minimum, then a climb), all float32 values written as Python floats."""
    n = draw(st.integers(min_points, max_points))
    low, decades = draw(st.integers(-8, -3)), draw(st.integers(1, 9))
    lrs = [_f32(10.0 ** (low + decades * i / max(n - 1, 1))) for i in range(n)]
    bottom = draw(st.floats(0.2, 0.9))
    floor, drop, rise = draw(st.floats(0.05, 3.0)), draw(st.floats(0.0, 3.0)), draw(st.floats(0.0, 20.0))
    noise = draw(st.floats(0.0, 0.2)) * (drop + rise + 0.1)
    jitter = draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n))
    coarse = draw(st.booleans())  # rounded losses: ties happen
    losses = []
    for i in range(n):
        x = i / max(n - 1, 1)
        loss = floor + (drop * ((bottom - x) / bottom) ** 2 if x < bottom else rise * ((x - bottom) / (1 - bottom)) ** 2)
        loss += noise * jitter[i]
        losses.append(_f32(round(loss, 1) if coarse else loss))
    return lrs, losses


def _real_curves():
    from petkit.checks.lr_finder_curves import CURVES
    return CURVES


def _fastai(name: str, lrs, losses) -> tuple[float, int]:
    """fastai's suggestion `name` on float32 tensors (as lr_find gives them) and the index it picked;
    index -1 when valley wraps round (told apart by a sentinel learning rate appended at the end)."""
    from fastai.callback import schedule
    sentinel = -1.0
    t_lrs = torch.tensor(list(lrs) + ([sentinel] if name == "valley" else []))
    lr, _ = getattr(schedule, name)(t_lrs, torch.tensor(losses), len(lrs))
    if name == "valley" and lr == sentinel:
        return lrs[-1], -1
    picked = lr * 10 if name == "minimum" else lr
    return lr, min(range(len(lrs)), key=lambda i: abs(lrs[i] - picked))


def _call_text(name: str, lrs, losses) -> str:
    points = "1 point" if len(lrs) == 1 else f"{len(lrs)} points"
    return f"{name}(lrs, losses) on a curve of {points} from lr {lrs[0]:.3g} to {lrs[-1]:.3g}"


def _slopes(lrs, losses) -> list[float]:
    return [(losses[i + 1] - losses[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i])) for i in range(len(lrs) - 1)]


def _index_of(lr: float, lrs, what: str) -> int:
    for i, x in enumerate(lrs):
        if math.isclose(lr, x, rel_tol=1e-6):
            return i
    raise CheckFailure(f"{what} is {lr:.6g}, which is not one of the curve's learning rates")


def _oracle_agrees(fn, name: str, lrs, losses, label: str) -> None:
    """`fn` gives what fastai's `name` gives on (lrs, losses); for steep, a slope that ties with
    fastai's in float32 is as good; for valley at index -1, the first learning rate (see module doc)."""
    what = f"suggest_{name}"
    got = _number(fn(lrs, losses), f"{what}(lrs, losses)")
    want, idx = _fastai(name, lrs, losses)
    if name == "valley" and idx == -1:
        require(_close(got, lrs[0], rel=1e-6),
                f"{what} on {label} is {got:.6g}: here fastai's valley computes index -1 (the curve's only fall is "
                f"from its first point to its second), which Python reads as the LAST, largest learning rate "
                f"{lrs[-1]:.6g}; the lesson's answer is the first one, {lrs[0]:.6g}")
        return
    if _close(got, want, rel=1e-6):
        return
    if name == "steep":
        slopes = _slopes(lrs, losses)
        k = _index_of(got, lrs[:-1], f"{what} on {label}")
        if math.isclose(slopes[k], slopes[idx], rel_tol=1e-5, abs_tol=1e-7):
            return  # a tie in float32: either segment is the steepest
        raise CheckFailure(f"{what} on {label} is {got:.6g}, but fastai's steep gives {want:.6g}: the steepest "
                           f"fall is {slopes[idx]:.4g} per unit of log(lr), from point {idx} to {idx + 1}, and "
                           f"yours starts at point {k} (slope {slopes[k]:.4g})")
    raise CheckFailure(f"{what} on {label} is {got:.6g}, but fastai's {name} gives {want:.6g} (point {idx} "
                       f"of {len(lrs)})")


def _suggestion_oracle(fn, name: str) -> None:
    for label, (lrs, losses) in _real_curves().items():
        _oracle_agrees(fn, name, lrs, losses, f"the recorded curve '{label}'")

    @prop(finder_curves())
    def p(curve):
        lrs, losses = curve
        _oracle_agrees(fn, name, lrs, losses, "a generated finder curve")
    p()


# A finder curve worked by hand, shaped like the book's chapter 5 plot: flat, falling, a minimum at
# 10**-2.5, then blowing up. lrs are 10**-7, 10**-6.5, ..., 10**-1.
BOOK_LRS = [10.0 ** (-7 + i / 2) for i in range(13)]
BOOK_LOSSES = [2.0, 2.0, 1.99, 1.98, 1.95, 1.85, 1.6, 1.3, 1.05, 0.8, 0.9, 1.6, 4.0]


def _book(fn, name: str, want: float, why: str) -> None:
    got = _number(fn(BOOK_LRS, BOOK_LOSSES), f"suggest_{name}(lrs, losses)")
    require(_close(got, want, rel=1e-6), f"suggest_{name} on the worked curve (losses {BOOK_LOSSES} at lrs "
                                         f"10**-7, 10**-6.5, ..., 10**-1) is {got:.4g}, but it should be {want:.4g}: {why}")


def _suggestion_bad_input(fn, name: str) -> None:
    call = f"suggest_{name}"
    expect_raises(fn, ([], []), when=f"{call} gets empty lists", offending=("lrs", "losses"))
    expect_raises(fn, ([1e-3, 1e-2, 1e-1], [2.0, 1.0]),
                  when=f"{call} gets 3 learning rates but 2 losses", offending=("lrs", "losses"))
    expect_raises(fn, ([0.0, 1e-2, 1e-1], [2.0, 1.0, 3.0]),
                  when=f"{call} gets a learning rate of 0", offending="lrs", value=0.0)
    expect_raises(fn, ([1e-1, 1e-2, 1e-3], [2.0, 1.0, 3.0]),
                  when=f"{call} gets learning rates that decrease", offending="lrs")
    expect_raises(fn, ([1e-3, 1e-2, 1e-1], [2.0, float("nan"), 3.0]),
                  when=f"{call} gets a nan loss (cut the curve before the first nan, as lr_find does)",
                  offending="losses", value=float("nan"))


# minimum

@check("lr_finder.suggest_minimum", "property", "the lowest loss's learning rate / 10 (the first of ties), lists or tensors")
def suggest_minimum_is_tenth_of_the_minimum(suggest_minimum):
    @prop(finder_curves(min_points=1))
    def p(curve):
        lrs, losses = curve
        best = min(range(len(losses)), key=losses.__getitem__)
        got = _number(suggest_minimum(lrs, losses), "suggest_minimum(lrs, losses)")
        require(_close(got, lrs[best] / 10, rel=1e-6),
                f"{_call_text('suggest_minimum', lrs, losses)} is {got:.6g}, but the lowest loss ({losses[best]:.4g}) "
                f"is first reached at lr {lrs[best]:.6g} (point {best}), so it should be {lrs[best] / 10:.6g}")
        on_tensors = _number(suggest_minimum(torch.tensor(lrs, dtype=torch.float64), torch.tensor(losses)),
                             "suggest_minimum(lrs, losses) on tensors")
        require(_close(on_tensors, got, rel=1e-6), f"suggest_minimum gives {on_tensors:.6g} on tensors but {got:.6g} "
                                                   f"on lists of the same values")
    p()


@check("lr_finder.suggest_minimum", "oracle", "agrees with fastai's minimum on real and generated finder curves")
def suggest_minimum_oracle(suggest_minimum):
    _suggestion_oracle(suggest_minimum, "minimum")


@check("lr_finder.suggest_minimum", "book", "the book's rule: one order of magnitude below the minimum")
def suggest_minimum_book(suggest_minimum):
    _book(suggest_minimum, "minimum", 10 ** -3.5, "the lowest loss, 0.8, is at 10**-2.5, and a tenth of it is 10**-3.5")


@check("lr_finder.suggest_minimum", "bad input", "empty, mismatched, non-increasing lrs or nan losses: ValueError")
def suggest_minimum_bad_input(suggest_minimum):
    _suggestion_bad_input(suggest_minimum, "minimum")


# steep

@check("lr_finder.suggest_steep", "property", "the left end of the steepest fall against log(lr), lists or tensors")
def suggest_steep_is_steepest(suggest_steep):
    @prop(finder_curves(), st.sampled_from([1.0, 2.0, 0.25]))
    def p(curve, scale):
        lrs, losses = curve
        steepest_of(lrs, [scale * v for v in losses])  # scaling by a power of 2 is exact

    def steepest_of(lrs, losses):
        slopes = _slopes(lrs, losses)
        got = _number(suggest_steep(lrs, losses), "suggest_steep(lrs, losses)")
        k = _index_of(got, lrs, _call_text("suggest_steep", lrs, losses))
        require(k < len(lrs) - 1, f"{_call_text('suggest_steep', lrs, losses)} is the last learning rate, "
                                  f"{got:.6g}: a slope runs from a point to the next, take its left end")
        steepest = min(range(len(slopes)), key=slopes.__getitem__)
        require(math.isclose(slopes[k], slopes[steepest], rel_tol=1e-5, abs_tol=1e-9),  # float32 ties
                f"{_call_text('suggest_steep', lrs, losses)} is {got:.6g} (point {k}, slope {slopes[k]:.4g} per "
                f"unit of log(lr)), but the steepest fall is {slopes[steepest]:.4g}, from point {steepest} "
                f"(lr {lrs[steepest]:.6g}) to the next")
        on_tensors = _number(suggest_steep(torch.tensor(lrs, dtype=torch.float64), torch.tensor(losses, dtype=torch.float64)),
                             "suggest_steep(lrs, losses) on tensors")
        k2 = _index_of(on_tensors, lrs, "suggest_steep(lrs, losses) on tensors")
        # lists and tensors may break a tie differently (fastai's own steep computes in float32 on lists):
        # what matters is that both are a steepest segment
        require(k2 < len(lrs) - 1 and math.isclose(slopes[k2], slopes[steepest], rel_tol=1e-5, abs_tol=1e-9),
                f"suggest_steep gives {on_tensors:.6g} on tensors but {got:.6g} on lists of the same values "
                f"(the steepest fall is from point {steepest}, lr {lrs[steepest]:.6g})")
    p()
    for lrs, losses in STEEP_APART:
        steepest_of([_f32(v) for v in lrs], [_f32(v) for v in losses])


# Curves on which the steepest fall against log(lr) is not the steepest against lr: finder curves fall
# fastest at their start either way, so drawn ones seldom tell the two apart.
STEEP_APART = (([1e-3, 10 ** -2.6667, 10 ** -2.3333, 1e-2], [1.00625, 1.0, 1.0125, 1.0]),
               ([1e-6, 1e-5, 1e-4, 1e-3, 1e-2], [2.0, 1.99, 1.98, 1.5, 1.45]))


@check("lr_finder.suggest_steep", "oracle", "agrees with fastai's steep on real and generated finder curves")
def suggest_steep_oracle(suggest_steep):
    _suggestion_oracle(suggest_steep, "steep")


@check("lr_finder.suggest_steep", "book", "the book's 'steepest point': where the loss falls fastest")
def suggest_steep_book(suggest_steep):
    _book(suggest_steep, "steep", 1e-4, "the biggest fall against log(lr) is from 1.6 (at 10**-4) to 1.3 "
                                        "(at 10**-3.5), and the left end of it is 10**-4")


@check("lr_finder.suggest_steep", "bad input", "fewer than 2 points, or the errors of suggest_minimum: ValueError")
def suggest_steep_bad_input(suggest_steep):
    _suggestion_bad_input(suggest_steep, "steep")
    expect_raises(suggest_steep, ([1e-3], [2.0]),
                  when="suggest_steep gets one point (a slope needs two)", offending=("lrs", "losses"))


# valley

def _ranks(values):
    order = sorted(set(values))
    return [float(order.index(v)) for v in values]


@check("lr_finder.suggest_valley", "property", "only the order of the losses matters; scales with the learning rates")
def suggest_valley_depends_on_order(suggest_valley):
    @prop(finder_curves(min_points=1))
    def p(curve):
        lrs, losses = curve
        got = _number(suggest_valley(lrs, losses), "suggest_valley(lrs, losses)")
        _index_of(got, lrs, _call_text("suggest_valley", lrs, losses))
        ranked = _number(suggest_valley(lrs, _ranks(losses)), "suggest_valley(lrs, ranks)")
        require(_close(ranked, got, rel=1e-9),
                f"{_call_text('suggest_valley', lrs, losses)} is {got:.6g}, but with each loss replaced by its rank "
                f"(same order, so the same valley) it is {ranked:.6g}: only which loss is lower should matter")
        scaled = _number(suggest_valley([10 * lr for lr in lrs], losses), "suggest_valley(10 * lrs, losses)")
        require(_close(scaled, 10 * got, rel=1e-6),
                f"suggest_valley on learning rates 10 times larger is {scaled:.6g}, but it should be 10 x "
                f"{got:.6g}: the valley is found from the losses alone")
    p()


@check("lr_finder.suggest_valley", "property", "a falling curve of n points gives lrs[n//3 + n//6 - 1]; never wraps to the last")
def suggest_valley_falling_and_edge(suggest_valley):
    @prop(st.integers(1, 30), st.integers(1, 30))
    def p(n, m):
        lrs = [10.0 ** (-6 + i / 4) for i in range(n)]
        falling = [float(n - i) for i in range(n)]
        got = _number(suggest_valley(lrs, falling), "suggest_valley(lrs, losses)")
        i = max(n // 3 + n // 6 - 1, 0)
        require(_close(got, lrs[i], rel=1e-9),
                f"suggest_valley on a curve of {n} points that falls all the way is {got:.6g}, but it should be "
                f"lrs[{i}] = {lrs[i]:.6g}: the valley is all {n} points, taken to start one before the first "
                f"(index -1), and the pick is start + {n}//3 + {n}//6, but never before the first point: -1 must not "
                f"wrap round to the last learning rate")
        lrs = [10.0 ** (-6 + i / 4) for i in range(m + 1)]
        once = [2.0, 1.0] + [3.0 + i for i in range(m - 1)]  # falls once, at the start, then only climbs
        got = _number(suggest_valley(lrs, once), "suggest_valley(lrs, losses)")
        require(_close(got, lrs[0], rel=1e-9),
                f"suggest_valley on losses {once} is {got:.6g}, but it should be the first learning rate "
                f"{lrs[0]:.6g}: the valley is the fall from point 0 to 1, its start + 2//3 + 2//6 is index -1, and "
                f"-1 must not wrap round to the last, largest learning rate (fastai's valley does)")
    p()


@check("lr_finder.suggest_valley", "oracle", "agrees with fastai's valley on real and generated finder curves")
def suggest_valley_oracle(suggest_valley):
    _suggestion_oracle(suggest_valley, "valley")


@check("lr_finder.suggest_valley", "book", "the longest valley of the worked curve, about halfway down it")
def suggest_valley_book(suggest_valley):
    _book(suggest_valley, "valley", 1e-5, "the longest falling run is 2.0, 1.99, ..., 0.8 (9 points, ending at "
                                          "point 9), so the valley starts at 9 - 9 = 0 and the pick is "
                                          "0 + 9//3 + 9//6 = point 4, lr 10**-5")


@check("lr_finder.suggest_valley", "bad input", "empty, mismatched, non-increasing lrs or nan losses: ValueError")
def suggest_valley_bad_input(suggest_valley):
    _suggestion_bad_input(suggest_valley, "valley")
