"""The warm fork server (petkit.warm): what one job does never reaches the next job or the server,
and whenever the server cannot take a job the launcher runs it cold, with the same result."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from petkit import warm
from petkit.grading import sandbox
from petkit.grading.warm_grading import server_sandbox

from helpers import ATTEMPT


def _job(server, code: str, *, cold_prefix=(), keep: str = "", timeout: float = 120, **kw):
    cmd = server.launcher([*cold_prefix, sys.executable, "-c", textwrap.dedent(code)], keep=keep)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def _gone(pid: int, within: float = 10) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def host_server():
    s = warm.Server(("json", "petkit.supervisor"), dict(os.environ), allow_code=True)
    assert s.wait_ready(120), s.log()
    yield s
    s.close()


def test_a_job_runs_in_a_fork_of_the_server_and_exits_as_it_did(host_server):
    done = _job(host_server, """
        import os, sys
        print("argv", sys.argv[1:], "cwd", os.getcwd(), "flag", os.environ.get("JOB_FLAG"))
        print("to stderr", file=sys.stderr)
        sys.exit(3)
    """, env={**os.environ, "PYTEST_CURRENT_TEST": "another"}, cwd="/")
    assert done.returncode == 3, done.stderr
    assert "argv [] cwd / flag None" in done.stdout and "to stderr" in done.stderr
    frozen = _job(host_server, "import gc; print(gc.get_freeze_count())")  # the server's imports: out of the jobs' collections
    assert int(frozen.stdout) > 1000, frozen.stderr
    killed = _job(host_server, "import os; os.kill(os.getpid(), 9)")
    assert killed.returncode == -signal.SIGKILL


@pytest.mark.parametrize("shown", [False, True], ids=["stock", "PYTHONWARNINGS=default"])
def test_a_job_has_the_warning_filters_a_fresh_python_has_after_the_same_imports(tmp_path, shown):
    """The server silences its imports' warnings and must leave the filters as a fresh Python has them
    after the same imports: its own defaults, and what the imports added (fastai adds ten). Reset to
    none instead, a job (a kernel, the referee) printed every ResourceWarning and DeprecationWarning a
    fresh Python hides, on the stderr the learner and the instructor read."""
    (tmp_path / "filtering.py").write_text("import warnings\nwarnings.filterwarnings('ignore', 'grid_sample')\n"
                                           "warnings.warn('imported', DeprecationWarning)\n")
    env = {**os.environ, "PYTHONWARNINGS": "default" if shown else "",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    s = warm.Server(("filtering",), env, allow_code=True)
    try:
        assert s.wait_ready(120), s.log()
        code = ("import filtering, warnings; print([(f[0], f[1] and f[1].pattern, f[2].__name__) "
                "for f in warnings.filters])")
        warm_one = _job(s, code, env=env)
        cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert warm_one.returncode == cold.returncode == 0, warm_one.stderr + cold.stderr
        assert "job" in s.log()  # it ran warm
        assert "grid_sample" in cold.stdout and "ResourceWarning" in cold.stdout
        assert warm_one.stdout == cold.stdout
        assert "imported" not in warm_one.stderr  # the server's imports' warnings stay the server's
    finally:
        s.close()


def test_what_a_job_changes_or_leaves_does_not_reach_the_next_job_nor_the_server(host_server, tmp_path):
    pids = tmp_path / "pids"
    first = _job(host_server, f"""
        import json, os, subprocess, sys, threading, time
        import petkit.supervisor
        json.dumps = None                                   # a module attribute of the server's imports
        petkit.supervisor.limit_memory = None
        threading.Thread(target=time.sleep, args=(600,)).start()          # a thread left running
        forked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        hog = bytearray(400 * 2**20)                        # memory filled (and touched)
        hog[::4096] = b"x" * len(hog[::4096])
        open({str(pids)!r}, "w").write(f"{{forked.pid}} {{daemon.pid}}")
    """)
    assert first.returncode == 0, first.stderr
    for pid in map(int, pids.read_text().split()):
        assert _gone(pid), f"process {pid} the job started outlived it"
    second = _job(host_server, """
        import json, petkit.supervisor, threading
        assert json.dumps({"a": 1}) == '{"a": 1}'
        assert callable(petkit.supervisor.limit_memory)
        assert threading.active_count() == 1, threading.enumerate()
        print("clean")
    """)
    assert second.returncode == 0 and "clean" in second.stdout, second.stderr
    server = psutil.Process(host_server.proc.pid)
    assert server.num_threads() == 1
    assert server.memory_info().rss < 300 * 2**20  # the 400 MB were the child's


def test_the_launcher_dying_ends_its_job_and_signals_are_relayed(host_server, tmp_path):
    pid_file = tmp_path / "pid"
    cmd = host_server.launcher([sys.executable, "-c", f"import os, time; open({str(pid_file)!r}, 'w').write("
                                                     f"str(os.getpid())); time.sleep(600)"])
    for how in (signal.SIGKILL, signal.SIGTERM):
        pid_file.unlink(missing_ok=True)
        launcher = subprocess.Popen(cmd)
        while not pid_file.exists() or not pid_file.read_text():
            time.sleep(0.05)
        job = int(pid_file.read_text())
        assert job != launcher.pid  # a fork of the server, not the launcher turned cold
        launcher.send_signal(how)
        assert launcher.wait(30) == -how
        assert _gone(job)


def _wait_for(path: Path, within: float = 60) -> str:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written within {within} s")


def test_a_twin_serves_jobs_beside_the_server_and_neither_cleans_up_the_others_job(host_server, tmp_path):
    """Server.twins: forks of the server (no imports) that run jobs at the same time as it does. When
    one's job ends, what it left is killed, and the job running in the other, with its own children,
    goes on; a twin ends when its host-side lifeline closes, and the server lives on."""
    (twin,) = host_server.twins(1)
    assert host_server.twins(1) == [twin]  # kept, like the server
    long_job = ("import os, subprocess, sys, time\n"
                "kid = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
                "open('long', 'w').write(f'{os.getppid()} {kid.pid}')\n"
                "while not os.path.exists('short-done'):\n    time.sleep(0.05)\n"
                "assert kid.poll() is None, 'the server cleaned up the twin job\\'s child'\n"
                "print('long job ran to its end')\n")
    running = subprocess.Popen(twin.launcher([sys.executable, "-c", long_job]), cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    twin_pid, kid = map(int, _wait_for(tmp_path / "long").split())
    assert twin_pid == twin.pid != host_server.proc.pid
    short = _job(host_server, """
        import os, subprocess, sys
        daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        open("short", "w").write(f"{os.getppid()} {daemon.pid}")
    """, cwd=tmp_path)
    assert short.returncode == 0, short.stderr
    server_pid, daemon = map(int, (tmp_path / "short").read_text().split())
    assert server_pid == host_server.proc.pid
    assert _gone(daemon)  # the server's job's leftovers: killed
    assert psutil.Process(kid).is_running() and running.poll() is None  # the twin's job: untouched
    (tmp_path / "short-done").write_text("1")
    out, err = running.communicate(timeout=60)
    assert running.returncode == 0 and "long job ran to its end" in out, err
    assert _gone(kid)  # and once it ended, its own leftover went too
    twin.cut_lifeline()
    assert _gone(twin_pid) and host_server.alive()
    assert not twin.alive() and host_server.twins(1) != [twin]  # a new one in its place


@pytest.mark.parametrize("server_dies", [False, True], ids=["twin-serves-it", "server-dies-importing"])
def test_a_job_sent_to_a_twin_during_the_servers_imports_waits_for_it_or_runs_cold(server_dies, tmp_path):
    """Server.twins asks for a twin without waiting for the server's imports (petkit check starts its
    lanes' launchers meanwhile): a job sent to the twin then waits and runs in the twin once it is
    forked; when the twin never comes (the server died importing), the job runs cold, with the same
    output."""
    (tmp_path / "slow_import.py").write_text("import time\ntime.sleep(2)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    s = warm.Server(("slow_import",), env, allow_code=True)
    try:
        (twin,) = s.twins(1)
        job = subprocess.Popen(twin.launcher([sys.executable, "-c", "import os; print('ran', os.getppid())"]),
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert not s.ready()  # sent while the server still imports
        if server_dies:
            time.sleep(0.5)
            os.killpg(s.proc.pid, signal.SIGKILL)
        out, err = job.communicate(timeout=120)
        assert job.returncode == 0 and out.startswith("ran "), err
        parent = int(out.split()[1])
        if server_dies:
            assert parent == os.getpid() and not twin.alive()  # the launcher itself became the job
            assert s.twins(1) == []  # the dead server forks no more
        else:
            assert parent == twin.pid != s.proc.pid and twin.alive()
    finally:
        s.close()


def _family(proc: subprocess.Popen) -> list[int]:
    """The server's process (bwrap's, sandboxed) and every process under it, by their host PIDs."""
    return [proc.pid] + [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]


@pytest.mark.parametrize("sandboxed", [False, True], ids=["host", "sandbox"])
def test_the_server_and_its_job_end_with_the_host_even_when_no_death_signal_comes(sandboxed, tmp_path):
    """A host's death closes its end of the server's lifeline. Here the host lives on (so neither the
    parent-death signal nor bwrap's --die-with-parent can fire) and closes it itself, during the
    server's imports and during a job: each time the server, its job and the job's launcher end."""
    if sandboxed and sandbox.available():
        pytest.skip(sandbox.available())
    wrap = server_sandbox if sandboxed else None
    importing = warm.Server(("torch",), dict(os.environ), wrap=wrap, allow_code=True)
    importing.cut_lifeline()  # at once: the server is still importing torch
    try:
        importing.proc.wait(120)
    finally:
        importing.close()
    s = warm.Server(("json",), dict(os.environ), wrap=wrap, allow_code=True)
    try:
        assert s.wait_ready(120), s.log()
        job_dir = os.path.join(s.spool, "job") if sandboxed else str(tmp_path)
        os.makedirs(job_dir, exist_ok=True)
        started = Path(job_dir) / "started"
        code = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
                "open('started', 'w').write('1'); time.sleep(600)")
        launcher = subprocess.Popen(s.launcher([*(sandbox.argv(job_dir) if sandboxed else ()), sys.executable, "-c", code],
                                               keep=job_dir if sandboxed else ""), cwd=job_dir)
        end = time.monotonic() + 60
        while not started.exists() and time.monotonic() < end:
            time.sleep(0.05)
        assert started.exists(), s.log()
        family = _family(s.proc)
        assert len(family) >= 3  # the server, its job, the job's own child
        s.cut_lifeline()
        s.proc.wait(30)
        assert launcher.wait(30) != 0
        assert all(_gone(pid) for pid in family), [psutil.Process(p).cmdline() for p in family if not _gone(p, 0)]
    finally:
        s.close()


def test_at_exit_an_idle_server_is_left_to_end_by_itself_and_a_busy_one_is_waited_for(tmp_path):
    """close(leaving=True), as close_all at exit: a server (and twin) between jobs has nothing left to
    clean after, so it is not waited for (not even reaped: its ~70 ms of cleaning and exit were the last
    thing `petkit check` waited through), yet ends at once by itself, its folders already gone. One with
    a job running (the host was interrupted) is waited for: no learner code outlives the host."""
    idle = warm.Server(("json",), dict(os.environ), allow_code=True)
    busy = warm.Server(("json",), dict(os.environ), allow_code=True)
    try:
        assert idle.wait_ready(120) and busy.wait_ready(120), idle.log() + busy.log()
        twin, = idle.twins(1)
        assert _job(twin, "print('twin')").stdout == "twin\n" and _job(idle, "print('server')").stdout == "server\n"
        family = _family(idle.proc)
        assert len(family) == 2  # the server and its twin
        idle.close(leaving=True)
        assert idle.proc.returncode is None  # not waited for
        assert not os.path.exists(idle.ctl)
        assert all(_gone(pid) for pid in family)
        assert idle.proc.wait(30) == 0
        pid_file = tmp_path / "pid"
        launcher = subprocess.Popen(busy.launcher([sys.executable, "-c", f"import os, time; open({str(pid_file)!r}, 'w')"
                                                   f".write(str(os.getpid())); time.sleep(600)"]))
        _wait_for(pid_file)
        busy.close(leaving=True)
        assert busy.proc.returncode is not None  # waited for: it killed the job first
        assert _gone(int(pid_file.read_text()), within=0.01)  # already
        assert launcher.wait(30) != 0
    finally:
        idle.close()
        busy.close()


def test_a_job_that_kills_the_server_costs_itself_only_and_the_next_server_is_fresh(tmp_path):
    """...and ends with it, with what it started in its process group: it used to run on, orphaned."""
    preload = ("json",)
    first = warm.server(preload, allow_code=True)
    try:
        assert first.wait_ready(120), first.log()
        pids = tmp_path / "pids"
        done = _job(first, f"""
            import os, signal, subprocess, sys, time
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(600)
        """, timeout=30)  # the job and its child end with the server: nothing holds the launcher's pipes
        assert done.returncode != 0 and "the warm server ended" in done.stderr
        for pid in map(int, pids.read_text().split()):
            assert _gone(pid), f"process {pid} outlived the server it killed"
        # its launcher killed too, at once: nobody is left to end it but its own death signal
        mine, go = tmp_path / "mine", tmp_path / "go"
        again = warm.server(preload, allow_code=True)
        assert again is not first and again.wait_ready(120)
        launcher = subprocess.Popen(again.launcher([sys.executable, "-c", textwrap.dedent(f"""
            import os, signal, time
            open({str(mine)!r}, "w").write(str(os.getpid()))
            while not os.path.exists({str(go)!r}):
                time.sleep(0.01)
            os.kill(int(open({str(go)!r}).read()), signal.SIGKILL)
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(600)
        """)]))
        _wait_for(mine)
        go.write_text(str(launcher.pid))
        assert launcher.wait(30) == -signal.SIGKILL
        assert _gone(int(mine.read_text())), "the job outlived its server and its launcher"
        again = warm.server(preload, allow_code=True)
        assert again is not first and again.wait_ready(120)
        assert _job(again, "print('fine')").stdout == "fine\n"
    finally:
        warm.close_all()


def test_a_job_writes_to_its_own_tmpdir_though_the_server_read_another(tmp_path):
    """tempfile keeps the TMPDIR it first read, and the server's imports may read it (fastai's do): a job with
    a TMPDIR of its own (petkit check gives each run one, removed after it) must still write there."""
    (tmp_path / "reads_tmpdir.py").write_text("import tempfile\n\ntempfile.gettempdir()\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    server = warm.Server(("reads_tmpdir",), env, allow_code=True)
    try:
        assert server.wait_ready(120), server.log()
        mine = tmp_path / "mine"
        mine.mkdir()
        done = _job(server, "import tempfile\nprint(tempfile.gettempdir())\n", env={**env, "TMPDIR": str(mine)})
        assert done.stdout.split() == [str(mine)], done.stdout + done.stderr + server.log()
        assert "job code" in server.log(), server.log()  # run warm, not cold
    finally:
        server.close()


def test_without_a_server_the_launcher_runs_the_job_cold(host_server, tmp_path):
    code = "import os; print(os.getpid())"
    launcher = lambda s: subprocess.Popen(s.launcher([sys.executable, "-c", code]), stdout=subprocess.PIPE, text=True,  # noqa: E731
                                          env=env)
    env = {**os.environ, "PETKIT_EXAMPLES": "7"}  # an environment the server's imports did not see: refused
    p = launcher(host_server)
    assert int(p.communicate(timeout=60)[0]) == p.pid  # the launcher became the job: the cold path
    env = dict(os.environ)
    p = launcher(host_server)
    assert int(p.communicate(timeout=60)[0]) != p.pid  # the same environment: warm
    host_server.close()  # no server at all
    p = launcher(host_server)
    assert int(p.communicate(timeout=60)[0]) == p.pid and p.returncode == 0


def test_warm_starts_are_off_with_petkit_warm_0(monkeypatch):
    monkeypatch.setenv("PETKIT_WARM", "0")
    assert warm.server(("json",)) is None


THREAD = "threading.Thread(target=time.sleep, args=(600,), daemon=True).start()"


@pytest.mark.parametrize("where", ["import", "warm_up_server"])
def test_a_server_whose_imports_start_a_thread_is_given_up(tmp_path, monkeypatch, where):
    code = THREAD if where == "import" else f"def warm_up_server():\n    {THREAD}\n"
    (tmp_path / "threaded_import.py").write_text("import threading, time\n" + code + "\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    try:
        s = warm.server(("threaded_import",), allow_code=True)
        s.proc.wait(120)
        assert "threads after the imports" in s.log()
        assert warm.server(("threaded_import",), allow_code=True) is None  # the cold path from now on
    finally:
        warm.close_all()


def test_a_preloaded_modules_warm_up_runs_once_in_the_server_before_any_job(tmp_path, monkeypatch):
    (tmp_path / "warmed.py").write_text("import os\ncalls = []\n"
                                        "def warm_up_server():\n    calls.append(os.getpid())\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    try:
        s = warm.server(("warmed", "petkit.checks.strategies"), allow_code=True)
        assert s.wait_ready(120), s.log()
        code = ("import os, warmed, hypothesis.core; print(warmed.calls == [os.getppid()], warmed.calls != [os.getpid()])")
        assert [_job(s, code).stdout for _ in range(2)] == ["True True\n"] * 2  # in the server, once, not per job
    finally:
        warm.close_all()


def test_a_job_finds_the_guards_torch_table_built_by_the_servers_warm_up():
    """The guard names each torch call of an answer (torch.overrides.resolve_name), whose first use builds
    a table of every overridable function: 25-45 ms of each forked job's first check, built once in the
    server instead (petkit.checks.core's warm-up), as a job sees."""
    try:
        s = warm.server(("torch", "petkit.checks.core"), allow_code=True)
        assert s.wait_ready(120), s.log()
        job = _job(s, "import torch.overrides as o; print(o._get_overridable_functions.cache_info().currsize)")
        assert (job.returncode, job.stdout) == (0, "1\n"), job.stderr
    finally:
        warm.close_all()


@pytest.fixture
def sandboxed_server():
    if sandbox.available():
        pytest.skip(sandbox.available())
    s = warm.Server(("json",), dict(os.environ), wrap=server_sandbox, allow_code=True)
    assert s.wait_ready(120), s.log()
    yield s
    s.close()


def test_emptying_a_folder_keeps_its_mount_points_and_the_way_to_them_and_removes_the_rest(tmp_path):
    """warm._empty, the unit (mount points given): nothing under a mount point is touched, the folders on
    the way to one stay, emptied of everything else."""
    (tmp_path / "kit" / "venv" / "lib").mkdir(parents=True)
    (tmp_path / "kit" / "venv" / "lib" / "torch.py").write_text("kept")
    (tmp_path / "kit" / "left-by-a-job").write_text("goes")
    (tmp_path / "kit" / "made" / "deep").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "file").write_text("goes")
    warm._empty(str(tmp_path), (), frozenset({str(tmp_path / "kit" / "venv")}))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "kit", "kit/venv", "kit/venv/lib", "kit/venv/lib/torch.py"]


