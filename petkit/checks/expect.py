"""Assertions for checks, each failing with a sentence a learner can act on."""
from __future__ import annotations

from typing import Callable

import torch

from petkit.checks.core import CheckFailure, LearnerRaised, show

# Taken at import, before any learner code runs, so an answer cannot patch what the checks use.
_isclose, _isfinite, _isnan = torch.isclose, torch.isfinite, torch.isnan


# torch.testing.assert_close's defaults: the tolerance torch holds its own kernels to, per dtype.
TORCH_TOLERANCE = {torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5),
                   torch.float32: (1.3e-6, 1e-5), torch.float64: (1e-7, 1e-7)}


def tolerance(x: torch.Tensor, dtype: torch.dtype | None = None, *, error: str = "absolute") -> tuple[float, float]:
    """(rtol, atol) for a result computed from `x` in `dtype` (default: x's): torch's own tolerance
    for the dtype, widened by the conditioning of the input. Any right formulation of a softmax,
    log-softmax or cross-entropy rounds a sum as large as the largest |x| a time or two, so it may
    be off by one machine epsilon of max|x| (a max-shifted logsumexp in float32 at |x| ~ 1e4 is 2e-4
    off): an absolute error for results on the scale of x (log_softmax, cross_entropy), a relative
    one for results that are exp of them (softmax). Every wrong answer of the corpus is off by far more."""
    dtype = dtype or x.dtype
    rtol, atol = TORCH_TOLERANCE.get(dtype, TORCH_TOLERANCE[torch.float32])
    finite = x.detach()[_isfinite(x.detach())] if x.numel() else x.detach()
    scale = float(finite.abs().max().double()) if finite.numel() else 0.0
    slack = torch.finfo(dtype).eps * scale
    return (rtol + slack, atol) if error == "relative" else (rtol, atol + slack)


def require(condition, message: str) -> None:
    if not bool(condition):
        raise CheckFailure(message)


def expect_tensor(value, *, what: str, shape=None, dtype=None) -> torch.Tensor:
    if type(value).__module__ == "numpy":
        raise CheckFailure(f"{what} returned a numpy.{type(value).__name__}, not a torch.Tensor: stay with "
                           f"tensor operations (or turn it back with torch.from_numpy)")
    if not isinstance(value, torch.Tensor):
        raise CheckFailure(f"{what} should be a torch.Tensor, but it is {type(value).__name__}: {show(value)}")
    if value.device.type == "meta":
        raise CheckFailure(f"{what} is a tensor on the meta device (a shape without values): compute it on "
                           f"the input's device")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise CheckFailure(f"{what} should have shape {tuple(shape)}, but it has shape {tuple(value.shape)}")
    if dtype is not None and value.dtype != dtype:
        raise CheckFailure(f"{what} should keep the input's dtype {dtype}, but it is {value.dtype}")
    return value


def expect_close(got, want: torch.Tensor, *, what: str, rtol: float = 1e-5, atol: float = 1e-6,
                 expected_name: str = "the expected value") -> None:
    """`got` equals `want` up to tolerance (same shape, NaN only where want is NaN)."""
    got = expect_tensor(got, what=what, shape=want.shape)
    g, w = got.detach().to(torch.float64), want.detach().to(torch.float64)
    bad_nan = _isnan(g) & ~_isnan(w)
    if bad_nan.any():
        idx = _first(bad_nan)
        raise CheckFailure(f"{what} has nan at index {idx}, but it should be {w[idx].item():.6g} ({expected_name}): "
                           f"nan comes from the log of a negative number, 0/0, inf/inf or inf - inf")
    bad_inf = ~_isfinite(g) & _isfinite(w)
    if bad_inf.any():
        idx = _first(bad_inf)
        value = g[idx].item()
        raise CheckFailure(f"{what} is {value} at index {idx}, but it should be the finite "
                           f"{w[idx].item():.6g} ({expected_name}): {_why_infinite(value)}")
    ok = _isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        err = (g - w).abs().nan_to_num(float("inf")).masked_fill(ok, 0)
        idx = _first(err == err.max())
        raise CheckFailure(f"{what} is {g[idx].item():.6g} at index {idx}, but it should be "
                           f"{w[idx].item():.6g} ({expected_name}; off by {abs(g[idx].item() - w[idx].item()):.3g}, "
                           f"{int((~ok).sum())} of {ok.numel()} values differ)")


