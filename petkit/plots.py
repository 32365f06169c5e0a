"""Plots the demo and the notebooks save as PNG files.

    lrs, losses = lr_find(learn)                       # yours, or fastai's recorder.lrs / .losses
    lrs, losses = finder_curve(lrs, losses, num_it=100)  # trimmed as fastai trims before suggesting
    plot_lr_find(lrs, losses, {"valley": suggest_valley(lrs, losses)}, "lr_find.png")

Drawn on matplotlib's Agg canvas directly (no pyplot), so saving a plot never changes the backend
of a notebook or a script that imported this module.
"""
from __future__ import annotations

import math
from pathlib import Path

MARKERS = ("o", "s", "^", "D", "v")


def finder_curve(lrs, losses, num_it: int | None = None) -> tuple[list[float], list[float]]:
    """(lrs, losses) as fastai's `lr_find` hands them to its suggestions: points
    [num_it//10 : -5] (num_it: the requested count, default the number of points) and nothing from
    the first NaN loss on."""
    lrs, losses = [float(v) for v in lrs], [float(v) for v in losses]
    if len(lrs) != len(losses):
        raise ValueError(f"lrs and losses must have the same length, got {len(lrs)} and {len(losses)}")
    num_it = len(lrs) if num_it is None else num_it
    lrs, losses = lrs[num_it // 10:-5], losses[num_it // 10:-5]
    first_nan = next((i for i, v in enumerate(losses) if math.isnan(v)), len(losses))
    return lrs[:first_nan], losses[:first_nan]


def plot_lr_find(lrs, losses, suggestions: dict[str, float], path) -> Path:
    """Loss against learning rate on a log axis, each suggestion marked on the curve and named in the
    legend with its value; saved as a PNG at `path` (folders made as needed). Returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lrs, losses = [float(v) for v in lrs], [float(v) for v in losses]
    if not lrs or len(lrs) != len(losses):
        raise ValueError(f"lrs and losses must be non-empty and of the same length, got {len(lrs)} and {len(losses)}")
    if any(not lr > 0 for lr in lrs):
        raise ValueError("learning rates must be positive (they go on a log axis)")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"plot_lr_find saves a PNG: give a path ending in .png, got {str(path)!r}")
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(lrs, losses, color="tab:blue", label="smoothed loss")
    ax.set_xscale("log")
    ax.set_xlabel("Learning rate (log scale)")
    ax.set_ylabel("Loss")
    ax.set_title("Learning-rate finder")
    logs = [math.log(lr) for lr in lrs]
    for k, (name, lr) in enumerate(suggestions.items()):
        lr = float(lr)
        if not lr > 0:
            raise ValueError(f"suggestion {name!r} is {lr!r}: a learning rate must be positive")
        ax.plot([lr], [_loss_at(lr, logs, losses)], MARKERS[k % len(MARKERS)], markersize=8,
                color=f"C{k + 1}", label=f"{name}: {lr:.2e}")
    ax.legend(loc="best")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _loss_at(lr: float, logs: list[float], losses: list[float]) -> float:
    """The curve's loss at `lr`, interpolated in log(lr) (the ends beyond the curve: its end values)."""
    import numpy as np
    return float(np.interp(math.log(lr), logs, losses))


def losses_figure(runs: dict):
    """The losses of several trainings on one log axis: for each run name, a dict with `train` (one
    loss per training batch) and `valid` (a list of (batches trained so far, validation loss), one
    per epoch), as `LossHistory` collects them from fastai's Recorder. Returns the matplotlib Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for k, (name, run) in enumerate(runs.items()):
        colour = f"C{k}"
        ax.plot(range(1, len(run["train"]) + 1), run["train"], color=colour, alpha=0.35, lw=1,
                label=f"{name} (training batches)")
        if run["valid"]:
            ax.plot([b for b, _ in run["valid"]], [v for _, v in run["valid"]], "o-", color=colour,
                    label=f"{name} (validation, after each epoch)")
    ax.set_yscale("log")  # a model from scratch starts with huge losses
    ax.set_xlabel("training batch")
    ax.set_ylabel("cross-entropy loss")
    ax.legend(fontsize=7)
    ax.set_title("Loss: pale = training batches (smoothed), dots = validation after each epoch")
    fig.tight_layout()
    return fig


def plot_losses(runs: dict, path) -> Path:
    """`losses_figure(runs)` saved as a PNG at `path`. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    losses_figure(runs).savefig(path, format="png")
    return path


class LossHistory:
    """What fastai's Recorder holds after each fit of a learner, kept across fits (fine_tune's two):
    the smoothed training loss of every batch and the validation loss after every epoch. Copied
    from `learn.recorder` when each fit that trained ends: `get_preds`/`validate`, which fastai runs
    as a fit of one validation epoch (resetting the Recorder), add nothing.

        history = LossHistory(); learn.add_cb(history.callback()); learn.fine_tune(2)
        history.as_run()  # {"train": [...], "valid": [(batches so far, loss), ...]}
    """

    def __init__(self):
        self.train: list[float] = []
        self.valid: list[tuple[int, float]] = []

    def as_run(self) -> dict:
        return {"train": list(self.train), "valid": list(self.valid)}

    def callback(self):
        from fastai.callback.core import Callback
        history = self

        class CopyRecorder(Callback):
            order = 90  # after the Recorder's own after_fit

            # get_preds and validate call before_fit/after_fit too (and the Recorder then records
            # their one validation "epoch", error rate and all): copy only fits that trained
            def before_fit(self):
                self.trained = False

            def before_train(self):
                self.trained = True

            def after_fit(self):
                if not getattr(self, "trained", False):
                    return
                rec = self.learn.recorder
                names = list(rec.metric_names[1:-1])  # values' columns: train_loss, valid_loss, metrics
                column = names.index("valid_loss") if "valid_loss" in names else None
                done = len(history.train)
                history.train.extend(float(v) for v in rec.losses)
                if column is not None:  # rec.iters: training batches of this fit when each epoch ended
                    history.valid.extend((done + int(it), float(row[column]))
                                         for it, row in zip(rec.iters, rec.values) if len(row) > column)
        return CopyRecorder()
