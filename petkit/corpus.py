"""Wrong answers: realistic learner mistakes the checks must reject, declared next to the checks
that reject them, in tests/kit/wrong_answers/<lesson>.py with the `wrong(...)` decorator.

Two ways to read the corpus, one place that knows its layout: `load` runs the files (the checks
need the functions), `read` parses them without running anything (`petkit sync` builds sample
notebooks from them and must stay fast, never importing fastai)."""
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
        return _as_learner_wrote_it(ast.parse(src).body[0], src.splitlines(), self.exercise) + "\n"

    @property
    def path(self) -> Path:
        return Path(inspect.getsourcefile(self.fn))


@dataclass(frozen=True)
class Entry:
    """A wrong answer as read from its file without running it."""
    exercise: str
    mistake: str
    source: str                      # the function under the exercise's name
    path: Path                       # the corpus file it is in
    rejected_by: tuple[str, ...] = ()  # as declared (empty when not written as a literal)


def only_bad_input(rejected_by: tuple[str, ...] | list[str]) -> bool:
    """Whether the checks that reject an answer are all bad-input ones: right maths, no validation."""
    return bool(rejected_by) and all(key.endswith("_bad_input") for key in rejected_by)


def _as_learner_wrote_it(node: ast.FunctionDef, lines: list[str], exercise: str) -> str:
    """The function's text from `def` on (no decorators), renamed to the exercise's function."""
    text = "\n".join(lines[node.lineno - 1:node.end_lineno])
    return text.replace(f"def {node.name}(", f"def {exercise.rpartition('.')[2]}(", 1)


def _files(directory: Path, lesson: str | None = None) -> list[Path]:
    """The corpus files of the folder (or only the one of `lesson`), in name order."""
    return [p for p in sorted(directory.glob("*.py"))
            if not p.name.startswith("_") and (lesson is None or p.stem == lesson)]


def _run_files(directory: Path, found: list, prefix: str, lesson: str | None = None) -> list:
    """Run every corpus file of the folder; what its decorators added to `found`, in file order."""
    answers = []
    for path in _files(directory, lesson):
        start = len(found)
        spec = importlib.util.spec_from_file_location(f"{prefix}_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        answers += found[start:]
    return answers


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
    return _run_files(directory, _FOUND, "petkit_wrong_answers", lesson)


def read(directory: Path = CORPUS_DIR) -> list[Entry]:
    """Every wrong answer in the corpus folder, in file order, read without running the files."""
    entries = []
    for path in _files(directory):
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.parse(text, filename=str(path)).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for d in node.decorator_list:
                if isinstance(d, ast.Call) and getattr(d.func, "id", None) == "wrong" and len(d.args) >= 2:
                    exercise, mistake = ast.literal_eval(d.args[0]), ast.literal_eval(d.args[1])
                    entries.append(Entry(exercise, mistake, _as_learner_wrote_it(node, lines, exercise), path,
                                         _literal_keyword(d, "rejected_by", ())))
    return entries


def _literal_keyword(call: ast.Call, name: str, default):
    """The value of a keyword argument written as a literal (`default` when absent or not a literal)."""
    for k in call.keywords:
        if k.arg == name:
            try:
                return tuple(ast.literal_eval(k.value))
            except (ValueError, TypeError):
                return default
    return default


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
    return _run_files(directory, _RIGHT, "petkit_right_answers")
