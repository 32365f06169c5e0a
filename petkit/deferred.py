"""Imports put off until first use: a dependency's import-time work that no petkit process needs.

`rfc3987_syntax` builds a Lark grammar of all of RFC 3987 when it is imported: 0.9-1.2 s on the
2-core machine, half of what importing nbgrader costs. jsonschema imports it at its own import (for
its `iri` format checker, jsonschema's "format-nongpl" extra, which jupyter_events pulls in), and
nbformat imports jsonschema: so every `petkit grade`, every grading worker and every test process that
reads a notebook paid it, and none of them checks an IRI (upstream: python-jsonschema/jsonschema#1392,
#1521). Here `rfc3987_syntax` is a stand-in until something uses it; the first call (or any other
attribute) imports the real module, so an IRI is checked exactly as before, only later.

Installed by petkit/__init__.py, so it is in place in every process that imports petkit before
nbformat: the CLI, the grading workers, the kit's tests.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

SLOW = "rfc3987_syntax"
_FIRST_USE = threading.Lock()


class _StandIn(types.ModuleType):
    """`rfc3987_syntax` until first use: `is_valid_syntax` (what jsonschema takes from it) and every
    other attribute import the real module, which then replaces this one in sys.modules."""

    def __getattr__(self, name: str):
        if name.startswith("__"):  # the import system and tools that scan sys.modules: not a use
            raise AttributeError(name)
        return getattr(_real(self.__name__), name)


def _real(name: str) -> types.ModuleType:
    with _FIRST_USE:  # two threads at their first use: one imports, the other then finds the module
        module = sys.modules.get(name)
        if isinstance(module, _StandIn):
            sys.modules.pop(name)
            try:
                importlib.import_module(name)
            except BaseException:
                sys.modules.setdefault(name, module)  # as it was: the next use tries (and fails) again
                raise
    return importlib.import_module(name)  # waits, as `import` does, for an import another thread has under way


def _stand_in(name: str, spec) -> _StandIn:
    module = _StandIn(name, f"stand-in for {name} until first use (petkit.deferred)")
    module.__spec__, module.__file__ = spec, spec.origin
    if spec.submodule_search_locations is not None:  # a package: its submodules import as they would
        module.__path__ = list(spec.submodule_search_locations)
    module.is_valid_syntax = lambda *args, **kwargs: _real(name).is_valid_syntax(*args, **kwargs)
    return module


def defer(name: str = SLOW) -> bool:
    """Put `name` off until first use, if it is installed and not imported yet; whether it was."""
    if name in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    sys.modules[name] = _stand_in(name, spec)
    return True
