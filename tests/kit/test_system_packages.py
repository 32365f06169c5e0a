"""petkit.bootstrap.ensure_system_packages: a missing system command is installed with apt-get when
the set-up runs as root (CI), and otherwise named with how to get it; the set-up never fails on it.
apt-get itself is replaced here (a unit test must not install packages)."""
import subprocess

from petkit import bootstrap


def _fake(monkeypatch, have: set[str], root: bool, apt_ok: bool = True):
    calls = []
    monkeypatch.setattr(bootstrap.shutil, "which", lambda name: f"/usr/bin/{name}" if name in have else None)
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 0 if root else 1000)

    def run(cmd, **kw):
        calls.append(cmd)
        if apt_ok and cmd[:2] == ["apt-get", "install"]:
            have.add("bwrap")
        return subprocess.CompletedProcess(cmd, 0 if apt_ok else 100)
    monkeypatch.setattr(bootstrap.subprocess, "run", run)
    return calls


def test_nothing_happens_when_the_command_is_there(monkeypatch):
    calls = _fake(monkeypatch, {"bwrap", "apt-get"}, root=True)
    bootstrap.ensure_system_packages(["bubblewrap"])
    assert calls == []


def test_root_with_apt_get_installs_it(monkeypatch, capsys):
    calls = _fake(monkeypatch, {"apt-get"}, root=True)
    bootstrap.ensure_system_packages(["bubblewrap"])
    assert calls[0][:3] == ["apt-get", "install", "-y"] and "bubblewrap" in calls[0]
    assert "installing bubblewrap" in capsys.readouterr().err


def test_a_failed_install_is_told_not_fatal(monkeypatch, capsys):
    calls = _fake(monkeypatch, {"apt-get"}, root=True, apt_ok=False)
    bootstrap.ensure_system_packages(["bubblewrap"])
    assert ["apt-get", "update"] in calls  # tried again after refreshing the lists
    assert "could not install bubblewrap" in capsys.readouterr().err


def test_not_root_says_how_to_get_it(monkeypatch, capsys):
    calls = _fake(monkeypatch, {"apt-get"}, root=False)
    bootstrap.ensure_system_packages(["bubblewrap"])
    assert calls == [] and "sudo apt-get install bubblewrap" in capsys.readouterr().err
    bootstrap.ensure_system_packages(["bubblewrap"], tell=False)
    assert capsys.readouterr().err == ""
