"""`petkit sync`: solutions/ is the single source; exercises/ and the grader's notebooks are written from it.

Each `### BEGIN SOLUTION` ... `### END SOLUTION` block (marked as nbgrader marks one) becomes a
stub that raises NotImplementedError naming the exercise and its hint command. Everything outside
the blocks (imports, signatures, docstrings, helpers) is copied as it is.
"""
from __future__ import annotations

import ast
import datetime
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from petkit import ROOT, notebooks
from petkit.notebooks import BEGIN, END  # nbgrader's solution markers
from petkit.registry import lessons


class SyncError(ValueError):
    """The solutions cannot be turned into exercises (a course author's mistake), or doing so
    would overwrite a learner's work."""


def stub(exercise_id: str) -> str:
    return (f'raise NotImplementedError("{exercise_id} is not written yet: replace this line with your code '
            f'(stuck? run `petkit hint {exercise_id}`)")')


def _functions_by_line(source: str, path: Path) -> dict[int, str]:
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as e:
        raise SyncError(f"{path}, line {e.lineno}: {e.msg}") from None
    owner: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for line in range(node.lineno, node.end_lineno + 1):
                # walk() reaches outer functions first, so inner definitions overwrite: innermost wins
                owner[line] = node.name
    return owner


def exercise_source(lesson_id: str, solution: str, path: Path) -> str:
    """The exercises/ module for one lesson, from the text of its solutions/ module."""
    wanted = {e.name: e.id for l in lessons() if l.id == lesson_id for e in l.exercises}
    owner = _functions_by_line(solution, path)
    out = [f"# Exercises for lesson `{lesson_id}`, written by `petkit sync` from solutions/{lesson_id}.py.",
           f"# Replace each `raise NotImplementedError(...)` with your code; check it with `petkit check {lesson_id}`.",
           ""]
    done: list[str] = []
    lines = solution.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == END:
            raise SyncError(f"{path}, line {i + 1}: {END} without a {BEGIN} before it")
        if line.strip() != BEGIN:
            out.append(line)
            i += 1
            continue
        fn = owner.get(i + 1)
        if fn not in wanted:
            raise SyncError(f"{path}, line {i + 1}: a solution block in "
                            f"{'function ' + fn if fn else 'module-level code'}, which is not an exercise of "
                            f"lesson {lesson_id!r} in petkit/exercises.toml")
        if wanted[fn] in done:
            raise SyncError(f"{path}, line {i + 1}: a second solution block in {fn}(); use one per exercise")
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == END), None)
        if end is None:
            raise SyncError(f"{path}, line {i + 1}: {BEGIN} is never closed by {END}")
        indent = line[: len(line) - len(line.lstrip())]
        out += [f"{indent}# YOUR CODE HERE", f"{indent}{stub(wanted[fn])}"]
        done.append(wanted[fn])
        i = end + 1
    missing = [e for e in wanted.values() if e not in done]
    if missing:
        raise SyncError(f"{path}: no solution block for {', '.join(missing)}; mark the answer with "
                        f"{BEGIN} / {END} inside the function")
    return "\n".join(out) + "\n"


def _written_record(root: Path) -> Path:
    return root / ".petkit" / "sync-written.json"  # {path: sha256 of the text sync last wrote or found there}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _has_learner_work(path: Path, root: Path, record: dict[str, str]) -> bool:
    """True when an exercises/ file is not exactly what sync generated: any difference (code over a
    stub, a helper added, a line written above the `raise`) is someone's work."""
    return record.get(str(path.relative_to(root))) != _digest(path.read_text())


@dataclass
class SyncReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)


def expected_files(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file and the text it should have."""
    return {**exercise_files(root), **grader_files(root)}


def exercise_files(root: Path = ROOT) -> dict[Path, str]:
    """exercises/: each solutions/ module with its answers replaced by stubs."""
    files = {root / "exercises" / "__init__.py": (root / "solutions" / "__init__.py").read_text()}
    for lesson in lessons():
        src = root / "solutions" / f"{lesson.id}.py"
        if not src.exists():
            raise SyncError(f"{src} is missing, but petkit/exercises.toml lists lesson {lesson.id!r}")
        files[root / "exercises" / f"{lesson.id}.py"] = exercise_source(lesson.id, src.read_text(), src)
    return files


def grader_files(root: Path = ROOT) -> dict[Path, str]:
    """grader/: the nbgrader source notebook of each lesson and the sample submissions (only where
    the checkout has the course folder)."""
    if not (root / "grader").is_dir():
        return {}
    try:
        return notebooks.expected_files(root)
    except notebooks.NotebookError as e:
        raise SyncError(str(e)) from None


def out_of_date(root: Path = ROOT) -> list[Path]:
    return [p for p, text in expected_files(root).items() if not p.exists() or p.read_text() != text]


def sync(root: Path = ROOT, force: bool = False) -> SyncReport:
    """Write exercises/ from solutions/. Refuses (SyncError) to overwrite a file that holds
    learner work unless `force`, and then keeps a copy under .petkit/backup/ first."""
    files = expected_files(root)
    report = SyncReport()
    changed = {p: t for p, t in files.items() if not p.exists() or p.read_text() != t}
    try:
        record = json.loads(_written_record(root).read_text())
    except (OSError, ValueError):
        record = {}
    worked = [p for p in changed if p.exists() and p.parent == root / "exercises" and p.stem != "__init__"
              and _has_learner_work(p, root, record)]
    if worked and not force:
        raise SyncError("these files differ from what sync generated (someone's code), and sync would replace them: "
                        + ", ".join(str(p.relative_to(root)) for p in worked)
                        + ". If you are a learner, you do not need sync. If you are a course author, run "
                          "`petkit sync --force` (it keeps a copy under .petkit/backup/ first).")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")  # a backup never replaces another
    for p in worked:
        backup = root / ".petkit" / "backup" / stamp / p.relative_to(root)
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, backup)
        report.backups.append(backup)
    for p, text in files.items():
        if p not in changed:
            report.unchanged.append(p)
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, p)
        report.written.append(p)
    record.update({str(p.relative_to(root)): _digest(text) for p, text in files.items() if p.parent == root / "exercises"})
    _written_record(root).parent.mkdir(parents=True, exist_ok=True)
    _written_record(root).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return report
