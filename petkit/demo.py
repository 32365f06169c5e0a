"""`petkit demo`: chapter 5 end to end with the reference solutions, on a CPU, in minutes.

Data -> DataBlock (summary, a batch) -> the cross-entropy worked example -> the learning-rate finder
-> fine_tune from a pretrained body (and the same epochs from scratch) -> discriminative learning
rates after unfreezing -> the confusion matrix and the most-confused pairs -> a deeper architecture.
Everything lands in a report folder: PNG figures, metrics.json and index.html tying them together.
"""
from __future__ import annotations

import contextlib
import functools
import html
import io
import json
import sys
import time
from pathlib import Path

CHANCE = 1 - 1 / 37
PRETRAIN_SIZE = 48  # px of the source-task images when the demo trains a body itself (fast; good enough)


class _Steps:
    def __init__(self):
        self.start = time.perf_counter()
        self.n = 0

    def __call__(self, title: str) -> None:
        self.n += 1
        print(f"\n[{time.perf_counter() - self.start:5.0f} s] {self.n}. {title}", flush=True)


@contextlib.contextmanager
def _quiet_training(learn, bars: bool):
    """fastai's progress bars on a terminal. In a log or a pipe: no bars and no raw lists, one plain
    line per epoch instead."""
    if bars:
        yield
        return
    from fastai.callback.core import Callback

    class EpochLine(Callback):
        order = 70  # after the Recorder has the epoch's values

        def before_epoch(self):
            self.t0 = time.perf_counter()

        def after_epoch(self):
            names, values = self.recorder.metric_names[1:-1], self.recorder.values[-1]
            shown = "  ".join(f"{n.replace('_loss', '')} {v:.3f}" for n, v in zip(names, values))
            print(f"   epoch {self.epoch + 1}/{self.n_epoch}  {shown}  ({time.perf_counter() - self.t0:.0f} s)", flush=True)
    line = EpochLine()
    learn.add_cb(line)
    try:
        with learn.no_bar(), learn.no_logging():
            yield
    finally:
        learn.remove_cb(line)


class _History:
    """Train loss per batch and validation loss per epoch, across several fits (fine_tune's two)."""

    def __init__(self):
        self.train, self.valid = [], []

    def callback(self):
        from fastai.callback.core import Callback
        history = self

        class Record(Callback):
            order, fitting = 70, False  # after the Recorder has the epoch's values; not in get_preds

            def before_fit(self):
                self.fitting = True

            def after_fit(self):
                self.fitting = False

            def after_batch(self):
                if self.fitting and self.training:
                    history.train.append(float(self.loss))

            def after_epoch(self):
                if self.fitting:
                    history.valid.append((len(history.train), float(self.recorder.values[-1][1])))
        return Record()


def _preds(learn):
    """The validation set's predictions and targets, without a progress bar."""
    with learn.no_bar():
        return learn.get_preds()


def _ensure_body(arch: str, images: int, epochs: int) -> str:
    """Where `arch`'s pretrained body comes from; trains a quick one first when there is none."""
    from petkit import pretrain
    try:
        return pretrain.weights_source(arch)
    except pretrain.WeightsUnavailable:
        start = time.perf_counter()
        print(f"   no pretrained {arch} body here: training one offline on the synthetic source task "
              f"({images} images, {epochs} epochs; once, then cached; `petkit pretrain` trains a better one)", flush=True)
        pretrain.pretrain(arch, epochs=epochs, images=images, size=PRETRAIN_SIZE, log=lambda *a, **k: None)
        print(f"   done in {time.perf_counter() - start:.0f} s", flush=True)
        return pretrain.weights_source(arch)


def _save_current_figure(path: Path) -> Path:
    import matplotlib.pyplot as plt
    plt.gcf().savefig(path, dpi=90, bbox_inches="tight")
    plt.close("all")
    return path


def _plot_losses(histories: dict[str, _History], path: Path) -> Path:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for (name, h), colour in zip(histories.items(), ("tab:blue", "tab:orange", "tab:green")):
        ax.plot(range(len(h.train)), h.train, color=colour, alpha=0.35, lw=1)
        if h.valid:
            ax.plot([b for b, _ in h.valid], [v for _, v in h.valid], "o-", color=colour, label=f"{name} (valid)")
    ax.set_yscale("log")  # a model from scratch starts with huge validation losses
    ax.set_xlabel("training batch")
    ax.set_ylabel("cross-entropy loss")
    ax.legend()
    ax.set_title("Loss: pale = training batches, dots = validation after each epoch")
    return _save_current_figure(path)


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


