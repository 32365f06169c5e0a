"""The check machinery: how a check is declared, how the learner's function is called, how an
outcome is told in plain words.

A *check* is a function of the learner's function. It calls it (through a `Guarded` wrapper that
records each call, spots unfinished stubs and library shortcuts) and raises `CheckFailure` with a
sentence a learner can act on when a property does not hold. Every check is declared once here
and bound to an implementation by pytest, by `petkit check` and by the notebooks alike.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import linecache
import math
import types
import traceback
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

KINDS = ("property", "oracle", "book", "bad input")
STUB_MARK = "petkit hint"  # every generated stub's NotImplementedError names `petkit hint <id>`


class CheckFailure(AssertionError):
    """A property of the learner's function does not hold; the message says which, in plain words."""


class Abort(BaseException):
    """Stops a check at once: Hypothesis shrinks an Exception, but lets a BaseException through,
    and there is nothing to shrink when the answer is a stub or calls the library."""


class NotStarted(Abort):
    """The function (or one it relies on) is still the generated stub; `where` is the stub's file."""

    def __init__(self, exercise: str, message: str, where: str = ""):
        super().__init__(message)
        self.exercise, self.where = exercise, where


class NotOwnWork(Abort):
    """The answer called the library's own version of what the exercise asks to write."""


class LearnerRaised(Exception):
    """The learner's function raised; `original` is what it raised."""

    def __init__(self, original: BaseException):
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


@dataclass(frozen=True)
class Check:
    exercise: str
    kind: str
    title: str
    run: Callable[[Callable], None] = field(compare=False, repr=False)

    @property
    def key(self) -> str:
        """The check's function name, e.g. `softmax_oracle`: how the wrong-answer corpus names it."""
        return self.run.__name__

    @property
    def id(self) -> str:
        return f"{self.exercise}: {self.kind}: {self.title}"


_CHECKS: dict[str, list[Check]] = {}
_FORBIDDEN: dict[str, frozenset[str]] = {}


def check(exercise: str, kind: str, title: str):
    """Declare a check of `exercise` (decorator)."""
    if kind not in KINDS:
        raise ValueError(f"unknown check kind {kind!r}; use one of {KINDS}")

    def deco(fn: Callable[[Callable], None]) -> Callable[[Callable], None]:
        _CHECKS.setdefault(exercise, []).append(Check(exercise, kind, title, fn))
        return fn
    return deco


MATHS_BY_HAND = ("Write it with elementary tensor operations (exp, log, max, sum, indexing, ...); "
                 "the checks use the library only to compare.")
_WHY: dict[str, str] = {}


def forbid(exercises: list[str], names: list[str], why: str = MATHS_BY_HAND) -> None:
    """Library functions an answer must not call (see `_call_watching` for how names are spelled);
    `why` tells the learner what to do instead."""
    for e in exercises:
        _FORBIDDEN[e] = _FORBIDDEN.get(e, frozenset()) | frozenset(names)
        _WHY[e] = why


def _load_lesson_checks(lesson: str) -> None:
    importlib.import_module(f"petkit.checks.{lesson}")


def checks_for(exercise_id: str) -> list[Check]:
    _load_lesson_checks(exercise_id.partition(".")[0])
    return list(_CHECKS.get(exercise_id, []))


def forbidden_for(exercise_id: str) -> frozenset[str]:
    _load_lesson_checks(exercise_id.partition(".")[0])
    return _FORBIDDEN.get(exercise_id, frozenset())


# --- calling the learner's function --------------------------------------------------------

@dataclass
class Call:
    args: tuple                      # the arguments as given (copies taken before the call)
    kwargs: dict
    result: Any = None
    raised: BaseException | None = None
    changed: tuple[str, ...] = ()    # the arguments the function changed in place ("x", "targets")


