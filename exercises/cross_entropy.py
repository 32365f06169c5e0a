# Exercises for lesson `cross_entropy`, written by `petkit sync` from solutions/cross_entropy.py.
# Replace each `raise NotImplementedError(...)` with your code; check it with `petkit check cross_entropy`.

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
    # YOUR CODE HERE
    raise NotImplementedError("cross_entropy.nll_loss is not written yet: replace this line with your code (stuck? run `petkit hint cross_entropy.nll_loss`)")


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy loss: log_softmax over the classes, then nll_loss."""
    # YOUR CODE HERE
    raise NotImplementedError("cross_entropy.cross_entropy is not written yet: replace this line with your code (stuck? run `petkit hint cross_entropy.cross_entropy`)")


def cross_entropy_grad(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The gradient of the mean cross-entropy with respect to `logits`, in closed form:
    (softmax(logits) - one_hot(targets)) / n."""
    # YOUR CODE HERE
    raise NotImplementedError("cross_entropy.cross_entropy_grad is not written yet: replace this line with your code (stuck? run `petkit hint cross_entropy.cross_entropy_grad`)")
