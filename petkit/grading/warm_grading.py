"""Grading on warm servers (petkit.warm): which server a notebook's kernel or a referee run forks
from, and how the kernel manager starts a kernel through it.

One server per grading process and per environment the jobs get (nbgrader's kernels and the referee's
sealed runs get different ones), each inside ONE sandbox (petkit.grading.sandbox) on a spool folder of
its own: every notebook's scratch copy is a folder of that spool, the only thing the server leaves
there between jobs. A server imports what the course's own cells import (the locked cells: torch,
fastai, petkit.nbcheck), the lesson's checks and ipykernel; the kernel manager then starts the
launcher instead of `python -m ipykernel_launcher`, so nbgrader (plain `nbgrader autograde` too)
manages a normal process. When no server can run the job, the launcher runs the cold command: the
same grades.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import sys
from pathlib import Path

from petkit import warm
from petkit.checker import checks_preload
from petkit.grading import sandbox

READY_WITHIN = 600  # seconds a server may take over its imports (a loaded machine) before the cold path is used


def course_imports(nb: dict) -> list[str]:
    """The modules the course's locked code cells import (the given cell, the test cells), in order."""
    found: list[str] = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("locked") and not meta.get("solution"):
            found += imports_of("".join(cell.get("source", "")))
    return list(dict.fromkeys(found))


def imports_of(code: str) -> list[str]:
    """The absolute module names `code`'s import statements name (those that can be found here)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module and node.module != "__future__":
            names.append(node.module)
    return [n for n in names if _findable(n)]


def _findable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def server_sandbox(spool) -> list[str]:
    """The bwrap prefix of a server's sandbox: sandbox.argv on the spool, with the spool itself as /tmp,
    so that a job's folder is /tmp/petkit-sb-X inside, as in a cold sandbox."""
    cmd = sandbox.argv(spool)
    i = cmd.index(str(spool) + "/tmp") if str(spool) + "/tmp" in cmd else cmd.index(str(Path(spool).resolve() / "tmp"))
    cmd[i] = str(Path(spool).resolve())
    return cmd


def _wrap(sandboxed: bool):
    return server_sandbox if sandboxed else None


def _ready(server: warm.Server | None) -> warm.Server | None:
    return server if server is not None and server.wait_ready(READY_WITHIN) else None


def kernel_server(nb: dict, lesson: str, sandboxed: bool, wait: bool = True) -> warm.Server | None:
    """The warm server for this notebook's kernels (this process's environment), ready (`wait`: else
    only started); None: cold."""
    # fastai only where the course's code or the lesson's checks import it: a notebook's text that names
    # "the fastai book" is no reason for a maths lesson's server to import it (seconds per grading run)
    preload = (*course_imports(nb), *checks_preload([lesson]), *warm.KERNEL_MODULES)
    server = warm.server(tuple(dict.fromkeys(preload)), wrap=_wrap(sandboxed), sandbox_key=str(sandboxed))
    return _ready(server) if wait else server


def referee_server(given: str, lesson: str, env: dict[str, str], sandboxed: bool,
                   wait: bool = True) -> warm.Server | None:
    """The warm server for the referee's sealed runs of `lesson` (jobs get `env`), ready (`wait`: else
    only started); None: cold."""
    preload = (*imports_of(given), *checks_preload([lesson], "fastai" in given), "petkit.nbcheck",
               "petkit.grading.sealed")
    server = warm.server(tuple(dict.fromkeys(preload)), env=env, wrap=_wrap(sandboxed), sandbox_key=str(sandboxed))
    return _ready(server) if wait else server


def early_start_pays(graders: int) -> bool:
    """Whether starting the servers side by side saves time with `graders` grading processes at once:
    only with two cores each. With fewer, the second server's imports only slow down the first's, which
    the first kernel waits for (measured on 2 cores, one softmax notebook, one grader: 15.9 s -> 13.4 s;
    two graders: no gain, and a run stopped early pays for servers it never used)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores >= 2 * graders


def referee_env(student: str) -> dict[str, str]:
    """The environment of the referee's sealed child (petkit.grading.referee): the grader's (the checks'
    settings, caches of pretrained bodies), with the kit on the path and the student named."""
    from petkit import ROOT
    return {**os.environ, "PYTHONPATH": str(ROOT), "PETKIT_STUDENT": student, "OMP_NUM_THREADS": "1"}


def start_servers(course, lesson: str, student: str) -> None:
    """Start the servers grading `lesson` will fork from (the kernels' and, with the referee, its own)
    side by side, before nbgrader sets up: each then imports while the other does and while nbgrader
    reads the gradebook, instead of one after the other when each is first needed. What they are keyed
    on is what the kernel and the referee ask for later, so those calls find them running."""
    if not warm.enabled():
        return
    import json
    from petkit import environ
    from petkit.grading.course import runs_surviving_execute, tools_env
    from petkit.grading.screen import cell_text, cells_by_id
    from petkit.notebooks import GIVEN_ID
    try:
        source = json.loads(course.source_notebook(lesson).read_text())
        given = cell_text(cells_by_id(source)[GIVEN_ID])
    except (OSError, ValueError, KeyError):
        return  # nbgrader says what is wrong with the course's notebook; the kernel starts cold or warm then
    if runs_surviving_execute(course.config) and course.config.KernelSurvivingExecute.get("warm", True):
        # the environment nbgrader starts its kernels in: Course.run's, and nbgrader's own mark of an
        # autograde run (tests/kit/test_warm.py checks that the kernel then finds this server)
        with environ(**tools_env(), NBGRADER_EXECUTION="autograde"):
            kernel_server(source, lesson, course.sandboxed, wait=False)
    if course.referee:
        referee_server(given, lesson, referee_env(student), course.sandboxed, wait=False)


def start_kernels_through(km, server: warm.Server, keep: str = "") -> None:
    """Make a kernel manager start `python -m ipykernel_launcher ...` (inside the sandbox when
    confine_kernel made it so) as a fork of `server`, keeping `keep` (the notebook's scratch copy)."""
    plain = km.format_kernel_cmd

    def format_kernel_cmd(extra_arguments=None):
        cold = plain(extra_arguments)
        python = cold[cold.index("--") + 1:] if server.sandboxed and "--" in cold else cold
        if python[:3] != [sys.executable, "-m", "ipykernel_launcher"]:
            return cold  # another interpreter or kernel: nothing warm to fork from
        return server.launcher(cold, keep=keep)
    km.format_kernel_cmd = format_kernel_cmd


def spool_of(server: warm.Server | None) -> str | None:
    """Where a job's scratch folder goes: the server's spool (None: /tmp, the cold path)."""
    return server.spool if server is not None and server.spool else None

