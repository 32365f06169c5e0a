"""The engine's layout holds: no import cycle between petkit's modules (imports inside functions
count too), no module reaching into another's underscore names, the instructor's side walled off,
and the linter's small rule set clean."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from petkit import ROOT

PACKAGE = ROOT / "petkit"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The petkit module an import names (`petkit.grading.course`), or None for anything else."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> list[tuple[str, str, int]]:
    """(imported petkit module, name taken from it or '', line) for every import in the module."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if (target := _resolve(a.name)) and a.name.startswith("petkit"):
                    found.append((target, "", node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if not base.startswith("petkit"):
                continue
            for a in node.names:
                full = f"{base}.{a.name}"
                if full in MODULES:  # `from petkit import notebooks`: the module itself
                    found.append((full, "", node.lineno))
                elif target := _resolve(base):
                    found.append((target, a.name, node.lineno))
    return found


def _graph() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in imports(m) if t != m and t != "petkit"} for m in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if not state.get(n) and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return []

    for m in sorted(graph):
        if not state.get(m) and (found := visit(m)):
            return found
    return []


def test_the_import_reader_sees_cycles_and_private_names():
    """The reader itself can fail: a made-up cycle is found, and so is a private name."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert ("petkit.notebooks", "without_hidden_tests", 10) in [
        (t, n, 10) for t, n, _ in imports("petkit.grading.screen")]


def test_no_import_cycle_between_petkit_modules():
    cycle = _cycle(_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_no_module_imports_another_modules_underscore_names():
    bad = [f"{MODULES[m].relative_to(ROOT)}:{line} imports {name} from {target}"
           for m in MODULES for target, name, line in imports(m)
           if name.startswith("_") and not name.startswith("__") and target != m]
    assert not bad, "\n".join(bad)


def test_only_the_cli_imports_the_instructors_side():
    bad = [f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}"
           for m in MODULES if not m.startswith("petkit.grading") and m != "petkit.cli"
           for target, _, line in imports(m) if target.startswith("petkit.grading")]
    assert not bad, "\n".join(bad)


def test_the_benchmarks_live_outside_the_package():
    assert not list(PACKAGE.rglob("bench*.py"))
    for name in sorted(f.stem for f in (ROOT / "benchmarks").glob("*.py") if f.stem != "__init__"):
        r = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--help"], cwd=ROOT,
                           capture_output=True, text=True)
        assert r.returncode == 0 and "usage: python -m benchmarks." in r.stdout, r.stderr


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"  # a dependency in pyproject.toml
    r = subprocess.run([ruff, "check", "--no-cache", "petkit", "benchmarks", "tests", "solutions"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