def run_demo(out: Path, *, data: Path | None = None, real: bool = False, per_class: int = 16, size: int = 160,
             img_size: int = 64, epochs: int = 2, arch: str = "resnet18", deeper: str | None = "resnet34",
             seed: int = 0, bars: bool | None = None, pretrain_images: int = 1500, pretrain_epochs: int = 3) -> dict:
    import warnings

    import matplotlib
    matplotlib.use("Agg")
    warnings.filterwarnings("ignore", category=FutureWarning)  # torch.jit's deprecation, at fastai's import
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")  # fastai's recorder
    import torch
    from fastai.vision.all import set_seed

    from petkit import data as pets_data
    from petkit.checks import book
    from petkit.plots import finder_curve, plot_lr_find
    from solutions.cross_entropy import cross_entropy
    from solutions.datablock import pets_datablock, pets_dataloaders
    from solutions.interpret import confusion_matrix, error_rate, most_confused
    from solutions.lr_finder import lr_find, suggest_minimum, suggest_steep, suggest_valley
    from solutions.softmax import softmax
    from solutions.transfer import discriminative_lrs, fine_tune, make_learner

    bars = sys.stdout.isatty() if bars is None else bars
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    step, metrics, figures = _Steps(), {"settings": dict(per_class=per_class, size=size, img_size=img_size,
                                                          epochs=epochs, arch=arch, deeper=deeper, seed=seed,
                                                          pretrain_images=pretrain_images,
                                                          pretrain_epochs=pretrain_epochs)}, {}
    body = functools.partial(_ensure_body, images=pretrain_images, epochs=pretrain_epochs)

    step("The data: Oxford-IIIT Pets, or the kit's synthetic pets laid out the same way")
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
            pets_data.make_pets(path, per_class=per_class, size=size, seed=seed)
        metrics["data"] = {"kind": "synthetic", "path": str(path)}
    n_images = len(list((path / "images").glob("*.jpg")))
    metrics["data"]["images"] = n_images
    print(f"   {n_images} images in {path / 'images'}")

    step(f"The DataBlock, with presizing: Resize({img_size * 2}) per item, then a {img_size} px crop per batch")
    item_size = img_size * 2
    dls = pets_dataloaders(path, bs=32, item_size=item_size, crop_size=img_size, seed=seed)
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        pets_datablock(item_size=item_size, crop_size=img_size, seed=seed).summary(path / "images", bs=4)
    (out / "datablock_summary.txt").write_text(summary.getvalue())
    print(f"   {len(dls.train_ds)} training and {len(dls.valid_ds)} validation images, {dls.c} breeds; "
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

    step(f"The learning-rate finder, written from scratch, on a pretrained {arch}")
    metrics["weights"] = {arch: body(arch)}
    set_seed(seed, reproducible=True)
    learn = make_learner(dls, arch=arch, pretrained=True)
    learn.path = out
    lrs, losses = lr_find(learn, num_it=80)
    cut_lrs, cut_losses = finder_curve(lrs, losses, num_it=80)  # trimmed as fastai trims before suggesting
    suggestions = {"minimum": suggest_minimum(cut_lrs, cut_losses), "steep": suggest_steep(cut_lrs, cut_losses),
                   "valley": suggest_valley(cut_lrs, cut_losses)}
    figures["lr_find"] = plot_lr_find(lrs, losses, suggestions, out / "lr_find.png")
    metrics["lr_find"] = {"points": len(lrs), "suggestions": suggestions}
    print("   suggestions: " + ", ".join(f"{k} {v:.2e}" for k, v in suggestions.items()))
    # where the loss falls fastest, but never past the minimum (the loss is about to climb there)
    base_lr = min(max(min(suggestions["steep"], suggestions["minimum"]), 1e-4), 1e-2)
    metrics["settings"]["base_lr"] = base_lr

    step(f"fine_tune({epochs}, base_lr={base_lr:.1e}): the head for one epoch, then everything")
    pretrained_history = _History()
    start = time.perf_counter()
    learn.add_cb(pretrained_history.callback())
    with _quiet_training(learn, bars):
        fine_tune(learn, epochs, base_lr=base_lr)
    preds, targs = _preds(learn)
    tuned_error = error_rate(preds, targs)
    metrics["fine_tune"] = {"error_rate": tuned_error, "epochs": 1 + epochs, "seconds": time.perf_counter() - start}
    print(f"   error rate {tuned_error:.3f} (chance {CHANCE:.3f})")

    step(f"The same {1 + epochs} epochs from scratch (no pretrained body)")
    set_seed(seed, reproducible=True)
    scratch = make_learner(dls, arch=arch, pretrained=False)
    scratch.path = out
    scratch_history = _History()
    scratch.add_cb(scratch_history.callback())
    with _quiet_training(scratch, bars):
        scratch.fit_one_cycle(1 + epochs, base_lr * 2)  # every layer trains from the start
    scratch_error = error_rate(*_preds(scratch))
    metrics["scratch"] = {"error_rate": scratch_error, "epochs": 1 + epochs}
    verdict = ("the pretrained body wins" if tuned_error < scratch_error
               else "the pretrained body does not help here: train a better one with `petkit pretrain`")
    metrics["pretrained_beats_scratch"] = tuned_error < scratch_error
    print(f"   error rate {scratch_error:.3f}: pretrained {tuned_error:.3f} vs scratch {scratch_error:.3f}, {verdict}")

    step("Discriminative learning rates: one more epoch, unfrozen, at slice(lo, hi)")
    learn.unfreeze()
    lo, hi = base_lr / 100, base_lr / 2
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
    metrics["discriminative"] = {"planned": planned, "seen_at_peak": seen.get("peak"),
                                 "error_rate": error_rate(preds, targs)}
    print("   per-group lr_max: " + ", ".join(f"{v:.1e}" for v in planned)
          + f"; after it, error rate {metrics['discriminative']['error_rate']:.3f}")

    step("Reading the model: the confusion matrix and the most-confused pairs")
    pred_idx = preds.argmax(dim=1)
    cm = confusion_matrix(pred_idx, targs, dls.c)
    pairs = most_confused(cm, list(dls.vocab), min_val=2)
    figures["confusion"] = _plot_confusion(cm, list(dls.vocab), out / "confusion.png")
    metrics["most_confused"] = [list(p) for p in pairs[:10]]
    for actual, predicted, count in pairs[:5]:
        print(f"   {actual} taken for {predicted}: {count} times")

    if deeper:
        step(f"A deeper architecture: {deeper}, the same fine_tune")
        metrics["weights"][deeper] = body(deeper)
        set_seed(seed, reproducible=True)
        deep = make_learner(dls, arch=deeper, pretrained=True)
        deep.path = out
        deep_history = _History()
        start = time.perf_counter()
        deep.add_cb(deep_history.callback())
        with _quiet_training(deep, bars):
            fine_tune(deep, epochs, base_lr=base_lr)
        deep_error = error_rate(*_preds(deep))
        metrics["deeper"] = {"arch": deeper, "error_rate": deep_error, "seconds": time.perf_counter() - start}
        print(f"   {deeper}: error rate {deep_error:.3f} vs {arch} {tuned_error:.3f} "
              f"({metrics['deeper']['seconds']:.0f} s vs {metrics['fine_tune']['seconds']:.0f} s)")
    histories = {f"{arch} pretrained": pretrained_history, f"{arch} from scratch": scratch_history}
    if deeper:
        histories[f"{deeper} pretrained"] = deep_history
    figures["losses"] = _plot_losses(histories, out / "losses.png")

    metrics["chance_error_rate"] = CHANCE
    metrics["seconds"] = time.perf_counter() - step.start
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    _write_html(out, metrics, figures)
    print(f"\nDone in {metrics['seconds']:.0f} s. Report: {out / 'index.html'}")
    return metrics


def _write_html(out: Path, m: dict, figures: dict[str, Path]) -> None:
    def img(key, alt):
        return f'<img src="{figures[key].name}" alt="{html.escape(alt)}" style="max-width:100%">' if key in figures else ""
    rows = [("fine_tune from the pretrained body", m["fine_tune"]["error_rate"]),
            ("the same epochs from scratch", m["scratch"]["error_rate"]),
            ("after one more epoch with discriminative rates", m["discriminative"]["error_rate"])]
    if "deeper" in m:
        rows.append((f"{m['deeper']['arch']}, the same fine_tune", m["deeper"]["error_rate"]))
    rows.append(("chance (37 breeds)", m["chance_error_rate"]))
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.3f}</td></tr>" for k, v in rows)
    pairs = "".join(f"<li>{html.escape(a)} taken for {html.escape(p)}: {c}</li>" for a, p, c in m["most_confused"][:8])
    sugg = ", ".join(f"{k}: {v:.2e}" for k, v in m["lr_find"]["suggestions"].items())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>petkit demo: chapter 5, pet breeds</title>
