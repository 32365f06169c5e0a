"""Progressive hints: `petkit hint ID` shows the next one each time; the count is kept in the checkout
(a notebook keeps its own, beside the notebook: `notebook_hint`)."""
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


def notebook_hint(exercise: Exercise, path: Path, memory: dict[str, int]) -> str:
    """The next hint as a graded notebook shows it: counted in `path` beside the notebook (or only in
    `memory` when that file cannot be written), never pointing at the reference answers."""
    hints = [h for h in exercise.hints if "solutions/" not in h] or list(exercise.hints[:1])
    state = {**_load(path), **memory}
    n = min(state.get(exercise.id, 0) + 1, len(hints))
    memory[exercise.id] = n
    try:
        _save(path, {**_load(path), exercise.id: n})
    except OSError:
        pass  # a read-only folder: the count lives in this kernel only
    text = f"Hint {n} of {len(hints)} for {exercise.id} ({exercise.title}):\n\n  {hints[n - 1]}\n"
    if n < len(hints):
        return text + f"\nStill stuck? hint({exercise.id!r}) again shows the next hint."
    return text + "\nThat was the last hint; run hint() again to see it once more."
