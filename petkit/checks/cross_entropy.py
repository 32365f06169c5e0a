"""Checks for lesson `cross_entropy`: nll_loss, cross_entropy, cross_entropy_grad."""
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from petkit.checks import book
from petkit.checks.core import check, forbid, show
from petkit.checks.expect import expect_close, expect_raises, expect_tensor, require, tolerance
from petkit.checks.inputs import leaves_input_unchanged
from petkit.checks.softmax import LIBRARY_SOFTMAX
from petkit.checks.strategies import classification, prop, tensors

LESSON = ["cross_entropy.nll_loss", "cross_entropy.cross_entropy", "cross_entropy.cross_entropy_grad"]
forbid(LESSON, LIBRARY_SOFTMAX + [
    "torch.nn.functional.nll_loss", "torch.nn.functional.cross_entropy",
    "torch.nn.functional.binary_cross_entropy", "torch.nn.functional.binary_cross_entropy_with_logits",
])
forbid(["cross_entropy.cross_entropy_grad"], ["torch.autograd.grad", "torch.Tensor.backward"])

REDUCTIONS = ("mean", "sum", "none")
reductions = st.sampled_from(REDUCTIONS)


def _log_probs(case):
    x, t = case
    return F.log_softmax(x, dim=-1), t


def _common_bad_input(fn, first_name):
    """The input errors nll_loss, cross_entropy and cross_entropy_grad share."""
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    if first_name == "log_probs":
        x = F.log_softmax(x, dim=-1)
    expect_raises(fn, (x, torch.tensor([0, 4, 1])),
                  when="a target is 4 but there are only 4 classes (0..3)", offending="targets", value=4)
    expect_raises(fn, (x, torch.tensor([0, -1, 1])), when="a target is -1", offending="targets", value=-1)
    expect_raises(fn, (x, torch.tensor([0, 1])),
                  when=f"{first_name} has 3 rows but there are 2 targets", offending=(first_name, "targets"))
    expect_raises(fn, (x, torch.tensor([0.0, 1.0, 2.0])),
                  when="targets are floats, not class indices", offending="targets", value=torch.float32)
    expect_raises(fn, (x[0], torch.tensor([0])),
                  when=f"{first_name} is 1-D instead of (n, classes)", offending=first_name)


# --- nll_loss --------------------------------------------------------------------------------

@check("cross_entropy.nll_loss", "property", "'none' picks -log_probs[i, targets[i]]; 'sum' and 'mean' reduce it")
def nll_reductions(nll_loss):
    @prop(classification().map(_log_probs))
    def p(case):
        lp, t = case
        n = lp.shape[0]
        per_row = expect_tensor(nll_loss(lp, t, reduction="none"), what="nll_loss(..., reduction='none')",
                                shape=(n,), dtype=lp.dtype)
        expect_close(per_row, torch.stack([-lp[i, t[i]] for i in range(n)]),
                     what="nll_loss(..., reduction='none')", expected_name="-log_probs[i, targets[i]]")
        total = expect_tensor(nll_loss(lp, t, reduction="sum"), what="nll_loss(..., reduction='sum')", shape=())
        expect_close(total, per_row.sum(), rtol=1e-5, atol=1e-5, what="nll_loss(..., reduction='sum')",
                     expected_name="the sum of the 'none' values")
        mean = expect_tensor(nll_loss(lp, t, reduction="mean"), what="nll_loss(..., reduction='mean')", shape=())
        expect_close(mean, per_row.mean(), rtol=1e-5, atol=1e-5, what="nll_loss(..., reduction='mean')",
                     expected_name="the mean of the 'none' values")
    p()


@check("cross_entropy.nll_loss", "property", "never negative for log-probabilities; 0 when the target is certain")
def nll_non_negative(nll_loss):
    @prop(classification().map(_log_probs), reductions)
    def p(case, reduction):
        lp, t = case
        loss = expect_tensor(nll_loss(lp, t, reduction=reduction), what=f"nll_loss(reduction={reduction!r})")
        require((loss >= 0).all(), f"nll_loss(reduction={reduction!r}) is negative ({loss.min().item():.4g}), "
                                   f"but log-probabilities are <= 0, so their negatives are >= 0")
        certain = torch.full_like(lp, -1e4)
        certain[torch.arange(len(t)), t] = 0.0
        zero = nll_loss(certain, t, reduction=reduction)
        expect_close(zero, torch.zeros_like(zero), atol=1e-6, what="the loss when each target has probability 1",
                     expected_name="a perfect prediction costs nothing")
    p()


