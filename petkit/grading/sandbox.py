"""The operating-system boundary around every piece of learner code that grading runs.

nbgrader's kernel and the referee's sealed process are started under bubblewrap (`bwrap`, the
sandbox Flatpak uses), with:

- no network (a network namespace of their own: only a loopback nobody else is on; the kernel
  talks to nbgrader over Unix sockets in the scratch folder, not TCP);
- a private PID namespace and --die-with-parent: when the kernel (or the referee's process) ends
  or is killed, every process the learner's code started dies with it, detached (setsid) or not;
- no capabilities, and a new IPC/UTS namespace;
- a filesystem view made of the system's read-only folders (/usr, /lib, /etc ...), the Python
  installation and the kit's venv and engine (petkit/) read-only, and ONE writable folder: that
  submission's scratch folder (also its /tmp and HOME). Nothing else exists inside: not the course
  folder (gradebook, source/, other students, release/), not solutions/ or exercises/ of the kit.

What it does not do: it does not stop the learner's code from using the CPU and memory it is given
(the time limits per cell and the address-space cap do that), nor from reading what is readable in
the system folders and the engine (the checks' code is there: reading it does not change a grade,
the referee's seal does the rest). The static screen (petkit.grading.screen.scan) stays as the fast first
line: a screened cell is never run at all.

Everything here is pure except `available()`, which runs bwrap once to see that it works.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from petkit import ROOT, namespaces, tempdirs

BWRAP = os.environ.get("PETKIT_BWRAP", "bwrap")  # the bubblewrap command (another path: PETKIT_BWRAP)
HOW_TO_GET = ("install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
              "bubblewrap`; `python3 -m petkit` installs it when run as root), or pass --no-sandbox to grade "
              "with the learner's code able to reach the course folder (not for real grades)")
NO_SANDBOX_WARNING = ("graded WITHOUT the OS sandbox (--no-sandbox): the learner's code could reach the course "
                      "folder and the network, and processes it started could outlive grading")
# the sandbox's /dev/shm is memory that its memory caps (address space) do not count: writing a file
# there maps nothing. Bounded, as Docker bounds it (64 MB there; torch's DataLoader workers need more)
SHM_MB = 1024
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")


class SandboxError(Exception):
    """The sandbox cannot be built (bwrap missing or not working, or a path would expose the course)."""


def engine_paths() -> list[Path]:
    """What learner code needs to read: the venv, the Python it was made from, and the kit's engine
    (petkit/ only: not solutions/, exercises/ or grader/ of the checkout), and the pretrained
    bodies' cache when there is one."""
    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), ROOT / "petkit"]
    from petkit.pretrain import cache_dir
    if cache_dir().is_dir():
        paths.append(cache_dir())
    out: list[Path] = []
    for p in paths:
        for q in (p, p.resolve()):
            if q.exists() and q not in out:
                out.append(q)
    return out


