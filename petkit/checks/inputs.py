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

from typing import Callable


from petkit.checks.core import check, show
from petkit.checks.expect import require



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