def test_a_sandboxed_servers_cleaning_never_reaches_through_a_mount_in_its_tmp(tmp_path):
    """A kit checked out under /tmp shows its folders inside the sandbox's /tmp, bound at their paths: the
    cleaning after each job wiped /tmp by walking into them (read-only: 98,000 failed unlinks per grading
    test, a third slower). Here a *writable* folder is bound there, so a cleaning that went through would
    delete its files on the host: they stay; what the job wrote beside the mount goes."""
    if sandbox.available():
        pytest.skip(sandbox.available())
    outside = tmp_path / "bound"
    outside.mkdir()
    (outside / "keep.txt").write_text("the host's")
    inside = "/tmp/petkit-kit-under-tmp/bound"

    def wrap(spool):
        cmd = server_sandbox(spool)
        return cmd[:-1] + ["--bind", str(outside), inside, "--"]
    s = warm.Server(("json",), dict(os.environ), wrap=wrap, allow_code=True)
    try:
        assert s.wait_ready(120), s.log()
        for name in ("job-a", "job-b"):
            job_dir = os.path.join(s.spool, name)
            os.mkdir(job_dir)
            done = _job(s, f"""
                import os
                print(sorted(os.listdir("/tmp/petkit-kit-under-tmp")), sorted(os.listdir({inside!r})))
                open("/tmp/petkit-kit-under-tmp/beside", "w").write("a job's")
                open({inside + "/written-inside"!r}, "w").write("a job's, through the mount")
            """, cold_prefix=sandbox.argv(job_dir), keep=job_dir)
            assert done.returncode == 0, done.stderr
            if name == "job-b":  # what job-a wrote beside the mount went; the mount's own files stayed
                assert done.stdout.strip() == "['bound'] ['keep.txt', 'written-inside']", done.stdout
        assert s.wait_idle(60)
        assert (outside / "keep.txt").read_text() == "the host's"
    finally:
        s.close()


