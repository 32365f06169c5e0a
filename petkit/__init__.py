"""petkit: a testing-first exercise kit for chapter 5 of the fastai book (pet breeds).

Importing this package is cheap on purpose (no torch, no fastai): the CLI decides what to load.
"""
from pathlib import Path

__version__ = "0.1.0"

ROOT = Path(__file__).resolve().parent.parent
"""The checkout: solutions/, exercises/, tests/ and grader/ live here."""
