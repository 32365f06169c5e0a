"""Training that shares the cores politely: OpenMP threads that sleep instead of spin-waiting.

torch's OpenMP threads spin-wait between parallel regions by default; with another process busy on
a 2-core machine each batch then runs 10-30x slower. `OMP_WAIT_POLICY=PASSIVE` fixes it (the same
losses), but OpenMP reads it once, when torch is imported: call `passive_threads()` first.
"""
from __future__ import annotations

import os
import sys

WAIT_POLICY = "OMP_WAIT_POLICY"


def passive_threads() -> bool:
    """Set OMP_WAIT_POLICY=PASSIVE for this process and its children unless the user chose a policy.
    Returns whether the setting takes effect here (False when torch was imported before)."""
    os.environ.setdefault(WAIT_POLICY, "PASSIVE")
    return "torch" not in sys.modules
