"""Known mistakes named: when an answer fails, does it behave exactly as a wrong answer of the corpus?

Each corpus entry (tests/kit/wrong_answers/, petkit.corpus) may carry probes: small deterministic
inputs on which its mistake shows. An answer matches an entry when, on every probe, it returns the
same value as the wrong answer (floats within a tight tolerance), or raises the same type of
exception, and leaves its arguments as the wrong answer leaves them. An entry can match at all only
when the reference answer (solutions/) clearly differs from the wrong answer on at least one probe,
so a right answer never matches: this is never a guess.

    known_mistakes("softmax.softmax", fn)  ->  "This looks like a known mistake: ..." or None

What matching needs of an entry (`Known`: its line, its probes, the wrong answer's behaviour on them)
is worked out where the corpus and the reference answers are (the checkout: `known`). The referee's
sealed child, in the OS sandbox, sees neither: its parent packs what it needs into the job (`pack`,
`unpack`), so the learner's code never gets the reference answers.

Matching is bounded in time (PETKIT_MISTAKE_SECONDS, default 3 s in all): an answer that is slow or
loops on a probe simply gets no line.
"""
from __future__ import annotations

import base64
import copy
import functools
import hashlib
import importlib
import math
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

PREFIX = "This looks like a known mistake:"
BUDGET_S = float(os.environ.get("PETKIT_MISTAKE_SECONDS", "3"))
# an answer's output matches a wrong answer's within SAME; the reference must differ from the wrong
# answer by more than APART, a far looser tolerance, so a right answer can never be "the same"
SAME = dict(rel=1e-5, abs=1e-7)
APART = dict(rel=1e-2, abs=1e-4)

_CORPUS: dict[str, list] = {}
# id(entry) -> (the entry, kept so that its id is not reused; what matching needs of it, None when its
# probes cannot tell it apart)
_KNOWN: dict[int, tuple] = {}


@dataclass(frozen=True)
class Known:
    """What it takes to recognise one known mistake: the line that names it, the probes, and the wrong
    answer's behaviour on each (the reference is known to differ from it on at least one)."""
    line: str
    probes: tuple
    wrong: tuple


class _OutOfTime(BaseException):
    """Raised by the timer inside a probe call that runs past the budget."""


def entries(exercise_id: str) -> list:
    """The corpus entries of this exercise that carry probes ([] when the corpus is not there)."""
    lesson = exercise_id.partition(".")[0]
    if lesson not in _CORPUS:
        from petkit import ROOT, corpus
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))  # the corpus and the reference answers live in the checkout
        _CORPUS[lesson] = _derived([e for e in corpus.load(lesson=lesson) if e.probes])  # [] without the kit's tests
    return [e for e in _CORPUS[lesson] if e.exercise == exercise_id]


def unvalidated(entry) -> bool:
    """Whether the entry's only mistake is the missing input validation (right maths)."""
    from petkit.corpus import only_bad_input
    return only_bad_input(entry.rejected_by)


def _derived(found: list) -> list:
    """An entry that says "right maths, no input checks" also probes where every other entry of its
    exercise shows its maths mistake, so that it never claims right maths of a wrong one."""
    import dataclasses
    out = []
    for e in found:
        if unvalidated(e):
            more = tuple(p for o in found if o.exercise == e.exercise and not unvalidated(o) for p in o.probes)
            e = dataclasses.replace(e, probes=e.probes + more)
        out.append(e)
    return out


def reference(exercise_id: str) -> Callable:
    lesson, _, name = exercise_id.partition(".")
    return getattr(importlib.import_module(f"solutions.{lesson}"), name)


def known(exercise_id: str) -> list[Known]:
    """What matching needs of each entry of the exercise that its probes tell apart from the reference
    ([] where the corpus or the reference answers are not there)."""
    try:
        return _worked_out(exercise_id)
    except Exception:  # noqa: BLE001 - a corpus or a reference that cannot load names nothing
        return []


