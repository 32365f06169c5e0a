"""Warm starts: a fork server that imports torch, Hypothesis, petkit's checks (and fastai, ipykernel)
once, then forks a fresh child per job (a checked exercise, a grading kernel, a referee run).

Three parts, one file, so that the launcher can run as `python -S petkit/warm.py launch ...` (standard
library only, milliseconds):

- **the server** (`python -m petkit.warm serve`): imports the modules it is told to preload, then
  checks that it holds ONE thread (a fork copies only the calling thread: a lock held by another one
  would never be released in the child; ipykernel #410/#1261 and jupyter_client #441/#1031 forked
  before any ZMQ context, asyncio loop or thread existed, and so does this), makes itself
  non-dumpable (no learner child of the same uid can ptrace it or read its memory), becomes the
  reaper of every orphan, and serves one job at a time on a listening Unix socket it inherits from
  the host (the socket's path is on the host only: inside the sandbox nothing can connect to it).
  Per job it forks a child that starts a new session, takes the job's stdio (and event pipe) passed
  as file descriptors (SCM_RIGHTS), its cwd and environment, and runs the job's module as
  `python -m MODULE ARGS` would, then `os._exit`. When the child ends, or the launcher that asked for
  it dies (the socket closes), every process left is killed (in the sandbox: every process of its PID
  namespace, of which the server is PID 1, so no learner code can signal it; on the host: every
  descendant, the server being a child subreaper) and the scratch outside the job's own folder is
  wiped (/tmp, /dev/shm, the spool), and in the sandbox, whose namespaces outlive the job, so is what
  it left there (petkit.namespaces: System V objects, message queues, keys): nothing one job leaves
  reaches the next or the server. Before each fork it checks that what a job inherits of it (limits,
  priority, scheduling, CPUs: another process of its uid can change them) is as it was at its start;
  changed, it refuses the job (cold) and ends.
  On the host, between jobs, it can fork **twins** (Server.twins): servers as clean as it is, that cost
  no imports and serve jobs on a socket of their own beside it (`petkit check` runs exercises at once
  in them); its cleaning spares them and what runs below them, each cleans after its own jobs, and a twin
  ends with its own lifeline or with the server (after it cleaned: the server waits for it).
  The server ends with the process that started it (the host), however that one died: it holds the
  read end of a pipe (its lifeline) whose write end only the host has, and reading EOF there, between
  jobs or during one, it kills every process left and exits.
  A preloaded module may define `warm_up_server()`: the server calls it once after the imports (petkit's
  strategies run one property there, so a job's first check does not pay Hypothesis's set-up); it must
  start no thread, which the server checks as it checks the imports.
- **the launcher** (`python -S petkit/warm.py launch --socket S -- COLD_ARGV`): what the kernel
  manager, the referee or `petkit check` start instead of COLD_ARGV. It hands its stdio over to the
  server, relays signals, and exits as the child exited. When the server cannot take the job (none
  running, a different environment, a module it does not serve), it `exec`s COLD_ARGV: the cold
  path, same grades.
- **the host side** (`server()`): one server per (what it preloads, the environment the jobs get,
  sandbox or not), started on first use and kept for the process's life; a dead one is started
  again, one that cannot start (a thread after the imports) is given up: the cold path then.

PETKIT_WARM=0 turns it all off.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys

MAX_FDS = 8
PER_JOB_ENV = {  # what may differ between the server's environment and a job's: read after the fork
    "HOME", "TMPDIR", "PWD", "OLDPWD", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR", "JPY_PARENT_PID",
    "JPY_SESSION_NAME", "PETKIT_STUDENT", "PYTEST_CURRENT_TEST", "_", "SHLVL", "OPENBLAS_NUM_THREADS",
    "COLUMNS", "LINES", "PETKIT_WARM", "PETKIT_WARM_VERBOSE",
    "PETKIT_LIFELINE"}  # petkit.supervisor.LIFELINE_ENV (this file imports nothing of petkit)
SERVER_ENV = {"OPENBLAS_NUM_THREADS": "1"}  # OpenBLAS starts its thread pool on import otherwise
KERNEL_MODULES = ("ipykernel_launcher", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                  "IPython", "jupyter_client.session")
JOB_MODULES = ("ipykernel_launcher", "petkit.checker_child", "petkit.grading.sealed")


def _send(conn, **msg) -> None:
    conn.sendall((json.dumps(msg) + "\n").encode())


def _lines(conn):
    """The JSON messages coming on a connection (None when it closes)."""
    buf = b""
    while True:
        while b"\n" not in buf:
            try:
                chunk = conn.recv(65536)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                yield None
                return
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        try:
            yield json.loads(line)
        except ValueError:
            yield None
            return


# --- the launcher (standard library only: it runs under `python -S`) ----------------------------------

def _job_from(cold: list[str], sandboxed: bool) -> dict | None:
    """The job a cold command line describes (`[bwrap OPTS --] PYTHON -m MODULE ARGS`), or None when it
    is not one the server can run (another interpreter, other options)."""
    env, cwd = dict(os.environ), os.getcwd()
    if sandboxed:
        if "--" not in cold:
            return None
        end = cold.index("--")
        opts, cold = cold[:end], cold[end + 1:]
        i = 0
        while i < len(opts):
            if opts[i] == "--setenv":
                env[opts[i + 1]] = opts[i + 2]
                i += 3
                continue
            if opts[i] == "--unsetenv":
                env.pop(opts[i + 1], None)
            elif opts[i] == "--chdir":
                cwd = opts[i + 1]
            i += 1 + (opts[i] in ("--unsetenv", "--chdir"))
    if len(cold) < 3 or cold[0] != sys.executable or cold[1] not in ("-m", "-c"):
        return None
    return {"module" if cold[1] == "-m" else "code": cold[2], "argv": cold[3:], "cwd": cwd, "env": env}


def _as_seen_inside(job: dict, spool: str) -> dict:
    """The job's cwd and environment with the spool's folders named as the sandbox's /tmp names them
    (the server's sandbox has the spool as its /tmp): /tmp/petkit-sb-X/work, as in a cold sandbox, so
    that paths relative to the job's folder lead where they lead there (../../../ is /, read-only)."""
    def inside(value: str) -> str:
        return "/tmp/" + value[len(spool) + 1:] if value.startswith(spool + "/") else value
    return {**job, "cwd": inside(job["cwd"]), "env": {k: inside(v) for k, v in job["env"].items()}}


def launch(argv: list[str]) -> int:
    """The launcher's main: run the job of `-- COLD_ARGV` in the server at `--socket`, else exec it cold."""
    sock_path, extra, keep, sandboxed, spool = None, [], "", False, ""
    while argv and argv[0] != "--":
        flag, argv = argv[0], argv[1:]
        if flag == "--sandboxed":
            sandboxed = True
            continue
        value, argv = argv[0], argv[1:]
        if flag == "--socket":
            sock_path = value
        elif flag == "--fd":
            extra.append(int(value))
        elif flag == "--keep":
            keep = value
        elif flag == "--spool":
            spool = value
    cold = argv[1:]
    job = _job_from(cold, sandboxed)
    if job is not None and spool:
        job = _as_seen_inside(job, spool)
    conn = None
    if job is not None and sock_path and os.environ.get("PETKIT_WARM", "1") != "0":
        try:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(sock_path)
            fds = [fd for fd in (0, 1, 2, *extra) if _is_open(fd)]
            job.update(fds=fds, keep=keep)
            socket.send_fds(conn, [(json.dumps(job) + "\n").encode()], fds)
        except OSError:
            conn = None
    messages = _lines(conn) if conn else iter([None])
    first = next(messages)
    if not first or "started" not in first:
        if os.environ.get("PETKIT_WARM_VERBOSE") == "1":
            why = (first or {}).get("refused") or ("no server at " + str(sock_path) if job else "not a job it runs")
            sys.stderr.write(f"petkit warm: running it cold ({why})\n")
        if conn:
            conn.close()
        os.execvp(cold[0], cold)  # the cold path: the same command the server would have stood for
    relay = lambda signum, frame: _send(conn, signal=signum)  # noqa: E731
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, relay)
    for msg in messages:
        if msg is None:
            sys.stderr.write("petkit: the warm server ended while running this job\n")
            if not sandboxed:  # its group too (the job itself dies with the server); a sandbox's pid is
                try:  # not the host's, and its namespace ends with the server
                    os.killpg(int(first["started"]), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            return 1
        if "exit" in msg:
            code = int(msg["exit"])
            if code < 0:  # killed by a signal: so is the launcher, as the kernel manager expects
                if -code not in (signal.SIGKILL, signal.SIGSTOP):
                    signal.signal(-code, signal.SIG_DFL)
                os.kill(os.getpid(), -code)
            return code
    return 1


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


# --- the server ---------------------------------------------------------------------------------------

def threads() -> int:
    return len(os.listdir("/proc/self/task"))


class _HostGone(Exception):
    """The host's end of the lifeline closed: the process that started the server is gone."""


class _Changed(Exception):
    """What a forked job would inherit of the server was changed from outside (by a job): it ends."""


class _Server:
    def __init__(self, listener: socket.socket, pid_namespace: bool, spool: str, allow_code: bool, env: dict,
                 lifeline: int | None = None):
        """`env`: the environment the server started with, before its imports (torch adds to it).
        `lifeline`: the read end of a pipe whose write end only the host holds (EOF: the host died)."""
        self.listener, self.pid_namespace, self.spool, self.allow_code = listener, pid_namespace, spool, allow_code
        self.lifeline = lifeline
        self.dirty = False  # a child ran since the last cleaning
        self.env = {k: v for k, v in env.items() if k not in PER_JOB_ENV}
        # what the imports set (torch: KMP_DUPLICATE_LIB_OK ...): a job may have it already, the same
        self.added = {k: v for k, v in os.environ.items() if k not in env and k not in PER_JOB_ENV}
        self.kept = ""  # the last job's own folder (a restarted kernel finds its files again)
        self.twins: dict[int, float] = {}  # pid -> start time of the twins forked from this server (host only)
        self.inherits = inherited()  # what a forked job inherits of this process, as it was at the start

    def serve(self) -> None:
        """Serve jobs until the host goes away (then: kill every process left, and return)."""
        import select
        watched = [self.listener] + ([self.lifeline] if self.lifeline is not None else [])
        try:
            while True:
                try:
                    ready, _, _ = select.select(watched, [], [])
                    if self.lifeline in ready:
                        raise _HostGone
                    conn, _ = self.listener.accept()
                except InterruptedError:
                    continue
                with conn:
                    try:
                        self.one(conn)
                    finally:
                        if self.dirty:  # a child ran and one() did not get to clean after it
                            self.clean()
        except _HostGone:
            self.clean()
            self.wait_for_twins()
        except _Changed:  # nothing of its own runs (it just cleaned after its last job); its twins and their
            pass  # jobs end with it; its host starts a fresh server when it next needs one (Server.alive)

    def wait_for_twins(self, within: float = 10) -> None:
        """The host is gone: each twin cleans after its own job (it saw its lifeline close too) and ends;
        then anything left goes. Before this server ends: a twin dies with it (its death signal)."""
        import time
        end = time.monotonic() + within
        while self.live_twins() and time.monotonic() < end:
            self.reap(-1)
            time.sleep(0.01)
        _kill_descendants()

    def refusal(self, job: dict) -> str:
        module = job.get("module")
        if module is None and not (self.allow_code and isinstance(job.get("code"), str)):
            return "this server runs modules only"
        if module is not None and module not in JOB_MODULES:
            return f"this server does not run {module}"
        theirs = {k: v for k, v in job.get("env", {}).items()
                  if k not in PER_JOB_ENV and not (k in self.added and self.added[k] == v)}
        if theirs != self.env:
            differ = sorted(k for k in set(theirs) | set(self.env) if theirs.get(k) != self.env.get(k))
            return f"the job's environment differs from the server's in {', '.join(differ[:5])}"
        return ""

    def one(self, conn: socket.socket) -> None:
        """Run the job a connection asks for and clean up after it (a refused job runs cold, elsewhere)."""
        try:
            data, fds, _, _ = socket.recv_fds(conn, 1 << 20, MAX_FDS)
        except OSError:
            return
        try:
            while not data.endswith(b"\n"):
                more = conn.recv(1 << 20)
                if not more:
                    return
                data += more
            job = json.loads(data)
            if job.get("ping"):  # the host asks whether the last job (and its cleaning) is over: it is
                _send(conn, idle=True)
                return
            if job.get("twin"):
                self.fork_twin(conn, fds)
                return
            keep = job.get("keep") or ""
            if keep != self.kept:  # a new job's folder: what the last job kept goes
                self.kept = keep
                self.wipe_spool()
            changed = self.changed()
            if changed:  # before anything is forked from it: the job runs cold, later ones in a fresh server
                print(f"refused: {changed}; ending", flush=True)
                _send(conn, refused=changed)
                raise _Changed
            why = self.refusal(job) or ("" if len(fds) == len(job.get("fds", [])) else "file descriptors missing")
            if why:
                print(f"refused {job.get('module') or 'code'}: {why}", flush=True)  # the log says why it ran cold
                _send(conn, refused=why)
                return
            me = os.getpid()
            pid = os.fork()
            if pid == 0:
                _child(job, fds, me)  # never returns
            self.dirty = True
            print(f"job {job.get('module') or 'code'}", flush=True)
        finally:
            for fd in fds:
                os.close(fd)
        try:
            _send(conn, started=pid)
        except OSError:
            pass
        code = self.follow(conn, pid)
        # clean before the launcher hears the exit: once it has, it may make its next job's folder in
        # the spool, which a cleaning still under way would wipe
        self.clean()
        try:
            _send(conn, exit=code)
        except OSError:
            pass

    def changed(self) -> str:
        """What of the server's own limits, priority, scheduling or CPUs differs from its start ('' when
        nothing): a process of the same uid (a job, or what a job left) may change them (prlimit,
        setpriority, sched_setaffinity ...), and every job forked after would inherit them: a next
        student's kernel with 300 MB of address space, one CPU or the lowest priority."""
        now = inherited()
        differ = [k for k in self.inherits if now.get(k) != self.inherits[k]]
        return f"its {', '.join(differ)} changed since it started" if differ else ""

    def fork_twin(self, conn: socket.socket, fds: list[int]) -> None:
        """Fork a twin: a second server, as clean as this one is between jobs (it ran no learner code),
        serving on the listener the host sent, ending when the host's end of the new lifeline closes (or
        this server dies). On the host only: in the sandbox, the server is PID 1 of its namespace and kills
        every process in it after a job, twins included."""
        if self.pid_namespace or len(fds) != 2:
            _send(conn, refused="twins run on the host only" if self.pid_namespace else "file descriptors missing")
            return
        changed = self.changed()
        if changed:  # a twin would inherit it too
            print(f"refused a twin: {changed}; ending", flush=True)
            _send(conn, refused=changed)
            raise _Changed
        me = os.getpid()
        pid = os.fork()
        if pid == 0:
            _twin(self, me, conn, fds)  # never returns
        self.twins[pid] = _started(pid)
        print(f"twin {pid}", flush=True)
        try:
            _send(conn, twin=pid)
        except OSError:
            pass

    def live_twins(self) -> tuple[int, ...]:
        """The twins still running (a pid with another start time is a process that took a dead twin's pid)."""
        self.twins = {pid: t for pid, t in self.twins.items() if t and _started(pid) == t}
        return tuple(self.twins)

    def follow(self, conn: socket.socket, pid: int) -> int:
        """Wait for the child to end, relaying signals; kill it when the launcher goes away."""
        import select
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        messages = _lines(conn)
        watched = [conn] + ([pidfd] if pidfd is not None else []) + ([self.lifeline] if self.lifeline is not None else [])
        status = None
        while status is None:
            ready, _, _ = select.select(watched, [], [], 0.5 if pidfd is None else 5)
            if self.lifeline is not None and self.lifeline in ready:
                _killpg(pid)
                if pidfd is not None:
                    os.close(pidfd)
                raise _HostGone
            if conn in ready:
                msg = next(messages)
                if msg is None:  # the launcher is gone: so is its job
                    _killpg(pid)
                    watched.remove(conn)
                elif "signal" in msg:
                    _killpg(pid, int(msg["signal"]))
            status = self.reap(pid)
        if pidfd is not None:
            os.close(pidfd)
        return status

    def reap(self, pid: int) -> int | None:
        """Collect every ended child (orphans re-parented here too); the job's exit code once it ended."""
        found = None
        while True:
            try:
                done, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return found
            if done == 0:
                return found
            if done == pid:
                found = os.waitstatus_to_exitcode(status)

    def clean(self) -> None:
        """Kill every process the job left, then wipe what it could write outside its own folder."""
        self.dirty = False
        if self.pid_namespace:
            for _ in range(100):
                try:
                    os.kill(-1, signal.SIGKILL)  # PID 1 of the namespace: everyone but itself
                except ProcessLookupError:
                    break
                _wait_all()
        else:
            _kill_descendants(spare=self.live_twins())  # a twin's jobs are its own to clean after
        self.wipe_spool()
        if self.pid_namespace:
            _empty("/dev/shm", spare=())
            _empty("/tmp", spare=self.spared())  # the spool itself, in the sandbox: wiped above
            from petkit import namespaces
            namespaces.clear()  # System V objects, message queues, keys: one sandbox serves every job

    def spared(self) -> tuple[str, ...]:
        """What wiping keeps: the spool's own mount point and the job's folder, by both their names."""
        kept = (self.kept, "/tmp/" + os.path.basename(self.kept)) if self.kept else ()
        return (self.spool, *kept)

    def wipe_spool(self) -> None:
        if not self.spool:
            return
        _empty(self.spool, spare=(*self.spared(), os.path.join(self.spool, os.path.basename(self.spool))))


def _killpg(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the job's process group (the child itself when it has not made its session yet)."""
    for send in (os.killpg, os.kill):
        try:
            send(pid, sig)
            return
        except (ProcessLookupError, PermissionError):
            continue


def _wait_all() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def _kill_descendants(spare: tuple[int, ...] = ()) -> None:
    """Kill every process below this one, except the `spare` ones and what runs below them."""
    import psutil
    from petkit.reaper import with_descendants
    me = psutil.Process()
    for _ in range(100):
        left = me.children(recursive=True)  # listed first: one made later below a spared one is not in it
        kept = with_descendants(spare)
        left = [p for p in left if p.pid not in kept]
        if not left:
            break
        for p in left:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


def _remove(path: str) -> None:
    import shutil
    import stat

    def writable_then_retry(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            os.chmod(p, stat.S_IRWXU)
            func(p)
        except OSError:
            pass
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=writable_then_retry)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def _mount_points() -> frozenset[str]:
    """Where this process sees a mount (/proc/self/mountinfo's fifth field, octal escapes decoded)."""
    import re  # not at the top: the launcher imports this file under `python -S`, and needs none of it
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            fields = [line.split() for line in f]
    except OSError:
        return frozenset()
    unescape = lambda text: re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)  # noqa: E731
    return frozenset(unescape(f[4]) for f in fields if len(f) > 4)


def _empty(folder: str, spare: tuple[str, ...], mounts: frozenset[str] | None = None) -> None:
    """Remove what `folder` holds, except `spare` and the way to it (the spool's mount point, in /tmp
    when the spool is a folder of the host's /tmp), and except what is mounted there: in the sandbox the
    kit's own folders are bound read-only at their paths, inside its /tmp when the checkout lies under
    /tmp (a fresh clone in CI). Removing them walked the whole venv after every job, 98,000 failed
    unlinks per grading test; through a writable mount it would delete another filesystem's files. What
    lies beside a mount point, on the way to it, goes as anything else."""
    mounts = _mount_points() if mounts is None else mounts
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        if any(path == p or p.startswith(path + os.sep) for p in spare) or path in mounts:
            continue
        if any(m.startswith(path + os.sep) for m in mounts):
            _empty(path, (), mounts)  # the way to a mount point: kept, emptied around it
            continue
        _remove(path)


_IOPRIO_GET = {"x86_64": 252, "aarch64": 31, "riscv64": 31}  # ioprio_get(2): no libc wrapper


def inherited() -> dict:
    """What a forked child inherits of this process that another process of the same uid can change:
    its resource limits, nice value, scheduling policy and priority, CPUs, I/O priority."""
    import resource
    state: dict = {f"limit {name[7:].lower()}": resource.getrlimit(getattr(resource, name))
                   for name in sorted(dir(resource)) if name.startswith("RLIMIT_")}
    pid = os.getpid()
    state["nice value"] = os.getpriority(os.PRIO_PROCESS, pid)
    if hasattr(os, "sched_getscheduler"):
        state["scheduling"] = (os.sched_getscheduler(pid), os.sched_getparam(pid).sched_priority)
    if hasattr(os, "sched_getaffinity"):
        state["CPUs"] = sorted(os.sched_getaffinity(pid))
    number = _IOPRIO_GET.get(os.uname().machine)
    if number is not None:
        import ctypes
        state["I/O priority"] = ctypes.CDLL(None).syscall(number, 1, pid)  # IOPRIO_WHO_PROCESS
    return state


def _started(pid: int) -> float:
    """A process's start time (0 when there is none): with the pid, who it is."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return 0.0 if fields[0] in "ZX" else float(fields[19])
    except (OSError, IndexError, ValueError):
        return 0.0


def _twin(server: _Server, parent: int, conn: socket.socket, fds: list[int]) -> None:
    """In a forked twin of the server `parent`: serve jobs on the listener the host sent until its
    lifeline closes. Never returns."""
    code = 0
    try:
        from petkit import reaper  # the server's side only: the launcher imports nothing of petkit
        reaper.die_with_parent(parent)  # ends with the server too
        reaper.become_subreaper()  # not inherited across fork
        conn.close()
        server.listener.close()
        if server.lifeline is not None:
            os.close(server.lifeline)
        twin = _Server(socket.socket(fileno=fds[0]), False, "", server.allow_code, {}, lifeline=fds[1])
        twin.env, twin.added, twin.inherits = server.env, server.added, server.inherits
        twin.serve()
    except BaseException:  # noqa: BLE001 - a twin that fails ends; its host runs the job elsewhere
        code = 1
    os._exit(code)


def _child(job: dict, fds: list[int], server: int) -> None:
    """In the forked child of `server`: become the job's process, run its module, exit. Never returns."""
    code = 1
    try:
        from petkit import reaper
        reaper.die_with_parent(server)  # a job that kills its server (or outlives it killed) ends with it
        os.setsid()
        targets = job["fds"]
        moved = [os.dup(fd) for fd in fds]  # out of the way of the targets first
        for fd, target in zip(moved, targets):
            os.dup2(fd, target)
        for name in os.listdir("/proc/self/fd"):
            if int(name) not in targets:
                try:
                    os.close(int(name))
                except OSError:
                    pass
        reaper.prctl(reaper.PR_SET_DUMPABLE, 1)  # as a fresh process is; the server stays non-dumpable
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")  # under memory pressure, the job goes before the server
        except OSError:
            pass
        os.chdir(job["cwd"])
        os.environ.clear()
        os.environ.update(job["env"])
        if "tempfile" in sys.modules:  # it keeps the TMPDIR it first read (the server's: fastai's imports ask)
            sys.modules["tempfile"].tempdir = None
        _reseed()
        code = _run(job)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - as `python -m` does: the traceback on stderr, status 1
        import traceback
        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        if "petkit.learners" in sys.modules:  # the kit's temporary folders (atexit does not run here)
            sys.modules["petkit.learners"].remove_temp_dirs()
    finally:
        os._exit(code)


def _reseed() -> None:
    """Random state as a fresh process has it: its own seed (Python's `random` reseeds itself at fork)."""
    if "torch" in sys.modules:
        sys.modules["torch"].seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


def _run(job: dict) -> int:
    import runpy
    sys.path[0] = os.getcwd() if job.get("module") else ""  # as `python -m` / `python -c` set it
    if job.get("module"):
        sys.argv = [job["module"], *job["argv"]]
        # as in a fresh `python -m`, the module is not imported yet (the server preloads a job module's
        # imports, e.g. petkit.grading.sealed's): runpy would warn on stderr, which a dead job's message
        # quotes to the instructor ("exit status 1: <frozen runpy>:128: RuntimeWarning: ...")
        sys.modules.pop(job["module"], None)
        runpy.run_module(job["module"], run_name="__main__", alter_sys=True)
    else:
        sys.argv = ["-c", *job["argv"]]
        import types
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        exec(compile(job["code"], "<string>", "exec"), main.__dict__)
    return 0


def _preload(names) -> None:
    """Import the modules a server preloads, freeze them out of the collector, run their warm-ups: with
    their warnings silenced (the jobs show their own), and the filters left as a fresh Python's after the
    same imports (fastai's add ten): a job, a kernel, must not show what a cold one hides."""
    import warnings
    warnings.simplefilter("ignore")
    silenced = warnings.filters[0]
    try:
        _import_and_warm_up(names)
    finally:
        warnings.filters[:] = [f for f in warnings.filters if f is not silenced]  # theirs stay
        getattr(warnings, "_filters_mutated", lambda: None)()  # what simplefilter itself calls


def _import_and_warm_up(names) -> None:
    import importlib
    modules = [importlib.import_module(name) for name in names]
    # the imports' objects: never scanned by a job's collections, nor copied by them (copy-on-write). No
    # gc.collect() first (0.1 s: a few hundred unreachable objects stay, frozen), as the gc docs advise;
    # for good (petkit.gcfreeze): a job's checks leave it so. Frozen before the warm-ups too: Hypothesis's
    # first run calls gc.collect() (register_random), a full pass over torch's objects otherwise (80 ms of
    # the 130 a warm-up took, on the way to every `petkit check`'s first result)
    from petkit import gcfreeze
    gcfreeze.freeze_for_good()
    for module in modules:  # a module's own first-use set-up, paid once here rather than in every job
        if callable(getattr(module, "warm_up_server", None)):
            module.warm_up_server()
    gcfreeze.freeze_for_good()  # and what the warm-ups left


def serve(argv: list[str]) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m petkit.warm serve")
    p.add_argument("--listen-fd", type=int, required=True)
    p.add_argument("--preload", default="")
    p.add_argument("--pid-namespace", action="store_true", help="PID 1 of a namespace of its own (bwrap --as-pid-1)")
    p.add_argument("--spool", default="", help="the sandbox's writable folder: wiped between jobs")
    p.add_argument("--parent", type=int, default=0, help="end with this process")
    p.add_argument("--lifeline-fd", type=int, default=-1,
                   help="the read end of a pipe only the host writes to: the server ends when it closes")
    p.add_argument("--allow-code", action="store_true", help="also run `python -c` jobs (the kit's tests)")
    args = p.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the jobs; the host ends the server
    from petkit import reaper
    if args.parent:
        reaper.die_with_parent(args.parent)
    listener = socket.socket(fileno=args.listen_fd)
    if args.pid_namespace and os.getpid() != 1:
        print("petkit warm server: --pid-namespace but not PID 1", flush=True)
        return 3
    env = dict(os.environ)
    _preload(filter(None, args.preload.split(",")))
    if threads() != 1:
        print(f"petkit warm server: {threads()} threads after the imports; a fork would copy only one",
              flush=True)
        return 3
    reaper.prctl(reaper.PR_SET_DUMPABLE, 0)
    if not args.pid_namespace:
        reaper.become_subreaper()
    print("ready", flush=True)
    lifeline = args.lifeline_fd if args.lifeline_fd >= 0 else None
    _Server(listener, args.pid_namespace, args.spool, args.allow_code, env, lifeline).serve()
    sys.stdout.flush()
    os._exit(0)  # cleaned up: no interpreter shutdown (torch's takes half a second; the host waits for it)


# --- the host's side --------------------------------------------------------------------------------

class Server:
    """A running server on the host: its socket, its process and (sandboxed) its spool folder."""

    def __init__(self, preload: tuple[str, ...], env: dict[str, str], wrap=None, allow_code: bool = False):
        """`wrap(spool)`: the sandbox command prefix (bwrap ... --) for a spool folder, or None: on the host."""
        import subprocess
        from petkit import tempdirs  # held by this process: a killed host's are swept by the next
        self.ctl = str(tempdirs.make("petkit-warm-"))
        self.socket = os.path.join(self.ctl, "s")
        self.spool = str(tempdirs.make("petkit-spool-", "/tmp")) if wrap else ""  # short paths, as scratch_folder
        self.sandboxed = wrap is not None
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.socket)
        listener.listen(16)
        os.set_inheritable(listener.fileno(), True)
        # the lifeline: the server ends when its read end sees EOF, i.e. when this process is gone, however
        # it went (the write end is close-on-exec and held here only). The parent-death signal alone is not
        # enough: bubblewrap's --die-with-parent can miss a parent that dies just after starting it
        # (containers/bubblewrap#633) and follows the parent's thread, not its process (#692).
        lifeline, self.lifeline = os.pipe()
        os.set_inheritable(lifeline, True)
        cmd = [sys.executable, "-m", "petkit.warm", "serve", "--listen-fd", str(listener.fileno()),
               "--lifeline-fd", str(lifeline), "--preload", ",".join(preload)]
        if wrap:
            prefix = wrap(self.spool)
            cmd = prefix[:-1] + ["--as-pid-1", "--"] + cmd + ["--pid-namespace", "--spool", self.spool]
        else:
            cmd += ["--parent", str(os.getpid())]
        if allow_code:
            cmd.append("--allow-code")
        self.log_path = os.path.join(self.ctl, "log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, env={**env, **SERVER_ENV}, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, pass_fds=(listener.fileno(), lifeline),
                                         cwd=self.spool or self.ctl, start_new_session=True)
        listener.close()  # the server's now: when it dies, connecting fails and the launcher goes cold
        os.close(lifeline)
        from petkit import reaper
        reaper.keep(self.proc.pid)  # neither it nor its twins are a checked answer's leftovers
        self._twins: list[Twin] = []

    def twins(self, n: int, timeout: float = 120) -> list["Twin"]:
        """`n` twins of this server (forked from it between jobs, so they cost no imports), kept for its
        life like the server itself: more jobs at once. Fewer when it cannot fork them (sandboxed, gone).
        Asked for without waiting (Twin.fork): one the server then refuses, or does not fork within
        `timeout`, runs its jobs cold, and the next call replaces it. Ask before giving the server a job:
        it answers between jobs only."""
        self._twins = [t for t in self._twins if t.alive()]
        while len(self._twins) < n and not self.sandboxed and self.alive():
            twin = Twin.fork(self, os.path.join(self.ctl, f"t{len(self._twins)}-{os.urandom(4).hex()}"), timeout)
            if twin is None:
                break
            self._twins.append(twin)
        return self._twins[:n]

    def cut_lifeline(self) -> None:
        """Close the host's end of the lifeline, as this process's death would: the server ends."""
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None

    def launcher(self, cold: list[str], fds: tuple[int, ...] = (), keep: str = "") -> list[str]:
        """The command that runs `cold` in this server (or, if it cannot, runs `cold` itself)."""
        cmd = [sys.executable, "-S", os.path.abspath(__file__), "launch", "--socket", self.socket]
        if self.sandboxed:
            cmd += ["--sandboxed", "--spool", self.spool]
        for fd in fds:
            cmd += ["--fd", str(fd)]
        if keep:
            cmd += ["--keep", keep]
        return cmd + ["--", *cold]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_idle(self, timeout: float = 600) -> bool:
        """Wait until the server has ended and cleaned up after its last job (it serves one connection
        at a time, so it answers only then). A job's folder must be made in the spool only after that:
        the last job's cleaning wipes the spool (a kernel just stopped, and the referee's folder made at
        once, lost theirs to it). False: the server is gone, or did not answer within `timeout`."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(timeout)
                conn.connect(self.socket)
                conn.sendall(b'{"ping": true}\n')
                return next(_lines(conn)) == {"idle": True}
        except OSError:
            return False

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def ready(self) -> bool:
        """Whether it finished its imports (an empty job list is all it waits for)."""
        return self.log().startswith("ready")

    def wait_ready(self, timeout: float) -> bool:
        import time
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.alive():
            if self.ready():
                return True
            time.sleep(0.05)
        return self.ready() and self.alive()

    def idle(self, timeout: float = 0.2) -> bool:
        """Past its imports and between jobs now (it answers at once): none of its jobs is left running."""
        return self.ready() and self.wait_idle(timeout)

    def close(self, leaving: bool = False) -> None:
        """End the server and its twins, waiting until they have killed what their jobs left: no learner
        code outlives this call. `leaving`: this process is about to exit (close_all at exit). A server on
        the host that is idle then, and every twin with it, has no job left to clean after: it is not
        waited for (a torch-sized process takes ~70 ms to clean and exit, the last thing `petkit check`
        waited through); it ends on its own as its lifeline closes, orphaned for those milliseconds.
        In the sandbox, or with a job still running (Ctrl-C), it is waited for."""
        quiet = leaving and not self.sandboxed and self.idle() and all(t.idle() for t in self._twins)
        for twin in self._twins:
            twin.cut_lifeline()
        self.cut_lifeline()
        if quiet:
            import warnings  # Popen's finalizer would say it is still running (under -W default, -X dev)
            warnings.filterwarnings("ignore", f"subprocess {self.proc.pid} is still running", ResourceWarning)
            self._remove_folders()  # still kept from the reaper (petkit.reaper.keep) for what is left of this process
            return
        if self.ready():  # it kills what its jobs (and its twins' jobs) left, then ends; still importing, it ran none
            _wait_exit(self.proc, 10)
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        from petkit import reaper
        reaper.release(self.proc.pid)
        self._remove_folders()

    def _remove_folders(self) -> None:
        """Its socket, its log, its spool: nobody connects to them once it is closed."""
        from petkit import tempdirs
        tempdirs.remove(self.ctl)
        if self.spool:
            tempdirs.remove(self.spool)


def _wait_exit(proc, timeout: float) -> None:
    """Wait at most `timeout` s for `proc` to end, woken the moment it does (a pidfd): Popen.wait with a
    timeout polls, sleeping up to 50 ms between looks, which `petkit check`'s end waited through."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd here, or it ended and was reaped already
        pidfd = None
    if pidfd is None:
        import subprocess
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        return
    import select
    try:
        select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)


