"""Hypothesis strategies shared by every lesson's checks, and `prop`, the one way a check
declares a property (so every property runs with the same settings, examples and seed)."""
from __future__ import annotations

import contextlib
import functools
import os

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st

# How hard the properties look: `petkit check` keeps it quick; hidden/grading runs look harder
# (nbcheck.HIDDEN_EXAMPLES, a seed per student). The two agree on every right answer because the
# tolerances follow the input's dtype and magnitude (expect.tolerance), not the examples drawn:
# tests/kit/test_right_answers.py holds textbook formulations to both settings, at several seeds.
RUN = {"max_examples": int(os.environ.get("PETKIT_EXAMPLES", "30")), "seed": None, "shrink": True}


@contextlib.contextmanager
def examples(max_examples: int | None = None, seed: int | None = None, shrink: bool | None = None):
    """Run the properties inside with more examples, a seed (e.g. one per student), or without
    shrinking a failure to its simplest input (faster, when only pass/fail matters)."""
    old = dict(RUN)
    if max_examples is not None:
        RUN["max_examples"] = max_examples
    if seed is not None:
        RUN["seed"] = seed
    if shrink is not None:
        RUN["shrink"] = shrink
    try:
        yield
    finally:
        RUN.update(old)


def phases() -> list[Phase]:
    """Hypothesis's phases a property runs: all but `explain` (it re-runs a shrunk failure many times
    over to annotate the exception with which arguments mattered, notes petkit's message never shows:
    it cost 2-9 s per failing DataLoader or DataBlock check, the learner waiting for the same message),
    and without `shrink` when shrinking is off."""
    return [p for p in Phase if p != Phase.explain and (RUN["shrink"] or p != Phase.shrink)]


def prop(*strategies, cost: int = 1, **named):
    """`hypothesis.given` with petkit's settings: no deadline (2 slow cores), no example database,
    the same examples every run unless a seed is set, and only the simplest failure reported.
    `cost` > 1 marks an expensive example (it builds DataLoaders, trains...): it runs that many
    times fewer examples (at least 3)."""
    def deco(f):
        test = given(*strategies, **named)(f)
        test = settings(max_examples=max(3, RUN["max_examples"] // cost), deadline=None, database=None,
                        derandomize=RUN["seed"] is None, print_blob=False,
                        report_multiple_bugs=False, suppress_health_check=list(HealthCheck),
                        phases=phases())(test)
        if RUN["seed"] is not None:
            test = fixed_seed(RUN["seed"])(test)
        return test
    return deco


FLOAT_DTYPES = (torch.float32, torch.float64)


def _made_once(make):
    """Make the strategy once per set of arguments and draw from it many times: made again at every
    draw, each new object is validated by Hypothesis again (a tenth of a property's time), and the
    draws are the same either way. Arguments that cannot be a key (a list of dtypes) make it afresh."""
    cached = functools.lru_cache(maxsize=1024)(make)

    @functools.wraps(make)
    def made(*args, **kwargs):
        try:
            return cached(*args, **kwargs)
        except TypeError:  # unhashable arguments (or a TypeError of make's own, which the call repeats)
            return make(*args, **kwargs)
    return made


@_made_once
def shapes(min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 4):
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@_made_once
def _values(magnitude: float, numel: int):
    return st.lists(st.floats(-magnitude, magnitude, allow_nan=False, allow_infinity=False, width=32),
                    min_size=numel, max_size=numel)


@_made_once
def _one_of(*values):
    return st.sampled_from(values)


@_made_once
def _targets(n: int, classes: int):
    return st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)


def tensors(shape, dtype=torch.float32, magnitude: float = 20.0):
    """Float tensors of `shape` (a tuple or a strategy of tuples) with values in [-magnitude, magnitude],
    some of them not contiguous in memory (a strided view, as `logits.T` or `x[:, ::2]` give)."""
    return _tensors(tuple(shape) if isinstance(shape, (list, torch.Size)) else shape, dtype, float(magnitude))


@_made_once
@st.composite
def _tensors(draw, shape, dtype, magnitude):
    shape = tuple(draw(shape) if isinstance(shape, st.SearchStrategy) else shape)
    dtype = draw(dtype) if isinstance(dtype, st.SearchStrategy) else dtype
    numel = int(np.prod(shape)) if shape else 1
    values = draw(_values(magnitude, numel))
    t = torch.tensor(values, dtype=torch.float32).reshape(shape).to(dtype)
    if numel > 1 and draw(st.booleans()):
        t = torch.stack([t, torch.zeros_like(t)], dim=-1)[..., 0]  # same values, every other element
    return t


def warm_up_server() -> None:
    """Called once by a warm server (petkit.warm) after its imports, before it forks any job: one
    property over petkit's own strategies (no learner code; tensors of a few elements, too small for
    torch to start its thread pool: the server checks it still holds one thread), so that the first
    check each forked job runs does not pay Hypothesis's first-run set-up (about 0.15 s: most of what
    a re-check in `petkit watch` cost beyond the checks themselves). It draws from its own fixed seed
    and touches no state a job's properties read: theirs are seeded per property (or per student)."""
    @settings(max_examples=5, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(logits(), st.integers(0, 3))
    def warm(x, i):
        pass
    warm()


HALF_DTYPES = (torch.float16, torch.bfloat16)


@_made_once
@st.composite
def logits(draw, min_dims: int = 1, max_dims: int = 3, dtypes=FLOAT_DTYPES, extreme: bool = True):
    """Activations of assorted shapes and float dtypes; with `extreme`, some of magnitude up to 1e4 in
    float32/float64 (half precision rounds 1e4 to a step of 8 or 64: its softmax is not determined there)."""
    dtype = draw(_one_of(*dtypes))
    magnitude = draw(_one_of(10.0, 1e4) if extreme and dtype not in HALF_DTYPES else _one_of(10.0))
    return draw(tensors(shapes(min_dims, max_dims), dtype, magnitude))


def with_empty_side(draw, x: torch.Tensor, keep: int) -> torch.Tensor:
    """Sometimes x with one side other than `keep` cut to size 0 (an empty batch, no rows)."""
    others = [d for d in range(x.ndim) if d != keep % max(x.ndim, 1)]
    if others and draw(st.integers(0, 5)) == 0:
        return x.narrow(draw(st.sampled_from(others)), 0, 0)
    return x


def dims(x: torch.Tensor):
    """A valid `dim` for x, negative ones included."""
    return st.integers(-x.ndim, x.ndim - 1) if x.ndim else st.sampled_from([0, -1])


@_made_once
@st.composite
def classification(draw, max_rows: int = 6, max_classes: int = 5, magnitude: float = 10.0,
                   dtypes=FLOAT_DTYPES):
    """(logits of shape (n, c), integer targets in [0, c)) with n, c >= 1."""
    n = draw(st.integers(1, max_rows))
    c = draw(st.integers(1, max_classes))
    mag = draw(_one_of(magnitude, 1e4))
    x = draw(tensors((n, c), _one_of(*dtypes), mag))
    t = torch.tensor(draw(_targets(n, c)), dtype=torch.long)
    return x, t
