"""Run checks against an implementation package and tell each outcome in plain words."""
from __future__ import annotations

import importlib
import sys
import traceback
from dataclasses import asdict, dataclass
from typing import Callable

from petkit import ROOT
from petkit.checks.core import (Check, CheckFailure, Guarded, LearnerRaised, NotOwnWork, NotStarted,
                                forbidden_for, where_raised)
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

    def to_dict(self) -> dict:
        return asdict(self)


class ImplProblem(Exception):
    """The implementation cannot be loaded at all (missing package, syntax error, missing function)."""


def import_impl(impl: str, lesson: str):
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

    def outcome(status: str, message: str = "") -> Outcome:
        return Outcome(chk.exercise, chk.kind, chk.title, status, message)

    try:
        with with_reporter(lambda *_: None):
            chk.run(guarded)
    except NotStarted as e:
        if e.exercise == chk.exercise:
            return outcome(NOT_STARTED, f"{chk.exercise} is not written yet")
        return outcome(NOT_STARTED, f"{chk.exercise} uses {e.exercise}, which is not written yet: "
                                    f"do that one first")
    except NotOwnWork as e:
        return outcome(FAIL, f"{NOT_OWN}: {e}")
    except CheckFailure as e:
        call = guarded.last_call()
        return outcome(FAIL, f"{e}" + (f"\n  the call that shows it: {call}" if call else ""))
    except LearnerRaised as e:
        exc = e.original
        where = where_raised(exc)
        call = guarded.last_call().split(" raised ")[0]
        return outcome(FAIL, f"{name} raised {type(exc).__name__}: {exc}"
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
