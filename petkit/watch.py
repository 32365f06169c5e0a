"""`petkit watch`: re-check the exercise being worked on whenever a file of the package changes."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from petkit import checker, progress
from petkit.registry import select


def _package_dir(impl: str) -> Path:
    return Path.cwd().joinpath(*impl.split("."))


def _snapshot(folder: Path) -> dict[Path, float]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*.py")} if folder.exists() else {}


def watch(target: str | None, impl: str, timeout: float, interval: float = 0.5) -> int:
    exercises = list(select(target))
    folder = _package_dir(impl)
    current = None
    try:
        while True:
            todo = [current] if current else exercises
            results = checker.run(todo, impl, timeout=timeout)
            if current and results[0].status == "done":
                print(f"\n  {current.id} is done. On to the next one.\n", flush=True)
                results = checker.run(exercises, impl, timeout=timeout)
            pending = next((r for r in results if r.status != "done"), None)
            print(progress.table(results) + "\n\n" + progress.next_step(results, impl), flush=True)
            if pending is None:
                return 0
            current = pending.exercise
            before = _snapshot(folder)  # before saying so: a save right after the message must count
            print(f"\n  Watching {folder} for changes to {current.id}... (Ctrl-C to stop)", flush=True)
            while _snapshot(folder) == before:
                time.sleep(interval)
            print("\n" + "-" * 72 + f"\n  change seen, checking {current.id} again\n", flush=True)
    except KeyboardInterrupt:
        print("\n  stopped watching.", file=sys.stderr)
        return 0
