"""The tiny learners the checks and benchmarks build: deterministic, on the CPU, writing nothing
into the working folder."""
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from petkit import ROOT
from petkit.data import BREEDS, is_cat
from petkit.learners import spread_breeds, tiny_dls, tiny_learner, tiny_pets

WEIGHTS_DIGEST = """
import hashlib, torch
from petkit.learners import tiny_learner
learn = tiny_learner(seed=3)
h = hashlib.sha256()
for t in learn.model.state_dict().values(): h.update(t.detach().contiguous().numpy().tobytes())
h.update(repr(learn.dls.train.rng.getstate()).encode())
print(h.hexdigest())
"""


def _digest(learn) -> str:
    import hashlib
    h = hashlib.sha256()
    for t in learn.model.state_dict().values():
        h.update(t.detach().contiguous().numpy().tobytes())
    h.update(repr(learn.dls.train.rng.getstate()).encode())  # how its training data will be shuffled
    return h.hexdigest()


def test_tiny_pets_are_made_once_with_cats_and_dogs():
    path = tiny_pets()
    assert tiny_pets() == path
    names = sorted(p.name for p in (path / "images").glob("*.jpg"))
    assert len(names) == 4 * 6
    breeds = {n.rsplit("_", 1)[0] for n in names}
    assert breeds == set(spread_breeds(4)) and {is_cat(b) for b in breeds} == {True, False}
    assert not path.is_relative_to(ROOT)


def test_spread_breeds_and_its_errors():
    assert spread_breeds(37) == list(BREEDS)
    assert len({is_cat(b) for b in spread_breeds(2)}) == 2
    with pytest.raises(ValueError, match="breeds must be an integer from 1 to 37"):
        spread_breeds(0)


def test_tiny_dls_labels_split_and_sizes():
    dls = tiny_dls(bs=4, img_size=24)
    assert list(dls.vocab) == sorted(spread_breeds(4), key=str) and dls.device.type == "cpu"
    assert len(dls.train_ds) + len(dls.valid_ds) == 24 and len(dls.valid_ds) == 6
    xb, yb = dls.one_batch()
    assert tuple(xb.shape) == (4, 3, 24, 24) and yb.dtype == torch.int64
    assert dls.train.fake_l.num_workers == 0
    with pytest.raises(ValueError, match="no images in"):
        tiny_dls(ROOT / "petkit" / "checks")  # code, no pictures


def test_same_seed_same_learner_other_seed_other_weights():
    a, b, c = tiny_learner(seed=1), tiny_learner(seed=1), tiny_learner(seed=2)
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), name
    assert _digest(a) == _digest(b) != _digest(c)
    assert a.opt is not None and not hasattr(a, "progress")
    assert a.path != b.path and not a.path.is_relative_to(ROOT)


def test_same_learner_in_another_process():
    here = _digest(tiny_learner(seed=3))
    env_python = [sys.executable, "-c", WEIGHTS_DIGEST]
    out = subprocess.run(env_python, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == here


def test_a_tiny_fit_and_lr_find_run_and_write_nothing_to_the_working_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    learn = tiny_learner(seed=4)
    before = [p.detach().clone() for p in learn.model.parameters()]
    with learn.no_logging():
        learn.fit(1, 1e-2)
    assert any(not torch.equal(x, p) for x, p in zip(before, learn.model.parameters()))
    learn.lr_find(num_it=8, show_plot=False)
    assert len(learn.recorder.losses) == 8
    assert list(tmp_path.iterdir()) == []
    assert "epoch" not in capsys.readouterr().out  # no progress bar, no table


def test_resnet_learner_and_bad_arguments():
    learn = tiny_learner(arch="resnet18", lr_find_ready=False)
    assert learn.opt is None and "error_rate" in [m.name for m in learn.metrics]
    with pytest.raises(ValueError, match="arch must be one of"):
        tiny_learner(arch="vgg")
    with pytest.raises(ValueError, match="no pretrained weights"):
        tiny_learner(pretrained=True)