@check("cross_entropy.nll_loss", "oracle", "equals F.nll_loss for every reduction")
def nll_oracle(nll_loss):
    @prop(classification().map(_log_probs), reductions)
    def p(case, reduction):
        lp, t = case
        expect_close(nll_loss(lp, t, reduction=reduction), F.nll_loss(lp, t, reduction=reduction),
                     rtol=1e-5, atol=1e-6, what=f"nll_loss(reduction={reduction!r})", expected_name="F.nll_loss's value")
    p()


@check("cross_entropy.nll_loss", "book", "the book's acts: the mean loss is 1.8045")
def nll_book(nll_loss):
    lp = F.log_softmax(book.acts(), dim=-1)
    t = torch.tensor(book.TARGETS)
    expect_close(nll_loss(lp, t, reduction="none"), torch.tensor(book.CROSS_ENTROPY_ROWS), rtol=0,
                 atol=book.TOL, what="nll_loss(log_softmax(acts), targ, reduction='none')", expected_name="the book's value")
    expect_close(nll_loss(lp, t), torch.tensor(book.CROSS_ENTROPY_MEAN), rtol=0, atol=book.TOL,
                 what="nll_loss(log_softmax(acts), targ) (default reduction)", expected_name="the book's value")


@check("cross_entropy.nll_loss", "bad input", "bad targets, shapes or reduction get a clear ValueError/TypeError")
def nll_bad_input(nll_loss):
    _common_bad_input(nll_loss, "log_probs")
    lp = F.log_softmax(torch.zeros(2, 3), dim=-1)
    expect_raises(nll_loss, (lp, torch.tensor([0, 1])), {"reduction": "avg"},
                  when="reduction='avg'", offending="reduction", value="avg")


# --- cross_entropy ---------------------------------------------------------------------------

@check("cross_entropy.cross_entropy", "property", "finite, never negative, even for confident wrong logits of 1e4")
def ce_finite(cross_entropy):
    @prop(classification(), reductions)
    def p(case, reduction):
        x, t = case
        loss = expect_tensor(cross_entropy(x, t, reduction=reduction), what=f"cross_entropy(reduction={reduction!r})",
                             dtype=x.dtype)
        require(torch.isfinite(loss).all(), f"cross_entropy(reduction={reduction!r}) is inf or nan: take "
                                            f"log_softmax, never the log of softmax")
        require((loss >= 0).all(), f"cross_entropy(reduction={reduction!r}) is negative")
    p()


@check("cross_entropy.cross_entropy", "property", "adding the same number to a row of logits changes nothing")
def ce_shift(cross_entropy):
    @prop(classification(magnitude=10.0, dtypes=(torch.float64,)), st.data())
    def p(case, data):
        x, t = case
        c = data.draw(tensors((x.shape[0], 1), torch.float64, magnitude=100.0), label="c")
        expect_close(cross_entropy(x + c, t, reduction="none"), cross_entropy(x, t, reduction="none"),
                     rtol=1e-6, atol=1e-8, what=f"cross_entropy(logits + c, reduction='none') with c = {show(c)} per row",
                     expected_name="cross_entropy(logits)'s value: the shift must change nothing")
    p()


@check("cross_entropy.cross_entropy", "oracle", "equals F.cross_entropy for every reduction")
def ce_oracle(cross_entropy):
    @prop(classification(), reductions)
    def p(case, reduction):
        x, t = case
        rtol, atol = tolerance(x, error="absolute")
        expect_close(cross_entropy(x, t, reduction=reduction), F.cross_entropy(x, t, reduction=reduction),
                     rtol=max(rtol, 1e-5), atol=atol, what=f"cross_entropy(reduction={reduction!r})",
                     expected_name="F.cross_entropy's value")
    p()


