"""Set-up on a fresh machine, with the standard library only (it runs before anything is installed).

`python3 -m petkit CMD` creates `.venv` inside the checkout when it is missing (or when
pyproject.toml changed since it was made), installs the kit into it, then re-runs itself there.
A failed install leaves no marker behind, so the next run simply tries again.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
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
        import venv  # here only: with logging, 5 ms of every command's start
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
    ensure_system_packages(list(SYSTEM_PACKAGES))
    MARKER.write_text(_fingerprint() + "\n")


# Debian packages the kit needs from the system, and the command each provides
SYSTEM_PACKAGES = {
    "bubblewrap": "bwrap",    # the OS sandbox `petkit grade` runs learner code in
    "chromium": "chromium",   # the headless browser the suite opens the class report in
}


def ensure_system_packages(packages: list[str], tell: bool = True) -> None:
    """Install the Debian packages whose command is missing, when we are root and have apt-get
    (CI, a container); otherwise (with `tell`) say what is missing and how to get it. Never fails
    the set-up."""
    missing = [p for p in packages if not shutil.which(SYSTEM_PACKAGES.get(p, p))]
    if not missing:
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        if tell:
            print(f"petkit: {', '.join(missing)} not installed (`sudo apt-get install {' '.join(missing)}` or "
              f"your system's package manager); the commands that need it say so", file=sys.stderr, flush=True)
        return
    print(f"petkit: installing {', '.join(missing)} with apt-get ...", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with open(VENV / "petkit-apt.log" if VENV.is_dir() else os.devnull, "w") as log:
        for cmd in (["apt-get", "install", "-y", "--no-install-recommends", *missing],
                    ["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *missing]):
            try:
                if subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=600).returncode == 0 \
                        and cmd[1] == "install":
                    return
            except (OSError, subprocess.TimeoutExpired) as e:
                print(f"petkit: {' '.join(cmd)} failed ({e})", file=sys.stderr, flush=True)
                break
    print(f"petkit: could not install {', '.join(missing)} (log: {VENV / 'petkit-apt.log'}); install it by hand: "
          f"`apt-get install {' '.join(missing)}`", file=sys.stderr, flush=True)


def main() -> None:
    ensure_venv()
    ensure_system_packages(list(SYSTEM_PACKAGES), tell=False)  # as root (CI): also on a venv made before
    if not _inside_venv():
        os.execv(PYTHON, [str(PYTHON), "-m", "petkit", *sys.argv[1:]])
    from petkit.cli import main as cli_main
    sys.exit(cli_main())
