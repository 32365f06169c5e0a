"""What a job can leave in a sandbox's namespaces besides processes and files, and how it is cleared.

A cold sandbox (petkit.grading.sandbox) is a bubblewrap run of its own: its IPC namespace, its user
namespace and the session keyring bwrap makes end with it. A warm server's sandbox serves one job after
another in ONE set of namespaces (petkit.warm), so what a job leaves there would reach the next
student's kernel or referee run: System V shared memory, semaphores and message queues, POSIX message
queues, keys in the keyrings its jobs share (the server's session keyring, which a forked job inherits,
and the uid's own). The server clears them after each job (`clear`). Files are petkit.warm's part (/tmp,
/dev/shm; the rest of /dev is read-only: petkit.grading.sandbox).

Linux only; where a call is missing (another kernel, no keyrings) it does nothing: nothing is left there.
"""
from __future__ import annotations

import os
import platform

MQUEUE = "/dev/mqueue"  # where petkit.grading.sandbox mounts the namespace's POSIX message queues

# keyctl(2) has no libc wrapper: its system call number, by machine
KEYCTL = {"x86_64": 250, "aarch64": 219, "riscv64": 219, "i386": 288, "i686": 288, "armv7l": 311,
          "ppc64le": 355, "ppc64": 355, "s390x": 280}.get(platform.machine())
KEYCTL_CLEAR, KEYCTL_UNLINK, KEYCTL_GET_PERSISTENT = 7, 9, 22
KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -3, -4, -5
IPC_RMID = 0


def _libc():
    import ctypes
    return ctypes.CDLL(None, use_errno=True)


def _keyctl(*args) -> int:
    """keyctl(2); -1 where it fails or this machine's call number is not known."""
    if KEYCTL is None:
        return -1
    import ctypes
    try:
        return _libc().syscall(KEYCTL, *(ctypes.c_long(a) if isinstance(a, int) else a for a in args))
    except (OSError, AttributeError):
        return -1


def clear_keyrings() -> None:
    """Empty the keyrings the jobs share: this process's session keyring (a forked job's too) and those
    of the uid in this user namespace (the user's, the user-session one, the persistent one). Keys
    unlinked from them all are collected by the kernel."""
    for ring in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING, KEY_SPEC_SESSION_KEYRING):
        _keyctl(KEYCTL_CLEAR, ring)
    persistent = _keyctl(KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_SESSION_KEYRING)  # links it into the session's
    if persistent >= 0:
        _keyctl(KEYCTL_CLEAR, persistent)
        _keyctl(KEYCTL_UNLINK, persistent, KEY_SPEC_SESSION_KEYRING)


def sysv_ipc_ids() -> dict[str, list[int]]:
    """The ids of the System V objects of this IPC namespace, by kind (shm, sem, msg)."""
    ids: dict[str, list[int]] = {}
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            rows = []
        ids[kind] = [int(r.split()[1]) for r in rows if len(r.split()) > 1]
    return ids


def remove_sysv_ipc() -> None:
    """Remove every System V shared memory segment, semaphore set and message queue of this IPC
    namespace (their creator's uid may: the jobs' is the server's)."""
    try:
        libc = _libc()
    except OSError:
        return
    ids = sysv_ipc_ids()
    for shm in ids["shm"]:
        libc.shmctl(shm, IPC_RMID, None)
    for sem in ids["sem"]:
        libc.semctl(sem, 0, IPC_RMID)
    for msg in ids["msg"]:
        libc.msgctl(msg, IPC_RMID, None)


def remove_message_queues() -> None:
    try:
        names = os.listdir(MQUEUE)
    except OSError:
        return
    for name in names:
        try:
            os.unlink(os.path.join(MQUEUE, name))
        except OSError:
            pass


def clear() -> bool:
    """After a job, in a warm server's sandbox (every process of the job killed): nothing of it left in
    the namespaces for the next job. Only as PID 1 of its own PID namespace, where those namespaces are
    the sandbox's (bwrap unshares them all together): anywhere else it would clear the host's, so it does
    nothing and says so (False)."""
    if os.getpid() != 1:
        return False
    remove_sysv_ipc()
    remove_message_queues()
    clear_keyrings()
    return True
