"""petkit.tempdirs: a folder is held while its maker (or a fork of it) lives, and a sweep removes exactly
the folders of makers gone, however they went, and nothing else."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from petkit import ROOT, tempdirs

MAKER = """
import os, sys, time
sys.path.insert(0, {root!r})
from petkit import tempdirs
paths = [tempdirs.make("petkit-t-", {parent!r}) for _ in range(3)]
for p in paths:
    (p / "work.txt").write_text("a learner's file")
if {fork!r} and os.fork() == 0:  # a fork child: shares the hold
    time.sleep(600)
    os._exit(0)
print(*paths, flush=True)
how = sys.stdin.readline().strip()
if how == "exit":
    os._exit(0)
time.sleep(600)
"""


def _maker(parent, fork=False) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, "-c", MAKER.format(root=str(ROOT), parent=str(parent), fork=fork)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().split()


def _end(proc, how) -> None:
    if how == "os._exit":
        proc.stdin.write("exit\n")
        proc.stdin.flush()
    else:
        proc.send_signal({"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM}[how])
    proc.wait(30)


def _listing(parent) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "os._exit"])
def test_a_live_makers_folders_stay_and_a_gone_ones_are_swept(tmp_path, how):
    proc, paths = _maker(tmp_path)
    try:
        assert len(paths) == 3 and all(os.path.isdir(p) for p in paths)
        assert tempdirs.sweep(tmp_path) == [] and all(os.path.isfile(f"{p}/work.txt") for p in paths)
    finally:
        _end(proc, how)
    assert all(os.path.isdir(p) for p in paths)  # nothing it ran removed them
    assert sorted(map(str, tempdirs.sweep(tmp_path))) == sorted(paths)
    assert _listing(tmp_path) == []  # the owner files too


def test_a_fork_child_keeps_the_hold_after_its_parent_is_gone(tmp_path):
    proc, paths = _maker(tmp_path, fork=True)
    _end(proc, "SIGKILL")
    assert tempdirs.sweep(tmp_path) == [] and all(os.path.isdir(p) for p in paths)
    import psutil
    # this test's fork child only (its folder is in the code it runs): another test's makers may run beside it
    left = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or ())]
    assert left, "the fork child is gone too soon"
    for p in left:
        p.kill()
    psutil.wait_procs(left, timeout=30)
    assert len(tempdirs.sweep(tmp_path)) == 3 and _listing(tmp_path) == []


def test_the_first_make_in_a_parent_sweeps_it(tmp_path):
    proc, paths = _maker(tmp_path)
    _end(proc, "SIGKILL")
    again, mine = _maker(tmp_path)  # another process's first make there
    try:
        assert not any(os.path.exists(p) for p in paths)
        assert all(os.path.isdir(p) for p in mine)
    finally:
        _end(again, "SIGKILL")


def test_the_sweep_touches_nothing_it_cannot_prove_is_an_orphan_of_ours(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the kit's")
    parent = tmp_path / "tmp"
    parent.mkdir()
    (parent / "petkit-no-owner").mkdir()  # nobody says whose it is
    (parent / "petkit-link").symlink_to(outside)  # an unlocked owner file beside a link
    (parent / "petkit-link.owner").write_text("")
    (parent / "petkit-viaLink").mkdir()  # its owner file is a link to an unlocked file
    (tmp_path / "lockfile").write_text("")
    (parent / "petkit-viaLink.owner").symlink_to(tmp_path / "lockfile")
    (parent / "other-a").mkdir()  # not the kit's name
    (parent / "other-a.owner").write_text("")
    (parent / "petkit-file").write_text("a file, not a folder")
    (parent / "petkit-file.owner").write_text("")
    assert tempdirs.sweep(parent) == []
    assert (outside / "keep.txt").read_text() == "not the kit's"
    # the orphaned owner files beside what is not a folder of ours are dropped; the rest stays
    assert _listing(parent) == ["other-a", "other-a.owner", "petkit-file", "petkit-link", "petkit-no-owner",
                                "petkit-viaLink", "petkit-viaLink.owner"]


def test_a_sweep_running_all_along_never_takes_a_live_folder(tmp_path):
    """Make, use and remove folders while another process sweeps the same parent without pause: the
    windows between making a folder, locking and naming its owner file, and removing both."""
    sweeper = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from petkit import tempdirs
end = time.monotonic() + 60
while time.monotonic() < end:
    tempdirs.sweep({str(tmp_path)!r})
"""])
    try:
        time.sleep(0.5)  # under way
        for _ in range(300):
            path = tempdirs.make("petkit-race-", tmp_path)
            (path / "f").write_text("x")
            assert (path / "f").read_text() == "x"
            tempdirs.remove(path)
            assert not path.exists() and not os.path.exists(f"{path}.owner")
        assert sweeper.poll() is None, "the sweeper failed"
    finally:
        sweeper.kill()
        sweeper.wait()
    assert _listing(tmp_path) == []


def test_only_the_kits_names_are_made():
    with pytest.raises(ValueError, match="starts with 'petkit-'"):
        tempdirs.make("mine-")
