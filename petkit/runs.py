"""Run checks in a worker process (petkit.worker), bounded in time, and collect the outcomes.

Standard library only: `petkit check` must not pay for importing torch twice.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import queue
from dataclasses import dataclass, field
from typing import Callable

from petkit.registry import Exercise

DEFAULT_TIMEOUT = float(os.environ.get("PETKIT_TIMEOUT", "120"))


@dataclass
class ExerciseResult:
    exercise: Exercise
    outcomes: list[dict] = field(default_factory=list)
    status: str = "not run"        # done | failing | not started | error
    problem: str = ""              # set when the run itself broke (timeout, crash)
    mistakes: list[str] = field(default_factory=list)  # "This looks like a known mistake: ..." lines

    @property
    def passed(self) -> int:
        return sum(o["status"] == "pass" for o in self.outcomes)

    @property
    def first_problem(self) -> dict | None:
        for wanted in ("fail", "error", "not started"):
            for o in self.outcomes:
                if o["status"] == wanted:
                    return o
        return None


def status_of(outcomes: list[dict]) -> str:
    statuses = {o["status"] for o in outcomes}
    if not statuses:
        return "error"
    if statuses == {"pass"}:
        return "done"
    if "error" in statuses:
        return "error"
    if statuses == {"not started"}:
        return "not started"
    return "failing"


def run(exercises: list[Exercise], impl: str, timeout: float = DEFAULT_TIMEOUT,
        on_result: Callable[[ExerciseResult], None] | None = None) -> list[ExerciseResult]:
    """Check each exercise; an exercise that runs past `timeout` seconds or kills the worker is
    reported as such, and a fresh worker carries on with the rest."""
    results = {e.id: ExerciseResult(e) for e in exercises}
    pending = [e.id for e in exercises]
    while pending:
        pending = _one_worker(pending, impl, timeout, results, on_result)
    return [results[e.id] for e in exercises]


def _one_worker(pending, impl, timeout, results, on_result) -> list[str]:
    cmd = [sys.executable, "-m", "petkit.worker", "--impl", impl, *pending]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=os.getcwd(), start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout] + [lines.put(None)], daemon=True).start()
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()
    current = None
    try:
        while True:
            try:
                # the clock starts once the worker says which exercise it is on (imports excluded)
                line = lines.get(timeout=timeout if current else max(timeout, 120))
            except queue.Empty:
                _kill(proc)
                stuck = current or pending[0]
                _finish(results[stuck], on_result,
                        problem=f"stopped after {timeout:g} s without finishing: does it loop forever? "
                                f"(raise the limit with --timeout or PETKIT_TIMEOUT)")
                return pending[pending.index(stuck) + 1:]
            if line is None:
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event["event"] == "start":
                current = event["exercise"]
            elif event["event"] == "outcome":
                results[event["exercise"]].outcomes.append(event)
            elif event["event"] == "mistakes":
                results[event["exercise"]].mistakes = list(event["lines"])
            elif event["event"] == "done":
                _finish(results[event["exercise"]], on_result)
                current = None
        proc.wait()
    except KeyboardInterrupt:
        _kill(proc)
        raise
    unfinished = [e for e in pending if results[e].status == "not run"]
    if not unfinished:
        return []
    stuck = current or unfinished[0]
    code = proc.returncode
    how = (f"killed by signal {signal.Signals(-code).name}" if code and code < 0 else f"exit status {code}")
    if code == -signal.SIGKILL:
        how += " (out of memory?)"
    tail = " ".join("".join(stderr).strip().splitlines()[-1:])
    _finish(results[stuck], on_result,
            problem=f"the process running it died ({how})" + (f": {tail}" if tail else ""))
    return [e for e in unfinished if e != stuck]


def _finish(result: ExerciseResult, on_result, problem: str = "") -> None:
    result.problem = problem
    result.status = "failing" if problem else status_of(result.outcomes)
    if on_result:
        on_result(result)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