def _worked_out(exercise_id: str) -> list[Known]:
    return [k for k in (_known(e) for e in entries(exercise_id)) if k is not None]


def pack(exercise_ids) -> dict[str, str]:
    """`known` of each exercise, as text for a job (the sealed child has no corpus and no reference):
    exercise id -> its entries, pickled. Read from the cache (`cache_folder`) when the files it is
    worked out from have not changed, so a grading process never imports torch to run the corpus
    (1.5 s, on the critical path of every `petkit grade` and each of its workers)."""
    return {ex: _packed(ex) for ex in exercise_ids}


def unpack(packed: dict[str, str] | None) -> dict[str, list[Known]]:
    """What `pack` packed: exercise id -> its Known entries. Only for what petkit's own parent process
    packed (a pickle). An entry that does not load (a damaged cache file) names no mistake, as a corpus
    that cannot load names none: naming a mistake never costs the checks their run."""
    out = {}
    for ex, text in (packed or {}).items():
        try:
            out[ex] = pickle.loads(base64.b64decode(text))
        except Exception:  # noqa: BLE001 - binascii, pickle and import errors alike
            out[ex] = []
    return out


CACHE_ENV = "PETKIT_MISTAKES_CACHE"  # the cache's folder; "off": none


def cache_folder() -> Path | None:
    """Where packed entries are kept: $PETKIT_MISTAKES_CACHE, or ~/.cache/petkit/mistakes (the
    user's own: the sandbox never shows it), in a folder per `sources_key`."""
    where = os.environ.get(CACHE_ENV, "~/.cache/petkit/mistakes")
    return None if where == "off" else Path(where).expanduser() / sources_key()


