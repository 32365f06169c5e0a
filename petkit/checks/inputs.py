"""The learner's arguments as given: copies taken before each call, put back after it, and the
property every exercise that takes tensors shares, "leaves its input unchanged".

An answer that changes its input in place (`x -= x.max(dim, keepdim=True).values`, `x.clamp_(...)`)
surprises its caller: the activations a training loop goes on with are not the ones it had. The
checks must not be fooled by it either: an oracle computed after the call would see the changed
tensor, and a failure message would describe the argument after the call, not as it was given.
So `Guarded` records a copy of every tensor argument before the call (`given_as`), and afterwards
puts the caller's tensors back as they were (`restore_inputs`), noting which ones the answer changed.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import torch

from petkit.checks.core import check, show
from petkit.checks.expect import require


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


UNCHANGED_TITLE = "leaves its input unchanged (the caller's tensors are the same after the call)"


def leaves_input_unchanged(exercise: str, cases, call: Callable = lambda fn, case: fn(*case), cost: int = 1):
    """Declare the property "leaves its input unchanged" for `exercise`: on each input drawn from
    `cases` (a strategy), `call(fn, case)` must not change any tensor it was given."""
    from petkit.checks.strategies import prop
    name = exercise.rpartition(".")[2]

    def run(fn):
        @prop(cases, cost=cost)
        def p(case):
            call(fn, case)
            last = fn.calls[-1]
            require(not last.changed,
                    f"{name} changed its argument {', '.join(last.changed)} in place: after "
                    f"{name}({', '.join(show(a, 60) for a in last.args)}) the caller's tensor is not what it "
                    f"passed. Compute on a new tensor (x = x - m, not x -= m; clamp, not clamp_).")
        p()

    run.__name__ = f"{name}_leaves_input_unchanged"
    check(exercise, "property", UNCHANGED_TITLE)(run)
    return run
