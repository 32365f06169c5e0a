"""Checks for lesson `softmax`: softmax, log_softmax, sigmoid."""
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from petkit.checks import book
from petkit.checks.core import check, forbid, show
from petkit.checks.expect import expect_close, expect_raises, expect_tensor, require, tolerance
from petkit.checks.inputs import leaves_input_unchanged
from petkit.checks.strategies import FLOAT_DTYPES, dims, logits, prop, shapes, tensors, with_empty_side

# What the lesson asks you to write yourself (resolve_name spellings). cross_entropy reuses it.
LIBRARY_SOFTMAX = [
    "torch.softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax", "torch.special.softmax",
    "torch._softmax", "torch.log_softmax", "torch.Tensor.log_softmax", "torch.nn.functional.log_softmax",
    "torch.special.log_softmax", "torch._log_softmax", "torch.logsumexp", "torch.Tensor.logsumexp",
    "torch.special.logsumexp", "torch.sigmoid", "torch.Tensor.sigmoid", "torch.special.expit",
    "torch.nn.functional.sigmoid", "torch.nn.functional.softmin", "torch.nn.functional.logsigmoid",
]
forbid(["softmax.softmax", "softmax.log_softmax", "softmax.sigmoid"], LIBRARY_SOFTMAX)

# Results are compared with torch within expect.tolerance: torch's own tolerance for the dtype,
# widened by the conditioning of the input (one machine epsilon of its largest magnitude).
ALL_FLOATS = FLOAT_DTYPES + (torch.float16, torch.bfloat16)


@st.composite
def _logits_and_dim(draw, extreme=True, dtypes=FLOAT_DTYPES):
    """(x, dim): non-contiguous tensors included, and some with a side of size 0 (not dim's)."""
    x = draw(logits(dtypes=dtypes, extreme=extreme))
    dim = draw(dims(x))
    return with_empty_side(draw, x, dim), dim


def _bad_inputs(fn, name):
    expect_raises(fn, ([0.5, 1.0],), when=f"{name} is given a Python list", offending="x", value=list)
    expect_raises(fn, (torch.tensor([[1, 2], [3, 4]]),),
                  when=f"{name} is given an integer tensor", offending="x", value=torch.int64)


# --- softmax ---------------------------------------------------------------------------------

@check("softmax.softmax", "property", "the values along dim are probabilities: in [0, 1], summing to 1")
def softmax_is_a_distribution(softmax):
    @prop(_logits_and_dim())
    def p(x_dim):
        body(x_dim)

    def body(x_dim):
        x, dim = x_dim
        y = expect_tensor(softmax(x, dim=dim), what=f"softmax(x, dim={dim})", shape=x.shape, dtype=x.dtype)
        require(torch.isfinite(y).all(), f"softmax(x, dim={dim}) has inf or nan in it: does exp overflow?")
        require(((y >= 0) & (y <= 1)).all(), f"softmax(x, dim={dim}) has values outside [0, 1]")
        expect_close(y.sum(dim), torch.ones_like(y.sum(dim)), rtol=1e-4, atol=1e-4 + tolerance(x)[1],
                     what=f"the sum of softmax(x, dim={dim}) along dim {dim}")
    _with_edges(p, body)


# Inputs the contract admits that random draws rarely reach: checked on every run, after the drawn ones.
EDGES = ((torch.tensor(3.0), 0), (torch.tensor(-1e4, dtype=torch.float64), -1), (torch.zeros(0, 3), 1),
         (torch.zeros(2, 0, 3), -1), (torch.arange(12.0).view(3, 4).T, 0), (torch.tensor([[1e4, 9990.0]]).T, 0),
         (torch.tensor([0.0, -1e4]), 0))


def _with_edges(p, body):
    """Run the property `p` on drawn inputs, then `body` on each of EDGES."""
    p()
    for x, dim in EDGES:
        body((x, dim))


def _shift_along(data, x, dim):
    """A constant per slice along `dim` (size 1 there, so it broadcasts along dim)."""
    shape = list(x.shape)
    if shape:
        shape[dim] = 1
    return data.draw(tensors(tuple(shape), x.dtype, magnitude=1e3), label="c")


@check("softmax.softmax", "property", "adding the same number to every logit along dim changes nothing")
def softmax_shift_invariant(softmax):
    @prop(_logits_and_dim(extreme=False, dtypes=(torch.float64,)), st.data())
    def p(x_dim, data):
        x, dim = x_dim
        c = _shift_along(data, x, dim)
        expect_close(softmax(x + c, dim=dim), softmax(x, dim=dim), rtol=1e-6, atol=1e-9,
                     what=f"softmax(x + c, dim={dim}) with c = {show(c)} constant along dim",
                     expected_name="softmax(x)'s value: the shift must change nothing")
    p()


