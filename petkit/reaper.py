"""Nothing an answer starts outlives the run that checks it.

An answer may fork, start a process that calls setsid (leaving the worker's process group), or
leave a thread running. The child's process group is killed when it is done (petkit.supervisor), but a
process in a session of its own is not in it, and once its parent exits it is re-parented, out of
sight. So the supervising process becomes a *child subreaper* (Linux's PR_SET_CHILD_SUBREAPER):
orphans of the worker's tree are re-parented to it instead of to init, and every process that
appeared below it while the worker ran is killed by its pid once the worker is done.
"""
from __future__ import annotations

import os
import signal
import threading

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36  # <linux/prctl.h>

# Processes this one started that are nobody's leftovers (a warm server and its twins, a supervised child
# still running beside another one): kill_new spares them and everything below them.
_kept: set[int] = set()
# held while a child is started and kept, and while leftovers are listed and killed: a sibling's child,
# started that moment, is either not listed yet or kept already (never killed as a leftover)
starting = threading.RLock()


def keep(pid: int) -> None:
    """Never count `pid` and its descendants as a run's leftovers (until `release(pid)`)."""
    _kept.add(pid)


def release(pid: int) -> None:
    _kept.discard(pid)


def prctl(option: int, value: int) -> bool:
    """Linux's prctl(option, value); False where it fails or there is none."""
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Ask Linux to re-parent this process's orphaned descendants to it (not inherited across fork);
    False where it cannot."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent(parent: int) -> None:
    """Be killed (SIGKILL) when the process `parent`, this one's parent, dies, even by SIGKILL (Linux's
    parent-death signal; not inherited across fork); exit now if it died before the signal was set.
    The signal follows the parent's *thread* that forked this one: fork from a thread that outlives
    the child (or from the main thread). Nothing where there is no prctl."""
    if prctl(PR_SET_PDEATHSIG, signal.SIGKILL) and os.getppid() != parent:
        os._exit(1)


def descendants() -> set[tuple[int, float]]:
    """(pid, start time) of every process below this one (start time: a pid can be reused)."""
    try:
        import psutil
        return {(p.pid, p.create_time()) for p in psutil.Process().children(recursive=True)}
    except Exception:  # noqa: BLE001 - psutil missing or a process gone while listed
        return set()


def with_descendants(pids) -> set[int]:
    """`pids` and every process below them (what a cleaning spares: list the victims before calling)."""
    import psutil
    found = set(pids)
    for pid in pids:
        try:
            found |= {p.pid for p in psutil.Process(pid).children(recursive=True)}
        except psutil.Error:
            pass
    return found


def kill_new(before: set[tuple[int, float]], spare: set[int] = frozenset()) -> int:
    """Kill every descendant that was not there `before`, except the kept processes (keep) and `spare`,
    and what runs below them; collect the exit status of those that were re-parented to this process
    (so they do not linger as zombies). Returns how many."""
    with starting:
        return _kill_new(before, spare)


def _kill_new(before: set[tuple[int, float]], spare: set[int]) -> int:
    import psutil
    new = descendants() - before  # listed first: a process made later below a kept one is not in it
    kept = with_descendants(set(spare) | _kept)
    killed = []
    for pid, started in new:
        if pid in kept:
            continue
        try:
            p = psutil.Process(pid)
            if p.create_time() == started:
                mine = p.ppid() == os.getpid()
                p.send_signal(signal.SIGKILL)
                killed.append((pid, mine))
        except psutil.Error:
            pass
    for pid, mine in killed:
        if mine:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return len(killed)
