"""`petkit watch`: re-check the exercise being worked on whenever a file of the package changes."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from petkit import checker, progress
from petkit.registry import select


def _package_dir(impl: str) -> Path:
    return Path.cwd().joinpath(*impl.split("."))


def _snapshot(folder: Path) -> dict[Path, float]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*.py")} if folder.exists() else {}


class _Changes:
    """Wakes up as soon as a file in the folder is written, moved in or removed (Linux's inotify), or
    after `interval` seconds where inotify is not there: the folder's snapshot then says what changed."""
    IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x2, 0x8, 0x40, 0x80, 0x100, 0x200

    def __init__(self, folder: Path):
        self.fd = -1
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            mask = (self.IN_MODIFY | self.IN_CLOSE_WRITE | self.IN_MOVED_FROM | self.IN_MOVED_TO
                    | self.IN_CREATE | self.IN_DELETE)
            if fd >= 0:
                watched = [libc.inotify_add_watch(fd, os.fsencode(d), mask) >= 0
                           for d in [folder, *(p for p in folder.rglob("*") if p.is_dir())]]
                if all(watched):
                    self.fd = fd
                else:
                    os.close(fd)
        except (OSError, AttributeError):
            self.fd = -1

    def wait(self, interval: float) -> None:
        if self.fd < 0:
            time.sleep(interval)
            return
        import select
        if select.select([self.fd], [], [], interval)[0]:
            time.sleep(0.02)  # an editor's save is often several writes: let it finish
            try:
                while os.read(self.fd, 65536):
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def watch(target: str | None, impl: str, timeout: float, interval: float = 0.5) -> int:
    exercises = list(select(target))
    folder = _package_dir(impl)
    current, ready = None, None
    try:
        while True:
            todo = [current] if current else exercises
            try:
                results = checker.run(todo, impl, timeout=timeout, ready=ready)
            finally:
                if ready is not None:
                    ready.close()
                    ready = None
            if current and results[0].status == "done":
                print(f"\n  {current.id} is done. On to the next one.\n", flush=True)
                results = checker.run(exercises, impl, timeout=timeout)
            pending = next((r for r in results if r.status != "done"), None)
            print(progress.table(results) + "\n\n" + progress.next_step(results, impl), flush=True)
            if pending is None:
                return 0
            current = pending.exercise
            changes = _Changes(folder)
            before = _snapshot(folder)  # before saying so: a save right after the message must count
            ready = checker.Ready([current.lesson], impl)  # the next check's child, set up while the learner edits
            print(f"\n  Watching {folder} for changes to {current.id}... (Ctrl-C to stop)", flush=True)
            try:
                while _snapshot(folder) == before:
                    changes.wait(interval)
            finally:
                changes.close()
            print("\n" + "-" * 72 + f"\n  change seen, checking {current.id} again\n", flush=True)
    except KeyboardInterrupt:
        print("\n  stopped watching.", file=sys.stderr)
        return 0
    finally:
        if ready is not None:
            ready.close()
