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