def test_in_the_sandbox_the_server_is_pid_1_and_a_job_leaves_nothing_behind(sandboxed_server):
    s = sandboxed_server
    job_dir = os.path.join(s.spool, "job-a")
    os.mkdir(job_dir)
    prefix = sandbox.argv(job_dir)
    first = _job(s, f"""
        import os, signal, subprocess, sys
        assert os.getppid() == 1, os.getppid()
        os.kill(1, signal.SIGKILL); os.kill(1, signal.SIGINT)   # PID 1 of the namespace: ignored
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        open("/tmp/left-in-tmp", "w").write("answers")
        open({os.path.join(s.spool, 'left-in-spool')!r}, "w").write("answers")
        open("mine", "w").write("kept for this job's folder")
        print(os.getcwd())
    """, cold_prefix=prefix, keep=job_dir)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "/tmp/job-a"  # as a cold sandbox names its folder: the spool is its /tmp
    assert s.alive()
    other_dir = os.path.join(s.spool, "job-b")
    os.mkdir(other_dir)
    second = _job(s, """
        import os
        others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]
        assert not others, others
        print(sorted(os.listdir("/tmp")), sorted(os.listdir(".")))
    """, cold_prefix=sandbox.argv(other_dir), keep=other_dir)
    assert second.returncode == 0, second.stderr
    # /tmp (the spool) holds the job's folder and the spool's own mount point; the other job's folder
    # and what it left in /tmp and in the spool are gone
    # (and the mount points of the kit's own read-only folders when the checkout lies under /tmp)
    engine = {q.relative_to("/tmp").parts[0] for q in map(Path, sandbox.engine_paths()) if q.is_relative_to("/tmp")}
    assert second.stdout.strip() == str(sorted({"job-b", os.path.basename(s.spool)} | engine)) + " ['tmp']"


