"""The nbgrader notebooks, built from the single source (solutions/ and the registry) by `petkit sync`.

One notebook per lesson, `grader/source/<lesson>/<lesson>.ipynb`: the lesson's intro, a read-only
cell with what the code builds on, then for each exercise a short explanation, a solution cell (the
function from solutions/, its answer between nbgrader's solution markers) and two locked, autograded
test cells: the maths (`petkit.nbcheck.check`, the checks of pytest and `petkit check` less the
bad-input ones, and in a hidden block `check_hidden`: more examples, a seed per student), worth most
of the exercise's points, then the bad-input checks, worth a small share (`test_cells`).

The same module builds notebooks as students hand them in (`student_notebook`): the release, the
sample submissions under grader/samples/, and the kit's consistency checks.
Everything here is deterministic: the same sources give the same bytes (no timestamps; cell ids
come from the exercise ids).
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from petkit import ROOT
from petkit.registry import Exercise, Lesson, lessons

# nbgrader's markers: a solution block in solutions/ and in the notebooks (the one definition of them)
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# What nbgrader puts in place of each answer in the student version (grader/nbgrader_config.py sets
# the same text as ClearSolutions.code_stub; a kit test keeps the two equal).
CODE_STUB = '# YOUR CODE HERE\nraise NotImplementedError("not written yet: replace this line with your code")'
SCHEMA_VERSION = 3
GIVEN_ID = "given"

Notebook = dict


class NotebookError(ValueError):
    """A solutions module cannot be turned into a notebook (a course author's mistake)."""


# --- reading a solutions module ------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """A solutions module cut into what a notebook needs."""
    lesson: Lesson
    given: str                     # imports, constants, helpers, and what it imports from other lessons
    borrowed: dict[str, list[str]]  # other lesson -> the names taken from it
    functions: dict[str, str]      # exercise function name -> its text, solution markers included


def _parse(path: Path) -> tuple[ast.Module, list[str]]:
    text = path.read_text()
    try:
        return ast.parse(text, filename=str(path)), text.splitlines()
    except SyntaxError as e:
        raise NotebookError(f"{path}, line {e.lineno}: {e.msg}") from None


def _segment(node: ast.stmt, lines: list[str]) -> str:
    """The statement's text, with its decorators and the comment lines right above it."""
    start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno]) - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    end = node.end_lineno  # comments indented into the body still belong to it (### END SOLUTION)
    while end < len(lines) and (not lines[end].strip() or (lines[end].lstrip().startswith("#")
                                and len(lines[end]) - len(lines[end].lstrip()) > node.col_offset)):
        end += 1
    while end > node.end_lineno and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end])


def _defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return set()


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _without_markers(text: str) -> str:
    return "\n".join(l for l in text.splitlines() if l.strip() not in (BEGIN, END))


