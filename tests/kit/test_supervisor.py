"""The one supervisor of bounded child processes (petkit.supervisor), as a unit: the event protocol,
the token, time-outs, killing the whole process group, and how a child's end is told."""
import os
import sys
import textwrap
import time

import pytest

from petkit.supervisor import ChildProcess, TimedOut, exit_description


def _child(code: str, **kw) -> ChildProcess:
    return ChildProcess([sys.executable, "-c", textwrap.dedent(code)], **kw)


def test_events_arrive_in_order_and_junk_lines_are_dropped():
    code = """
        import json, sys
        print("not json"); print("[1, 2]")
        for i in range(3):
            print(json.dumps({"event": "step", "i": i}), flush=True)
    """
    with _child(code) as child:
        events = []
        while (e := child.next_event(30)) is not None:
            events.append(e)
        assert events == [{"event": "step", "i": i} for i in range(3)]
        assert child.next_event(1) is None  # stays ended
        assert child.ended() == "exit status 0"


def test_with_a_token_only_signed_events_count_and_stdout_stays_free():
    code = """
        import json, os, sys
        fd = int(sys.argv[1])
        token = sys.stdin.readline().strip()
        print(json.dumps({"event": "forged"}), flush=True)          # stdout: not the event pipe
        out = os.fdopen(fd, "w")
        out.write(json.dumps({"token": "guess", "event": "forged"}) + "\\n")
        out.write(json.dumps({"token": token, "event": "real"}) + "\\n")
        out.flush()
    """
    with _child(code, event_fd=True, token="s3cret", stdin=b"s3cret\n") as child:
        assert child.next_event(30) == {"event": "real"}
        assert child.next_event(30) is None


def test_a_silent_child_times_out_and_kill_ends_its_whole_group(tmp_path):
    pidfile = tmp_path / "grandchild"
    code = f"""
        import os, subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pidfile)!r}, "w").write(str(p.pid))
        time.sleep(600)
    """
    child = _child(code)
    with pytest.raises(TimedOut):
        while not pidfile.exists() or not pidfile.read_text():
            time.sleep(0.05)
        child.next_event(0.5)
    grandchild = int(pidfile.read_text())
    child.kill()
    assert "SIGKILL" in child.ended()
    for _ in range(100):
        if not _alive(grandchild):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the grandchild outlived the kill")


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as dead)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except FileNotFoundError:
        return False


def test_how_a_child_ended_is_said_with_its_last_words():
    with _child("import sys; print('boom: it broke', file=sys.stderr); sys.exit(3)") as child:
        assert child.next_event(30) is None
        assert child.ended() == "exit status 3: boom: it broke"
    assert exit_description(-9) == "killed by signal SIGKILL (out of memory?)"
    assert exit_description(-11) == "killed by signal SIGSEGV"


def test_limit_memory_makes_a_large_allocation_fail_in_the_child():
    code = """
        from petkit.supervisor import limit_memory
        limit_memory(64)
        try:
            bytearray(512 * 1024 * 1024)
        except MemoryError:
            print('{"event": "refused"}', flush=True)
    """
    with _child(code, cwd=os.getcwd()) as child:
        assert child.next_event(60) == {"event": "refused"}


def test_reaping_kills_a_childs_leftovers_but_not_a_sibling_still_supervised():
    """Two children supervised at once (petkit.checker's lanes): when one ends, what it left is killed;
    a sibling started while it ran, and what runs below that sibling, are not."""
    import psutil
    from petkit import reaper
    leaver = _child("""
        import json, subprocess, sys, time
        daemon = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)
        print(json.dumps({"daemon": daemon.pid}), flush=True)
        time.sleep(600)
    """, reap=True)
    with leaver:
        daemon = leaver.next_event(30)["daemon"]
        sleeper = [sys.executable, "-c", "import subprocess, sys, time; "
                   "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"]
        sibling = ChildProcess(sleeper, reap=True)
        deadline = time.monotonic() + 30
        while not psutil.Process(sibling.proc.pid).children() and time.monotonic() < deadline:
            time.sleep(0.05)
        below = psutil.Process(sibling.proc.pid).children()
        assert below
    with sibling:
        deadline = time.monotonic() + 10
        while psutil.pid_exists(daemon) and psutil.Process(daemon).status() != psutil.STATUS_ZOMBIE \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not psutil.pid_exists(daemon) or psutil.Process(daemon).status() == psutil.STATUS_ZOMBIE
        assert sibling.proc.poll() is None and all(p.is_running() for p in below)
    assert sibling.proc.poll() is not None
    assert sibling.proc.pid not in reaper._kept
