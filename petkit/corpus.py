"""Wrong answers: realistic learner mistakes the checks must reject, declared next to the checks
that reject them. The kit's own tests load the corpus from tests/kit/wrong_answers/."""
from __future__ import annotations

import ast
import importlib.util
import inspect
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from petkit import ROOT

CORPUS_DIR = ROOT / "tests" / "kit" / "wrong_answers"


@dataclass(frozen=True)
class WrongAnswer:
    exercise: str                    # "softmax.softmax"
    mistake: str                     # what the learner got wrong, in a sentence
    rejected_by: tuple[str, ...]     # keys of the checks that must fail on it
    fn: Callable = field(compare=False, repr=False)
    # small, deterministic inputs on which the mistake shows (petkit.misconceptions compares an
    # answer's behaviour with this one's on them), and the hint that addresses the mistake
    probes: tuple[Probe, ...] = field(default=(), compare=False, repr=False)
    hint: str = ""

    @property
    def source(self) -> str:
        """The answer as a learner would have written it: the function under the exercise's name."""
        src = textwrap.dedent(inspect.getsource(self.fn))
        node = ast.parse(src).body[0]
        lines = src.splitlines()[node.lineno - 1: node.end_lineno]  # from `def`, without decorators
        text = "\n".join(lines) + "\n"
        return text.replace(f"def {self.fn.__name__}(", f"def {self.exercise.rpartition('.')[2]}(", 1)


@dataclass(frozen=True)
class Probe:
    """One call's arguments: `probe(x, dim=0)`."""
    args: tuple
    kwargs: dict = field(default_factory=dict)


def probe(*args, **kwargs) -> Probe:
    return Probe(args, kwargs)


_FOUND: list[WrongAnswer] = []


def wrong(exercise: str, mistake: str, rejected_by: tuple[str, ...] | list[str],
          probes: list | tuple = (), hint: str = ""):
    """Declare a wrong answer; `probes` are Probe objects or tuples of positional arguments."""
    calls = tuple(p if isinstance(p, Probe) else Probe(tuple(p)) for p in probes)
    if calls and not hint:
        raise ValueError(f"{exercise}: a wrong answer with probes needs the hint that addresses its mistake")

    def deco(fn: Callable) -> Callable:
        _FOUND.append(WrongAnswer(exercise, mistake, tuple(rejected_by), fn, calls, hint))
        return fn
    return deco


def load(directory: Path = CORPUS_DIR, lesson: str | None = None) -> list[WrongAnswer]:
    """Every wrong answer in the corpus folder (or only those of one lesson), in file order."""
    answers: list[WrongAnswer] = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_") or (lesson is not None and path.stem != lesson):
            continue
        start = len(_FOUND)
        spec = importlib.util.spec_from_file_location(f"petkit_wrong_answers_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        answers += _FOUND[start:]
    return answers