def test_a_folder_made_for_the_next_job_is_not_wiped_by_the_last_jobs_cleaning(sandboxed_server):
    """A stopped job's cleaning wipes the spool (the sandbox's /tmp); the next job's folder (the referee's
    right after a kernel) is made only once the server says it is idle (warm_grading.spool_of)."""
    from petkit.grading.warm_grading import spool_of
    s = sandboxed_server
    first_dir = os.path.join(s.spool, "first")
    os.mkdir(first_dir)
    started = Path(first_dir) / "started"
    code = ("import os, subprocess, sys, time\n"
            "for i in range(3000): open(f'/tmp/left-{i}', 'w').write('x' * 100)\n"  # a cleaning that takes a while
            "kids = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']) for _ in range(5)]\n"
            "open('started', 'w').write('1'); time.sleep(600)\n")
    first = subprocess.Popen(s.launcher([*sandbox.argv(first_dir), sys.executable, "-c", code], keep=first_dir),
                             cwd=first_dir)
    end = time.monotonic() + 60
    while not started.exists() and time.monotonic() < end:
        time.sleep(0.05)
    assert started.exists(), s.log()
    first.kill()  # as a kernel manager's shutdown ends a kernel: the server cleans up behind it
    first.wait()
    nxt = os.path.join(spool_of(s), "next")
    os.mkdir(nxt)
    Path(nxt, "job.json").write_text("{}")
    done = _job(s, "import os; print(sorted(os.listdir('.')))", cold_prefix=sandbox.argv(nxt), keep=nxt)
    assert done.returncode == 0 and done.stdout.strip() == "['job.json', 'tmp']", (done.stdout, done.stderr)  # tmp: the sandbox's mount point


