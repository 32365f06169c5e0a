"""`petkit check` as a learner meets it (issue 17): usage errors in one line, prints shown and capped,
answers that leave threads, children or setsid daemons behind cost nothing and outlive nothing."""
import os
import subprocess
import sys
import time

import pytest

from petkit import ROOT
from petkit.sync import exercise_files

from helpers import petkit

SOLVED_SOFTMAX = (ROOT / "solutions" / "softmax.py").read_text()


def _learner(tmp_path, softmax: str, name="mine") -> str:
    pkg = tmp_path / name
    pkg.mkdir()
    for p, text in exercise_files().items():
        (pkg / p.name).write_text(text)
    (pkg / "softmax.py").write_text(softmax)
    return name


def test_a_closed_pipe_ends_quietly():
    r = subprocess.run(f"{sys.executable} -m petkit.cli list | head -1", shell=True, cwd=ROOT,
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.stdout.strip() and "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "soon"])
def test_a_bad_timeout_is_a_one_line_usage_error(value):
    r = petkit("check", "softmax", "--timeout", value)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "--timeout" in r.stderr and "seconds above 0" in r.stderr


@pytest.mark.parametrize("value", [".", "../solutions", "./solutions", "/tmp/mine"])
def test_a_path_for_impl_says_what_impl_takes(value):
    r = petkit("check", "softmax", "--impl", value)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "TypeError" not in r.stderr, r.stderr
    assert "--impl takes the name of a package" in r.stderr


def test_prints_are_capped_and_an_excerpt_is_shown(tmp_path):
    chatty = SOLVED_SOFTMAX.replace("    shifted = work - work.max(dim, keepdim=True).values\n    e = shifted.exp()",
                                    "    print('looking at', x.shape, '#' * 1_000_000)\n    e = work.exp()")
    assert chatty != SOLVED_SOFTMAX
    r = petkit("check", "softmax.softmax", "--impl", _learner(tmp_path, chatty), cwd=tmp_path)
    assert r.returncode == 1 and "Your code printed (the start of" in r.stdout, r.stdout[-2000:]
    assert "| looking at torch.Size" in r.stdout and len(r.stdout) < 20_000


LEFT_BEHIND = '''
import os, subprocess, sys, threading, time
threading.Thread(target=time.sleep, args=(1000,)).start()          # a non-daemon thread
daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)"], start_new_session=True)
open(os.environ["PIDFILE"], "a").write(f"{daemon.pid}\\n")           # a setsid grandchild
if os.fork() == 0:                                                  # a forked child
    time.sleep(1000)
'''


def test_threads_children_and_setsid_daemons_neither_hold_up_nor_outlive_the_check(tmp_path):
    pidfile = tmp_path / "pids"
    name = _learner(tmp_path, LEFT_BEHIND + SOLVED_SOFTMAX)
    r = petkit("check", "softmax", "--impl", name, "--timeout", "60", cwd=tmp_path,
               env={"PIDFILE": str(pidfile)}, timeout=110)
    assert r.returncode == 0 and "stopped after" not in r.stdout, r.stdout + r.stderr
    pids = [int(p) for p in pidfile.read_text().split()]
    assert pids
    time.sleep(0.5)
    for pid in pids:
        alive = True
        try:
            os.kill(pid, 0)
            alive = not open(f"/proc/{pid}/stat").read().split()[2] == "Z"
        except (ProcessLookupError, FileNotFoundError):
            alive = False
        assert not alive, f"process {pid} that the answer started outlived petkit check"
