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

    @property
    def source(self) -> str:
        """The answer as a learner would have written it: the function under the exercise's name."""
        src = textwrap.dedent(inspect.getsource(self.fn))
        node = ast.parse(src).body[0]
        lines = src.splitlines()[node.lineno - 1: node.end_lineno]  # from `def`, without decorators
        text = "\n".join(lines) + "\n"
        return text.replace(f"def {self.fn.__name__}(", f"def {self.exercise.rpartition('.')[2]}(", 1)


_FOUND: list[WrongAnswer] = []


def wrong(exercise: str, mistake: str, rejected_by: tuple[str, ...] | list[str]):
    def deco(fn: Callable) -> Callable:
        _FOUND.append(WrongAnswer(exercise, mistake, tuple(rejected_by), fn))
        return fn
    return deco


def load(directory: Path = CORPUS_DIR) -> list[WrongAnswer]:
    """Every wrong answer in the corpus folder, in file order."""
    answers: list[WrongAnswer] = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        start = len(_FOUND)
        spec = importlib.util.spec_from_file_location(f"petkit_wrong_answers_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        answers += _FOUND[start:]
    return answers


# --- right answers written differently -------------------------------------------------------------
# The checks must be fair to right maths: every textbook formulation of an exercise (the one
# PyTorch's docs write, the one a course notebook writes, ...) passes every check of its maths at
# every seed the grade of record may use. The kit's own tests load them from tests/kit/right_answers/.

RIGHT_DIR = ROOT / "tests" / "kit" / "right_answers"


@dataclass(frozen=True)
class RightAnswer:
    exercise: str                    # "softmax.log_softmax"
    formulation: str                 # how it is written, in a sentence
    validates: bool                  # it also rejects bad input as the contract says (else: maths only)
    fn: Callable = field(compare=False, repr=False)


_RIGHT: list[RightAnswer] = []


def right(exercise: str, formulation: str, validates: bool = False):
    def deco(fn: Callable) -> Callable:
        _RIGHT.append(RightAnswer(exercise, formulation, validates, fn))
        return fn
    return deco


def load_right(directory: Path = RIGHT_DIR) -> list[RightAnswer]:
    """Every right answer in the folder, in file order."""
    answers: list[RightAnswer] = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        start = len(_RIGHT)
        spec = importlib.util.spec_from_file_location(f"petkit_right_answers_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        answers += _RIGHT[start:]
    return answers
