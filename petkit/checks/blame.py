"""Which exercise a failure lies in: the one checked, or another exercise's function it calls.

`cross_entropy` written as `nll_loss(log_softmax(logits), targets)` is right even when the
learner's `log_softmax` is not: the checks of `cross_entropy` then fail for a reason that lives in
exercises/softmax.py. When a check fails, each other exercise whose function the answer holds (by
a name in its module, `from .softmax import log_softmax`, or through a module it imported) is put
to the test: the check runs again with the reference answer in that function's place. If it passes
then, the problem is that other exercise, and the message says so and names its file.
"""
from __future__ import annotations

import importlib
import os
import sys
import types
from typing import Callable

from petkit.registry import Exercise, exercises

REFERENCE = "solutions"  # the package of reference answers (absent from a student's copy: no blame then)


def relative(path: str) -> str:
    """A file as the learner would type it (relative to the current folder when inside it)."""
    if not path:
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def used_exercises(exercise_id: str, fn: Callable) -> list[tuple[Exercise, types.FunctionType]]:
    """The other exercises whose functions `fn` can reach through its module's names, in chapter order."""
    fn = getattr(fn, "__wrapped__", fn)
    names = getattr(fn, "__globals__", {})
    lessons = {ex.lesson for ex in exercises()}
    reachable = [v for v in names.values() if isinstance(v, types.FunctionType)]
    for v in names.values():
        if isinstance(v, types.ModuleType) and v.__name__.rpartition(".")[2] in lessons:
            reachable += [f for f in vars(v).values() if isinstance(f, types.FunctionType)]
    found = []
    for ex in exercises():
        match = next((f for f in reachable if f.__name__ == ex.name
                      and f.__module__.rpartition(".")[2] in (ex.lesson, "__main__")), None)
        if ex.id != exercise_id and match is not None and match is not fn:
            found.append((ex, match))
    return found


def reference_of(ex: Exercise) -> Callable | None:
    module = f"{REFERENCE}.{ex.lesson}"
    try:
        ref = importlib.import_module(module) if module not in sys.modules else sys.modules[module]
    except Exception:  # noqa: BLE001 - no reference answers here: no blame to give
        return None
    return getattr(ref, ex.name, None)


def failing_dependency(exercise_id: str, fn: Callable, passes_with: Callable[[], bool]) -> tuple[Exercise, str] | None:
    """The first other exercise whose function, swapped for the reference answer, makes the failing
    check pass (`passes_with()` reruns it): that exercise and its file; None when there is none."""
    from petkit.checks.core import calling_instead
    for ex, used in used_exercises(exercise_id, fn):
        ref = reference_of(ex)
        if ref is None or ref is used or getattr(ref, "__code__", None) is used.__code__:
            continue
        with calling_instead(used, ref):
            ok = passes_with()
        if ok:
            return ex, relative(used.__code__.co_filename)
    return None