# The allocation error of each learner function that ran out of memory, for every check of this
# process: such an answer is not run again by any check, hidden run or known-mistake probe. Run again,
# it would fill the memory again on every example Hypothesis tries (a fraction of a second each at the
# grader's cap, many seconds per test cell under load: past the cell's time limit), and its verdict
# stays the same. A redefined function is a new object: it is run afresh.
_EXHAUSTED: "weakref.WeakKeyDictionary[Callable, BaseException]" = weakref.WeakKeyDictionary()


ANSWER_ATTR = "__petkit_answer__"  # set on petkit's own wrappers of a learner function: the function inside


def _answer(fn: Callable) -> Callable:
    """The learner's own function under the wrappers petkit puts around it. Only petkit's mark is
    followed, never `__wrapped__`: a learner's decorator (or an attribute set by hand) must not make
    another function count as the one that ran out of memory."""
    while isinstance(getattr(fn, "__dict__", None), dict) and ANSWER_ATTR in fn.__dict__:
        fn = fn.__dict__[ANSWER_ATTR]
    return fn


def exhausted(fn: Callable) -> BaseException | None:
    """The allocation error `fn` raised when it ran out of memory in this process, if it did."""
    try:
        return _EXHAUSTED.get(_answer(fn))
    except TypeError:  # not weak-referenceable (a builtin): never memoised
        return None


def _mark_exhausted(fn: Callable, exc: BaseException) -> None:
    try:
        _EXHAUSTED[_answer(fn)] = exc
    except TypeError:
        pass


class Guarded:
    """The learner's function as the checks see it: every call recorded, stubs and library
    shortcuts turned into NotStarted / NotOwnWork, anything else it raises wrapped in LearnerRaised."""

    def __init__(self, exercise: str, fn: Callable, forbidden: frozenset[str] = frozenset()):
        self.exercise, self.fn, self.forbidden = exercise, fn, forbidden
        self.name = exercise.rpartition(".")[2]
        self.calls: list[Call] = []
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        from petkit.checks.snapshots import given_as, restore_inputs
        call = Call(*given_as(args, kwargs))
        self.calls.append(call)
        del self.calls[:-20]
        ran_out = exhausted(self.fn)
        if ran_out is not None:
            # an answer that ran out of memory is not run again (see _EXHAUSTED): the same error is
            # raised below from the same place, so Hypothesis sees the same failure
            call.raised, used = ran_out, set()
        else:
            used = _call_watching(self.fn, args, kwargs, self.forbidden, call)
            if call.raised is not None and _out_of_memory(call.raised):
                _mark_exhausted(self.fn, call.raised)
        # the checks (and their oracles) go on with the input as it was given, even when the answer
        # changed it in place; the property "leaves its input unchanged" reads `call.changed`
        call.result, call.changed = restore_inputs(self.fn, args, kwargs, call)
        if used:
            raise NotOwnWork(
                f"{self.name} called {', '.join(sorted(used))}: that is the library's own version of "
                f"what this exercise asks you to write. {_WHY.get(self.exercise, MATHS_BY_HAND)}")
        if call.raised is not None:
            exc = call.raised
            if isinstance(exc, NotImplementedError) and STUB_MARK in str(exc):
                stub = str(exc).split(" is not written yet")[0].strip()
                raise NotStarted(stub, str(exc), _innermost_file(exc)) from None
            raise LearnerRaised(exc) from exc
        if type(call.result).__name__ == "ndarray" and type(call.result).__module__ == "numpy":
            raise CheckFailure(f"{self.name} returned a numpy.ndarray, not a torch.Tensor: stay with tensor "
                               f"operations (torch.from_numpy turns an array back into a tensor)")
        return call.result

    def last_call(self) -> str:
        return describe_call(self.name, self.calls[-1]) if self.calls else ""


