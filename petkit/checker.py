"""`petkit check`'s parent side: the checks of each exercise run in a child process
(petkit.checker_child) bounded in time and memory, and come back as ExerciseResults.

Standard library only: `petkit check` must not pay for importing torch twice.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from typing import Callable

from petkit.registry import Exercise
from petkit.supervisor import ChildProcess, TimedOut

DEFAULT_TIMEOUT = float(os.environ.get("PETKIT_TIMEOUT", "120"))


@dataclass
class ExerciseResult:
    exercise: Exercise
    outcomes: list[dict] = field(default_factory=list)
    status: str = "not run"        # done | failing | not started | error
    problem: str = ""              # set when the run itself broke (timeout, crash)
    printed: str = ""              # the start of what the answer printed while checked (petkit.checker_child caps it)
    printed_chars: int = 0         # how much it printed in all
    mistakes: list[str] = field(default_factory=list)  # "This looks like a known mistake: ..." lines

    @property
    def passed(self) -> int:
        return sum(o["status"] == "pass" for o in self.outcomes)

    @property
    def first_problem(self) -> dict | None:
        """The outcome to show first: what is wrong with the maths before a bad input not handled
        yet (the smaller share of the points); then a failure before an error before a check not
        started; then the checks' order."""
        order = ("fail", "error", "not started")
        shown = [o for o in self.outcomes if o["status"] in order]
        return min(shown, key=lambda o: (o.get("kind") == "bad input", order.index(o["status"])), default=None)


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


CHECKS_PRELOAD = ("torch", "hypothesis", "hypothesis.strategies", "petkit.checks.core", "petkit.checks.runner",
                  "petkit.checks.strategies")


def checks_preload(lessons: list[str], fastai: bool = False) -> tuple[str, ...]:
    """What a warm server (petkit.warm) imports for the checks of `lessons`: torch, Hypothesis, the
    checks' modules, and fastai's when the lessons need it (`fastai`, or a check module that imports it)."""
    from pathlib import Path
    checks = Path(__file__).with_name("checks")
    mods = [f"petkit.checks.{lesson}" for lesson in lessons if (checks / f"{lesson}.py").is_file()]
    if fastai or any("fastai" in (checks / f"{m.rsplit('.', 1)[1]}.py").read_text() for m in mods):
        mods.append("fastai.vision.all")
    return (*CHECKS_PRELOAD, *mods)


MAX_LANES = 4  # exercises checked at once at most


def lanes_for(count: int, cores: int) -> int:
    """How many of `count` exercises to check at once on `cores` cores: the fewest lanes (one per core
    at least, MAX_LANES at most, no more than the exercises) that finish soonest, counting the exercises
    as equal and the cores as shared out evenly. One per core leaves a core idle for the last one when
    they do not divide: three maths exercises on two cores took two exercises' time (both cores, then
    one), three at once take one and a half."""
    count, cores = max(1, count), max(1, cores)

    def makespan(lanes: int) -> int:  # in 1/cores of an exercise's time: whole numbers, exact ties
        left, took = count, 0
        while left > 0:
            at_once = min(lanes, left)
            took += max(cores, at_once)
            left -= at_once
        return took
    return min(range(min(cores, MAX_LANES, count), min(MAX_LANES, count) + 1), key=makespan)