@functools.cache
def sources_key(root: Path | None = None) -> str:
    """A digest of everything `known` is worked out from: the corpus, the reference answers, petkit's
    own code (the probes, matching) in the checkout (`root`), and the versions of Python, torch and
    numpy. A cache folder is only ever read under the key of what made it."""
    from importlib import metadata
    from petkit import ROOT
    root = root or ROOT
    digest = hashlib.sha256(sys.version.encode())
    for package in ("torch", "numpy"):
        try:
            digest.update(f"{package} {metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} none".encode())
    for folder in ("tests/kit/wrong_answers", "solutions", "petkit"):
        for path in sorted((root / folder).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _packed(exercise_id: str) -> str:
    folder = cache_folder()
    path = folder / f"{exercise_id}.b64" if folder else None
    if path is not None and path.is_file():
        try:
            return path.read_text(encoding="ascii")
        except OSError:
            pass
    try:
        found, whole = _worked_out(exercise_id), True
    except Exception:  # noqa: BLE001 - a corpus or a reference that cannot load names nothing (not kept)
        found, whole = [], False
    text = base64.b64encode(pickle.dumps(found)).decode("ascii")
    if path is not None and whole:
        _keep(path, text)
    return text


def _keep(path: Path, text: str) -> None:
    """Write the file whole or not at all (two grading workers may write it at once); a cache that
    cannot be written is no error: the entries are worked out again next time."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="ascii", dir=path.parent, delete=False,
                                         prefix=f".{path.name}.") as tmp:
            tmp.write(text)
        os.replace(tmp.name, path)
    except OSError:
        if tmp is not None:
            Path(tmp.name).unlink(missing_ok=True)


def known_mistakes(exercise_id: str, fn: Callable, budget_s: float = BUDGET_S,
                   found: list[Known] | None = None) -> str | None:
    """One line per known mistake (`found`, else `known(exercise_id)`) that `fn` behaves exactly like;
    None when none does."""
    if found is None:
        found = known(exercise_id)  # worked out before the clock starts: an import is never cut short
    deadline = time.monotonic() + budget_s
    lines = []
    try:
        with _timer(deadline):
            for k in found:
                if behaves_as(k, fn, deadline):
                    lines.append(k.line)
    except _OutOfTime:
        pass
    except Exception:  # noqa: BLE001 - naming a mistake is a bonus: it must never break the report
        return None
    return "\n".join(lines) or None


def line(entry) -> str:
    mistake = entry.mistake.rstrip(".")
    return f"{PREFIX} {mistake}. {entry.hint}"


def matches(entry, fn: Callable, deadline: float = math.inf) -> bool:
    """Whether `fn` behaves as this entry's wrong answer on all its probes, the reference does not."""
    k = _known(entry)
    return k is not None and behaves_as(k, fn, deadline)


def _known(entry) -> Known | None:
    """The entry as matching needs it, or None when the reference behaves as its wrong answer on every
    probe (within APART): such probes cannot tell the mistake from the right answer."""
    if id(entry) not in _KNOWN:
        wrong = tuple(behaviour(entry.fn, p) for p in entry.probes)
        ref = [behaviour(reference(entry.exercise), p) for p in entry.probes]
        apart = any(not same(r, w, **APART) for r, w in zip(ref, wrong))
        _KNOWN[id(entry)] = (entry, Known(line(entry), tuple(entry.probes), wrong) if apart else None)
    return _KNOWN[id(entry)][1]


def behaves_as(k: Known, fn: Callable, deadline: float = math.inf) -> bool:
    """Whether `fn` behaves on every probe exactly as the known mistake's wrong answer does."""
    for p, w in zip(k.probes, k.wrong):
        if time.monotonic() > deadline:
            raise _OutOfTime
        mine = behaviour(fn, p)
        if mine[0] == "unfinished" or not same(mine, w, **SAME):
            return False
    return True


def behaviour(fn: Callable, p) -> tuple:
    """("returned", value, arguments after the call), ("raised", exception type), or ("unfinished",)
    for a stub: what one call does, on copies of the probe's arguments."""
    from petkit.checks.core import exhausted
    ran_out = exhausted(fn)
    if ran_out is not None:  # it ran out of memory in a check: not run again (core._EXHAUSTED)
        return ("raised", f"{type(ran_out).__module__}.{type(ran_out).__qualname__}")
    args, kwargs = copy.deepcopy((p.args, p.kwargs))
    try:
        value = fn(*args, **kwargs)
    except NotImplementedError:
        return ("unfinished",)
    except _OutOfTime:
        raise
    except Exception as e:  # noqa: BLE001 - raising is behaviour too
        return ("raised", f"{type(e).__module__}.{type(e).__qualname__}")
    return ("returned", value, (args, kwargs))


def same(a: Any, b: Any, rel: float, abs: float) -> bool:  # noqa: A002 - math.isclose's names
    """Equal values: the same types and shapes, numbers within the tolerance, nan equal to nan."""
    import torch
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype or a.device != b.device:
            return False
        if not (a.is_floating_point() or a.is_complex()):
            return bool(torch.equal(a, b))
        x, y = a.detach().double(), b.detach().double()
        return bool(torch.isclose(x, y, rtol=rel, atol=abs, equal_nan=True).all())
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if type(a) is not type(b):
            return False
        if isinstance(a, float) and (math.isnan(a) or math.isnan(b)):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=rel, abs_tol=abs)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same(x, y, rel, abs) for x, y in zip(a, b)))
    if isinstance(a, dict) or isinstance(b, dict):
        return (type(a) is type(b) and a.keys() == b.keys()
                and all(same(a[k], b[k], rel, abs) for k in a))
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001 - an object that cannot be compared is not "the same"
        return False


class _timer:
    """Interrupt a probe call at the deadline (SIGALRM, main thread only; elsewhere the deadline is
    checked between calls); whatever timer was set before is put back."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.armed = False

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
            return self
        if signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            return self  # someone else's timer is running: leave it alone
        self.old = signal.signal(signal.SIGALRM, self._ring)
        signal.setitimer(signal.ITIMER_REAL, max(self.deadline - time.monotonic(), 0.001))
        self.armed = True
        return self

    @staticmethod
    def _ring(signum, frame):
        raise _OutOfTime

    def __exit__(self, *exc):
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old)
        return False
