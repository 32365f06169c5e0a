"""The referee's sealed child process: the checks imported and sealed before any learner code runs,
then the answers, then each exercise's checks (and, for a failing answer, the known mistakes it
makes, from what the parent packed: petkit.misconceptions); results on a pipe with the parent's token.

    python -m petkit.grading.sealed FD     (the job comes as one JSON line on stdin)
"""
from __future__ import annotations

import json
import os
import sys

from petkit.supervisor import die_with_supervisor, emitter, limit_memory

def _sealed_modules():
    import builtins
    import hypothesis
    import torch
    import torch.nn.functional
    import torch.testing
    import hypothesis.strategies
    mods = [builtins, torch, torch.testing, torch.nn.functional, torch.linalg, hypothesis, hypothesis.strategies,
            json, os, sys]
    mods += [m for n, m in sorted(sys.modules.items()) if m is not None and n.split(".")[0] == "petkit"]
    return mods


def _snapshot(mods) -> dict:
    import types
    seal = {}
    for m in mods:
        for k, v in list(vars(m).items()):
            if not (callable(v) or isinstance(v, types.ModuleType)):
                continue  # a module's own data (caches, counters) changes as it works
            seal[(id(m), k)] = (m, k, v, getattr(v, "__code__", None) if isinstance(v, types.FunctionType) else None)
            if isinstance(v, type) and getattr(v, "__module__", "").split(".")[0] in ("petkit", "torch"):
                for ck, cv in list(vars(v).items()):
                    seal[(id(v), ck)] = (v, ck, cv, None)
    import torch
    for ck, cv in list(vars(torch.Tensor).items()):
        seal[(id(torch.Tensor), ck)] = (torch.Tensor, ck, cv, None)
    from petkit.checks.strategies import RUN
    seal[("RUN",)] = (RUN, None, dict(RUN), None)
    return seal


def _tampered(seal: dict, restore: bool = True) -> list[str]:
    import types
    changed = []
    for key, (owner, name, value, code) in seal.items():
        if name is None:  # the examples settings
            if dict(owner) != value:
                changed.append("petkit's example settings")
                if restore:
                    owner.clear()
                    owner.update(value)
            continue
        space = owner if isinstance(owner, type) else vars(owner)
        now = space.__dict__.get(name, _MISSING) if isinstance(owner, type) else space.get(name, _MISSING)
        label = f"{getattr(owner, '__name__', '?')}.{name}"
        if now is not value:
            changed.append(label)
            if restore:
                setattr(owner, name, value) if isinstance(owner, type) or not isinstance(space, dict) else space.__setitem__(name, value)
        elif code is not None and isinstance(value, types.FunctionType) and value.__code__ is not code:
            changed.append(f"{label}'s code")
            if restore:
                value.__code__ = code
    return changed


_MISSING = object()
OUT_OF_MEMORY = ("MemoryError", "can't allocate memory", "Cannot allocate memory")
FLOOD = 10**6  # bytes of output that count as a flood


class _Sink:
    """stdout while the learner's code runs: counted, and only the first MB passed on."""

    def __init__(self, target):
        self.target, self.count = target, 0

    def write(self, text):
        if self.count < FLOOD:
            self.target.write(text[:FLOOD])
        self.count += len(text)
        return len(text)

    def flush(self):
        self.target.flush()

    def take(self) -> int:
        n, self.count = self.count, 0
        return n


