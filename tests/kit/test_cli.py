"""The learner's command line, run for real in subprocesses."""
import os
import re
import signal
import subprocess
import threading
import sys
import time
from pathlib import Path

import pytest

from petkit import ROOT
from petkit.sync import exercise_files, stub

from helpers import petkit

SOLVED_SOFTMAX = (ROOT / "solutions" / "softmax.py").read_text()


def _learner_copy(tmp_path: Path, softmax: str | None = None, name: str = "mine") -> str:
    """A learner's package: the generated exercises, with softmax.py replaced if given."""
    pkg = tmp_path / name
    pkg.mkdir()
    for p, text in exercise_files().items():
        (pkg / p.name).write_text(text)
    if softmax is not None:
        (pkg / "softmax.py").write_text(softmax)
    return name


def _rows(stdout: str) -> dict[str, str]:
    """exercise id -> the rest of its row in the progress table."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s+\[.\] (\S+)\s+(.*)$", stdout, re.M)}


def test_check_solutions_passes_and_stubs_are_not_started():
    r = petkit("check", "softmax", "cross_entropy", "--impl", "solutions")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "All done" in r.stdout and "not started" not in r.stdout
    r = petkit("check", "softmax", "cross_entropy", "--impl", "exercises")
    assert r.returncode == 1
    rows = _rows(r.stdout)
    assert rows and all(row.startswith("not started") for row in rows.values()), r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    assert "Next: softmax.softmax" in r.stdout and "petkit hint softmax.softmax" in r.stdout


def test_check_one_lesson_or_one_exercise():
    r = petkit("check", "cross_entropy", "--impl", "solutions")
    assert r.returncode == 0 and set(_rows(r.stdout)) == {"cross_entropy.nll_loss", "cross_entropy.cross_entropy",
                                                         "cross_entropy.cross_entropy_grad"}
    r = petkit("check", "softmax.sigmoid", "--impl", "exercises")
    assert r.returncode == 1 and list(_rows(r.stdout)) == ["softmax.sigmoid"]


def _left_in(tmp) -> list[str]:
    """What a run left in its TMPDIR, but torch's own compile cache (torchinductor_USER, reused by every run)."""
    return sorted(p.name for p in Path(tmp).iterdir() if not p.name.startswith("torchinductor_"))


