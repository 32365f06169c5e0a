"""A `petkit grade autograde --workers 2 --force` killed with SIGKILL leaves no process behind (its
workers die with it, and their kernels with them), and the next run grades the students the forced
run never reached, saying so, instead of calling their old grades graded."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from petkit import ROOT, notebooks
from petkit.registry import lesson

from helpers import command_of
from test_grade import FAST_GRADING, _copy_course, _submit, grade

STUDENTS = ["amy", "ben", "cal"]


def _start(*args, **env):
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **FAST_GRADING, **env}
    return subprocess.Popen([sys.executable, "-m", "petkit.cli", "grade", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _alive(pids) -> list[int]:
    left = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
        except psutil.NoSuchProcess:
            pass
    return left


@pytest.mark.slow
def test_a_killed_forced_run_leaves_nothing_running_and_the_rerun_says_who_it_missed(tmp_path):
    course = _copy_course(tmp_path)
    nb = notebooks.dumps(notebooks.source_notebook(lesson("softmax")))
    for s in STUDENTS:
        _submit(course, s, "softmax", nb)
    import tempfile
    with tempfile.TemporaryDirectory(prefix="pk-", dir="/tmp") as tmp:  # short: the servers' sockets go there
        _killed_then_rerun(course, tmp)


def _killed_then_rerun(course, tmp):
    first = grade("autograde", "softmax", "--workers", "2", "--course", str(course), env={**FAST_GRADING, "TMPDIR": tmp},
                  timeout=1200)
    assert first.returncode == 0, first.stdout + first.stderr
    # a run that ends leaves nothing in /tmp: its workers end as processes do (they were killed, and each
    # left its warm server's folders behind)
    assert not list(Path(tmp).iterdir()), sorted(p.name for p in Path(tmp).iterdir())

    run = _start("autograde", "softmax", "--workers", "2", "--force", "--course", str(course), TMPDIR=tmp)
    parent = psutil.Process(run.pid)
    deadline, seen, spools = time.monotonic() + 300, set(), set()
    while time.monotonic() < deadline:  # until a worker has started a kernel
        kids = parent.children(recursive=True)
        seen |= {p.pid for p in kids}
        spools |= {c.split(" ", 1)[0] for p in kids for c in command_of(p).split("--spool ")[1:]}
        if any("ipykernel" in command_of(p) for p in kids):
            break
        time.sleep(0.2)
    assert seen, "the forced run started no worker"
    os.kill(run.pid, signal.SIGKILL)
    run.communicate(timeout=60)
    deadline = time.monotonic() + 30  # the workers' parent-death signal and the servers' lifelines: seconds at most
    while (left := _alive(seen)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, [command_of(psutil.Process(p))[:200] for p in left]
    # what the killed run had in use stays (nothing of it ran to remove it) until the next run sweeps it
    assert any(p.name.startswith("petkit-grade-") for p in Path(tmp).iterdir()), sorted(os.listdir(tmp))

    again = grade("autograde", "softmax", "--workers", "2", "--course", str(course), env={**FAST_GRADING, "TMPDIR": tmp}, timeout=1200)
    out = again.stdout + again.stderr
    assert again.returncode == 0, out
    missed = [s for s in STUDENTS if f"{s}: graded now: an earlier run" in out]
    kept = [s for s in STUDENTS if f"{s}: already graded" in out]
    assert missed and sorted(missed + kept) == STUDENTS, out
    pending = course / ".petkit" / "pending"
    assert not pending.exists() or not [p for p in pending.rglob("*") if p.is_file()]
    # the rerun swept the killed run's folders (petkit.tempdirs): its warm servers' and scratch courses'
    assert not list(Path(tmp).iterdir()), sorted(p.name for p in Path(tmp).iterdir())
    from petkit.grading import sandbox
    assert spools or sandbox.available(), "no sandboxed server seen: its spool (in /tmp) went untested"
    assert not [s for s in spools if os.path.exists(s)], spools
