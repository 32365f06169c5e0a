"""`petkit demo` runs the whole chapter and writes a complete report; tiny settings keep it to
seconds here (the full-size run and its timing are in the README). Bad options fail at once."""
import json
import re

import pytest

from helpers import petkit

TINY = ["--per-class", "3", "--size", "48", "--img-size", "32", "--epochs", "1",
        "--pretrain-images", "64", "--pretrain-epochs", "1"]


def _isolated(tmp_path):
    """No cached bodies and no downloads: the demo must train its own body."""
    return {"PETKIT_CACHE": str(tmp_path / "cache"), "TORCH_HOME": str(tmp_path / "torch"), "PETKIT_OFFLINE": "1"}


@pytest.mark.slow
def test_demo_writes_the_whole_report(tmp_path):
    out = tmp_path / "report"
    r = petkit("demo", "--out", str(out), *TINY, env=_isolated(tmp_path), timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("batch.png", "lr_find.png", "losses.png", "confusion.png", "metrics.json", "index.html",
                 "datablock_summary.txt"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png.name
    m = json.loads((out / "metrics.json").read_text())
    assert m["data"] == {"kind": "synthetic", "path": str(out / "data"), "images": 37 * 3}
    assert m["cross_entropy_example"]["loss"] == pytest.approx(m["cross_entropy_example"]["book"], abs=1e-4)
    for part in ("fine_tune", "scratch", "discriminative", "deeper"):
        assert 0 <= m[part]["error_rate"] <= 1, part
    assert m["pretrained_beats_scratch"] == (m["fine_tune"]["error_rate"] < m["scratch"]["error_rate"])
    assert m["deeper"]["arch"] == "resnet34"
    assert m["weights"] == {"resnet18": "petkit", "resnet34": "petkit"}  # trained here, offline
    # discriminative rates: the optimiser's groups ran at the planned proportions (the schedule's
    # highest batch may fall short of the peak itself on a short epoch, by the same factor for all)
    planned, seen = m["discriminative"]["planned"], m["discriminative"]["seen_at_peak"]
    assert len(seen) == len(planned) == 3 and planned[0] < planned[1] < planned[2]
    ratios = [s / p for s, p in zip(seen, planned)]
    assert ratios == pytest.approx([ratios[0]] * 3, rel=1e-6) and 0.5 < ratios[0] <= 1 + 1e-9
    page = (out / "index.html").read_text()
    for src in re.findall(r'src="([^"]+)"', page):
        assert (out / src).is_file(), src
    assert {"batch.png", "lr_find.png", "losses.png", "confusion.png"} <= set(re.findall(r'src="([^"]+)"', page))
    # not a terminal: plain epoch lines, no progress bars, no raw lists, no warnings
    assert re.search(r"epoch 1/\d+  train \d", r.stdout), r.stdout
    assert "█" not in r.stdout and not re.search(r"^\[\d+, \d+\.\d+", r.stdout, re.M), r.stdout  # fastai's raw rows
    assert "Warning" not in r.stdout + r.stderr, r.stderr


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--per-class", "1"], "--per-class must be at least 2"),
    (["--arch", "resnet34", "--deeper", "resnet34"], "--deeper resnet34 is --arch itself"),
    (["--deeper", "resnet18"], "invalid choice: 'resnet18'"),
])
def test_bad_options_fail_before_any_work(tmp_path, args, message):
    r = petkit("demo", "--out", str(tmp_path / "report"), *args, env=_isolated(tmp_path), timeout=120)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not (tmp_path / "report").exists()
