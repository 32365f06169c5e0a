"""Grading on warm servers (petkit.warm): which server a notebook's kernel or a referee run forks
from, and how the kernel manager starts a kernel through it.

ONE server per grading process and lesson serves both nbgrader's kernels and the referee's sealed
runs (they get the same environment, `grading_env`, and ask for the same imports, `grading_preload`:
one server's start per grading process, not two), inside ONE sandbox (petkit.grading.sandbox) on a
spool folder of its own: every notebook's scratch copy is a folder of that spool, the only thing the
server leaves there between jobs. It imports what the course's given cell imports (torch, fastai,
petkit.nbcheck), the lesson's checks, the sealed run and ipykernel; the kernel manager then starts the
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


def grading_preload(given: str, lesson: str) -> tuple[str, ...]:
    """What a grading server imports, the same for the kernels and the referee (so one server serves
    both): the course's given cell's imports, the lesson's checks, the sealed run, ipykernel. fastai
    only where the given cell or the lesson's checks import it: a notebook's text that names "the fastai
    book" is no reason for a maths lesson's server to import it (seconds per grading run)."""
    imports = imports_of(given)
    fastai = any(m.split(".")[0] == "fastai" for m in imports)
    return tuple(dict.fromkeys((*imports, *checks_preload([lesson], fastai), "petkit.nbcheck",
                                "petkit.grading.sealed", *warm.KERNEL_MODULES)))


def given_cell(nb: dict) -> str:
    """The source of the notebook's given cell (the course's imports), "" when it has none."""
    from petkit.grading.screen import cell_text, cells_by_id
    from petkit.notebooks import GIVEN_ID
    cell = cells_by_id(nb).get(GIVEN_ID)
    return cell_text(cell) if cell is not None else ""


def grading_server(given: str, lesson: str, sandboxed: bool, env: dict[str, str] | None = None,
                   wait: bool = True) -> warm.Server | None:
    """The warm server grading `lesson` forks its kernels and its referee runs from (jobs get `env`,
    default this process's: nbgrader's when a kernel asks), ready (`wait`: else only started); None: cold."""
    server = warm.server(grading_preload(given, lesson), env=env, wrap=_wrap(sandboxed), sandbox_key=str(sandboxed))
    return _ready(server) if wait else server


def kernel_server(nb: dict, lesson: str, sandboxed: bool, wait: bool = True) -> warm.Server | None:
    """The warm server for this notebook's kernels (asked from inside nbgrader: its environment is the
    grading jobs' one)."""
    return grading_server(given_cell(nb), lesson, sandboxed, wait=wait)


def early_start_pays(graders: int) -> bool:
    """Whether starting the server early (start_servers) saves time with `graders` grading processes at
    once: only with two cores each, where its imports run beside nbgrader's set-up. With fewer they only
    slow each other down (measured on 2 cores when the kernels and the referee still had a server each:
    one softmax notebook, one grader: 15.9 s -> 13.4 s; two graders: no gain, and a run stopped early
    paid for servers it never used)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores >= 2 * graders


def grading_env() -> dict[str, str]:
    """The environment of every grading job, a kernel or a referee run: the grader's (the checks'
    settings, caches of pretrained bodies) with the venv's tools and the kit on the paths (Course.run's
    tools_env) and nbgrader's mark of an autograde run, as nbgrader gives its kernels. One environment,
    so one warm server serves both (one torch thread: tools_env)."""
    from petkit.grading.course import tools_env
    return {**os.environ, **tools_env(), "NBGRADER_EXECUTION": "autograde"}


def referee_env(student: str) -> dict[str, str]:
    """The environment of the referee's sealed child (petkit.grading.referee): the grading jobs' one,
    with the student named."""
    return {**grading_env(), "PETKIT_STUDENT": student}


def start_servers(course, lesson: str) -> None:
    """Start the server grading `lesson` will fork from before nbgrader sets up: it then imports while
    nbgrader reads the gradebook and the notebook, instead of after, when the first kernel asks. It is
    keyed as the kernel and the referee ask later, so those calls find it running."""
    if not warm.enabled():
        return
    import json
    from petkit.grading.course import runs_surviving_execute
    try:
        given = given_cell(json.loads(course.source_notebook(lesson).read_text()))
    except (OSError, ValueError, KeyError):
        return  # nbgrader says what is wrong with the course's notebook; the kernel starts cold or warm then
    kernels = runs_surviving_execute(course.config) and course.config.KernelSurvivingExecute.get("warm", True)
    if kernels or course.referee:
        # keyed as the kernel (inside nbgrader) and the referee will ask: tests/kit/test_warm.py checks it
        grading_server(given, lesson, course.sandboxed, env=grading_env(), wait=False)


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
    """Where a job's scratch folder goes: the server's spool, once the server is idle (its last job's
    cleaning wipes the spool: a folder made before it ends would go with it); None: /tmp, the cold path."""
    if server is None or not server.spool:
        return None
    server.wait_idle()
    return server.spool

