"""petkit.grading.sandbox: the OS boundary (bubblewrap) around learner code. The unit tests run commands in
the real sandbox; the slow test grades a class through the real `petkit grade` whose notebooks try
to get out: nothing outside the scratch folder changes, no process outlives grading, the course
folder cannot be found, and the exported grades are the printed ones."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from petkit import ROOT, notebooks, tempdirs
from petkit.grading import sandbox
from petkit.registry import lesson

from helpers import ATTEMPT
from test_grade import FAST_GRADING, _copy_course, _grades, _submit, grade

needs_bwrap = pytest.mark.skipif(bool(sandbox.available()), reason=f"the sandbox cannot run here: {sandbox.available()}")


def _inside(scratch: Path, code: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(sandbox.argv(scratch, **kw) + [sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120, env=env)


@needs_bwrap
def test_inside_only_the_scratch_folder_is_writable_and_nothing_of_the_course_is_there(tmp_path):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "gradebook.db").write_text("grades")
    scratch = sandbox.scratch_folder()
    try:
        code = f"""
import json, os, socket
out = {{"cwd": os.getcwd(), "home": os.environ["HOME"], "course": os.path.exists({str(course)!r}),
       "solutions": os.path.exists({str(ROOT / 'solutions')!r}), "grader": os.path.exists({str(ROOT / 'grader')!r}),
       "engine": os.path.exists({str(ROOT / 'petkit' / 'nbcheck.py')!r})}}
open("mine.txt", "w").write("ok"); open("/tmp/t.txt", "w").write("ok")
for path in ({str(ROOT / 'petkit' / 'x.py')!r}, {sys.prefix + '/x'!r}, "/etc/x", "/x"):
    try:
        open(path, "w")
        out[path] = "written"
    except OSError as e:
        out[path] = type(e).__name__
try:
    socket.create_connection(("1.1.1.1", 80), timeout=3)
    out["net"] = "connected"
except OSError as e:
    out["net"] = "none"