def test_a_sandboxed_server_forks_no_twins(sandboxed_server):
    # PID 1 of its namespace kills every process in it after a job: a twin's jobs would go with it
    assert sandboxed_server.twins(2) == []
    assert "twin" not in sandboxed_server.log()


def test_in_the_sandbox_a_job_sees_neither_the_host_nor_the_server_socket(sandboxed_server, tmp_path):
    s = sandboxed_server
    job_dir = os.path.join(s.spool, "job")
    os.mkdir(job_dir)
    done = _job(s, f"""
        import os
        print(os.path.exists({str(tmp_path)!r}), os.path.exists({s.socket!r}), os.path.exists({s.ctl!r}))
    """, cold_prefix=sandbox.argv(job_dir), keep=job_dir)
    assert done.stdout.split() == ["False", "False", "False"], done.stderr


def test_in_the_sandbox_a_job_can_neither_read_nor_write_nor_trace_the_servers_memory(sandboxed_server):
    """The server (PID 1 of the sandbox, the same uid as its jobs) is non-dumpable and the jobs hold no
    capability: a learner's kernel cannot read what the server holds nor change what the next student's
    kernel or referee run is forked from. The job itself is dumpable, as a fresh process is."""
    s = sandboxed_server
    job_dir = os.path.join(s.spool, "job")
    os.mkdir(job_dir)
    done = _job(s, ATTEMPT + textwrap.dedent("""
        import ctypes, os
        def read(path, mode="rb"):
            with open(path, mode) as f:
                f.read(1)
        libc = ctypes.CDLL(None, use_errno=True)
        def trace():
            # PTRACE_SEIZE: the same permission check as PTRACE_ATTACH, without stopping the server when
            # it is allowed (a failing test), and undone when this process ends
            if libc.ptrace(0x4206, 1, None, None) != 0:
                raise OSError(ctypes.get_errno(), "ptrace")
        print(attempt(lambda: read("/proc/1/mem")), attempt(lambda: read("/proc/1/mem", "r+b")),
              attempt(lambda: read("/proc/1/environ")), attempt(lambda: read("/proc/1/maps")), attempt(trace),
              attempt(lambda: read("/proc/self/mem")))
    """), cold_prefix=sandbox.argv(job_dir), keep=job_dir)
    assert done.returncode == 0, done.stderr
    server, own = done.stdout.split()[:5], done.stdout.split()[5]
    assert server == ["EACCES", "EACCES", "EACCES", "EACCES", "EPERM"], done.stdout
    assert own == "EIO"  # its own memory is open to it (offset 0 is unmapped): it is not a locked-down twin
    assert s.alive()


LEAVE_IN_THE_NAMESPACES = ATTEMPT + textwrap.dedent("""
    import ctypes, os
    from petkit import namespaces
    libc, rt = ctypes.CDLL(None, use_errno=True), ctypes.CDLL("librt.so.1", use_errno=True)
    def write(path):
        with open(path, "w") as f:
            f.write("the answers")
    print(attempt(lambda: write("/dev/left")), attempt(lambda: os.symlink("/tmp", "/dev/stdout-left")),
          attempt(lambda: os.unlink("/dev/stdin")))
    write("/dev/shm/left")
    ids = [libc.shmget(4242, 1 << 20, 0o1600), libc.msgget(4343, 0o1600), libc.semget(4444, 1, 0o1600)]
    assert min(ids) >= 0 and rt.mq_open(b"/left", os.O_CREAT | os.O_RDWR, 0o600, None) >= 0, ids
    shm = libc.shmat(ids[0], None, 0)  # attached by a process left running, which the cleaning kills
    add_key = {"x86_64": 248, "aarch64": 217}[os.uname().machine]
    persistent = libc.syscall(namespaces.KEYCTL, 22, ctypes.c_long(-1), ctypes.c_long(-3))  # KEYCTL_GET_PERSISTENT
    rings = (-3, -4, -5) + ((persistent,) if persistent > 0 else ())  # session, user, user-session, persistent
    for ring in rings:
        assert libc.syscall(add_key, b"user", b"left", b"the answers", 11, ctypes.c_long(ring)) > 0
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
""")

FIND_IN_THE_NAMESPACES = """
    import ctypes, os
    from petkit import namespaces
    libc, rt = ctypes.CDLL(None, use_errno=True), ctypes.CDLL("librt.so.1", use_errno=True)
    found = [p for p in ("/dev/left", "/dev/stdout-left", "/dev/shm/left") if os.path.lexists(p)]
    found += [kind for kind, ids in namespaces.sysv_ipc_ids().items() if ids]
    found += ["mq"] if rt.mq_open(b"/left", os.O_RDWR, 0, None) >= 0 else []
    persistent = libc.syscall(namespaces.KEYCTL, 22, ctypes.c_long(-1), ctypes.c_long(-3))
    rings = (-3, -4, -5) + ((persistent,) if persistent > 0 else ())
    found += [f"key in {ring}" for ring in rings  # KEYCTL_SEARCH
              if libc.syscall(namespaces.KEYCTL, 10, ctypes.c_long(ring), b"user", b"left", 0) > 0]
    with open("/dev/null", "w") as f:
        f.write("still a device")
    print(found, os.path.exists("/dev/stdin"))
"""