def _borrowed_definitions(root: Path, module: str, names: list[str], seen: set[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(imports, definitions) that give `names` as solutions/<module>.py defines them, with whatever
    they use from that module (found by name), and recursively what that module borrows in turn."""
    path = root / "solutions" / f"{module}.py"
    if not path.exists():
        raise NotebookError(f"a solutions module imports from .{module}, but {path} does not exist")
    tree, lines = _parse(path)
    defs: dict[str, ast.stmt] = {}
    imports, relative = [], []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            relative.append(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(_segment(node, lines))
        elif not _is_docstring(node):
            for name in _defined_names(node):
                defs[name] = node
    wanted: list[ast.stmt] = []
    asked: set[str] = set()
    queue = list(names)
    while queue:
        name = queue.pop()
        if (module, name) in seen:
            continue
        seen.add((module, name))
        if name in defs:
            if all(defs[name] is not n for n in wanted):
                wanted.append(defs[name])
            queue += sorted(_used_names(defs[name]) & set(defs))
            asked |= _used_names(defs[name])
        elif any(name in _defined_names(r) for r in relative):
            asked.add(name)
        else:
            raise NotebookError(f"{path} has no top-level definition of {name!r}")
    out_imports, out_defs = list(imports), []
    for r in relative:
        needed = sorted(_defined_names(r) & asked)
        if needed:
            more_imports, more_defs = _borrowed_definitions(root, r.module, needed, seen)
            out_imports += more_imports
            out_defs += more_defs
    out_defs += [_without_markers(_segment(n, lines)) for n in sorted(wanted, key=lambda n: n.lineno)]
    return out_imports, out_defs


def read_source(lesson: Lesson, root: Path = ROOT) -> Source:
    path = root / "solutions" / f"{lesson.id}.py"
    if not path.exists():
        raise NotebookError(f"{path} is missing, but petkit/exercises.toml lists lesson {lesson.id!r}")
    tree, lines = _parse(path)
    names = {e.name for e in lesson.exercises}
    imports, borrowed_imports, borrowed_defs, rest = [], [], [], []
    functions: dict[str, str] = {}
    borrowed: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for i, node in enumerate(tree.body):
        if i == 0 and _is_docstring(node):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            functions[node.name] = _segment(node, lines)
        elif isinstance(node, ast.ImportFrom) and node.level:
            wanted = [a.name for a in node.names]
            if any(a.asname for a in node.names) or "*" in wanted:
                raise NotebookError(f"{path}, line {node.lineno}: import names from another lesson plainly "
                                    f"(`from .{node.module} import a, b`), so the notebook can give them")
            more_imports, more_defs = _borrowed_definitions(root, node.module, wanted, seen)
            borrowed_imports += more_imports
            borrowed_defs += more_defs
            borrowed.setdefault(node.module, []).extend(wanted)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(_segment(node, lines))
        else:
            rest.append(_segment(node, lines))
    missing = [e.name for e in lesson.exercises if e.name not in functions]
    if missing:
        raise NotebookError(f"{path}: no top-level function {', '.join(missing)}, which petkit/exercises.toml lists")
    all_imports = list(dict.fromkeys(imports + borrowed_imports))
    all_imports.sort(key=lambda s: not s.startswith("from __future__"))
    parts = ["# Given (read-only): what the exercises below build on.", "\n".join(all_imports),
             "from petkit.nbcheck import hint  # hint() shows the next hint for the exercise last checked"]
    if borrowed_defs:
        names_text = "; ".join(f"{', '.join(n)} from lesson `{m}`" for m, n in borrowed.items())
        parts.append(f"# The reference answers this lesson builds on ({names_text}).\n"
                     f"# They are given so that this notebook grades only its own exercises.\n"
                     + "\n\n\n".join(borrowed_defs))
    given = "\n\n".join(p for p in parts if p.strip())
    if rest:
        given += "\n\n\n" + "\n\n".join(rest)
    return Source(lesson, given, borrowed, {e.name: functions[e.name] for e in lesson.exercises})


# --- cells -------------------------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _markdown(cell_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": _lines(text.strip())}


def _code(cell_id: str, text: str, **nbgrader) -> dict:
    meta = {"grade": False, "grade_id": cell_id, "locked": False, "schema_version": SCHEMA_VERSION,
            "solution": False, "task": False}
    meta.update(nbgrader)
    return {"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": {"nbgrader": meta},
            "outputs": [], "source": _lines(text.strip("\n"))}


def answer_id(exercise: Exercise) -> str:
    return exercise.name


def tests_id(exercise: Exercise) -> str:
    """The test cell of the exercise's maths (most of its points)."""
    return f"test_{exercise.name}"


def bad_input_tests_id(exercise: Exercise) -> str:
    """The test cell of the exercise's bad-input checks (a small share of its points)."""
    return f"test_{exercise.name}_bad_input"


def test_cells(exercise: Exercise) -> dict[str, int]:
    """The exercise's graded test cells -> their points. Right maths without input validation earns
    most of the points: the bad-input checks are worth 1 point of an exercise of 2 or more, and 0 of
    an exercise of 1 (its one point is the maths: a half point would make validation worth as much
    as the maths, and 0 of 1 for right maths would be the unfairness this split removes; the cell
    still runs and says what to fix)."""
    bad_input = 1 if exercise.points >= 2 else 0
    return {tests_id(exercise): exercise.points - bad_input, bad_input_tests_id(exercise): bad_input}


def part_of(cell_id: str) -> str:
    """Which part of its exercise a test cell grades: "maths" or "bad input"."""
    return "bad input" if cell_id.endswith("_bad_input") else "maths"


def tests_source(exercise: Exercise) -> str:
    points = test_cells(exercise)[tests_id(exercise)]
    return (f"# The tests of {exercise.id}'s maths ({_points(points)}): the checks `petkit check {exercise.id}` "
            f"runs, less the bad-input ones (the next test cell).\n"
            f"from petkit.nbcheck import MATHS, check\n"
            f"check({exercise.id!r}, {exercise.name}, kinds=MATHS)\n"
            f"{BEGIN_HIDDEN}\n"
            f"from petkit.nbcheck import check_hidden\n"
            f"check_hidden({exercise.id!r}, {exercise.name}, kinds=MATHS)\n"
            f"{END_HIDDEN}\n")


def bad_input_tests_source(exercise: Exercise) -> str:
    points = test_cells(exercise)[bad_input_tests_id(exercise)]
    return (f"# The bad-input tests of {exercise.id} ({_points(points)}): does it reject what it cannot "
            f"handle, with a clear error?\n"
            f"from petkit.nbcheck import BAD_INPUT, check_bad_input\n"
            f"check_bad_input({exercise.id!r}, {exercise.name})\n"
            f"{BEGIN_HIDDEN}\n"
            f"from petkit.nbcheck import check_hidden\n"
            f"check_hidden({exercise.id!r}, {exercise.name}, kinds=BAD_INPUT)\n"
            f"{END_HIDDEN}\n")


def _points(n: int) -> str:
    return f"{n} point{'s' if n != 1 else ''}"


def _intro(lesson: Lesson) -> str:
    first = lesson.exercises[0].id
    total = sum(e.points for e in lesson.exercises)
    return (f"# {lesson.title}\n\n"
            f"petkit lesson `{lesson.id}` (chapter 5 of the fastai book: pet breeds), "
            f"{len(lesson.exercises)} exercises, {_points(total)}.\n\n"
            f"{lesson.intro}\n\n"
            f"**How this notebook works.** Each exercise is one function. Write it in the cell that says "
            f"`# YOUR CODE HERE`, in place of the `raise NotImplementedError(...)` line, and run that cell. "
            f"Then run the two test cells under it: they run the same checks as `petkit check`, and when one "
            f"fails it says which property broke and on which input. A test cell that runs without an error "
            f"earns its points: the first one most of the exercise's points, for the maths; the second a small "
            f"share, for rejecting bad input with a clear error. When you hand the notebook in, the grader also runs hidden tests: the "
            f"same checks on more inputs, different for every student. Stuck? `hint()` shows the next hint "
            f"for the exercise you last checked (`hint({first!r})` for another one).")


def _about_given(source: Source) -> str:
    text = "The next cell is given and read-only: the imports the exercises use"
    if source.borrowed:
        names = "; ".join(f"`{'`, `'.join(n)}` from lesson `{m}`" for m, n in source.borrowed.items())
        text += (f", and the reference answers this lesson builds on ({names}), so that this notebook "
                 f"grades only its own exercises: do that lesson first")
    return text + ". Run it first."


def _about(number: int, exercise: Exercise) -> str:
    return (f"## {number}. {exercise.title} ({_points(exercise.points)})\n\n"
            f"Write `{exercise.name}` (`{exercise.id}`) in the next cell and run it, then run the two test "
            f"cells after it.")


def source_notebook(lesson: Lesson, root: Path = ROOT) -> Notebook:
    """The instructor's version: answers between solution markers, hidden tests in the test cells."""
    source = read_source(lesson, root)
    cells = [_markdown("intro", _intro(lesson)), _markdown("about-given", _about_given(source)),
             _code(GIVEN_ID, source.given, locked=True)]
    for number, e in enumerate(lesson.exercises, 1):
        cells += [_markdown(f"about-{e.name}", _about(number, e)),
                  _code(answer_id(e), source.functions[e.name], solution=True),
                  _code(tests_id(e), tests_source(e), grade=True, locked=True,
                        points=test_cells(e)[tests_id(e)]),
                  _code(bad_input_tests_id(e), bad_input_tests_source(e), grade=True, locked=True,
                        points=test_cells(e)[bad_input_tests_id(e)])]
    return {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def dumps(nb: Notebook) -> str:
    """The notebook's file text, as nbformat writes it (so re-saving in Jupyter changes little)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def source_path(lesson: Lesson, course: Path) -> Path:
    return course / "source" / lesson.id / f"{lesson.id}.ipynb"


# --- what students hand in ---------------------------------------------------------------------

def _source_text(cell: dict) -> str:
    return "".join(cell["source"])


def replace_answer(function_text: str, body: str | None) -> str:
    """The function with its solution region replaced by `body` (indented to the region), or by the
    stub nbgrader puts there when body is None."""
    out, inside = [], False
    for line in function_text.splitlines():
        if line.strip() == BEGIN:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            new = CODE_STUB if body is None else body
            out += [indent + l if l.strip() else l for l in new.splitlines()]
        elif line.strip() == END:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def solution_body(function_text: str) -> str:
    """The answer between the markers, dedented to the marker's level."""
    lines = function_text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == BEGIN)
    end = next(i for i, l in enumerate(lines) if l.strip() == END)
    indent = len(lines[start]) - len(lines[start].lstrip())
    return "\n".join(l[indent:] for l in lines[start + 1:end])


def without_hidden_tests(text: str) -> str:
    out, inside = [], False
    for line in text.splitlines():
        if BEGIN_HIDDEN in line:
            inside = True
        elif END_HIDDEN in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


# An answer, as a function of the reference answer's function text: the cell's new source.
Answer = Callable[[str], str]


def solved(function_text: str) -> str:
    return replace_answer(function_text, solution_body(function_text))


def untouched(function_text: str) -> str:
    return replace_answer(function_text, None)


def with_syntax_error(function_text: str) -> str:
    """The reference answer with a debugging print whose bracket is never closed."""
    return replace_answer(function_text, 'print("checking"\n' + solution_body(function_text))


def written(code: str) -> Answer:
    """A whole cell the student wrote (e.g. a wrong answer from the corpus)."""
    return lambda function_text: code


def student_notebook(nb: Notebook, answers: dict[str, Answer] | None = None) -> Notebook:
    """The notebook as a student hands it in: hidden tests gone (as in nbgrader's release), each
    solution cell holding `answers[function name]`, or the stub when it has none."""
    answers = answers or {}
    out = json.loads(json.dumps(nb))
    for cell in out["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] != "code":
            continue
        text = _source_text(cell)
        if meta.get("solution"):
            text = answers.get(meta["grade_id"], untouched)(text)
        elif meta.get("grade"):
            text = without_hidden_tests(text)
        cell["source"] = _lines(text)
    return out


# --- sample submissions ------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    student: str
    what: str
    answers: dict[str, Answer]
    expected: int                  # the points it should get
    max_points: int


def _library_imports(path: Path) -> list[str]:
    """The import statements of a corpus module, less those of the kit itself (petkit, solutions)."""
    tree, lines = _parse(path)
    kit = ("petkit", "solutions")
    out = []
    for n in tree.body:
        if isinstance(n, ast.ImportFrom) and not n.level and (n.module or "").split(".")[0] not in kit:
            out.append(_segment(n, lines))
        elif isinstance(n, ast.Import) and not any(a.name.split(".")[0] in kit for a in n.names):
            out.append(_segment(n, lines))
    return out


def _student_cell(imports: list[str], function_source: str) -> str:
    return "\n".join(imports) + ("\n\n" if imports else "") + function_source.rstrip("\n")


def wrong_answer_cell(w) -> str:
    """A corpus wrong answer (petkit.corpus.WrongAnswer) as a student's cell: the corpus module's
    library imports, then the function under the exercise's name."""
    return _student_cell(_library_imports(w.path), w.source)


@dataclass(frozen=True)
class CorpusAnswer:
    """A wrong answer of the corpus as a student's cell."""
    exercise: str
    mistake: str
    cell: str


def first_wrong_answers(root: Path = ROOT, unvalidated: bool = False) -> dict[str, CorpusAnswer]:
    """exercise id -> the first wrong answer of the corpus (tests/kit/wrong_answers/) for it, read
    without running the corpus (sync stays fast and never imports fastai for a lesson's tests); with
    `unvalidated`, the first whose only mistake is the missing input validation."""
    from petkit import corpus
    found: dict[str, CorpusAnswer] = {}
    for e in corpus.read(root / corpus.CORPUS_DIR.relative_to(corpus.ROOT)):
        if unvalidated and not corpus.only_bad_input(e.rejected_by):
            continue
        if e.exercise not in found:
            found[e.exercise] = CorpusAnswer(e.exercise, e.mistake, _student_cell(_library_imports(e.path), e.source))
    return found


def samples(lesson: Lesson, root: Path = ROOT, wrong_answers: dict | None = None) -> list[Sample]:
    """Four submissions to try the grader on, each with the score it should get:
    full marks; partial (the first exercise right, the last one right maths without input checks, so
    its maths points only, the others not started); the release untouched; the reference answers with
    a syntax error in the last exercise."""
    exs = lesson.exercises
    total = sum(e.points for e in exs)
    first, last = exs[0], exs[-1]
    unvalidated = (first_wrong_answers(root, unvalidated=True) if wrong_answers is None else wrong_answers).get(last.id)
    partial, expected = {first.name: solved}, first.points
    what = f"{first.name} right"
    if len(exs) > 1 and unvalidated is not None:
        partial[last.name] = written(unvalidated.cell)
        expected += test_cells(last)[tests_id(last)]
        what += (f", {last.name} right maths without input checks ({unvalidated.mistake}): its maths points, "
                 f"not the bad-input ones")
    return [
        Sample("sample-full", "the reference answers: full marks", {e.name: solved for e in exs}, total, total),
        Sample("sample-partial", what + ", the others not started", partial, expected, total),
        Sample("sample-untouched", "the release as handed out, nothing written: zero", {}, 0, total),
        Sample("sample-syntax-error", f"the reference answers, but {last.name}'s cell has a syntax error "
               f"(a bracket never closed): all but {last.name}",
               {**{e.name: solved for e in exs}, last.name: with_syntax_error}, total - last.points, total),
    ]


def sample_path(course: Path, student: str, lesson: Lesson) -> Path:
    return course / "samples" / student / lesson.id / f"{lesson.id}.ipynb"


def samples_readme(root: Path = ROOT, wrong_answers: dict | None = None) -> str:
    wrong_answers = first_wrong_answers(root, unvalidated=True) if wrong_answers is None else wrong_answers
    rows = []
    for lesson in lessons():
        for s in samples(lesson, root, wrong_answers):
            rows.append(f"| `{s.student}` | `{lesson.id}` | {s.expected}/{s.max_points} | {s.what} |")
    return ("# Sample submissions (written by `petkit sync`; do not edit)\n\n"
            "Laid out as nbgrader's `submitted/` folder: `samples/<student>/<lesson>/<lesson>.ipynb`.\n"
            "`petkit grade all LESSON --samples` copies them into `submitted/` and grades them.\n\n"
            "| student | lesson | expected score | what it is |\n| --- | --- | --- | --- |\n"
            + "\n".join(rows) + "\n")


def expected_files(root: Path = ROOT) -> dict[Path, str]:
    """Every file under grader/ that `petkit sync` writes: source notebooks and sample submissions."""
    course = root / "grader"
    wrong = first_wrong_answers(root, unvalidated=True)
    files: dict[Path, str] = {}
    for lesson in lessons():
        nb = source_notebook(lesson, root)
        files[source_path(lesson, course)] = dumps(nb)
        for s in samples(lesson, root, wrong):
            files[sample_path(course, s.student, lesson)] = dumps(student_notebook(nb, s.answers))
    files[course / "samples" / "README.md"] = samples_readme(root, wrong)
    return files


# --- the corpus of wrong answers, as students' notebooks -------------------------------------------

def _names_used(code: str) -> set[str]:
    return _used_names(ast.parse(code))


def wrong_answer_batches(lesson: Lesson, corpus: list) -> list[dict[str, object]]:
    """The lesson's wrong answers (corpus.WrongAnswer) grouped into as few notebooks as hold them:
    at most one per exercise in a notebook, and never one that calls another exercise whose answer
    is wrong in the same notebook (its points must be lost on its own account)."""
    names = {e.name for e in lesson.exercises}
    pending = {e.name: [w for w in corpus if w.exercise == e.id] for e in lesson.exercises}
    batches: list[dict[str, object]] = []
    while any(pending.values()):
        batch: dict[str, object] = {}
        for name in sorted(pending, key=lambda n: -len(pending[n])):
            for w in pending[name]:
                uses = _names_used(w.source) & names - {name}
                if uses & set(batch) or any(name in _names_used(o.source) for o in batch.values()):
                    continue
                batch[name] = w
                pending[name].remove(w)
                break
        batches.append(batch)
    return batches


def wrong_answer_notebook(nb: Notebook, lesson: Lesson, batch: dict[str, object]) -> Notebook:
    """A student's notebook with the batch's wrong answers, the reference answers of the exercises
    they call, and the other exercises not started."""
    names = {e.name for e in lesson.exercises}
    answers: dict[str, Answer] = {}
    for name, w in batch.items():
        answers[name] = written(wrong_answer_cell(w))
        for used in _names_used(w.source) & names - set(batch):
            answers[used] = solved
    return student_notebook(nb, answers)