<style>body{{font-family:sans-serif;max-width:900px;margin:2em auto;line-height:1.5}}td{{padding:2px 12px}}</style></head><body>
<h1>Chapter 5, end to end</h1>
<p>{m['data']['images']} {m['data']['kind']} pet images, 37 breeds; everything below ran on a CPU in {m['seconds']:.0f} s
with the kit's reference solutions.</p>
<h2>1. A batch, after presizing</h2>
<p>Each image is first resized to {2 * m['settings']['img_size']} px on the CPU, then whole batches are cropped to
{m['settings']['img_size']} px and augmented in one go: the crops keep at least 75% of the picture.</p>{img('batch', 'a batch')}
<h2>2. Cross-entropy, the book's example</h2>
<p>softmax(acts)[:, 0] = {m['cross_entropy_example']['softmax_col0']}; the mean loss is
{m['cross_entropy_example']['loss']:.4f} (the book: {m['cross_entropy_example']['book']}).</p>
<h2>3. The learning-rate finder</h2><p>The loss while the learning rate grows geometrically; suggestions: {sugg}.
The demo trains at the steep point (never past the minimum): {m['settings']['base_lr']:.1e}.</p>{img('lr_find', 'finder curve')}
<h2>4. Transfer learning</h2><p>fine_tune trains the new head for one epoch with the body frozen, then everything,
with lower rates for the early layers. The same epochs from random weights show what the pretrained body brings.</p>
<table><tr><th>model</th><th>error rate</th></tr>{table}</table>
<p>{"The pretrained body wins: the same epochs from scratch end with more errors." if m["pretrained_beats_scratch"]
    else "Here the pretrained body did not beat training from scratch: train a better body with <code>petkit pretrain</code>."}</p>{img('losses', 'loss curves')}
