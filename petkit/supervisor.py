"""One supervisor for every bounded child process: `petkit check`'s checks, the referee's sealed run.

A child speaks a line protocol: one JSON object per line, on its stdout or on a pipe of its own
(`event_fd`, so that stdout stays free for the learner's prints). The parent reads the lines on a
thread and takes them one at a time with a time limit (`next_event(timeout)`); lines that are not
JSON objects, or that lack the token the parent gave (`token`), are dropped, so code in the child
cannot forge an event without knowing the token. The child runs in a session of its own, and
`kill()` ends its whole process group, and with `reap` every process that appeared below the parent
while the child ran (setsid daemons, forks: petkit.reaper), except what runs below another child still
supervised beside it (petkit.checker's lanes). `ended()` says in words how it died.

A child ends with its supervisor, however the supervisor went (SIGKILL, a closed terminal): each child
gets the read end of the supervisor's *lifeline*, a pipe whose write end only the supervisor holds, and
`die_with_supervisor()` in the child ends it (and its process group) when EOF comes there. Without it a
killed `petkit check` left its child running a looping answer for good.

Standard library only: `petkit check` must not pay for importing torch twice.
"""
from __future__ import annotations

import json
import os
import queue
import resource
import signal
import stat
import subprocess
import threading


STDERR_KEPT = 8192  # characters of a child's stderr kept for saying how it died (the rest is dropped as read)
LIFELINE_ENV = "PETKIT_LIFELINE"  # the lifeline's file descriptor in the child

_lifeline: dict[int, tuple[int, int]] = {}  # this process's pid -> (read end, write end)


def _lifeline_fd() -> int:
    """The read end of this process's lifeline (made once; a fork child makes its own). The write end is
    close-on-exec and never passed on: it closes when this process is gone, and only then."""
    me = os.getpid()
    if me not in _lifeline:
        for read_fd, write_fd in _lifeline.values():  # a fork child: its parent's is not its to hold
            os.close(read_fd)
            os.close(write_fd)
        _lifeline.clear()
        _lifeline[me] = os.pipe()
    return _lifeline[me][0]


def die_with_supervisor() -> None:
    """In a supervised child: be killed (SIGKILL; the child's whole group when it leads one) as soon as
    the process supervising it is gone. Nothing when it was not given a lifeline."""
    value = os.environ.pop(LIFELINE_ENV, None)  # not the answer's to see, nor its children's
    try:
        fd = int(value)
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return
        os.set_inheritable(fd, False)
    except (TypeError, ValueError, OSError):
        return

    def watch() -> None:
        try:
            while os.read(fd, 1):  # nobody writes: this returns at EOF, when the supervisor is gone
                pass
        except OSError:
            pass
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="petkit-lifeline", daemon=True).start()


class TimedOut(Exception):
    """No event came from the child within the time limit."""


class ChildProcess:
    """A child process bounded in time, read as a stream of JSON events; a context manager that kills
    the child's whole process group on the way out."""

    def __init__(self, argv: list[str], *, cwd: str | None = None, env: dict[str, str] | None = None,
                 stdin: bytes | None = None, event_fd: bool = False, token: str | None = None,
                 max_line: int = 100_000, reap: bool = False, launcher=None, stdin_later: bool = False):
        """`launcher(argv, fds)`: the command that runs `argv` for it (petkit.warm.Server.launcher: a
        fork of a warm server, handed the file descriptors `fds` beside stdio), or None: `argv` itself.
        `stdin`: what it reads on its stdin (then EOF); `stdin_later`: given later, with give_stdin."""
        self.token = token
        self._tail = ""  # the last STDERR_KEPT characters the child wrote on stderr
        self._reaped = None
        if reap:
            from petkit import reaper
            reaper.become_subreaper()
            self._reaped = reaper.descendants()
        self._lines: queue.Queue = queue.Queue()
        read_fd = write_fd = None
        if event_fd:
            read_fd, write_fd = os.pipe()
            argv = [*argv, str(write_fd)]  # the child writes its events to the file descriptor it is given
        lifeline = _lifeline_fd()
        env = {**(os.environ if env is None else env), LIFELINE_ENV: str(lifeline)}
        fds = (lifeline, write_fd) if event_fd else (lifeline,)
        if launcher is not None:  # a warm job gets it too, at the same number
            argv = launcher(argv, fds)
        from petkit import reaper
        with reaper.starting:  # a sibling's reaping never sees it unkept
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=env, start_new_session=True,
                stdin=subprocess.PIPE if stdin is not None or stdin_later else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL if event_fd else subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=fds)
            reaper.keep(self.proc.pid)  # not a leftover of a sibling's run, while it runs
        if event_fd:
            os.close(write_fd)
            events = os.fdopen(read_fd, "rb")
        else:
            events = self.proc.stdout

        def read_events():
            with events:
                for line in events:
                    self._lines.put(line[:max_line])
            self._lines.put(None)

        def read_stderr():  # in chunks: a flood without newlines must not pile up in memory
            with self.proc.stderr:  # closed at its end: `petkit watch` runs many children
                for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):
                    self._tail = (self._tail + chunk.decode(errors="replace"))[-STDERR_KEPT:]
        threading.Thread(target=read_events, daemon=True).start()
        self._stderr_reader = threading.Thread(target=read_stderr, daemon=True)
        self._stderr_reader.start()
        if stdin is not None:
            self.give_stdin(stdin)

    def give_stdin(self, data: bytes) -> bool:
        """Write `data` to the child's stdin and close it; False when the child is gone (ended() says how)."""
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.close()
            return True
        except BrokenPipeError:
            return False

    def next_event(self, timeout: float) -> dict | None:
        """The next event the child sends, or None when its stream has ended; TimedOut when none
        comes within `timeout` seconds."""
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise TimedOut() from None
            if line is None:
                self._lines.put(None)  # stays ended for later calls
                return None
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            if self.token is not None:
                if event.get("token") != self.token:
                    continue
                event = {k: v for k, v in event.items() if k != "token"}
            return event

    def kill(self) -> None:
        """End the child and every process of its group (and, with `reap`, every process it left), then
        collect its exit status."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its group outlives it when it left children
        except ProcessLookupError:
            pass
        self.proc.wait()
        from petkit import reaper
        reaper.release(self.proc.pid)
        if self._reaped is not None:
            reaper.kill_new(self._reaped)

    def ended(self) -> str:
        """How the child ended, in words, with the last line it wrote on stderr (after kill() or wait)."""
        code = self.proc.wait()
        self._stderr_reader.join(timeout=1)  # its last words (a process it left may hold stderr open)
        how = exit_description(code)
        last = self._tail.strip().splitlines()[-1:]
        return how + (f": {last[0][-300:]}" if last else "")

    def __enter__(self) -> "ChildProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


def exit_description(code: int | None) -> str:
    """A process's exit status in words: `exit status 3`, `killed by signal SIGKILL (out of memory?)`."""
    if code is not None and code < 0:
        how = f"killed by signal {signal.Signals(-code).name}"
        return how + (" (out of memory?)" if code == -signal.SIGKILL else "")
    return f"exit status {code}"


def emitter(stream, token: str | None = None):
    """The child's side of the protocol: a function that writes one event per line and flushes it."""
    def emit(**event) -> None:
        if token is not None:
            event = {"token": token, **event}
        stream.write(json.dumps(event) + "\n")
        stream.flush()
    return emit


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space at what is mapped now plus `megabytes` (0: no cap). torch
    maps a lot before any learner code runs, so a fixed cap would break the import, not the answer."""
    if megabytes <= 0:
        return
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    limit = mapped + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
