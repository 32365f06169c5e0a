"""Run checks against an implementation package and tell each outcome in plain words."""
from __future__ import annotations

import importlib
import sys
import traceback
from dataclasses import asdict, dataclass
from typing import Callable

from petkit import ROOT, gcfreeze
from petkit.checks.core import (Check, CheckFailure, Guarded, LearnerRaised, NotOwnWork, NotStarted,
                                checks_for, forbidden_for, where_raised)
from petkit.checks.blame import relative
from petkit.registry import Exercise

PASS, FAIL, NOT_STARTED, ERROR = "pass", "fail", "not started", "error"
NOT_OWN = "not your own implementation"  # how a failure for calling the library's shortcut starts


@dataclass
class Outcome:
    exercise: str
    kind: str
    title: str
    status: str
    message: str = ""
    blame: str = ""      # another exercise the problem lies in (its stub, or its wrong answer), if any

    def to_dict(self) -> dict:
        return asdict(self)


class ImplProblem(Exception):
    """The implementation cannot be loaded at all (missing package, syntax error, missing function)."""


def import_impl(impl: str, lesson: str):
    from petkit.impls import impl_problem
    if impl_problem(impl):
        raise ImplProblem(impl_problem(impl))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        importlib.import_module(impl)
    except ModuleNotFoundError as e:
        if e.name and impl.split(".")[0] == e.name.split(".")[0]:
            raise ImplProblem(f"there is no importable package {impl!r}. --impl (or PETKIT_IMPL) takes a "
                              f"package with the same modules as solutions/, such as 'exercises' or "
                              f"'solutions'; run from the checkout or put the package on PYTHONPATH.") from None
        raise
    try:
        return importlib.import_module(f"{impl}.{lesson}")
    except ModuleNotFoundError as e:
        if e.name == f"{impl}.{lesson}":
            raise ImplProblem(f"package {impl!r} has no module {lesson!r} ({impl}/{lesson}.py is missing).") from None
        raise ImplProblem(_import_failure(impl, lesson, e)) from None
    except SyntaxError as e:
        raise ImplProblem(f"{e.filename}, line {e.lineno} is not valid Python: {e.msg}. "
                          f"Fix it so the file runs: `python {e.filename}`.") from None
    except Exception as e:  # noqa: BLE001 - anything the learner's module raises on import
        raise ImplProblem(_import_failure(impl, lesson, e)) from None


def _import_failure(impl: str, lesson: str, e: BaseException) -> str:
    where = where_raised(e)
    return (f"importing {impl}.{lesson} raised {type(e).__name__}: {e}"
            + (f" (at {where})" if where else "") + ". Fix it so the module imports.")


def load_function(impl: str, exercise: Exercise) -> Callable:
    module = import_impl(impl, exercise.lesson)
    fn = getattr(module, exercise.name, None)
    if not callable(fn):
        raise ImplProblem(f"{getattr(module, '__file__', module.__name__)} has no function "
                          f"{exercise.name}(); keep the name and signature the exercise gives.")
    return fn