def warm_up_server() -> None:
    """Called once by a warm server (petkit.warm) after its imports, before it forks any job: one call
    through the guard, with a torch function watched, of the kit's own function on a two-element tensor
    (no learner code; too small for torch's thread pool). Its first use builds torch's table of the
    overridable functions (`torch.overrides.resolve_name`, cached for the process): otherwise 25-45 ms of
    every forked job's first check, a sixth of what `petkit watch` took beyond the checks themselves."""
    import torch
    Guarded("petkit.warm_up", lambda x: x.exp() / x.exp().sum(), frozenset({"torch.softmax"}))(torch.zeros(2))


def _innermost_file(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename if tb is not None else ""


def _call_watching(fn, args, kwargs, forbidden, call: Call) -> set[str]:
    """Run fn, recording into `call`; return the forbidden library functions it used.

    A forbidden name is either a torch function as `torch.overrides.resolve_name` spells it
    ("torch.softmax", "torch.Tensor.softmax"), seen through a TorchFunctionMode, or any Python
    attribute as "module:Qualified.name" ("fastai.learner:Learner.lr_find"), wrapped while the
    answer runs so that its use is recorded (and it still works, so nothing else changes)."""
    used: set[str] = set()
    with contextlib.ExitStack() as stack:
        torch_names = {n for n in forbidden if ":" not in n}
        for name in forbidden - torch_names:
            stack.enter_context(_recording(name, used))
        if torch_names:
            stack.enter_context(_torch_watch(torch_names, used))
        try:
            call.result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
            # the failed call's locals go now: kept through the traceback, a memory bomb's hoard (or a
            # big tensor) would stay allocated for every later call and crash the checks themselves
            traceback.clear_frames(exc.__traceback__)
            call.raised = exc
    return used


def _out_of_memory(exc: BaseException) -> bool:
    """The learner's call failed for want of memory (the address-space cap: MemoryError, or torch's
    allocator's RuntimeError)."""
    return isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc))


def _torch_watch(names: set[str], used: set[str]):
    from torch.overrides import TorchFunctionMode, resolve_name

    class Watch(TorchFunctionMode):
        def __torch_function__(self, func, types, a=(), kw=None):
            name = resolve_name(func) or f"{getattr(func, '__module__', '')}.{getattr(func, '__name__', '')}"
            if name in names:
                used.add(name)
            return func(*a, **(kw or {}))
    return Watch()


@contextlib.contextmanager
def _recording(name: str, used: set[str]):
    """Record calls to the Python attribute "module:Qualified.name" while the answer runs.

    A plain Python function gets its code swapped for a recording trampoline, so a call is seen
    however the answer got hold of the function (`from sklearn.metrics import confusion_matrix` at
    the top of the file binds the function object, not the module attribute). Anything else (a
    class, a builtin) is replaced on its owner for the time of the call."""
    module_name, _, path = name.partition(":")
    owner = importlib.import_module(module_name)
    *parents, attr = path.split(".")
    for p in parents:
        owner = getattr(owner, p)
    original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
    target = original.__func__ if isinstance(original, (staticmethod, classmethod)) else original
    if isinstance(target, types.FunctionType):
        with _trampoline(target, path, used):
            yield
        return

    @functools.wraps(target)
    def wrapper(*a, **k):
        used.add(path)
        return target(*a, **k)

    replacement = type(original)(wrapper) if isinstance(original, (staticmethod, classmethod)) else wrapper
    setattr(owner, attr, replacement)
    try:
        yield
    finally:
        setattr(owner, attr, original)


