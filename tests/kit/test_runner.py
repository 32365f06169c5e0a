"""run_check's own machinery: the garbage collector's state it keeps while a check runs (petkit.gcfreeze)."""
import gc
import weakref

import torch

from petkit import gcfreeze
from petkit.checks.core import checks_for
from petkit.checks.runner import PASS, run_check
from solutions.softmax import softmax

CHECK = next(c for c in checks_for("softmax.softmax") if c.kind == "property")


def _traced():
    """softmax, recording at each call how many objects are frozen out of the collector; and a cycle of
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


def test_a_check_runs_with_what_existed_before_frozen_and_then_puts_it_back(monkeypatch):
    """In a learner's kernel the older objects stay out of the collector's passes during the check (a
    tenth of a check's time with fastai imported), and afterwards all is as it was: nothing frozen for
    good, and the garbage the check made is collected."""
    monkeypatch.setattr(gcfreeze, "_for_good", False)  # a kernel's (the suite froze its imports for good)
    gc.unfreeze()
    try:
        before = len(gc.get_objects())
        traced, seen, cycles = _traced()
        assert run_check(CHECK, traced).status == PASS
        assert seen and min(seen) >= before // 2, (min(seen), before)  # the older objects, out of its passes
        assert gc.get_freeze_count() == 0  # all put back
        gc.collect()
        assert cycles[0]() is None  # the check's own garbage went
    finally:
        gc.freeze()  # the suite's, again (conftest.py)


def test_a_freeze_for_good_stays_frozen(monkeypatch):
    """A warm server freezes its imports for good before it forks a job (and the kit's test run its
    own): a check in that job leaves them frozen, never putting them back into the collector's passes."""
    monkeypatch.setattr(gcfreeze, "_for_good", False)
    gcfreeze.freeze_for_good()
    frozen = gc.get_freeze_count()
    traced, seen, _ = _traced()
    assert run_check(CHECK, traced).status == PASS
    # frozen objects can still be freed by their reference counts: the count may fall a little, never to 0
    assert min(seen) > frozen // 2 and gc.get_freeze_count() > frozen // 2, (frozen, seen, gc.get_freeze_count())


def test_the_warm_server_freezes_for_good_and_its_jobs_know_it():
    """What a job forked from the warm server inherits: the imports frozen, and the flag that says so."""
    from petkit import warm
    server = warm.server(("petkit.checks.runner",), allow_code=True)
    try:
        assert server is not None and server.wait_ready(120), server and server.log()
        import subprocess
        import sys
        code = "import gc\nfrom petkit import gcfreeze\nprint(gcfreeze._for_good, gc.get_freeze_count() > 10000)\n"
        done = subprocess.run(server.launcher([sys.executable, "-c", code]), capture_output=True, text=True, timeout=120)
        assert done.stdout.split() == ["True", "True"], done.stdout + done.stderr + server.log()
    finally:
        if server is not None:
            server.close()