IOPRIO = "\n    import ctypes, os; set_io, get_io = {'x86_64': (251, 252), 'aarch64': (30, 31)}[os.uname().machine]"
CHANGE_THE_SERVER = IOPRIO + """
    import os, resource
    server = os.getppid()  # the job is a fork of it (PID 1 in the sandbox)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    {change}
"""
CHANGES = {
    "limits": "resource.prlimit(server, resource.RLIMIT_AS, (300 << 20, 300 << 20))",
    "open files": "resource.prlimit(server, resource.RLIMIT_NOFILE, (64, hard))",
    "nice value": "os.setpriority(os.PRIO_PROCESS, server, 19)",
    "scheduling": "os.sched_setscheduler(server, os.SCHED_IDLE, os.sched_param(0))",
    "I/O priority": "assert ctypes.CDLL(None).syscall(set_io, 1, server, 3 << 13) == 0  # IOPRIO_CLASS_IDLE",
    "CPUs": "os.sched_setaffinity(server, {min(os.sched_getaffinity(server))}) if len(os.sched_getaffinity(server)) > 1 "
            "else os.setpriority(os.PRIO_PROCESS, server, 19)",
}
REPORT_WHAT_IT_INHERITED = IOPRIO + """
    import os, resource
    print(resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_NOFILE),
          os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0), sorted(os.sched_getaffinity(0)),
          ctypes.CDLL(None).syscall(get_io, 1, 0))
"""


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("where", ["host", "sandbox"])
def test_a_job_that_changes_what_the_servers_jobs_inherit_costs_the_server_not_the_next_student(
        where, change, request, tmp_path):
    """A process of the server's uid can set the server's limits, priority, scheduling and CPUs (prlimit,
    setpriority ...), which every job forked after it would inherit: the next student's kernel with
    300 MB of address space, or one CPU at the lowest priority. The server sees it before it forks again:
    the next job runs cold, as it would have with no server, and the server ends (a fresh one follows)."""
    if os.uname().machine not in ("x86_64", "aarch64"):
        pytest.skip(f"the I/O priority system calls of {os.uname().machine} are not known to this test")
    s = request.getfixturevalue("sandboxed_server" if where == "sandbox" else "host_server")

    def run(code, name):
        folder = os.path.join(s.spool, name) if s.spool else str(tmp_path / name)
        os.makedirs(folder)
        prefix = sandbox.argv(folder) if s.sandboxed else []
        return _job(s, code, cold_prefix=prefix, keep=folder if s.sandboxed else "", cwd=folder, timeout=60)

    cold = subprocess.run([*(sandbox.argv(str(tmp_path)) if s.sandboxed else []), sys.executable, "-c",
                           textwrap.dedent(REPORT_WHAT_IT_INHERITED)], capture_output=True, text=True, timeout=60)
    first = run(CHANGE_THE_SERVER.replace("{change}", CHANGES[change]), "changes")
    assert first.returncode == 0, first.stderr
    nxt = run(REPORT_WHAT_IT_INHERITED, "next")
    assert nxt.returncode == 0, nxt.stderr
    assert nxt.stdout == cold.stdout, (nxt.stdout, cold.stdout)
    assert "changed since it started; ending" in s.log()
    end = time.monotonic() + 30
    while s.alive() and time.monotonic() < end:
        time.sleep(0.05)
    assert not s.alive()


def test_clearing_the_namespaces_outside_a_sandbox_leaves_the_hosts_alone():
    """petkit.namespaces.clear empties what a PID namespace's jobs share; on the host, where the System V
    objects and keyrings are every program's, it must do nothing."""
    import ctypes
    from petkit import namespaces
    libc = ctypes.CDLL(None, use_errno=True)
    shm = libc.shmget(0, 4096, 0o1600)  # IPC_PRIVATE: the host's own, made for this test
    assert shm >= 0, ctypes.get_errno()
    try:
        assert namespaces.clear() is False
        assert shm in namespaces.sysv_ipc_ids()["shm"]
    finally:
        libc.shmctl(shm, namespaces.IPC_RMID, None)
    assert shm not in namespaces.sysv_ipc_ids()["shm"]


@pytest.mark.parametrize("where", ["cold", "warm"])
def test_in_the_sandbox_what_a_job_leaves_in_its_namespaces_does_not_reach_the_next_job(where, request, tmp_path):
    """System V shared memory, semaphores and message queues, POSIX message queues, keys in the shared
    keyrings and files in /dev: a cold sandbox's go with it; a warm server's sandbox outlives its jobs, so
    it clears them (petkit.namespaces) and keeps /dev read-only but for /dev/shm and /dev/mqueue."""
    if sandbox.available():
        pytest.skip(sandbox.available())
    from petkit import namespaces
    if namespaces.KEYCTL is None or os.uname().machine not in ("x86_64", "aarch64"):
        pytest.skip(f"the keyring system calls of {os.uname().machine} are not known to this test")
    server = request.getfixturevalue("sandboxed_server") if where == "warm" else None
    runs = []
    for i, code in enumerate((LEAVE_IN_THE_NAMESPACES, FIND_IN_THE_NAMESPACES)):
        folder = os.path.join(server.spool, f"job-{i}") if server else str(tmp_path / f"job-{i}")
        os.mkdir(folder)
        if server:
            runs.append(_job(server, code, cold_prefix=sandbox.argv(folder), keep=folder, timeout=60))
            assert server.wait_idle(60)
        else:
            runs.append(subprocess.run([*sandbox.argv(folder), sys.executable, "-c", textwrap.dedent(code)],
                                       capture_output=True, text=True, timeout=60))
        assert runs[-1].returncode == 0, runs[-1].stderr
    assert runs[0].stdout.split() == ["EROFS", "EROFS", "EROFS"]
    assert runs[1].stdout.strip() == "[] True", runs[1].stdout
    if server:
        assert server.alive()


