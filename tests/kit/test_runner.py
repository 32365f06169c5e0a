"""run_check's own machinery: the garbage collector's state it keeps while a check runs."""
import gc
import weakref

import torch

from petkit.checks.core import checks_for
from petkit.checks.runner import PASS, run_check
from solutions.softmax import softmax


def _frozen_while_called():
    """softmax, recording how many objects were frozen out of the collector at each call; and a cycle of
    garbage made in the check, to see it collected after."""
    seen, cycles = [], []

    def traced(x, dim=-1):
        seen.append(gc.get_freeze_count())
        if not cycles:
            a, b = torch.nn.Module(), torch.nn.Module()
            a.other, b.other = b, a  # a reference cycle: only the collector frees it
            cycles.append(weakref.ref(a))
        return softmax(x, dim)
    return traced, seen, cycles


def test_a_check_runs_with_what_existed_before_frozen_and_then_puts_it_back():
    """Older objects stay out of the collector's passes during the check (a tenth of a check's time in a
    kernel that imported fastai), and afterwards everything is as it was: nothing frozen for good, and the
    garbage the check made is collected."""
    check = next(c for c in checks_for("softmax.softmax") if c.kind == "property")
    already = gc.get_freeze_count()
    gc.unfreeze()  # as in a learner's kernel (the suite freezes its imports: tests/conftest.py)
    try:
        before = len(gc.get_objects())
        traced, seen, cycles = _frozen_while_called()
        assert run_check(check, traced).status == PASS
        assert seen and min(seen) >= before // 2, (min(seen), before)  # the older objects, out of its passes
        assert gc.get_freeze_count() == 0  # all put back
        gc.collect()
        assert cycles[0]() is None  # the check's own garbage went
    finally:
        gc.freeze() if already else None


def test_what_someone_else_froze_stays_frozen():
    """A warm server freezes its imports before it forks a job (and the kit's test run its own): a
    check in that job leaves them frozen, never putting them back into the collector's passes."""
    if not gc.get_freeze_count():
        gc.freeze()
    frozen = gc.get_freeze_count()
    traced, seen, _ = _frozen_while_called()
    check = next(c for c in checks_for("softmax.softmax") if c.kind == "property")
    assert run_check(check, traced).status == PASS
    # frozen objects can still be freed by their reference counts: the count may fall a little, never to 0
    assert min(seen) > frozen // 2 and gc.get_freeze_count() > frozen // 2, (frozen, seen, gc.get_freeze_count())
