"""Copies of the learner's tensor arguments taken before each call, and the caller's tensors put back
after it (the machinery under the property "leaves its input unchanged", petkit.checks.inputs).
It imports nothing of the checks, so the machinery in core.py can use it."""
from __future__ import annotations

import inspect
from typing import Any, Callable

import torch


def given_as(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Copies of the tensor arguments (other arguments as they are), taken before the call."""
    return tuple(_copy(a) for a in args), {k: _copy(v) for k, v in kwargs.items()}


def _copy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        with torch.no_grad():
            return value.detach().clone()
    return value


def _same(now: torch.Tensor, before: torch.Tensor) -> bool:
    if now.shape != before.shape or now.dtype != before.dtype:
        return False
    if now.device.type == "meta":
        return True  # a meta tensor has no values to change
    with torch.no_grad():
        a, b = now.detach(), before.detach()
        if a.is_floating_point() or a.is_complex():
            return bool(((a == b) | (a.isnan() & b.isnan())).all())
        return bool(torch.equal(a, b))


def _storage(t: torch.Tensor):
    try:
        return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return None


def restore_inputs(fn: Callable, args: tuple, kwargs: dict, call) -> tuple[Any, tuple[str, ...]]:
    """Put every tensor argument the call changed back as it was given; return the result (copied
    when it is one of the changed arguments, so putting the argument back leaves the result alone)
    and the names of the changed arguments."""
    names = _parameter_names(fn, args, kwargs)
    given = list(zip(names, args, call.args)) + [(k, kwargs[k], call.kwargs[k]) for k in kwargs]
    changed = [(name, now, before) for name, now, before in given
               if isinstance(now, torch.Tensor) and not _same(now, before)]
    result = call.result
    if not changed:
        return result, ()
    if isinstance(result, torch.Tensor) and _storage(result) in {_storage(now) for _, now, _ in changed}:
        with torch.no_grad():
            result = result.clone()
    for _, now, before in changed:
        try:
            with torch.no_grad():
                if now.shape != before.shape:
                    now.resize_(before.shape)
                now.copy_(before)
        except (RuntimeError, TypeError):
            pass  # a view that cannot be put back: the copy in `call.args` still shows it as given
    return result, tuple(name for name, _, _ in changed)


def _parameter_names(fn: Callable, args: tuple, kwargs: dict) -> list[str]:
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"argument {i + 1}" for i in range(len(args))]