def argv(scratch: Path | str, cwd: Path | str | None = None, read_only: list[Path] | None = None,
         hidden: list[Path] | None = None) -> list[str]:
    """The bwrap command line (to be followed by the command to run) that gives the command a view
    with `read_only` (default: engine_paths()) and the system folders read-only, `scratch` the only
    writable folder (at the same path, as HOME and as /tmp), `cwd` (default: scratch) its working
    directory. Raises SandboxError when a read-only path would show one of `hidden` (the course
    folder) or the scratch folder is inside the course."""
    scratch = Path(scratch).resolve()
    cwd = Path(cwd).resolve() if cwd else scratch
    read_only = [Path(p) for p in (engine_paths() if read_only is None else read_only)]
    for h in [Path(h).resolve() for h in hidden or []]:
        for p in read_only + [scratch]:
            if p.resolve() == h or h in p.resolve().parents or p.resolve() in h.parents:
                raise SandboxError(f"the sandbox would show {h} to the learner's code (through {p}): keep the "
                                   f"course folder outside the kit's venv and engine folders")
    if not (cwd == scratch or scratch in cwd.parents):
        raise SandboxError(f"the working directory {cwd} is not inside the scratch folder {scratch}")
    (scratch / "tmp").mkdir(exist_ok=True)
    cmd = [BWRAP, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL", "--hostname", "petkit-sandbox"]
    for d in SYSTEM_DIRS:
        if Path(d).exists():
            # a merged-/usr system has /bin -> usr/bin: keep links as links
            cmd += ["--symlink", os.readlink(d), d] if Path(d).is_symlink() else ["--ro-bind", d, d]
    # /dev read-only but for its shared memory and message queues (tmpfs and mqueue of their own, which a
    # warm server empties after each job: petkit.warm, petkit.namespaces), as nothing else there is a
    # learner's to write: in a warm server's sandbox /dev outlives the job
    cmd += ["--proc", "/proc", "--dev", "/dev", "--size", str(SHM_MB << 20), "--tmpfs", "/dev/shm",
            "--mqueue", namespaces.MQUEUE,
            "--remount-ro", "/dev", "--bind", str(scratch / "tmp"), "/tmp"]
    for p in read_only:
        cmd += ["--ro-bind", str(p), str(p)]
    cmd += ["--bind", str(scratch), str(scratch), "--remount-ro", "/",
            "--chdir", str(cwd), "--setenv", "HOME", str(scratch), "--setenv", "TMPDIR", "/tmp",
            "--setenv", "JUPYTER_RUNTIME_DIR", str(scratch), "--setenv", "IPYTHONDIR", str(scratch / ".ipython"),
            "--setenv", "MPLCONFIGDIR", str(scratch / ".matplotlib"), "--unsetenv", "JUPYTER_CONFIG_DIR",
            # ipykernel polls its parent by PID, which means nothing across the PID namespace: 1 tells it
            # not to (bwrap's --die-with-parent ends the kernel with its parent instead)
            "--setenv", "JPY_PARENT_PID", "1"]
    from petkit.pretrain import CACHE_ENV, cache_dir
    if cache_dir().is_dir():  # HOME moves: say where the bodies are
        cmd += ["--setenv", CACHE_ENV, str(cache_dir())]
    return cmd + ["--"]


def scratch_folder(prefix: str = "petkit-sb-", parent: str | Path | None = None) -> Path:
    """A private, short-named folder (Unix socket paths are limited to ~107 bytes), in /tmp or in
    `parent` (a warm server's spool: petkit.grading.warm_grading)."""
    parent = parent or ("/tmp" if Path("/tmp").is_dir() else None)
    return tempdirs.make(prefix, parent)


def copy_into(src: Path, scratch: Path, name: str = "work") -> Path:
    """A copy of one submission's folder inside the scratch folder (the learner's working directory)."""
    dest = scratch / name
    if Path(src).is_dir():
        shutil.copytree(src, dest, symlinks=True)
    else:
        dest.mkdir()
    return dest


@functools.cache
def _probe() -> str:
    """'' when bwrap runs the sandbox here, else why not."""
    if not shutil.which(BWRAP):
        return "bwrap (bubblewrap) is not installed"
    scratch = scratch_folder("petkit-probe-")
    try:
        done = subprocess.run(argv(scratch) + [sys.executable, "-c", "import petkit"], capture_output=True,
                              text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bwrap could not start ({e})"
    finally:
        tempdirs.remove(scratch)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bwrap cannot build the sandbox on this machine ({last[:200]})"
    return ""


def available() -> str:
    """'' when the sandbox works on this machine, else why not (bwrap missing, user namespaces off...)."""
    return _probe()


def require(no_sandbox: bool = False) -> bool:
    """Whether grading runs in the sandbox: True when it works; False under `no_sandbox`; a
    SandboxError that says how to get it otherwise."""
    if no_sandbox:
        return False
    why = available()
    if why:
        raise SandboxError(f"the learner's code must run in the OS sandbox, but {why}: {HOW_TO_GET}")
    return True


def confine_kernel(km, scratch: Path, cwd: Path, hidden: list[Path] | None = None) -> None:
    """Make a jupyter_client kernel manager start its kernel inside the sandbox: the connection
    file and Unix sockets (ZMQ's ipc transport: TCP cannot cross the network namespace) in the
    scratch folder, and the kernel command prefixed by bwrap's."""
    prefix = argv(scratch, cwd, hidden=hidden)
    km.transport = "ipc"
    km.connection_file = str(scratch / "kernel.json")
    km.ip = str(scratch / "kernel-ipc")
    # an interrupt (the per-cell time limit) as a message on the control channel: a SIGINT sent to the
    # process group would end bwrap itself, and the kernel with it
    km.kernel_spec.interrupt_mode = "message"
    plain = km.format_kernel_cmd

    def format_kernel_cmd(extra_arguments=None):
        return prefix + plain(extra_arguments)
    km.format_kernel_cmd = format_kernel_cmd