@check("cross_entropy.cross_entropy", "book", "the book's acts: 1.8045, and the loss of each row")
def ce_book(cross_entropy):
    acts, t = book.acts(), torch.tensor(book.TARGETS)
    expect_close(cross_entropy(acts, t), torch.tensor(book.CROSS_ENTROPY_MEAN), rtol=0, atol=book.TOL,
                 what="cross_entropy(acts, targ) (default reduction)", expected_name="the book's value")
    expect_close(cross_entropy(acts, t, reduction="none"), torch.tensor(book.CROSS_ENTROPY_ROWS), rtol=0,
                 atol=book.TOL, what="cross_entropy(acts, targ, reduction='none')", expected_name="the book's value")


@check("cross_entropy.cross_entropy", "bad input", "bad logits or targets get an error naming them")
def ce_bad_input(cross_entropy):
    _common_bad_input(cross_entropy, "logits")


# --- cross_entropy_grad ----------------------------------------------------------------------

@check("cross_entropy.cross_entropy_grad", "property",
       "each row sums to 0: only the target's entry is negative, all within [-1/n, 1/n]")
def grad_rows(cross_entropy_grad):
    @prop(classification())
    def p(case):
        x, t = case
        n, c = x.shape
        g = expect_tensor(cross_entropy_grad(x, t), what="cross_entropy_grad(logits, targets)", shape=x.shape,
                          dtype=x.dtype)
        require(torch.isfinite(g).all(), "cross_entropy_grad has inf or nan in it: use a stable softmax")
        sums = g.double().sum(-1)
        expect_close(sums, torch.zeros_like(sums), atol=1e-5, what="each row of the gradient, summed",
                     expected_name="it is always 0")
        others = g.clone()
        others[torch.arange(n), t] = 0
        require((g[torch.arange(n), t] <= 1e-7).all() and (others >= -1e-7).all(),
                "the gradient should be <= 0 at each row's target and >= 0 elsewhere (softmax - one_hot)")
        require((g.abs() <= 1.0 / n + 1e-6).all(), f"the gradient has values beyond 1/n = 1/{n}: divide by n, "
                                                   f"since the loss is a mean over the {n} rows")
    p()


@check("cross_entropy.cross_entropy_grad", "oracle", "equals autograd's gradient of F.cross_entropy")
def grad_oracle(cross_entropy_grad):
    @prop(classification(dtypes=(torch.float64,)))
    def p(case):
        x, t = case
        leaf = x.clone().requires_grad_(True)
        (want,) = torch.autograd.grad(F.cross_entropy(leaf, t), leaf)
        expect_close(cross_entropy_grad(x, t), want, rtol=1e-7, atol=1e-10,
                     what="cross_entropy_grad(logits, targets)", expected_name="autograd's value")
    p()


@check("cross_entropy.cross_entropy_grad", "book", "the book's acts: (softmax - one_hot) / 6")
def grad_book(cross_entropy_grad):
    acts, t = book.acts(), torch.tensor(book.TARGETS)
    g = expect_tensor(cross_entropy_grad(acts, t), what="cross_entropy_grad(acts, targ)", shape=acts.shape)
    p0 = torch.tensor(book.SOFTMAX_COL0)
    want0 = (p0 - (t == 0).float()) / len(t)
    expect_close(g[:, 0], want0, rtol=0, atol=book.TOL / len(t), what="cross_entropy_grad(acts, targ)[:, 0]",
                 expected_name="the book's value")


@check("cross_entropy.cross_entropy_grad", "bad input", "bad logits or targets get an error naming them")
def grad_bad_input(cross_entropy_grad):
    _common_bad_input(cross_entropy_grad, "logits")


# --- every exercise of the lesson: the caller's tensors are left as they were -----------------

leaves_input_unchanged("cross_entropy.nll_loss", st.tuples(classification().map(_log_probs), reductions),
                       lambda fn, case: fn(*case[0], reduction=case[1]))
leaves_input_unchanged("cross_entropy.cross_entropy", st.tuples(classification(), reductions),
                       lambda fn, case: fn(*case[0], reduction=case[1]))
leaves_input_unchanged("cross_entropy.cross_entropy_grad", classification())
