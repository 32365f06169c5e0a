"""Objects that live as long as the process, kept out of the garbage collector's passes (gc.freeze).

A full pass scans every tracked object: in a process that imported torch (and fastai: half a million
objects) that was a tenth of a check's time. A warm server (petkit.warm) freezes its imports for good
before it forks any job, and so does the kit's test run; anywhere else (a learner's notebook kernel,
`PETKIT_WARM=0`) a check freezes what existed before it while it runs and puts it back after. This
module keeps, per process (a fork inherits it), whether the freeze is for good: Python cannot say it
cheaply (`gc.get_freeze_count()` walks the whole frozen list, 58 ms for fastai's objects), and putting
back a freeze that was for good would hand a warm server's objects to every later pass of its jobs.
"""
from __future__ import annotations

import contextlib
import gc

_for_good = False


def freeze_for_good() -> None:
    """Freeze every object there is now, for the rest of the process (and its forks)."""
    global _for_good
    gc.freeze()
    _for_good = True


@contextlib.contextmanager
def while_running():
    """Inside, the objects that existed before are out of the collector's passes (constant time in and
    out); what the block makes is collected as usual. Left alone where the freeze is for good."""
    if _for_good:
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
