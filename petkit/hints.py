"""Progressive hints: `petkit hint ID` shows the next one each time; the count is kept in the checkout."""
from __future__ import annotations

import json
import os
from pathlib import Path

from petkit import ROOT
from petkit.registry import Exercise

STATE = Path(os.environ.get("PETKIT_STATE_DIR", ROOT / ".petkit")) / "hints.json"


def _load(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text())
        return {k: int(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # no state yet, or a damaged file: start the hints again rather than crash


def _save(path: Path, state: dict[str, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, path)


def shown(exercise: Exercise, path: Path = STATE) -> int:
    return min(_load(path).get(exercise.id, 0), len(exercise.hints))


def next_hint(exercise: Exercise, path: Path = STATE) -> str:
    state = _load(path)
    n = min(state.get(exercise.id, 0) + 1, len(exercise.hints))
    state[exercise.id] = n
    _save(path, state)
    text = f"Hint {n} of {len(exercise.hints)} for {exercise.id} ({exercise.title}):\n\n  {exercise.hints[n - 1]}\n"
    if n < len(exercise.hints):
        text += f"\nStill stuck? `petkit hint {exercise.id}` again shows the next hint."
    else:
        text += (f"\nThat was the last hint. If you are really stuck, the reference answer is in "
                 f"solutions/{exercise.lesson}.py; `petkit hint --reset {exercise.id}` starts the hints again.")
    return text


def reset(exercise: Exercise | None = None, path: Path = STATE) -> None:
    state = _load(path)
    if exercise is None:
        state.clear()
    else:
        state.pop(exercise.id, None)
    _save(path, state)