<h2>5. Reading the model</h2><p>Rows are the actual breeds, columns the predicted ones; the mistakes gather
on look-alike pairs.</p><ul>{pairs}</ul>{img('confusion', 'confusion matrix')}
<p>All numbers: <a href="metrics.json">metrics.json</a>; the DataBlock's summary: <a href="datablock_summary.txt">datablock_summary.txt</a>.</p>
</body></html>"""
    (out / "index.html").write_text(page)


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="petkit-report", metavar="DIR", help="report folder (default petkit-report)")
    parser.add_argument("--data", default=None, metavar="DIR", help="use these pets instead of making them in the report folder")
    parser.add_argument("--real", action="store_true", help="the real Oxford-IIIT Pets when available (else synthetic)")
    parser.add_argument("--per-class", type=int, default=16, metavar="N", help="synthetic images per breed (default 16)")
    parser.add_argument("--size", type=int, default=160, metavar="PX", help="synthetic image size (default 160)")
    parser.add_argument("--img-size", type=int, default=64, metavar="PX", help="final crop size (default 64)")
    parser.add_argument("--epochs", type=int, default=2, metavar="N", help="fine_tune epochs after the frozen one (default 2)")
    parser.add_argument("--arch", default="resnet18", choices=("resnet18", "resnet34"))
    parser.add_argument("--deeper", default="resnet34", choices=("resnet34", "resnet50", "none"),
                        help="the deeper architecture to compare, or none (default resnet34)")
    parser.add_argument("--pretrain-images", type=int, default=1500, metavar="N",
                        help="source-task images when a body has to be trained first (default 1500)")
    parser.add_argument("--pretrain-epochs", type=int, default=3, metavar="N",
                        help="epochs when a body has to be trained first (default 3)")
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    from petkit import ROOT
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for name, low in (("per_class", 2), ("size", 32), ("img_size", 16), ("epochs", 1), ("pretrain_images", 64),
                      ("pretrain_epochs", 1)):
        if getattr(args, name) < low:
            print(f"petkit demo: --{name.replace('_', '-')} must be at least {low}", file=sys.stderr)
            return 2
    if args.deeper == args.arch:
        print(f"petkit demo: --deeper {args.deeper} is --arch itself; pick a deeper one or none", file=sys.stderr)
        return 2
    deeper = None if args.deeper in ("none", "") else args.deeper
    run_demo(Path(args.out), data=args.data, real=args.real, per_class=args.per_class, size=args.size,
             img_size=args.img_size, epochs=args.epochs, arch=args.arch, deeper=deeper, seed=args.seed,
             pretrain_images=args.pretrain_images, pretrain_epochs=args.pretrain_epochs)
    return 0
