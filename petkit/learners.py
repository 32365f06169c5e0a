"""Small, deterministic fastai learners for checks, tests and benchmarks, on the CPU.

    dls = tiny_dls()                       # a few dozen tiny synthetic pets, labels from file names
    learn = tiny_learner(dls, seed=42)     # a CNN of about two thousand parameters, no progress bar
    learn = tiny_learner(arch="resnet18")  # the book's architecture, untrained, same guarantees

Everything they write (the synthetic images, `models/` from `lr_find` or `save`) goes to temporary
folders removed when the process exits, never into the checkout. With the same arguments the learner
is bit-identical in any process: `tiny_learner` seeds torch, numpy and random, fixes torch's thread
count and builds the data loaders (whose shuffling has its own random generator) after seeding.
fastai is imported inside the functions, so importing this module stays cheap.
"""
from __future__ import annotations

import atexit
import functools
import re
from pathlib import Path

TORCH_THREADS = 1  # fixed, so that results do not depend on the machine's core count
LABEL_PATTERN = r"(.+)_\d+.jpg$"  # the book's regular expression for Pets file names
ARCHS = ("tiny", "resnet18", "resnet34")

_TEMP_DIRS: list[Path] = []


def temp_dir(prefix: str) -> Path:
    """A fresh temporary folder, removed when the process exits (or, if it is killed, by the next kit
    process that makes one there: petkit.tempdirs)."""
    from petkit import tempdirs
    path = tempdirs.make(prefix)
    _TEMP_DIRS.append(path)
    return path


@atexit.register
def remove_temp_dirs() -> None:
    """Remove the temporary folders made so far. At exit, and called by the processes that end with
    os._exit, where atexit never runs (petkit check's and the referee's children, a warm server's jobs):
    they had left a run's synthetic pets, learners and transfer weights in /tmp (88 MB per check of transfer)."""
    from petkit import tempdirs
    while _TEMP_DIRS:
        tempdirs.remove(_TEMP_DIRS.pop())


def spread_breeds(n: int) -> list[str]:
    """`n` breeds spread over petkit.data.BREEDS (class-id order), with cats and dogs when n >= 2."""
    from petkit.data import BREEDS, is_cat
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(BREEDS):
        raise ValueError(f"breeds must be an integer from 1 to {len(BREEDS)}, got {n!r}")
    picked = [BREEDS[(i * len(BREEDS)) // n] for i in range(n)]
    if n >= 2 and len({is_cat(b) for b in picked}) == 1:  # make sure both species are there
        other = next(b for b in BREEDS if is_cat(b) != is_cat(picked[0]))
        picked[-1] = other
    return picked


@functools.cache
def tiny_pets(breeds: int = 4, per_class: int = 6, size: int = 48, seed: int = 0) -> Path:
    """A tiny synthetic pets folder (`images/<Breed>_<n>.jpg`, `annotations/`) of `breeds` breeds
    spread over the 37, cats and dogs; made once per process per arguments, in a temporary folder
    removed at exit."""
    from petkit.data import make_pets
    out = temp_dir("petkit-pets-") / "pets"
    return make_pets(out, per_class=per_class, size=size, seed=seed, breeds=spread_breeds(breeds))


def _label_from_name(path) -> str:
    match = re.search(LABEL_PATTERN, Path(path).name)
    if match is None:
        raise ValueError(f"{Path(path).name!r} does not match {LABEL_PATTERN!r}: not a Pets file name")
    return match.group(1)


def tiny_dls(path: Path | None = None, *, img_size: int = 32, bs: int = 8, seed: int = 42,
             augment: bool = False, valid_pct: float = 0.25):
    """fastai DataLoaders over the pets in `path` (or its `images/`; None: `tiny_pets()`) on the CPU:
    labels from the file name, `RandomSplitter(valid_pct, seed)`, `Resize(img_size)` per item, and
    with `augment` also `aug_transforms(size=img_size, min_scale=0.75)` per batch; no workers.

    The loaders' shuffling draws from Python's `random` when they are made: seed it first (as
    `tiny_learner` does) for loaders that shuffle the same way every time."""
    from fastai.vision.all import (CategoryBlock, DataBlock, ImageBlock, RandomSplitter, Resize,
                                   aug_transforms, get_image_files)
    path = tiny_pets() if path is None else Path(path)
    folder = path / "images" if (path / "images").is_dir() else path
    if not folder.is_dir() or not get_image_files(folder):
        raise ValueError(f"no images in {folder}: pass a folder that holds <Breed>_<n>.jpg files "
                         "(or has an images/ subfolder), or path=None for the tiny synthetic pets")
    block = DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files,
                      splitter=RandomSplitter(valid_pct=valid_pct, seed=seed), get_y=_label_from_name,
                      item_tfms=Resize(img_size),
                      batch_tfms=aug_transforms(size=img_size, min_scale=0.75) if augment else None)
    import torch
    return block.dataloaders(folder, bs=bs, num_workers=0, device=torch.device("cpu"))


def tiny_cnn(n_out: int):
    """About two thousand parameters: two strided conv-batchnorm-relu layers, pooling, a linear head."""
    from fastai.vision.all import ConvLayer, Flatten, nn
    return nn.Sequential(ConvLayer(3, 8, stride=2), ConvLayer(8, 16, stride=2),
                         nn.AdaptiveAvgPool2d(1), Flatten(), nn.Linear(16, n_out))


def tiny_learner(dls=None, *, arch: str = "tiny", pretrained: bool = False, seed: int = 42,
                 lr_find_ready: bool = True):
    """A fastai Learner, the same bit for bit for the same arguments in any process.

    `set_seed(seed, reproducible=True)` and a fixed torch thread count come first; `dls=None` builds
    `tiny_dls(seed=seed)` after them. arch "tiny" is `tiny_cnn` with cross-entropy and Adam;
    "resnet18"/"resnet34" are `vision_learner(dls, resnetXX, pretrained=pretrained)`; both report
    `error_rate`. The learner's path is a fresh temporary folder (so `lr_find`/`save` never write
    into the checkout) and it shows no progress bar. `lr_find_ready` also creates the optimiser,
    so that its state exists (and can be compared) before a learning-rate finder runs."""
    import torch
    from fastai.vision.all import (CrossEntropyLossFlat, Learner, ProgressCallback, error_rate,
                                   resnet18, resnet34, set_seed, vision_learner)
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {', '.join(ARCHS)}, got {arch!r}")
    if arch == "tiny" and pretrained:
        raise ValueError("arch='tiny' has no pretrained weights; use pretrained=False, "
                         "or arch='resnet18'/'resnet34' with weights available offline")
    torch.set_num_threads(TORCH_THREADS)
    set_seed(seed, reproducible=True)
    if dls is None:
        dls = tiny_dls(seed=seed)
        set_seed(seed, reproducible=True)  # the model's weights do not depend on how dls were made
    path = temp_dir("petkit-learner-")
    if arch == "tiny":
        learn = Learner(dls, tiny_cnn(dls.c), loss_func=CrossEntropyLossFlat(), metrics=error_rate, path=path)
    else:
        body = {"resnet18": resnet18, "resnet34": resnet34}[arch]
        learn = vision_learner(dls, body, pretrained=pretrained, metrics=error_rate, path=path)
    if hasattr(learn, "progress"):
        learn.remove_cb(ProgressCallback)
    if lr_find_ready:
        learn.create_opt()
    return learn
