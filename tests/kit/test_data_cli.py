"""`petkit data` on the command line: sizes out of bounds are a one-line error, and a run stopped
with SIGTERM leaves no partial folder (as with Ctrl-C)."""
import os
import signal
import subprocess
import sys
import time

import pytest

from petkit import ROOT


def _data(*args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "petkit.cli", "data", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.parametrize("option,value", [("--size", "1000000"), ("--size", "3"), ("--per-class", "0"),
                                          ("--per-class", "100000"), ("--size", "big")])
def test_sizes_out_of_bounds_are_refused_in_one_line(tmp_path, option, value):
    p = _data("--out", str(tmp_path / "pets"), option, value)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 2 and f"{value!r}: give a whole number from" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_sigterm_leaves_no_partial_folder(tmp_path):
    p = _data("--out", str(tmp_path / "pets"), "--per-class", "200", "--size", "400")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(tmp_path.glob(".pets.partial-*/images/*.jpg")):
        time.sleep(0.2)
    assert list(tmp_path.glob(".pets.partial-*/images/*.jpg")), p.communicate(timeout=10)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=120)
    assert p.returncode != 0
    assert not list(tmp_path.iterdir()), list(tmp_path.iterdir())