class Twin:
    """A twin of a server on the host (Server.twins): jobs go to it as to the server itself."""
    sandboxed, spool = False, ""
    launcher, wait_idle = Server.launcher, Server.wait_idle

    def __init__(self, server: Server, socket_path: str, answer: socket.socket, lifeline: int, timeout: float):
        """`answer`: the connection the server answers the request on (with the twin's pid) once it serves."""
        self.server, self.socket, self.lifeline = server, socket_path, lifeline
        self._answer, self._timeout = answer, timeout
        self._pid, self.started = 0, 0.0  # with the pid, who it is (a pid can be reused)

    @classmethod
    def fork(cls, server: Server, socket_path: str, timeout: float) -> "Twin | None":
        """Ask `server` for a twin, without waiting for it: the twin's listener is bound here, so jobs can
        be sent to it at once (they wait in its backlog while the server is still importing, and the
        launcher startups overlap the imports). A twin that never comes (refused, the server gone) closes
        the listener with it, and the jobs waiting there run cold, as their launchers do when no server
        answers. None: the request could not even be sent."""
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lifeline_r, lifeline_w = os.pipe()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(socket_path)
            listener.listen(16)
            conn.connect(server.socket)
            socket.send_fds(conn, [b'{"twin": true}\n'], [listener.fileno(), lifeline_r])
        except OSError:
            conn.close()
            os.close(lifeline_w)
            return None
        finally:
            listener.close()  # the twin's now (or nobody's)
            os.close(lifeline_r)
        return cls(server, socket_path, conn, lifeline_w, timeout)

    def _settle(self, timeout: float | None = None) -> None:
        """Read the server's answer (waiting for it, at most `timeout` or the timeout given), once."""
        conn, self._answer = self._answer, None
        if conn is None:
            return
        with conn:
            conn.settimeout(self._timeout if timeout is None else timeout)
            answer = next(_lines(conn))  # None: no answer in time (it is not coming) or none at all
        if isinstance(answer, dict) and isinstance(answer.get("twin"), int):
            self._pid = answer["twin"]
            self.started = _started(self._pid)
        else:
            self.cut_lifeline()

    @property
    def pid(self) -> int:
        """The twin's process id, once the server has forked it (0: it was not)."""
        self._settle()
        return self._pid

    def cut_lifeline(self) -> None:
        if self._answer is not None:
            self._answer.close()  # a twin forked after this sees its lifeline closed, and ends
            self._answer = None
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None

    def idle(self, timeout: float = 0.2) -> bool:
        """Forked, and between jobs now (it answers at once): none of its jobs is left running."""
        self._settle(timeout)
        return self._pid != 0 and self.wait_idle(timeout)

    def alive(self) -> bool:
        self._settle()
        return self.lifeline is not None and self.server.alive() and self.started != 0.0 \
            and _started(self._pid) == self.started