def lanes_wanted(count: int) -> int:
    """How many exercises to check at once: PETKIT_CHECK_JOBS, or lanes_for the cores this process may
    use, never more than there are exercises. A PETKIT_CHECK_JOBS that is not a whole number of 1 or
    more is said on stderr, and the default used."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    given = os.environ.get("PETKIT_CHECK_JOBS", "").strip()
    if given:
        if given.isdigit() and int(given) >= 1:
            return max(1, min(int(given), count))
        print(f"petkit: PETKIT_CHECK_JOBS={given!r} is not a number of exercises to check at once (give 1 "
              f"or more); choosing for the {cores} cores", file=sys.stderr, flush=True)
    return lanes_for(count, cores)


class Ready:
    """A checker child started ahead of the exercise it will check (`petkit watch`, while the learner
    edits): launched, forked from the warm server and set up (its imports, its memory cap), it waits for
    the exercise ids on its stdin, and only then loads the answer. A save is re-checked without the
    launcher's start, the fork and the set-up: 40 ms of the 0.12 s a save cost beyond its checks. Its
    own TMPDIR, removed by close(); run() uses it once (ready=), for the first exercise."""

    def __init__(self, lessons: list[str], impl: str):
        from petkit import warm
        self.impl = impl
        self._tmp = _scratch_tmp()
        env = self._tmp.__enter__()
        self.tmpdir = env["TMPDIR"]
        server = warm.server(checks_preload(list(dict.fromkeys(lessons))))
        launcher = (lambda argv, fds: server.launcher(argv, fds)) if server is not None else None
        self.child: ChildProcess | None = ChildProcess(
            [sys.executable, "-m", "petkit.checker_child", "--impl", impl, "--wait"], cwd=os.getcwd(), env=env,
            reap=True, launcher=launcher, stdin_later=True)

    def take(self, impl: str) -> ChildProcess | None:
        """The waiting child, once, if it is still there and checks `impl`."""
        child, self.child = self.child, None
        if child is not None and (impl != self.impl or child.proc.poll() is not None):
            child.kill()
            return None
        return child

    def close(self) -> None:
        if self.child is not None:
            self.child.kill()  # never told: it ends without loading anything
            self.child = None
        self._tmp.__exit__(None, None, None)

    def __enter__(self) -> "Ready":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run(exercises: list[Exercise], impl: str, timeout: float = DEFAULT_TIMEOUT,
        on_result: Callable[[ExerciseResult], None] | None = None,
        on_start: Callable[[Exercise], None] | None = None, ready: Ready | None = None) -> list[ExerciseResult]:
    """Check each exercise; an exercise that runs past `timeout` seconds or kills the worker is
    reported as such, and a fresh child carries on with the rest. With a warm server (petkit.warm:
    this process keeps it, so `petkit watch` pays the imports once), each exercise gets a child of
    its own, forked in milliseconds, and several exercises are checked at once (lanes_wanted), each in
    a child of the server or of one of its twins; the rows still come in order. `ready`: a child
    started ahead (Ready), which checks the first exercise if it is still there."""
    results = {e.id: ExerciseResult(e) for e in exercises}
    pending = [e.id for e in exercises]
    waiting = ready.take(impl) if ready is not None and pending else None
    if waiting is not None:
        pending = _one_worker(pending[:1], impl, timeout, results, on_result, on_start, child=waiting) + pending[1:]
        if not pending:
            return [results[e.id] for e in exercises]
    from petkit import warm
    server = warm.server(checks_preload(list(dict.fromkeys(e.lesson for e in exercises))))
    lanes = lanes_wanted(len(pending)) if server is not None else 1
    with _scratch_tmp() as env:
        if lanes > 1:
            servers = [server, *server.twins(lanes - 1)]
            if len(servers) > 1:
                _in_lanes(pending, impl, timeout, results, on_result, on_start, servers, env)
                return [results[e.id] for e in exercises]
        while pending:
            if server is not None:
                pending = _one_worker(pending[:1], impl, timeout, results, on_result, on_start, server,
                                      env=env) + pending[1:]
            else:
                pending = _one_worker(pending, impl, timeout, results, on_result, on_start, env=env)
    return [results[e.id] for e in exercises]


@contextlib.contextmanager
def _scratch_tmp():
    """The children's environment, with TMPDIR a folder of this run's own, removed after it however its
    children ended: what the checks and the answers write there (synthetic pets, learners, transfer's
    weights, an answer's own temporary files) goes with the run, even from a child stopped at its time
    limit or killed by its answer, which cleans nothing after itself."""
    from petkit import tempdirs
    with tempdirs.folder("petkit-check-") as folder:  # a killed run's: swept by the next (petkit.tempdirs)
        yield {**os.environ, "TMPDIR": str(folder)}


def _in_lanes(pending, impl, timeout, results, on_result, on_start, servers, env=None) -> None:
    """Check the pending exercises, one child per exercise, as many at once as there are `servers`.
    `on_start` and `on_result` are called in the exercises' order, as the serial run calls them: an
    exercise is announced once those before it are finished, and its row waits for theirs."""
    import threading
    order, todo = list(pending), list(pending)
    lock = threading.Lock()
    started, finished = set(), set()
    head, announced = 0, -1
    children: list[ChildProcess] = []  # the lanes' children now running (Ctrl-C: killed)

    def show() -> None:  # under the lock
        nonlocal head, announced
        while head < len(order):
            eid = order[head]
            if eid in started and announced < head:
                announced = head
                if on_start:
                    on_start(results[eid].exercise)
            if eid not in finished:
                return
            if on_result:
                on_result(results[eid])
            head += 1

    def began(exercise) -> None:
        with lock:
            started.add(exercise.id)
            show()

    def ended(result) -> None:
        with lock:
            started.add(result.exercise.id)
            finished.add(result.exercise.id)
            show()

    def lane(server) -> None:
        while True:
            with lock:
                if not todo:
                    return
                eid = todo.pop(0)
            _one_worker([eid], impl, timeout, results, ended, began, server, children, env)

    threads = [threading.Thread(target=lane, args=(s,), daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except BaseException:  # Ctrl-C: no lane's child outlives the run
        with lock:
            todo.clear()
            running = list(children)
        for child in running:
            child.kill()
        raise


def _one_worker(pending, impl, timeout, results, on_result, on_start=None, server=None, running=None,
                env=None, child=None) -> list[str]:
    """One child (a fork of `server` when there is one; `child`: one started ahead, told the pending
    exercises now) checks the pending exercises in turn; returns those it did not reach. What the answer
    started (forks, setsid daemons) ends with the child (ChildProcess's reaping; the server's own for a
    fork). `running`: a list that holds the child while it runs."""
    if child is None:
        cmd = [sys.executable, "-m", "petkit.checker_child", "--impl", impl, *pending]
        launcher = (lambda argv, fds: server.launcher(argv, fds)) if server is not None else None
        child = ChildProcess(cmd, cwd=os.getcwd(), env=env, reap=True, launcher=launcher)
    else:
        import json
        child.give_stdin((json.dumps(pending) + "\n").encode())  # gone already: _follow says it died
    with child:
        if running is not None:
            running.append(child)
        try:
            return _follow(child, pending, timeout, results, on_result, on_start)
        finally:
            if running is not None:
                running.remove(child)


def _follow(child, pending, timeout, results, on_result, on_start) -> list[str]:
    """Read the child's events into `results` until it is done, stuck or dead; returns the exercises it
    did not reach."""
    current = None
    while True:
        try:
            # the clock starts once the child says which exercise it is on (imports excluded)
            event = child.next_event(timeout if current else max(timeout, 120))
        except TimedOut:
            child.kill()
            stuck = current or pending[0]
            _finish(results[stuck], on_result,
                    problem=f"stopped after {timeout:g} s without finishing: does it loop forever? "
                            f"(raise the limit with --timeout or PETKIT_TIMEOUT)")
            return pending[pending.index(stuck) + 1:]
        if event is None:
            break
        if event.get("event") == "start":
            current = event["exercise"]
            if on_start:
                on_start(results[current].exercise)
        elif event.get("event") == "outcome":
            results[event["exercise"]].outcomes.append(event)
        elif event.get("event") == "done":
            result = results[event["exercise"]]
            result.printed, result.printed_chars = event.get("printed", ""), event.get("printed_chars", 0)
            result.mistakes = [str(m) for m in event.get("mistakes", [])]
            _finish(result, on_result)
            current = None
        elif event.get("event") == "finished":
            break  # an answer's thread or child may keep the pipe open: nothing more will come
    unfinished = [e for e in pending if results[e].status == "not run"]
    if not unfinished:
        return []
    stuck = current or unfinished[0]
    _finish(results[stuck], on_result, problem=f"the process running it died ({child.ended()})")
    return [e for e in unfinished if e != stuck]


def _finish(result: ExerciseResult, on_result, problem: str = "") -> None:
    result.problem = problem
    result.status = "failing" if problem else status_of(result.outcomes)
    if on_result:
        on_result(result)