def _why_infinite(value: float) -> str:
    """Where an inf comes from, whatever its sign (a minus in front turns one into the other)."""
    return ("an inf comes from the log of 0 (of a value that rounded to 0, or of one that is already a log) "
            "or from an exp too large for the dtype")


def _first(mask: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(i) for i in mask.nonzero()[0]) if mask.ndim else ()


BAD_INPUT_ERRORS = (ValueError, TypeError)
_DTYPE_WORDS = {"int64": ("long",), "float32": ("float",), "float64": ("double",), "int32": ("int",)}
_NOTHING = object()


def says_what_was_wrong(message: str, offending: str | tuple[str, ...], value=_NOTHING) -> bool:
    """The one rule for every lesson's bad-input messages: the message names the offending argument
    (by its parameter name, as a word: `targets`, `dim`, `log_probs`) or shows the offending value (the
    number, string, dtype or type that was wrong: `4`, `'avg'`, `int64`, `list`). The wording around
    it is the learner's own: "2 preds but 3 targets" and "targets must be in [0, 4)" both say it."""
    import re
    names = (offending,) if isinstance(offending, str) else tuple(offending)
    words = [re.escape(n) for n in names]
    if value is not _NOTHING:
        if isinstance(value, torch.dtype):
            short = str(value).replace("torch.", "")
            words += [re.escape(w) for w in (short, *_DTYPE_WORDS.get(short, ()))]
        elif isinstance(value, type):
            words.append(re.escape(value.__name__))
        elif isinstance(value, float) and value != value:
            words.append("nan")
        else:
            words.append(re.escape(str(value)))
    numeric = {re.escape(str(value))} if isinstance(value, (int, float)) else set()  # 1.5 is not in 11.5
    return any(re.search(rf"(?<![\w{'.' if w in numeric else ''}]){w}(?![\w])", message, re.IGNORECASE)
               for w in words)


def expect_raises(fn: Callable, args: tuple, kwargs: dict | None = None, *, when: str,
                  offending: str | tuple[str, ...], value=_NOTHING,
                  errors: tuple[type[BaseException], ...] = BAD_INPUT_ERRORS) -> None:
    """Calling fn(*args, **kwargs) with bad input raises a ValueError or TypeError (the contract's rule,
    the same in every lesson; `errors` adds others only where the input is not the problem, such as a
    missing folder) whose message says what was wrong by the rule of `says_what_was_wrong`."""
    kwargs = kwargs or {}
    wanted = " or ".join(e.__name__ for e in errors)
    try:
        result = fn(*args, **kwargs)
    except LearnerRaised as raised:
        exc = raised.original
        if not isinstance(exc, errors):
            raise CheckFailure(f"when {when}, it should raise a {wanted} that says so, but it raised "
                               f"{type(exc).__name__}: {exc}") from None
        if not says_what_was_wrong(str(exc), offending, value):
            names = (offending,) if isinstance(offending, str) else offending
            shown = ("" if value is _NOTHING else
                     f", or show the value {value.__name__ if isinstance(value, type) else show(value)}")
            raise CheckFailure(f"when {when}, it raises {type(exc).__name__} as it should, but the message "
                               f"{str(exc)!r} does not say what was wrong: name the argument "
                               f"{' or '.join(names)}{shown}") from None
        return
    raise CheckFailure(f"when {when}, it should raise a {wanted}, but it returned {show(result)}")
