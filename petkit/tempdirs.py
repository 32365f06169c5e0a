"""The kit's temporary folders, and the sweep that removes those a killed process left.

    path = make("petkit-check-")          # /tmp/petkit-check-XXXX, held by this process
    remove(path)                          # gone, with its hold
    with folder("petkit-grade-") as path: # the same, as a context

A process that ends normally removes what it made (its own code, or atexit). One killed by SIGKILL
or SIGTERM, or ended by `os._exit`, cannot: every killed `petkit grade` left its warm servers'
folders and its scratch courses in /tmp, and a killed `petkit check` its run's TMPDIR. So each
folder made here has a sibling, `<folder>.owner`, locked (flock) by the process that made it for as
long as the folder is in use; the kernel drops the lock when that process is gone, however it went.
The first `make` of a process in a parent folder sweeps that folder: each `petkit-*.owner` whose
lock it can take is an owner gone, and its folder and the owner file are removed. A folder
without an owner file is never touched (nobody says whose it is), nor one of another user, nor a
symbolic link. The lock is on the file, not on a process id, so a process id used again changes
nothing; fork children share the hold (the folder stays while any of them lives).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # no flock: folders are made and removed as before, and nothing is swept
    fcntl = None

OWNER = ".owner"
PREFIX = "petkit-"

_held: dict[str, int] = {}  # folder -> the descriptor of its locked owner file
_swept: set[str] = set()  # parent folders this process has swept


def make(prefix: str, dir: str | Path | None = None) -> Path:
    """A new private folder (`tempfile.mkdtemp`) in `dir` (None: the temporary folder), held by this
    process until `remove` or its end. The first call per parent sweeps that parent (`sweep`)."""
    if not prefix.startswith(PREFIX):
        raise ValueError(f"a kit folder's name starts with {PREFIX!r}, got {prefix!r}")
    parent = os.path.abspath(dir if dir is not None else tempfile.gettempdir())
    if parent not in _swept:
        _swept.add(parent)
        sweep(parent)
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    if fcntl is not None:
        _hold(path)
    return Path(path)


def _hold(path: str) -> None:
    # locked before it has its name, so no sweep ever sees it unlocked
    fd, pending = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".pending",
                                   dir=os.path.dirname(path))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(pending, path + OWNER)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(pending)
        raise
    _held[path] = fd


def remove(path: str | Path) -> None:
    """Remove a folder `make` made, then its owner file and the hold (in that order: no sweep can take
    the folder while this removes it). Any other folder: removed, as `shutil.rmtree` would."""
    path = os.path.abspath(path)
    shutil.rmtree(path, ignore_errors=True)
    fd = _held.pop(path, None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.unlink(path + OWNER)
        os.close(fd)


@contextlib.contextmanager
def folder(prefix: str, dir: str | Path | None = None):
    """`make` as a context: the folder is removed when the block ends, however it ends."""
    path = make(prefix, dir)
    try:
        yield path
    finally:
        remove(path)


def sweep(parent: str | Path | None = None) -> list[Path]:
    """Remove the kit's folders in `parent` (None: the temporary folder) whose owner is gone; return
    them. Safe to run while other kit processes work there: their folders are held."""
    if fcntl is None:
        return []
    parent = os.path.abspath(parent if parent is not None else tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith(PREFIX) and entry.name.endswith(OWNER) and _orphan(entry.path):
            removed.append(Path(entry.path[:-len(OWNER)]))
    return removed


def _orphan(owner: str) -> bool:
    """Take the owner file's lock; if free, its folder's owner is gone: remove both (True: the folder
    was removed)."""
    try:
        fd = os.open(owner, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # gone meanwhile, a link, not ours to read
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: in use
            return False
        try:
            same = os.stat(owner, follow_symlinks=False)
        except OSError:  # removed by its owner or another sweep before the lock was ours
            return False
        if (same.st_dev, same.st_ino) != (info.st_dev, info.st_ino):
            return False
        path = owner[:-len(OWNER)]
        try:
            target = os.stat(path, follow_symlinks=False)
        except OSError:
            target = None
        ours = target is not None and stat.S_ISDIR(target.st_mode) and target.st_uid == os.getuid()
        if ours:
            shutil.rmtree(path, ignore_errors=True)
        os.unlink(owner)  # a link or another's folder under its name: left, and no longer named ours
        return ours
    finally:
        os.close(fd)