def main(fd: int) -> int:
    die_with_supervisor()  # a killed grading ends its referee runs too (bwrap's --die-with-parent, sandboxed)
    job = json.loads(sys.stdin.readline())
    out = os.fdopen(fd, "w", buffering=1)
    emit = emitter(out, token=job.pop("token"))

    sink = sys.stdout = _Sink(sys.stderr)
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
    import torch
    torch.set_num_threads(1)
    from petkit.checks.core import checks_for
    from petkit.checks.runner import FAIL, NOT_OWN
    from petkit.misconceptions import known_mistakes, unpack
    from petkit.nbcheck import BAD_INPUT, MATHS, failing
    from petkit.progress import MATHS_RIGHT
    checks = {ex: checks_for(ex) for ex in job["exercises"].values()}
    known = unpack(job.get("mistakes"))  # the known mistakes, from the parent: no corpus in the sandbox
    ns: dict = {"__name__": "__main__"}
    exec(compile(job["given"], "<given>", "exec"), ns)  # the course's own cell, from the source notebook
    if "fastai" in job["given"]:
        import fastai.vision.all  # noqa: F401 - the checks import it later; its patches to torch are not the answer's
    seal = _snapshot(_sealed_modules())
    limit_memory(job["memory_mb"])
    broken: dict[str, str] = {}
    for name, code in job["cells"].items():
        emit(event="cell", name=name)
        try:
            exec(compile(code, f"<answer {name}>", "exec"), ns)
        except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too: the cell fails
            broken[name] = f"its answer cell raised {type(e).__name__}: {str(e)[:200]}"
        changed = _tampered(seal)  # the notebook's own names (hint = None, a torch alias) are the learner's:
        if changed:                 # rebinding them changes no check, as in nbgrader's kernel
            broken[name] = (f"cheat detected: its answer cell changed {', '.join(sorted(set(changed))[:4])}"
                            if name in job["exercises"] else broken.get(name, ""))
            if name not in job["exercises"]:  # a helper cell changed what the checks use: every exercise after it
                for ex in job["exercises"]:
                    broken.setdefault(ex, f"cheat detected: {name} changed {', '.join(sorted(set(changed))[:4])}")
        if sink.take() > FLOOD:
            emit(event="note", name=name, message=f"its answer cell printed more than {FLOOD // 10**6} MB: "
                                                  f"the output was cut, nothing else changes")
        emit(event="cell-done", name=name)
    for name, ex in job["exercises"].items():
        emit(event="check", name=name)
        if name in broken:
            emit(event="result", name=name, passed=False, message=broken[name])
            continue
        fn = ns.get(name)
        if not callable(fn):
            emit(event="result", name=name, passed=False, message=f"{name} is not defined as a function")
            continue
        failures, died, named = [], "", None
        try:  # per test cell (the maths, then the bad input): the visible checks, then (when they pass)
            for kinds in (MATHS, BAD_INPUT):  # the hidden ones, as that test cell runs them
                found, _ = failing(ex, fn, checks=checks[ex], kinds=kinds)
                if not found:
                    found, _ = failing(ex, fn, hidden=True, checks=checks[ex], kinds=kinds)
                failures += found
            if any(o.status == FAIL for _, o in failures):
                named = known_mistakes(ex, fn, found=known.get(ex, []))
        except BaseException as e:  # noqa: BLE001 - sys.exit() inside the answer, and the like
            died = f"{name} raised {type(e).__name__} ({str(e)[:200]}) out of the checks"
        maths_ok = not died and not any(c.kind not in BAD_INPUT for c, _ in failures)
        bad_input_ok = not died and not any(c.kind in BAD_INPUT for c, _ in failures)
        changed = _tampered(seal)
        if changed:
            message = f"cheat detected: calling {name} changed {', '.join(sorted(set(changed))[:4])}"
        elif died:
            message = died
        elif any(o.message.startswith(NOT_OWN) for _, o in failures):
            message = next(o.message for _, o in failures if o.message.startswith(NOT_OWN)).splitlines()[0][:300]
        elif any(w in o.message for _, o in failures for w in OUT_OF_MEMORY):
            message = "ran out of memory: " + next(o.message for _, o in failures
                                                   if any(w in o.message for w in OUT_OF_MEMORY)).splitlines()[0][:300]
        elif failures and maths_ok:
            c, o = failures[0]
            message = f"{MATHS_RIGHT}: {c.title}: {o.message.splitlines()[0][:200]}"
        elif failures:
            c, o = failures[0]
            message = f"{len(failures)} check(s) fail; first: {c.title}: {o.message.splitlines()[0][:200]}"
        else:
            message = ""
        if named and message and not changed:
            message += "; " + "; ".join(named.splitlines())
        if changed or died:
            maths_ok = bad_input_ok = False  # a cheat or a crash costs both cells
        emit(event="result", name=name, passed=maths_ok, bad_input_passed=bad_input_ok, message=message)
    if "petkit.learners" in sys.modules:  # what the checks wrote to /tmp (without the sandbox, the host's):
        sys.modules["petkit.learners"].remove_temp_dirs()  # before "finished", after which the parent may end it
    emit(event="finished")
    out.close()
    os._exit(0)  # no atexit or finalizers of the learner's code after the results


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
