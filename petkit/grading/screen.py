"""The static first line of the referee, as pure functions: the locked cells a submission changed,
and what in an answer cell an answer never needs (such a cell is never run)."""
from __future__ import annotations

import ast

from petkit.notebooks import without_hidden_tests

# --- 1. the locked cells -------------------------------------------------------------------------


def cell_text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _norm(text: str) -> str:
    return "\n".join(l.rstrip() for l in text.strip().splitlines())


def cells_by_id(nb: dict) -> dict[str, dict]:
    out = {}
    for cell in nb.get("cells", []):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid and cell.get("cell_type") == "code":
            out.setdefault(gid, cell)
    return out


def locked_cell_problems(source: dict, submitted: dict) -> dict[str, str]:
    """grade_id of each locked cell that the submission changed or lost -> what happened to it."""
    mine = cells_by_id(submitted)
    problems = {}
    for gid, cell in cells_by_id(source).items():
        if not cell["metadata"]["nbgrader"].get("locked"):
            continue
        if gid not in mine:
            problems[gid] = f"the locked cell {gid} was deleted"
        elif _norm(cell_text(mine[gid])) not in (_norm(without_hidden_tests(cell_text(cell))), _norm(cell_text(cell))):
            problems[gid] = f"the locked cell {gid} was edited"
    return problems


# --- 2. what an answer never needs ------------------------------------------------------------------

# modules an answer cell may not import, and why
FORBIDDEN_IMPORTS = {
    "solutions": "the kit's reference answers", "exercises": "the kit's own stubs",
    "petkit": "the kit (its checks and grader)", "hypothesis": "the test framework the checks run on",
    "nbgrader": "the grader", "gc": "the garbage collector (a way to reach the checks' objects)",
    "ctypes": "raw memory access", "inspect": "introspection of the running checks",
    "importlib": "re-importing modules", "builtins": "Python's builtins",
    "sqlite3": "databases (the gradebook)", "shutil": "file operations", "glob": "file search",
    "subprocess": "other processes", "signal": "signals", "pickle": "pickle", "marshal": "code objects",
    "unittest": "mocking", "pytest": "the test framework", "threading": "threads", "multiprocessing": "processes",
}
KIT_FOR_ANSWERS = {"petkit.pretrain", "petkit.data", "petkit.lite0"}  # what the lessons themselves give answers to use
FORBIDDEN_CALLS = {
    "open": "opens a file", "exec": "runs code from a string", "eval": "runs code from a string",
    "compile": "compiles code", "__import__": "imports by name", "setattr": "sets attributes by name",
    "delattr": "deletes attributes by name", "globals": "reaches the notebook's globals",
    "vars": "reaches a namespace", "breakpoint": "starts a debugger",
}
FORBIDDEN_ATTRS = {  # attribute names, however reached
    "__code__", "__globals__", "__builtins__", "__dict__", "__subclasses__", "__closure__",
    "__import__", "__loader__", "__spec__", "_getframe", "system",
    "popen", "spawnv", "execv", "remove", "unlink", "rmdir", "rmtree", "rename", "replace_file",
    "listdir", "scandir", "walk", "read_text", "read_bytes", "write_text", "write_bytes", "open", "getcwd",
    "chdir", "environ", "setrlimit", "f_back", "f_globals", "f_locals", "gi_frame", "tb_frame",
}
COURSE_WORDS = ("gradebook", ".ipynb", "grader", "autograded", "submitted", "nbgrader", "solutions", "source/")


def _assigned(target: ast.expr):
    """The targets an assignment writes to: the target itself, or each element of a tuple/list/starred
    target (`p[torch.arange(n), t] -= 1` writes to p, not to torch.arange)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for e in target.elts:
            yield from _assigned(e)
    elif isinstance(target, ast.Starred):
        yield from _assigned(target.value)
    else:
        yield target


def scan(code: str) -> str:
    """What in an answer cell an answer never needs ('' when nothing): the first finding, in words."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""  # it fails when run, as in the notebook
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if node.__class__ is ast.ImportFrom and node.level:
                    return "a relative import (the kit's own modules)"
                if top in FORBIDDEN_IMPORTS and name not in KIT_FOR_ANSWERS:
                    return f"imports {name} ({FORBIDDEN_IMPORTS[top]}), which an answer never needs"
            for a in node.names:
                modules.add((a.asname or a.name).split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            return f"calls {node.func.id}() ({FORBIDDEN_CALLS[node.func.id]}), which an answer never needs"
        if isinstance(node, ast.Attribute) and node.attr == "modules" and isinstance(node.value, ast.Name) \
                and node.value.id == "sys":
            return "uses sys.modules, which an answer never needs"
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRS:
            return f"uses .{node.attr}, which an answer never needs"
        if isinstance(node, ast.Name) and node.id in ("__builtins__", "__import__", "__loader__", "__spec__"):
            return f"uses {node.id}, which an answer never needs"
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                for sub in _assigned(t):  # what is written to, not the index expressions inside it
                    if isinstance(sub, (ast.Attribute, ast.Subscript)):
                        root = sub
                        while isinstance(root, (ast.Attribute, ast.Subscript)):
                            root = root.value
                        if isinstance(root, ast.Name) and (root.id in modules or root.id in _GIVEN_MODULES):
                            return (f"assigns to {ast.unparse(sub)}: changing a module (what the checks "
                                    f"use) from an answer is not allowed")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            low = node.value.lower()
            for w in COURSE_WORDS:
                if w in low:
                    return f"names {w!r}: an answer never reaches for the course's files"
    return ""


# names the given cells bind to modules (assigning their attributes changes a module)
_GIVEN_MODULES = {"torch", "F", "nn", "np", "math", "os", "sys", "fastai", "fastcore", "hypothesis", "petkit",
                  "builtins", "random", "functools", "operator", "itertools", "Tensor"}