@contextlib.contextmanager
def _trampoline(fn: types.FunctionType, path: str, used: set[str], run: Callable | None = None):
    """Swap fn's code for one that records `path` in `used`, then runs a copy of the original (or
    `run` instead, however the caller got hold of fn)."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    copy = run or copy
    key = f"{fn.__module__}.{fn.__qualname__}"
    free = fn.__code__.co_freevars  # a code object must keep the closure's names to replace fn's
    scratch: dict = {}
    exec("def _make():\n"
         + "".join(f"    {n} = None\n" for n in free)
         + "    def _petkit_recorded(*args, **kwargs):\n"
         + (f"        ({', '.join(free)},)\n" if free else "")
         + f"        run, name, used = __petkit_recorded__[{key!r}]\n"
           "        used.add(name)\n"
           "        return run(*args, **kwargs)\n"
           "    return _petkit_recorded\n", scratch)
    code = scratch["_make"]().__code__
    table = fn.__globals__.setdefault("__petkit_recorded__", {})
    table[key] = (copy, path, used)
    saved = fn.__code__
    fn.__code__ = code
    try:
        yield
    finally:
        fn.__code__ = saved
        table.pop(key, None)


def calling_instead(fn: types.FunctionType, replacement: Callable):
    """While inside, every call of `fn` (by any name the caller holds) runs `replacement`."""
    return _trampoline(fn, fn.__qualname__, set(), run=replacement)


# --- describing values in plain words --------------------------------------------------------

def show(value: Any, limit: int = 160) -> str:
    """A short, readable rendering of a value (tensors without the dtype/grad noise)."""
    try:
        import torch
        if isinstance(value, torch.Tensor):
            extra = "" if value.dtype == torch.float32 else f", dtype={str(value.dtype).replace('torch.', '')}"
            if value.device.type == "meta" or value.is_sparse or value.is_quantized:
                layout = "on the meta device" if value.device.type == "meta" else "sparse or quantized"
                return f"tensor of shape {tuple(value.shape)}{extra} {layout} (no values)"
            with torch.no_grad():
                body = _tensor_text(value.detach())
            text = f"tensor({body}{extra})"
            if len(text) > limit:
                text = f"tensor of shape {tuple(value.shape)}{extra} starting {body[:limit // 2]}..."
            return text
    except ImportError:
        pass
    if type(value).__module__ == "numpy" and hasattr(value, "shape"):
        return f"a numpy.ndarray of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _tensor_text(t) -> str:
    if t.ndim == 0:
        return _num(t.item())
    if t.ndim == 1:
        return "[" + ", ".join(_num(v) for v in t.tolist()[:12]) + (", ..." if t.shape[0] > 12 else "") + "]"
    return "[" + ", ".join(_tensor_text(r) for r in t[:6]) + (", ..." if t.shape[0] > 6 else "") + "]"


def _num(v) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return f"{v:.0f}."
    return f"{v:.4g}"


def describe_call(name: str, call: Call) -> str:
    parts = [show(a) for a in call.args] + [f"{k}={show(v)}" for k, v in call.kwargs.items()]
    text = f"{name}({', '.join(parts)})"
    if call.raised is not None:
        return f"{text} raised {type(call.raised).__name__}: {call.raised}"
    return f"{text} returned {show(call.result)}"


ENGINE_PACKAGES = ("petkit", "torch", "hypothesis", "fastai", "fastcore", "numpy")


def _engine_dirs() -> tuple[str, ...]:
    """The folders of petkit's own package and of the libraries it runs on, as installed: a frame in
    them is not the learner's. (A checkout folder that happens to be named `petkit` is not one.)"""
    import os
    import sys
    dirs = []
    for name in ENGINE_PACKAGES:
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None) if module else None
        if where:
            dirs.append(os.path.dirname(os.path.realpath(where)) + os.sep)
    return tuple(dirs)


def _in_engine(filename: str, dirs: tuple[str, ...]) -> bool:
    import os
    return os.path.realpath(filename).startswith(dirs) or filename.startswith("<frozen ")


def where_raised(exc: BaseException) -> str:
    """'file.py, line N: code' for the innermost frame outside petkit's package and the libraries."""
    dirs = _engine_dirs()
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _in_engine(f.filename, dirs)]
    if not frames:
        return ""
    f = frames[-1]
    code = (f.line or linecache.getline(f.filename, f.lineno)).strip()
    return f"{f.filename}, line {f.lineno}: {code}"