def test_in_the_sandbox_a_refused_job_runs_cold_and_keeps_its_folder(sandboxed_server):
    s = sandboxed_server
    job_dir = os.path.join(s.spool, "job")
    os.mkdir(job_dir)
    with open(os.path.join(job_dir, "submission.txt"), "w") as f:
        f.write("the learner's files")
    env = {**os.environ, "PETKIT_EXAMPLES": "7", "PETKIT_WARM_VERBOSE": "1"}  # not the server's environment
    done = _job(s, "import os; print(open('submission.txt').read(), os.getppid())", cold_prefix=sandbox.argv(job_dir),
                keep=job_dir, env=env)
    assert done.returncode == 0, done.stderr
    assert "running it cold (the job's environment differs" in done.stderr
    assert done.stdout.startswith("the learner's files")


def test_petkit_check_forks_each_exercise_and_gets_the_cold_results(monkeypatch, tmp_path):
    import io
    from petkit import checker, progress
    from petkit.registry import select
    exercises = list(select("softmax"))
    package = tmp_path / "mixed"  # one right answer, one wrong, one that kills its process
    package.mkdir()
    (package / "__init__.py").write_text("")
    from petkit import ROOT
    (package / "softmax.py").write_text((ROOT / "solutions" / "softmax.py").read_text() + textwrap.dedent("""
        def log_softmax(x, dim=-1):
            return x
        def sigmoid(x):
            import os
            os._exit(3)
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PETKIT_CHECK_JOBS", "2")  # two exercises at once (a server and its twin)
    try:
        rows = io.StringIO()
        shown = progress.Streamed(exercises, stream=rows)  # not a terminal: plain lines, no spinner
        warm_results = checker.run(exercises, "mixed", timeout=120, on_result=shown.finished, on_start=shown.started)
        assert len(warm._servers) == 1  # this process keeps it: `petkit watch` re-checks without imports
        monkeypatch.setenv("PETKIT_WARM", "0")
        cold_results = checker.run(exercises, "mixed", timeout=120)
    finally:
        warm.close_all()
    assert [r.status for r in warm_results] == [r.status for r in cold_results] == ["done", "failing", "failing"]
    assert [(r.passed, len(r.outcomes)) for r in warm_results] == [(r.passed, len(r.outcomes)) for r in cold_results]
    assert "died" in warm_results[2].problem and "died" in cold_results[2].problem
    lines = rows.getvalue().splitlines()
    assert lines[0].startswith("  softmax:") and len(lines) == 4 and "\r" not in rows.getvalue()
    assert [e.id in line for e, line in zip(exercises, lines[1:])] == [True] * 3


@pytest.mark.parametrize("warm_on", ["1", "0"], ids=["warm", "cold"])
def test_a_child_started_ahead_checks_the_answer_as_saved_after_it_started(monkeypatch, tmp_path, warm_on):
    """`petkit watch` starts the next check's child while the learner edits (checker.Ready): it must load
    the answer only when told to check it, so it checks the file as saved after it started; unused, it
    ends having loaded nothing, and its TMPDIR goes; gone before it is used, a fresh child checks instead."""
    from petkit import ROOT, checker
    from petkit.registry import select
    sigmoid = [e for e in select("softmax") if e.name == "sigmoid"]
    package = tmp_path / "mine"
    package.mkdir()
    (package / "__init__.py").write_text("")
    answer = package / "softmax.py"
    loaded = tmp_path / "loaded"
    wrong = f"open({str(loaded)!r}, 'a').write('wrong ')\ndef sigmoid(x):\n    return x\n"
    right = f"open({str(loaded)!r}, 'a').write('right ')\n" + (ROOT / "solutions" / "softmax.py").read_text()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PETKIT_WARM", warm_on)
    answer.write_text(wrong)
    try:
        ready = checker.Ready(["softmax"], "mine")
        assert ready.child.proc.poll() is None
        time.sleep(1.5)  # it sets up meanwhile (warm: the server's imports too)
        assert not loaded.exists()
        answer.write_text(right)  # the save
        with ready:
            results = checker.run(sigmoid, "mine", timeout=120, ready=ready)
        assert [r.status for r in results] == ["done"] and loaded.read_text() == "right ", results[0].outcomes
        assert ready.child is None  # it was the one that checked
        assert not os.path.exists(ready.tmpdir)
        unused = checker.Ready(["softmax"], "mine")
        child = unused.child
        unused.close()
        assert child.proc.poll() is not None and loaded.read_text() == "right "  # never told: loaded nothing
        assert not os.path.exists(unused.tmpdir)
        gone = checker.Ready(["softmax"], "mine")
        gone.child.kill()  # as a server's death ends it
        with gone:
            results = checker.run(sigmoid, "mine", timeout=120, ready=gone)
        assert [r.status for r in results] == ["done"] and loaded.read_text() == "right right ", results[0].problem
    finally:
        warm.close_all()


def test_a_child_started_ahead_must_be_told_what_to_check():
    r = subprocess.run([sys.executable, "-m", "petkit.checker_child", "--impl", "solutions", "--wait", "softmax.sigmoid"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "--wait" in r.stderr
    r = subprocess.run([sys.executable, "-m", "petkit.checker_child", "--impl", "solutions", "--wait"],
                       input="not json\n", capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "JSON list of exercise ids" in r.stderr


def test_how_many_exercises_are_checked_at_once(monkeypatch, capsys):
    from petkit.checker import lanes_for, lanes_wanted
    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("PETKIT_CHECK_JOBS", raising=False)
    assert lanes_wanted(20) == lanes_for(20, cores) and lanes_wanted(1) == 1  # never more than the exercises
    monkeypatch.setenv("PETKIT_CHECK_JOBS", "3")
    assert lanes_wanted(20) == 3 and lanes_wanted(2) == 2 and capsys.readouterr().err == ""
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv("PETKIT_CHECK_JOBS", bad)
        assert lanes_wanted(20) == cores
        err = capsys.readouterr().err
        assert f"PETKIT_CHECK_JOBS={bad!r}" in err and "give 1 or more" in err, err


@given(st.integers(1, 40), st.integers(1, 16))
def test_lanes_keep_every_core_busy_without_more_lanes_than_that_needs(count, cores):
    from petkit.checker import MAX_LANES, lanes_for
    lanes = lanes_for(count, cores)
    assert min(cores, MAX_LANES, count) <= lanes <= min(MAX_LANES, count)
    if cores == 1 or count % min(cores, MAX_LANES) == 0:
        assert lanes == min(cores, MAX_LANES, count)  # one per core when they divide evenly (or one core)
    if count <= min(cores, MAX_LANES):
        assert lanes == count  # all at once


def test_three_exercises_on_two_cores_run_at_once():
    """One per core left a core idle for the third (two exercises' time): three at once take 1.5."""
    from petkit.checker import lanes_for
    assert (lanes_for(3, 2), lanes_for(4, 2), lanes_for(5, 2), lanes_for(6, 2)) == (3, 2, 3, 2)


def test_petkit_check_runs_exercises_at_once_and_still_reports_them_in_order(monkeypatch, tmp_path):
    """With two lanes, log_softmax waits for sigmoid, the exercise after it, to start: it passes only
    because the two run at the same time, in two processes of the server's family. Rows and starts
    are still announced in the exercises' order, and the answer that kills its process costs its row."""
    from petkit import checker
    from petkit.registry import select
    from petkit import ROOT
    exercises = list(select("softmax"))
    package = tmp_path / "waits"
    package.mkdir()
    (package / "__init__.py").write_text("")
    marks = tmp_path / "marks"
    marks.mkdir()
    (package / "softmax.py").write_text((ROOT / "solutions" / "softmax.py").read_text() + textwrap.dedent(f"""
        _right_log_softmax, _right_sigmoid = log_softmax, sigmoid
        def log_softmax(x, dim=-1):
            import os, time
            open({str(marks / "log_softmax")!r}, "w").write(str(os.getppid()))
            while not os.path.exists({str(marks / "sigmoid")!r}):
                time.sleep(0.02)
            return _right_log_softmax(x, dim)
        def sigmoid(x):
            import os
            open({str(marks / "sigmoid")!r}, "w").write(str(os.getppid()))
            os._exit(3)
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PETKIT_CHECK_JOBS", "2")
    calls = []
    try:
        results = checker.run(exercises, "waits", timeout=60, on_result=lambda r: calls.append(("row", r.exercise.id)),
                              on_start=lambda e: calls.append(("start", e.id)))
        (server,) = warm._servers.values()
        forks = {server.proc.pid, *(t.pid for t in server.twins(1))}
    finally:
        warm.close_all()
    assert [r.status for r in results] == ["done", "done", "failing"], [r.problem for r in results]
    assert "died" in results[2].problem
    assert calls == [(what, e.id) for e in exercises for what in ("start", "row")]
    parents = {int((marks / name).read_text()) for name in ("log_softmax", "sigmoid")}
    assert len(parents) == 2 and parents <= forks  # the server and its twin: one job each, at once


@pytest.mark.slow
def test_the_server_started_early_is_the_one_the_kernels_and_the_referee_then_use(tmp_path, monkeypatch):
    """warm_grading.start_servers starts the grading server before nbgrader sets up; it must be keyed
    as the kernels' and the referee's later requests are (one server serves both: same imports, same
    environment), or its start is wasted work, a second server is started, or a job is refused and
    runs cold. Its log names every job it ran and every one it refused. The kernel runs torch on one
    thread (course.GRADING_THREADS), whatever thread count the grader's own environment asks for."""
    from petkit import notebooks
    from petkit.grading import warm_grading
    from petkit.grading.course import Course
    from petkit.grading.submission import grade_submission
    from petkit.registry import lesson
    from test_grade import FAST_GRADING, _copy_course, _submit
    for k, v in {**FAST_GRADING, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}.items():
        monkeypatch.setenv(k, v)
    course = _copy_course(tmp_path)
    told = "\nimport torch\nprint('torch threads:', torch.get_num_threads())\n"
    answers = {e.name: notebooks.solved for e in lesson("softmax").exercises}
    answers["softmax"] = lambda text: notebooks.solved(text) + told
    _submit(course, "early", "softmax", notebooks.dumps(notebooks.student_notebook(
        notebooks.source_notebook(lesson("softmax")), answers)))
    grader = Course(course)
    grader.release("softmax")
    warm.close_all()
    if not warm.enabled():
        pytest.skip("warm starts are off here")
    try:
        warm_grading.start_servers(grader, "softmax")
        started = dict(warm._servers)
        assert len(started) == 1
        graded = grade_submission(grader, "softmax", "early", early_servers=False)
        assert not graded.problem and graded.score == graded.max_score == 5, (graded.problem, graded.notes)
        assert warm._servers == started, "\n".join(" ".join(k[0]) for k in warm._servers)  # none started afresh
        log = next(iter(started.values())).log()
        assert "refused" not in log, log
        assert "job ipykernel_launcher" in log and "job petkit.grading.sealed" in log, log
        printed = ["".join(o.get("text", "")) for c in json.loads(
            (course / "autograded" / "early" / "softmax" / "softmax.ipynb").read_text())["cells"]
            for o in c.get("outputs", [])]
        assert "torch threads: 1\n" in printed, printed
    finally:
        warm.close_all()
