"""Lesson `cross_entropy`: negative log likelihood, cross-entropy loss and its gradient.

Build on your own `log_softmax` and `softmax` from the softmax lesson: calling torch's nll_loss,
cross_entropy (or CrossEntropyLoss), log_softmax or autograd is reported as not your own work.
Check yourself with `petkit check cross_entropy`.
"""
import torch

from .softmax import log_softmax, softmax

REDUCTIONS = ("mean", "sum", "none")


def nll_loss(log_probs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Negative log likelihood: -log_probs[i, targets[i]] for each row i, then reduced.

    `log_probs` is (n, classes) floating point; `targets` holds n class indices in [0, classes).
    `reduction` is 'mean', 'sum' or 'none'. Anything else is a clear ValueError or TypeError.
    """
    ### BEGIN SOLUTION
    if not isinstance(log_probs, torch.Tensor) or not log_probs.is_floating_point():
        raise TypeError("log_probs must be a floating-point tensor of shape (n, classes)")
    if log_probs.ndim != 2:
        raise ValueError(f"log_probs must have shape (n, classes), got shape {tuple(log_probs.shape)}")
    if not isinstance(targets, torch.Tensor) or targets.is_floating_point() or targets.dtype == torch.bool:
        raise TypeError("targets must be an integer tensor of class indices")
    n, classes = log_probs.shape
    if targets.shape != (n,):
        raise ValueError(f"targets must have shape ({n},), one class index per row of log_probs, "
                         f"got shape {tuple(targets.shape)}")
    if n == 0:
        raise ValueError("log_probs and targets are empty: a loss needs at least one row")
    if ((targets < 0) | (targets >= classes)).any():
        raise ValueError(f"targets must be class indices in [0, {classes}), got {targets.tolist()}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    losses = -log_probs[torch.arange(n), targets]
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses
    ### END SOLUTION


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy loss: log_softmax over the classes, then nll_loss."""
    ### BEGIN SOLUTION
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point() or logits.ndim != 2:
        raise ValueError("logits must be a floating-point tensor of shape (n, classes), got "
                         + (f"shape {tuple(logits.shape)}, dtype {logits.dtype}"
                            if isinstance(logits, torch.Tensor) else type(logits).__name__))
    return nll_loss(log_softmax(logits, dim=-1), targets, reduction=reduction)
    ### END SOLUTION


def cross_entropy_grad(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The gradient of the mean cross-entropy with respect to `logits`, in closed form:
    (softmax(logits) - one_hot(targets)) / n."""
    ### BEGIN SOLUTION
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point() or logits.ndim != 2:
        raise ValueError("logits must be a floating-point tensor of shape (n, classes)")
    n, classes = logits.shape
    if not isinstance(targets, torch.Tensor) or targets.is_floating_point() or targets.dtype == torch.bool:
        raise TypeError("targets must be an integer tensor of class indices")
    if targets.shape != (n,):
        raise ValueError(f"targets must have shape ({n},), got shape {tuple(targets.shape)}")
    if n == 0:
        raise ValueError("logits and targets are empty: the mean loss needs at least one row")
    if ((targets < 0) | (targets >= classes)).any():
        raise ValueError(f"targets must be class indices in [0, {classes}), got {targets.tolist()}")
    one_hot = torch.nn.functional.one_hot(targets, classes).to(logits.dtype)
    return (softmax(logits, dim=-1) - one_hot) / n
    ### END SOLUTION