_servers: dict[tuple, Server] = {}
_given_up: set[tuple] = set()


def enabled() -> bool:
    """Whether warm starts can be used here: Linux's fork, and not turned off (PETKIT_WARM=0)."""
    return (os.environ.get("PETKIT_WARM", "1") != "0" and hasattr(os, "fork") and hasattr(socket, "send_fds")
            and os.path.isdir("/proc/self/task"))


def server(preload: tuple[str, ...], env: dict[str, str] | None = None, wrap=None, sandbox_key: str = "",
           allow_code: bool = False) -> Server | None:
    """The server for jobs that get `env` (default: this environment) and need `preload`, started
    when there is none (or it died); None when warm starts are off or its server cannot start."""
    if not enabled():
        return None
    env = dict(os.environ if env is None else env)
    key = (tuple(preload), sandbox_key, allow_code,
           tuple(sorted((k, v) for k, v in env.items() if k not in PER_JOB_ENV)))
    if key in _given_up:
        return None
    current = _servers.get(key)
    if current is not None and current.alive():
        return current
    if current is not None:
        died_ready = current.ready()
        current.close()
        del _servers[key]
        if not died_ready:  # it never got through its imports: it would not now either
            _given_up.add(key)
            return None
    if not _servers:
        import atexit
        atexit.register(close_all, leaving=True)
    _servers[key] = Server(tuple(preload), env, wrap=wrap, allow_code=allow_code)
    return _servers[key]


def close_all(leaving: bool = False) -> None:
    """End every server (Server.close; `leaving`: this process is exiting)."""
    for s in list(_servers.values()):
        s.close(leaving)
    _servers.clear()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["launch"]:
        return launch(argv[1:])
    if argv[:1] == ["serve"]:
        return serve(argv[1:])
    print("usage: python -m petkit.warm serve ... | python -S petkit/warm.py launch ... -- COLD_ARGV", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