@pytest.mark.parametrize("warm", ["1", "0"])
def test_a_check_leaves_nothing_in_tmp(warm):
    """What the checks write (synthetic pets, learners, transfer's weights: 88 MB) goes with the run, warm or
    cold: the children end with os._exit, where atexit never runs, and used to leave it all in /tmp. (A fastai
    lesson: its warm server's imports read TMPDIR first, and the jobs must still write to the run's.)"""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="pk-", dir="/tmp") as tmp:  # short: the warm server's socket is there
        r = petkit("check", "transfer.freeze_to", "datablock.pets_dataloaders", "--impl", "solutions",
                   env={"TMPDIR": tmp, "PETKIT_WARM": warm}, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        assert _left_in(tmp) == []


def test_answers_stopped_or_dying_leave_nothing_in_tmp(tmp_path):
    """An answer's own temporary files go with the run even from a child that cleans nothing after itself:
    one stopped at its time limit, one that ends its process (the run's TMPDIR is a folder of its own)."""
    import tempfile
    made = "    import tempfile; open(tempfile.mkstemp()[1], 'w').write('x'); tempfile.mkdtemp()\n"
    softmax = SOLVED_SOFTMAX.replace('    """log(softmax(x))', made + '    while True:\n        pass\n    """log(softmax(x))')
    softmax = softmax.replace('    """1 / (1 + exp(-x))', made + '    import os; os._exit(3)\n    """1 / (1 + exp(-x))')
    impl = _learner_copy(tmp_path, softmax)
    for warm in ("1", "0"):
        with tempfile.TemporaryDirectory(prefix="pk-", dir="/tmp") as tmp:
            r = petkit("check", "softmax", "--impl", impl, "--timeout", "3", cwd=tmp_path,
                       env={"TMPDIR": tmp, "PETKIT_WARM": warm})
            rows = _rows(r.stdout)
            assert "stopped" in rows["softmax.log_softmax"] and "stopped" in rows["softmax.sigmoid"], r.stdout
            assert _left_in(tmp) == [], warm


def test_a_killed_check_leaves_no_process_and_the_next_run_sweeps_its_folders(tmp_path):
    """`petkit check` killed by SIGKILL (a closed terminal's SIGHUP is no gentler) while an answer loops:
    its children end with it (their lifeline), warm and cold, and the next check removes the folders the
    killed runs had in use (petkit.tempdirs); the cold child used to loop on for good."""
    import psutil
    import tempfile
    from helpers import command_of
    looping = SOLVED_SOFTMAX.replace('    """log(softmax(x))', '    while True:\n        pass\n    """log(softmax(x))')
    impl = _learner_copy(tmp_path, looping)
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="pk-", dir="/tmp") as tmp:
        for warm in ("1", "0"):
            run = subprocess.Popen([sys.executable, "-m", "petkit.cli", "check", "softmax", "--impl", impl,
                                    "--timeout", "120"], cwd=tmp_path, env={**env, "TMPDIR": tmp, "PETKIT_WARM": warm},
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            host = psutil.Process(run.pid)
            try:
                # softmax's row: its child (cold: the one child, which goes on to log_softmax) is past its
                # imports, so that what ends it is the host's death, not a write to the dead host's pipe
                for line in run.stdout:
                    if "softmax.softmax" in line:
                        break
                time.sleep(1)  # log_softmax's loop under way
                seen = host.children(recursive=True)
                assert any("log_softmax" in command_of(p) for p in seen), [command_of(p) for p in seen]
                cold = [p for p in seen if "-m petkit.checker_child" in command_of(p) and "warm.py launch" not in command_of(p)]
                assert bool(cold) == (warm == "0"), (warm, [command_of(p) for p in seen])  # warm: forks of the server
            finally:
                run.kill()
                run.wait()
            gone, alive = psutil.wait_procs(seen, timeout=30)
            assert not alive, (warm, [command_of(p)[:150] for p in alive])
            assert _left_in(tmp), "the killed run's folders: nothing left to sweep"
        r = petkit("check", "softmax.sigmoid", "--impl", impl, cwd=tmp_path, env={"TMPDIR": tmp, "PETKIT_WARM": "0"})
        assert r.returncode == 0, r.stdout + r.stderr
        assert _left_in(tmp) == []


def test_whole_table_with_one_failure_shown_in_plain_words(tmp_path):
    softmax = SOLVED_SOFTMAX.replace("shifted = work - work.max(dim, keepdim=True).values\n    e = shifted.exp()",
                                     "e = work.exp()")
    assert softmax != SOLVED_SOFTMAX
    impl = _learner_copy(tmp_path, softmax)
    r = petkit("check", "softmax", "cross_entropy", "--impl", impl, cwd=tmp_path)
    assert r.returncode == 1
    rows = _rows(r.stdout)
    assert "failing" in rows["softmax.softmax"] and "done" in rows["softmax.log_softmax"]
    assert "not started" in rows["cross_entropy.nll_loss"]
    assert "2/6 exercises done" in r.stdout
    assert "Next: softmax.softmax" in r.stdout and "does exp overflow?" in r.stdout
    assert "the call that shows it: softmax(tensor(" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_library_call_at_module_level_is_caught(tmp_path):
    softmax = SOLVED_SOFTMAX.replace("import torch\n", "import torch\nfrom torch.nn.functional import softmax as _sm\n", 1)
    softmax = softmax.replace("    shifted = work - work.max(dim, keepdim=True).values\n    e = shifted.exp()\n"
                              "    return (e / e.sum(dim, keepdim=True)).to(x.dtype)", "    return _sm(x, dim)")
    impl = _learner_copy(tmp_path, softmax)
    r = petkit("check", "softmax.softmax", "--impl", impl, cwd=tmp_path)
    assert r.returncode == 1
    assert "not your own implementation: softmax called torch.nn.functional.softmax" in r.stdout


def test_broken_or_missing_implementations_get_clear_errors(tmp_path):
    impl = _learner_copy(tmp_path, SOLVED_SOFTMAX.replace("def sigmoid(x", "def sigmoid(x,,"))
    r = petkit("check", "softmax", "--impl", impl, cwd=tmp_path)
    assert r.returncode == 1 and "is not valid Python" in r.stdout and "softmax.py, line" in r.stdout
    r = petkit("check", "softmax", "--impl", "no_such_package", cwd=tmp_path)
    assert r.returncode == 1 and "there is no importable package 'no_such_package'" in r.stdout
    r = petkit("check", "softmx")
    assert r.returncode == 2 and "Did you mean softmax" in r.stderr


def test_a_hanging_or_dying_answer_costs_only_its_own_row(tmp_path):
    softmax = SOLVED_SOFTMAX.replace('    """log(softmax(x))', '    while True:\n        pass\n    """log(softmax(x))')
    softmax = softmax.replace('    """1 / (1 + exp(-x))', '    import os; os._exit(3)\n    """1 / (1 + exp(-x))')
    impl = _learner_copy(tmp_path, softmax)
    r = petkit("check", "softmax", "cross_entropy", "--impl", impl, "--timeout", "3", cwd=tmp_path)
    assert r.returncode == 1
    rows = _rows(r.stdout)
    assert "done" in rows["softmax.softmax"]
    assert "stopped" in rows["softmax.log_softmax"] and "stopped" in rows["softmax.sigmoid"]
    assert "not started" in rows["cross_entropy.nll_loss"]
    assert "Next: softmax.log_softmax" in r.stdout and "loop forever" in r.stdout


def test_an_answer_that_eats_memory_is_stopped_and_named(tmp_path):
    bomb = "    hog = []\n    while True:\n        hog.append(torch.empty(2 ** 28))\n"
    softmax = SOLVED_SOFTMAX.replace('    """1 / (1 + exp(-x))', bomb + '    """1 / (1 + exp(-x))')
    assert softmax != SOLVED_SOFTMAX
    impl = _learner_copy(tmp_path, softmax)
    r = petkit("check", "softmax", "--impl", impl, "--timeout", "60", cwd=tmp_path, env={"PETKIT_MEMORY_MB": "2048"})
    assert r.returncode == 1
    rows = _rows(r.stdout)
    assert "done" in rows["softmax.softmax"] and "done" in rows["softmax.log_softmax"], r.stdout
    assert "done" not in rows["softmax.sigmoid"], r.stdout
    assert "sigmoid raised RuntimeError" in r.stdout and "allocate" in r.stdout, r.stdout


def test_check_softmax_does_not_import_fastai():
    code = ("import sys; from petkit.checker_child import main; main(['--impl', 'solutions', 'softmax.softmax', "
            "'cross_entropy.cross_entropy']); print('FASTAI' if 'fastai' in sys.modules else 'NO-FASTAI', file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and "NO-FASTAI" in r.stderr, r.stderr


def test_hints_come_one_at_a_time_and_reset(tmp_path):
    env = {"PETKIT_STATE_DIR": str(tmp_path)}
    first = petkit("hint", "softmax.softmax", env=env).stdout
    second = petkit("hint", "softmax.softmax", env=env).stdout
    third = petkit("hint", "softmax.softmax", env=env).stdout
    again = petkit("hint", "softmax.softmax", env=env).stdout
    assert "Hint 1 of 3" in first and "Hint 2 of 3" in second and "Hint 3 of 3" in third
    assert "last hint" in third and "Hint 3 of 3" in again
    assert "1/3 seen" not in petkit("list", env=env).stdout and "3/3 seen" in petkit("list", env=env).stdout
    assert petkit("hint", "--reset", "softmax.softmax", env=env).returncode == 0
    assert "Hint 1 of 3" in petkit("hint", "softmax.softmax", env=env).stdout
    (tmp_path / "hints.json").write_text("{not json")
    assert "Hint 1 of 3" in petkit("hint", "softmax.softmax", env=env).stdout  # damaged state: start over
    bad = petkit("hint", "softmax.nope", env=env)
    assert bad.returncode == 2 and "no exercise called" in bad.stderr


def test_list_and_sync_check():
    r = petkit("list")
    assert r.returncode == 0 and "cross_entropy.cross_entropy_grad" in r.stdout and "3 pts" in r.stdout
    assert petkit("sync", "--check").returncode == 0


def test_watch_rechecks_when_a_file_is_saved(tmp_path):
    impl = _learner_copy(tmp_path)
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "petkit.cli", "watch", "softmax.sigmoid", "--impl", impl,
                             "--interval", "3600"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    # an hour between polls: the save is seen at once (inotify) or not before the watchdog ends the test
    watchdog = threading.Timer(300, proc.kill)  # a hung watch fails the test instead of hanging the suite
    watchdog.start()

    def wait_for(text, limit=120):
        end = time.time() + limit
        while time.time() < end:
            line = proc.stdout.readline()
            seen.append(line)
            if text in line:
                return
        raise AssertionError(f"never saw {text!r} in:\n{''.join(seen)}")

    try:
        wait_for("Watching")
        assert any("not started" in l for l in seen)
        path = tmp_path / impl / "softmax.py"
        path.write_text(path.read_text().replace(stub("softmax.sigmoid"),
                                                 "e = (-x.abs()).exp()\n    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))"))
        wait_for("change seen")
        wait_for("Progress")
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
    assert any("maths right, bad input not handled yet" in l for l in seen), "".join(seen)  # no TypeError yet
