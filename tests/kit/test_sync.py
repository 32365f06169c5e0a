"""solutions/ is the single source: exercises/ is generated from it, never edited by hand."""
import shutil

import pytest

from petkit import ROOT
from petkit.sync import SyncError, exercise_source, out_of_date, stub, sync


def test_exercises_are_in_sync_with_solutions():
    stale = out_of_date()
    assert not stale, f"out of date (run `petkit sync`): {[str(p.relative_to(ROOT)) for p in stale]}"


def _course(tmp_path):
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_sync_writes_stubs_and_keeps_everything_else(tmp_path):
    root = _course(tmp_path)
    (root / "exercises" / "softmax.py").unlink()
    report = sync(root)
    text = (root / "exercises" / "softmax.py").read_text()
    assert [p.name for p in report.written] == ["softmax.py"]
    assert "### BEGIN SOLUTION" not in text and "x.max(dim, keepdim=True)" not in text
    assert stub("softmax.log_softmax") in text and "petkit hint softmax.log_softmax" in text
    assert "def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:" in text
    assert sync(root).written == []  # idempotent


def test_sync_refuses_to_overwrite_learner_work_and_backs_it_up_when_forced(tmp_path):
    root = _course(tmp_path)
    target = root / "exercises" / "softmax.py"
    learner = target.read_text().replace(stub("softmax.sigmoid"), "return 1 / (1 + (-x).exp())")
    target.write_text(learner)
    (root / "solutions" / "softmax.py").write_text((root / "solutions" / "softmax.py").read_text() + "\n# edited\n")
    with pytest.raises(SyncError, match="exercises/softmax.py"):
        sync(root)
    assert target.read_text() == learner  # nothing lost
    report = sync(root, force=True)
    assert len(report.backups) == 1 and report.backups[0].read_text() == learner
    assert stub("softmax.sigmoid") in target.read_text()


def test_any_change_to_a_generated_file_is_kept_even_with_the_stubs_still_there(tmp_path):
    root = _course(tmp_path)
    assert sync(root).written == []  # what sync generated is recorded
    solution = root / "solutions" / "softmax.py"
    solution.write_text(solution.read_text() + "\n# edited\n")
    assert [p.name for p in sync(root).written] == ["softmax.py"]  # a file sync wrote: replaced freely
    target = root / "exercises" / "softmax.py"
    for learner in (target.read_text().replace("def sigmoid(", "def _helper(x):\n    return x\n\n\ndef sigmoid(", 1),
                    target.read_text().replace(f"    {stub('softmax.sigmoid')}",
                                               f"    e = (-x).exp()  # work in progress\n    {stub('softmax.sigmoid')}")):
        assert all(stub(e) in learner for e in ("softmax.softmax", "softmax.log_softmax", "softmax.sigmoid"))
        target.write_text(learner)
        solution.write_text(solution.read_text() + "\n# edited again\n")
        with pytest.raises(SyncError, match="exercises/softmax.py"):
            sync(root)
        assert target.read_text() == learner
        report = sync(root, force=True)
        assert [b.read_text() for b in report.backups] == [learner] and target.read_text() != learner


@pytest.mark.parametrize("broken,message", [
    ("def softmax(x, dim=-1):\n    ### BEGIN SOLUTION\n    return x\n", "never closed"),
    ("def softmax(x, dim=-1):\n    return x\n    ### END SOLUTION\n", "without a"),
    ("### BEGIN SOLUTION\nX = 1\n### END SOLUTION\n", "module-level"),
    ("def softmax(x, dim=-1):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n", "no solution block for"),
    ("def softmax(x, dim=-1):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
     "    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n", "second solution block"),
    ("def softmax(x, dim=-1:\n", "line 1"),
])
def test_malformed_solutions_get_a_clear_error(tmp_path, broken, message):
    with pytest.raises(SyncError, match=message):
        exercise_source("softmax", broken, tmp_path / "softmax.py")


@pytest.mark.parametrize("step", ["sync", "out_of_date"])
def test_the_command_says_a_sync_error_in_one_line_and_exits_2(step, monkeypatch, capsys):
    """`petkit sync` (and `--check`) turn a SyncError into one line on stderr and exit status 2, no traceback
    (the CLI's own path, isolated: the errors themselves are tested above, on real folders)."""
    import petkit.sync
    from petkit.cli import main

    def refuse(*args, **kwargs):
        raise SyncError("exercises/softmax.py would be replaced")
    monkeypatch.setattr(petkit.sync, step, refuse)
    assert main(["sync"] + (["--check"] if step == "out_of_date" else [])) == 2
    out, err = capsys.readouterr()
    assert err == "petkit sync: exercises/softmax.py would be replaced\n" and "Traceback" not in out + err
