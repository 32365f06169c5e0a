"""Assertions for checks, each failing with a sentence a learner can act on."""
from __future__ import annotations

from typing import Callable

import torch

from petkit.checks.core import CheckFailure, LearnerRaised, show

# Taken at import, before any learner code runs, so an answer cannot patch what the checks use.
_isclose, _isfinite, _isnan = torch.isclose, torch.isfinite, torch.isnan


def require(condition, message: str) -> None:
    if not bool(condition):
        raise CheckFailure(message)


def expect_tensor(value, *, what: str, shape=None, dtype=None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise CheckFailure(f"{what} should be a torch.Tensor, but it is {type(value).__name__}: {show(value)}")
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
        raise CheckFailure(f"{what} has nan at index {idx}, but it should be {w[idx].item():.6g} ({expected_name})")
    bad_inf = ~_isfinite(g) & _isfinite(w)
    if bad_inf.any():
        idx = _first(bad_inf)
        raise CheckFailure(f"{what} is {g[idx].item()} at index {idx}, but it should be the finite "
                           f"{w[idx].item():.6g} ({expected_name}): an overflow?")
    ok = _isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        err = (g - w).abs().nan_to_num(float("inf")).masked_fill(ok, 0)
        idx = _first(err == err.max())
        raise CheckFailure(f"{what} is {g[idx].item():.6g} at index {idx}, but it should be "
                           f"{w[idx].item():.6g} ({expected_name}; off by {abs(g[idx].item() - w[idx].item()):.3g}, "
                           f"{int((~ok).sum())} of {ok.numel()} values differ)")


def _first(mask: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(i) for i in mask.nonzero()[0]) if mask.ndim else ()


def expect_raises(fn: Callable, args: tuple, kwargs: dict | None = None, *,
                  errors: tuple[type[BaseException], ...], when: str,
                  mentions: tuple[str, ...] = ()) -> None:
    """Calling fn(*args, **kwargs) raises one of `errors`, with a message naming the problem."""
    kwargs = kwargs or {}
    wanted = " or ".join(e.__name__ for e in errors)
    try:
        result = fn(*args, **kwargs)
    except LearnerRaised as raised:
        exc = raised.original
        if not isinstance(exc, errors):
            raise CheckFailure(f"when {when}, it should raise a {wanted} that says so, but it raised "
                               f"{type(exc).__name__}: {exc}") from None
        if mentions and not any(m.lower() in str(exc).lower() for m in mentions):
            raise CheckFailure(f"when {when}, it raises {type(exc).__name__} as it should, but the message "
                               f"{str(exc)!r} does not say what was wrong (mention "
                               f"{' or '.join(repr(m) for m in mentions)})") from None
        return
    raise CheckFailure(f"when {when}, it should raise a {wanted}, but it returned {show(result)}")