@check("softmax.softmax", "oracle", "equals torch.softmax for every shape, dim and float dtype")
def softmax_oracle(softmax):
    @prop(_logits_and_dim(dtypes=ALL_FLOATS))
    def p(x_dim):
        body(x_dim)

    def body(x_dim):
        x, dim = x_dim
        rtol, atol = tolerance(x, error="relative")
        y = expect_tensor(softmax(x, dim=dim), what=f"softmax(x, dim={dim})", dtype=x.dtype)
        expect_close(y, torch.softmax(x, dim=dim), rtol=rtol, atol=atol,
                     what=f"softmax(x, dim={dim})", expected_name="torch.softmax's value")
    _with_edges(p, body)


@check("softmax.softmax", "book", "the book's six rows: softmax(acts)[:, 0]")
def softmax_book(softmax):
    acts = book.acts()
    y = expect_tensor(softmax(acts), what="softmax(acts) (default dim)", shape=acts.shape)
    expect_close(y[:, 0], torch.tensor(book.SOFTMAX_COL0), rtol=0, atol=book.TOL,
                 what="softmax(acts)[:, 0]", expected_name="the book's value")


@check("softmax.softmax", "bad input", "non-float input is a TypeError, a dim out of range a ValueError")
def softmax_bad_input(softmax):
    _bad_inputs(softmax, "softmax")
    expect_raises(softmax, (torch.zeros(2, 3),), {"dim": 2},
                  when="dim=2 for a tensor with 2 dims", offending="dim", value=2)


# --- log_softmax -----------------------------------------------------------------------------

@check("softmax.log_softmax", "property", "finite, at most 0, and its exp sums to 1, even for logits of 1e4")
def log_softmax_is_log_distribution(log_softmax):
    @prop(_logits_and_dim())
    def p(x_dim):
        body(x_dim)

    def body(x_dim):
        x, dim = x_dim
        y = expect_tensor(log_softmax(x, dim=dim), what=f"log_softmax(x, dim={dim})", shape=x.shape,
                          dtype=x.dtype)
        require(torch.isfinite(y).all(), f"log_softmax(x, dim={dim}) has inf or nan in it, but every "
                                         f"true value is finite: use the log-sum-exp trick")
        require((y <= 1e-6).all(), f"log_softmax(x, dim={dim}) has values above 0 (log of a probability > 1)")
        s = y.double().exp().sum(dim)
        expect_close(s, torch.ones_like(s), rtol=1e-4, atol=1e-4 + tolerance(x)[1],
                     what=f"exp(log_softmax(x)) summed along {dim}")
    _with_edges(p, body)


@check("softmax.log_softmax", "property", "adding the same number to every logit along dim changes nothing")
def log_softmax_shift_invariant(log_softmax):
    @prop(_logits_and_dim(extreme=False, dtypes=(torch.float64,)), st.data())
    def p(x_dim, data):
        x, dim = x_dim
        c = _shift_along(data, x, dim)
        expect_close(log_softmax(x + c, dim=dim), log_softmax(x, dim=dim), rtol=1e-6, atol=1e-8,
                     what=f"log_softmax(x + c, dim={dim}) with c = {show(c)} constant along dim",
                     expected_name="log_softmax(x)'s value: the shift must change nothing")
    p()


@check("softmax.log_softmax", "oracle", "equals F.log_softmax for every shape, dim and float dtype")
def log_softmax_oracle(log_softmax):
    @prop(_logits_and_dim(dtypes=ALL_FLOATS))
    def p(x_dim):
        body(x_dim)

    def body(x_dim):
        x, dim = x_dim
        rtol, atol = tolerance(x, error="absolute")
        y = expect_tensor(log_softmax(x, dim=dim), what=f"log_softmax(x, dim={dim})", dtype=x.dtype)
        expect_close(y, F.log_softmax(x, dim=dim), rtol=rtol, atol=atol,
                     what=f"log_softmax(x, dim={dim})", expected_name="F.log_softmax's value")
    _with_edges(p, body)