out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
import petkit.nbcheck, torch
print(json.dumps(out))
"""
        done = _inside(scratch, code)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout.splitlines()[-1])
        assert out.pop("cwd") == out.pop("home") == str(scratch.resolve())
        assert out.pop("engine") is True and out.pop("net") == "none"
        assert not any(out.pop(k) for k in ("course", "solutions", "grader"))
        assert len(out.pop("pids")) <= 3  # bwrap's init, python: a PID namespace of its own
        assert set(out.values()) == {"OSError"}, out  # read-only file system, everywhere but the scratch folder
        assert (scratch / "mine.txt").read_text() == "ok" and (scratch / "tmp" / "t.txt").read_text() == "ok"
    finally:
        tempdirs.remove(scratch)
    assert (course / "gradebook.db").read_text() == "grades"


@needs_bwrap
def test_dev_is_read_only_but_for_a_bounded_shared_memory(tmp_path):
    """/dev/shm is memory the caps on address space do not count: the sandbox bounds it (SHM_MB); the rest
    of /dev cannot be written (a warm server's sandbox outlives each job: petkit.warm)."""
    code = ATTEMPT + f"""
import os
def fill(mb):
    fd = os.open("/dev/shm/fill", os.O_CREAT | os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, mb << 20)
    finally:
        os.close(fd)
        os.unlink("/dev/shm/fill")
print(attempt(lambda: fill(64)), attempt(lambda: fill({sandbox.SHM_MB + 1})), attempt(lambda: open("/dev/x", "w")))
"""
    done = _inside(sandbox.scratch_folder(parent=tmp_path), code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "ENOSPC", "EROFS"]


@needs_bwrap
def test_a_detached_process_dies_with_the_sandboxed_one(tmp_path):
    scratch = sandbox.scratch_folder()
    tag = f"{time.time_ns() % 10**9}.5"
    code = f"""
import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{tag}"])
    os._exit(0)
import time; time.sleep(0.5); print("parent done")
"""
    try:
        done = _inside(scratch, code)
        assert done.returncode == 0 and "parent done" in done.stdout, done.stderr
        time.sleep(0.5)
        alive = [p.pid for p in psutil.process_iter(["cmdline"]) if tag in " ".join(p.info["cmdline"] or [])]
        assert not alive
    finally:
        tempdirs.remove(scratch)


def test_a_read_only_path_that_would_show_the_course_is_refused(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(sandbox.SandboxError, match="would show"):
        sandbox.argv(scratch, read_only=[tmp_path / "venv", tmp_path], hidden=[tmp_path / "course"])
    with pytest.raises(sandbox.SandboxError, match="would show"):
        sandbox.argv(tmp_path / "course" / "scratch", read_only=[], hidden=[tmp_path / "course"])
    with pytest.raises(sandbox.SandboxError, match="not inside the scratch"):
        sandbox.argv(scratch, cwd=tmp_path, read_only=[])
    cmd = sandbox.argv(scratch, read_only=[tmp_path / "venv"], hidden=[tmp_path / "course"])
    assert cmd[0] == sandbox.BWRAP and cmd[-1] == "--" and "--unshare-all" in cmd and "--die-with-parent" in cmd
    assert ["--bind", str(scratch.resolve()), str(scratch.resolve())] == cmd[cmd.index("--bind", cmd.index("/tmp")):][:3]


def test_without_bwrap_grading_refuses_in_one_line_unless_no_sandbox(tmp_path):
    course = _copy_course(tmp_path)
    _submit(course, "alice", "softmax", (course / "source" / "softmax" / "softmax.ipynb").read_text())
    env = {"PETKIT_BWRAP": str(tmp_path / "no-such-bwrap")}
    r = grade("autograde", "softmax", "--course", str(course), env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    [line] = r.stderr.strip().splitlines()
    assert "bwrap (bubblewrap) is not installed" in line and "apt-get install bubblewrap" in line
    assert "--no-sandbox" in line
    assert not (course / "autograded").exists() and not (course / "release").exists()


@pytest.mark.slow
def test_no_sandbox_grades_with_a_warning_on_the_run_and_in_the_gradebook(tmp_path):
    """...and what the answers write to temporary files goes with the run, from the kernel and from the
    referee (without the sandbox their /tmp is the host's; each gets a TMPDIR of the run's own)."""
    course = _copy_course(tmp_path)
    nb = json.loads((course / "source" / "softmax" / "softmax.ipynb").read_text())
    answer = next(c for c in nb["cells"] if "def sigmoid" in "".join(c["source"]))
    answer["source"] = "import tempfile\ntempfile.mkdtemp(prefix='answer-')\n" + "".join(answer["source"])
    _submit(course, "alice", "softmax", json.dumps(nb))
    import tempfile
    with tempfile.TemporaryDirectory(prefix="pk-", dir="/tmp") as tmp:  # short: the servers' sockets go there
        env = {**FAST_GRADING, "PETKIT_BWRAP": str(tmp_path / "no-such-bwrap"), "TMPDIR": tmp}
        r = grade("autograde", "softmax", "--no-sandbox", "--course", str(course), env=env, timeout=1200)
        left = sorted(p.name for p in Path(tmp).iterdir() if not p.name.startswith("torchinductor_"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert left == [], left
    assert sandbox.NO_SANDBOX_WARNING in r.stderr  # on the run ...
    assert f"alice: softmax: referee: {sandbox.NO_SANDBOX_WARNING}" in r.stdout  # ... and in the gradebook
    import sqlite3
    with sqlite3.connect(course / "gradebook.db") as con:
        comments = [c for (c,) in con.execute("SELECT manual_comment FROM comment") if c]
    assert any(sandbox.NO_SANDBOX_WARNING in c for c in comments)


# --- the real `petkit grade` on notebooks that try to get out --------------------------------------------

TAG = "7321.25"  # the detached process's `sleep` argument: how the test finds it afterwards
DETACHED = f"""import os
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{TAG}"])  # a daemon that would raise the grade once grading ends
    os._exit(0)
"""


def _finds_course(course: Path) -> str:
    """An answer cell that passes its checks only when it cannot find the course folder (the path
    is spelled as character codes: the static screen sees no course word)."""
    codes = [ord(c) for c in str(course / "source")]
    return (f"import pathlib\n\n_seen = pathlib.Path(''.join(map(chr, {codes}))).exists() or "
            f"pathlib.Path('..', '..', '..', 'sour' + 'ce').exists()\n\n\n")


@needs_bwrap
@pytest.mark.slow
def test_learner_code_cannot_reach_the_course_nor_outlive_grading(tmp_path):
    course = _copy_course(tmp_path)
    l = lesson("softmax")
    nb = notebooks.source_notebook(l)
    reference = {e.name: notebooks.solved(notebooks.read_source(l).functions[e.name]) for e in l.exercises}
    looks = _finds_course(course) + reference["softmax"].replace("def softmax(", "def _softmax(") + \
        "\n\ndef softmax(x, dim=-1):\n    return x if _seen else _softmax(x, dim)\n"
    answers = {"softmax": notebooks.written(looks), "log_softmax": notebooks.solved,
               "sigmoid": notebooks.written("def sigmoid(x):\n    return x\n")}  # wrong: 4/5 is the grade
    student = notebooks.student_notebook(nb, answers)
    cells = student["cells"]
    at = next(i for i, c in enumerate(cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "softmax")
    cells.insert(at + 1, {"cell_type": "code", "execution_count": None, "id": "daemon", "metadata": {},
                          "outputs": [], "source": DETACHED})
    _submit(course, "escaper", "softmax", notebooks.dumps(student))
    cache = course / "submitted" / "escaper" / "softmax" / ".hypothesis" / "examples"
    cache.mkdir(parents=True)  # what the learner's own runs leave beside the notebook
    (cache / "entry").write_bytes(b"\x00" * 64)
    before = {p: p.read_bytes() for p in (course / "source").rglob("*") if p.is_file()}

    r = grade("autograde", "softmax", "--course", str(course), "--timeout", "30", env=FAST_GRADING, timeout=1200)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    alive = [p.pid for p in psutil.process_iter(["cmdline"]) if TAG in " ".join(p.info["cmdline"] or [])]
    assert not alive, f"a process the learner started outlived grading: {alive}"
    printed = next(line.split()[1] for line in r.stdout.splitlines() if line.startswith("  escaper "))
    assert printed == "4/5", out  # softmax kept its points: the course folder was not found
    assert {p: p.read_bytes() for p in (course / "source").rglob("*") if p.is_file()} == before
    graded = course / "autograded" / "escaper" / "softmax"
    assert (graded / "softmax.ipynb").is_file() and not (graded / ".hypothesis").exists()  # caches stay behind
    time.sleep(2)  # what a daemon would wait for
    ex = grade("export", "--course", str(course))
    assert ex.returncode == 0, ex.stderr
    assert _grades(course / "grades.csv") == {"escaper": (4, 5)}