def run_check(chk: Check, fn: Callable) -> Outcome:
    from hypothesis.errors import Flaky
    from hypothesis.reporting import with_reporter

    guarded = Guarded(chk.exercise, fn, forbidden_for(chk.exercise))
    name = chk.exercise.rpartition(".")[2]

    def outcome(status: str, message: str = "", blame: str = "") -> Outcome:
        return Outcome(chk.exercise, chk.kind, chk.title, status, message, blame)

    def failed(message: str) -> Outcome:
        message += _index_note(guarded)
        other = _blame(chk, fn)
        if other is None:
            return outcome(FAIL, message)
        ex, path = other
        return outcome(FAIL, f"{message}\n  The problem is in {ex.id} ({path}), which {name} calls: with the "
                             f"reference {ex.name} in its place this check passes. Fix {ex.id} first "
                             f"(`petkit check {ex.id}`).", blame=ex.id)

    try:
        with with_reporter(lambda *_: None), gcfreeze.while_running():
            chk.run(guarded)
    except NotStarted as e:
        if e.exercise == chk.exercise:
            return outcome(NOT_STARTED, f"{chk.exercise} is not written yet")
        where = f" (in {relative(e.where)})" if e.where else ""
        return outcome(NOT_STARTED, f"{chk.exercise} uses {e.exercise}, which is not written yet{where}: "
                                    f"write that one first (`petkit check {e.exercise}`)", blame=e.exercise)
    except NotOwnWork as e:
        return outcome(FAIL, f"{NOT_OWN}: {e}")
    except CheckFailure as e:
        call = guarded.last_call()
        return failed(f"{e}" + (f"\n  the call that shows it: {call}" if call else ""))
    except LearnerRaised as e:
        exc = e.original
        where = where_raised(exc)
        call = guarded.last_call().split(" raised ")[0]
        return failed(f"{name} raised {type(exc).__name__}: {exc}"
                      + (f"\n  at {where}" if where else "")
                      + (f"\n  the call that shows it: {call}" if call else ""))
    except Flaky:
        return outcome(FAIL, f"{name} gave different results for the same input; it should depend "
                             f"only on its arguments (no randomness, no state kept between calls)")
    except RecursionError:
        return outcome(FAIL, f"{name} recursed without end")
    except Exception as e:  # noqa: BLE001 - a bug in the check itself: say so, never hide it
        tb = "".join(traceback.format_exception(e)[-3:]).strip()
        return outcome(ERROR, f"the check itself crashed (a petkit bug, please report it): {tb}")
    return outcome(PASS)


def _blame(chk: Check, fn: Callable):
    """(the other exercise, its file) when the failure of `chk` lies in another exercise's function."""
    from hypothesis.reporting import with_reporter
    from petkit.checks.blame import failing_dependency
    from petkit.checks.strategies import examples

    def passes() -> bool:
        try:
            with with_reporter(lambda *_: None), examples(shrink=False):
                chk.run(Guarded(chk.exercise, fn, forbidden_for(chk.exercise)))
        except BaseException:  # noqa: BLE001 - any failure means: not this one
            return False
        return True
    try:
        return failing_dependency(chk.exercise, fn, passes)
    except Exception:  # noqa: BLE001 - the diagnosis is a help: it never hides the failure itself
        return None


def _index_note(guarded: Guarded) -> str:
    """uint8 class indices trip two of torch's rules, neither of which says so: used as an index a
    uint8 tensor is a mask, not indices, and arithmetic on it wraps around past 255 (a flat index
    `targets * n_classes + preds`). Say both when the call that showed the failure was given one."""
    import torch
    last = guarded.calls[-1] if guarded.calls else None
    given = [*last.args, *last.kwargs.values()] if last else []
    if any(isinstance(a, torch.Tensor) and a.dtype == torch.uint8 for a in given):
        return ("\n  note: a uint8 tensor was given. Used as an index, torch reads a uint8 (or bool) tensor as a "
                "mask (one True/False per row), not as class indices; and arithmetic on uint8 wraps around past "
                "255 (in uint8, 7 * 37 is 3). Turn class indices into int64 with .long() before you index or "
                "compute with them")
    return ""


def run_exercise(exercise: Exercise, impl: str) -> list[Outcome]:
    checks = checks_for(exercise.id)
    try:
        fn = load_function(impl, exercise)
    except ImplProblem as e:
        return [Outcome(exercise.id, c.kind, c.title, ERROR, str(e)) for c in checks]
    return [run_check(c, fn) for c in checks]


def summarize(outcomes: list[Outcome]) -> str:
    """One status for an exercise from its checks' outcomes."""
    statuses = {o.status for o in outcomes}
    if not outcomes:
        return ERROR
    if statuses == {PASS}:
        return "done"
    if ERROR in statuses:
        return ERROR
    if statuses == {NOT_STARTED}:
        return NOT_STARTED
    return "failing"
