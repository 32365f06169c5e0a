"""Set-up on a fresh machine, with the standard library only (it runs before anything is installed).

`python3 -m petkit CMD` creates `.venv` inside the checkout when it is missing (or when
pyproject.toml changed since it was made), installs the kit into it, then re-runs itself there.
A failed install leaves no marker behind, so the next run simply tries again.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
MARKER = VENV / ".petkit-installed"
LOG = VENV / "petkit-install.log"


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _ready() -> bool:
    return PYTHON.exists() and MARKER.exists() and MARKER.read_text().strip() == _fingerprint()


def _inside_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_venv() -> None:
    """Make `.venv` and install the kit into it, unless that is already done for this pyproject."""
    if _ready():
        return
    if not PYTHON.exists():
        print(f"petkit: creating {VENV} ...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("petkit: installing torch, fastai, nbgrader, pytest and hypothesis into .venv "
          f"(first run only, a few minutes; log: {LOG}) ...", file=sys.stderr, flush=True)
    MARKER.unlink(missing_ok=True)
    with open(LOG, "w") as log:
        done = subprocess.run([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check",
                               "-e", str(ROOT)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    if done.returncode != 0:
        tail = LOG.read_text(errors="replace").splitlines()[-15:]
        sys.exit("petkit: installing into .venv failed; the end of the log says:\n  "
                 + "\n  ".join(tail) + f"\nFix the cause and run the same command again (full log: {LOG}).")
    MARKER.write_text(_fingerprint() + "\n")


def main() -> None:
    ensure_venv()
    if not _inside_venv():
        os.execv(PYTHON, [str(PYTHON), "-m", "petkit", *sys.argv[1:]])
    from petkit.cli import main as cli_main
    sys.exit(cli_main())
