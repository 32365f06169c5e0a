"""petkit: a testing-first exercise kit for chapter 5 of the fastai book (pet breeds).

Importing this package is cheap on purpose (no torch, no fastai): the CLI decides what to load.
"""
import contextlib
import os
from pathlib import Path

from petkit import deferred as _deferred

_deferred.defer()  # before anything imports nbformat: see petkit/deferred.py

__version__ = "0.1.0"

ROOT = Path(__file__).resolve().parent.parent
"""The checkout: solutions/, exercises/, tests/ and grader/ live here."""


@contextlib.contextmanager
def environ(**values: str):
    """Set these environment variables for the duration of a `with` block, then put back what was there."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