@check("softmax.log_softmax", "book", "log_softmax([0, -1e4]) is [0, -1e4], and the book's acts")
def log_softmax_book(log_softmax):
    x = torch.tensor([0.0, -1e4])
    expect_close(log_softmax(x), x.clone(), rtol=1e-6, atol=1e-3, what="log_softmax([0, -1e4])",
                 expected_name="the exact value")
    acts = book.acts()
    y = expect_tensor(log_softmax(acts), what="log_softmax(acts) (default dim)", shape=acts.shape)
    expect_close(y[:, 0].exp(), torch.tensor(book.SOFTMAX_COL0), rtol=0, atol=book.TOL,
                 what="exp(log_softmax(acts))[:, 0]", expected_name="the book's value")


@check("softmax.log_softmax", "bad input", "non-float input is a TypeError, a dim out of range a ValueError")
def log_softmax_bad_input(log_softmax):
    _bad_inputs(log_softmax, "log_softmax")
    expect_raises(log_softmax, (torch.zeros(4),), {"dim": -2},
                  when="dim=-2 for a tensor with 1 dim", offending="dim", value=-2)


# --- sigmoid ---------------------------------------------------------------------------------

@check("softmax.sigmoid", "property", "increasing, in [0, 1], and sigmoid(-x) = 1 - sigmoid(x)")
def sigmoid_shape(sigmoid):
    @prop(tensors(shapes(1, 2), st.sampled_from(FLOAT_DTYPES), magnitude=30.0))
    def p(x):
        y = expect_tensor(sigmoid(x), what="sigmoid(x)", shape=x.shape, dtype=x.dtype)
        require(((y >= 0) & (y <= 1)).all(), "sigmoid(x) has values outside [0, 1]")
        expect_close(sigmoid(-x) + y, torch.ones_like(y), rtol=1e-5, atol=1e-5,
                     what="sigmoid(-x) + sigmoid(x)", expected_name="it is always 1")
        flat, order = x.flatten(), x.flatten().argsort()
        ys = sigmoid(flat[order])
        require((ys[1:] >= ys[:-1] - 1e-7).all(), "sigmoid is not increasing: a larger x gave a smaller value")
    p()


@check("softmax.sigmoid", "property", "no inf or nan for inputs as large as 1e4 of either sign")
def sigmoid_stable(sigmoid):
    @prop(tensors(shapes(1, 2), st.sampled_from(FLOAT_DTYPES), magnitude=1e4))
    def p(x):
        y = expect_tensor(sigmoid(x), what="sigmoid(x)", shape=x.shape, dtype=x.dtype)
        expect_close(y, torch.sigmoid(x), rtol=1e-5, atol=1e-7, what="sigmoid(x)", expected_name="the true value")
    p()


@check("softmax.sigmoid", "oracle", "equals torch.sigmoid, and softmax over [x, 0] (its first entry)")
def sigmoid_oracle(sigmoid):
    @prop(tensors(shapes(1, 3), st.sampled_from(FLOAT_DTYPES), magnitude=20.0))
    def p(x):
        y = expect_tensor(sigmoid(x), what="sigmoid(x)", dtype=x.dtype)
        expect_close(y, torch.sigmoid(x), rtol=1e-5, atol=1e-7, what="sigmoid(x)", expected_name="torch.sigmoid's value")
        pair = torch.softmax(torch.stack([x, torch.zeros_like(x)], dim=-1), dim=-1)[..., 0]
        expect_close(y, pair, rtol=1e-5, atol=1e-6, what="sigmoid(x)", expected_name="softmax([x, 0])[0], as the book says")
    p()


@check("softmax.sigmoid", "book", "sigmoid(acts[:, 0] - acts[:, 1]) is the book's softmax column")
def sigmoid_book(sigmoid):
    acts = book.acts()
    expect_close(sigmoid(acts[:, 0] - acts[:, 1]), torch.tensor(book.SOFTMAX_COL0), rtol=0, atol=book.TOL,
                 what="sigmoid(acts[:, 0] - acts[:, 1])", expected_name="the book's value")


@check("softmax.sigmoid", "bad input", "non-float input is a TypeError")
def sigmoid_bad_input(sigmoid):
    _bad_inputs(sigmoid, "sigmoid")


# --- every exercise of the lesson: the caller's tensor is left as it was -----------------------

leaves_input_unchanged("softmax.softmax", _logits_and_dim(), lambda fn, case: fn(case[0], dim=case[1]))
leaves_input_unchanged("softmax.log_softmax", _logits_and_dim(), lambda fn, case: fn(case[0], dim=case[1]))
leaves_input_unchanged("softmax.sigmoid", tensors(shapes(1, 2), st.sampled_from(FLOAT_DTYPES), magnitude=1e4),
                       lambda fn, x: fn(x))
