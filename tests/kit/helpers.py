"""Shared helpers for the kit's own tests."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

from petkit import ROOT

_counter = itertools.count()


def make_package(tmp_path: Path, files: dict[str, str], name: str | None = None) -> str:
    """Write an importable package under tmp_path (added to sys.path); return its name."""
    name = name or f"petkit_testpkg_{os.getpid()}_{next(_counter)}"
    pkg = tmp_path / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for filename, text in files.items():
        (pkg / filename).write_text(text)
    if str(tmp_path) not in sys.path:
        sys.path.insert(0, str(tmp_path))
    return name


def petkit(*args: str, cwd: Path = ROOT, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real `petkit` command line, as a learner would."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "petkit.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def run_folder(tmp_path_factory) -> Path:
    """The test run's base folder, shared by all its pytest-xdist workers."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


def built_once(tmp_path_factory, name: str, build) -> tuple[Path, str]:
    """A folder that many tests read, built ONCE per test run whichever pytest-xdist worker asks first
    (a module- or session-scoped fixture is built once per worker: twice the grading for the same
    class). `build(folder)` fills the folder and returns text to keep (e.g. a command's output); the
    other workers wait on a file lock and read the same folder and text. A build that failed (no
    marker) is done again by the next test that asks, so each sees the real failure."""
    import shutil
    from filelock import FileLock
    root = run_folder(tmp_path_factory)
    folder, marker = root / name, root / f"{name}.built"
    with FileLock(str(root / f"{name}.lock")):
        if not marker.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            marker.write_text(build(folder))  # written only when build returned: the folder is whole
    return folder, marker.read_text()


def command_of(process) -> str:
    """A psutil.Process's command line; "" for one that ended (or is a zombie) as we looked: a test that
    scans a process tree while it changes must not fail on a child that just exited."""
    import psutil
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


# Code for a job or a sandboxed process to start with: `attempt(how)` runs `how()` and says "ok", or the
# errno's name of the OSError it raised (EACCES, EROFS ...), for a test to compare with what it must be.
ATTEMPT = '''import errno


def attempt(how):
    try:
        how()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
'''
