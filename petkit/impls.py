"""What `--impl` (or PETKIT_IMPL) takes: the name of a package as Python imports it, not a path."""
from __future__ import annotations

import os


def impl_problem(impl: str) -> str | None:
    """Why `impl` cannot name an implementation package, in a sentence; None when it can."""
    parts = impl.split(".")
    if impl and all(p.isidentifier() for p in parts):
        return None
    folder = os.path.basename(os.path.normpath(impl)) if impl.strip(" ./") else ""
    tip = (f" For the folder {impl}, run from the folder that holds it and give --impl {folder}"
           f" (or put its parent on PYTHONPATH)." if folder.isidentifier() and folder != impl else "")
    return (f"--impl takes the name of a package, as Python imports it (such as 'exercises', 'solutions' "
            f"or 'mine'), not a path: {impl!r} is not one.{tip}")
