"""The ordered registry of lessons and exercises, read from exercises.toml (the one list of them)."""
from __future__ import annotations

import difflib
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

REGISTRY_FILE = Path(__file__).with_name("exercises.toml")


@dataclass(frozen=True)
class Exercise:
    id: str          # "softmax.log_softmax"
    lesson: str      # "softmax"
    name: str        # "log_softmax": the function's name in solutions/<lesson>.py
    title: str
    points: int
    hints: tuple[str, ...]
    signature: str   # "(x, dim=-1)": the function's parameters, the contract every implementation keeps


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    intro: str
    exercises: tuple[Exercise, ...]


class RegistryError(ValueError):
    """exercises.toml is malformed (a course author's mistake)."""


class UnknownTarget(ValueError):
    """A lesson or exercise id that does not exist (a user's typo)."""


@functools.cache
def lessons() -> tuple[Lesson, ...]:
    data = tomllib.loads(REGISTRY_FILE.read_text())
    out, seen = [], set()
    for raw in data.get("lessons", []):
        lesson_id = raw["id"]
        exs = []
        for e in raw.get("exercises", []):
            lesson, _, name = e["id"].partition(".")
            if lesson != lesson_id or not name.isidentifier():
                raise RegistryError(f"{REGISTRY_FILE}: exercise id {e['id']!r} must be '{lesson_id}.<function>'")
            if e["id"] in seen:
                raise RegistryError(f"{REGISTRY_FILE}: exercise {e['id']!r} is listed twice")
            if len(e.get("hints", [])) < 2 or int(e.get("points", 0)) < 1:
                raise RegistryError(f"{REGISTRY_FILE}: exercise {e['id']!r} needs at least 2 hints and points >= 1")
            if not str(e.get("signature", "")).startswith("("):
                raise RegistryError(f"{REGISTRY_FILE}: exercise {e['id']!r} needs its signature, e.g. "
                                    f"signature = \"(x, dim=-1)\"")
            seen.add(e["id"])
            exs.append(Exercise(e["id"], lesson, name, e["title"], int(e["points"]), tuple(e["hints"]),
                                e["signature"]))
        out.append(Lesson(lesson_id, raw["title"], raw.get("intro", "").strip(), tuple(exs)))
    return tuple(out)


def exercises() -> tuple[Exercise, ...]:
    return tuple(e for lesson in lessons() for e in lesson.exercises)


def lesson(lesson_id: str) -> Lesson:
    for l in lessons():
        if l.id == lesson_id:
            return l
    raise UnknownTarget(_unknown(lesson_id, [l.id for l in lessons()], "lesson"))


def exercise(exercise_id: str) -> Exercise:
    for e in exercises():
        if e.id == exercise_id:
            return e
    raise UnknownTarget(_unknown(exercise_id, [e.id for e in exercises()], "exercise"))


def select(target: str | None) -> tuple[Exercise, ...]:
    """All exercises, one lesson's, or one exercise, by id."""
    if not target:
        return exercises()
    for l in lessons():
        if l.id == target:
            return l.exercises
    for e in exercises():
        if e.id == target:
            return (e,)
    names = [l.id for l in lessons()] + [e.id for e in exercises()]
    raise UnknownTarget(_unknown(target, names, "lesson or exercise"))


def _unknown(name: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if not close:
        close = [k for k in known if k.endswith("." + name)]
    maybe = f" Did you mean {', '.join(close)}?" if close else ""
    return f"there is no {what} called {name!r}.{maybe} `petkit list` shows them all."


def lesson_table() -> str:
    """The README's table of lessons and exercises, in chapter order (the suite checks the README has it)."""
    rows = ["| lesson | exercises |", "| --- | --- |"]
    for l in lessons():
        rows.append(f"| `{l.id}` | " + ", ".join(f"`{e.name}`" for e in l.exercises) + " |")
    return "\n".join(rows)
