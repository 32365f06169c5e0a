# Exercises for lesson `softmax`, written by `petkit sync` from solutions/softmax.py.
# Replace each `raise NotImplementedError(...)` with your code; check it with `petkit check softmax`.

"""Lesson `softmax`: softmax, its log, and the sigmoid it generalises.

Write each function with elementary tensor operations (exp, log, max, sum, where, ...): calling
torch's own softmax, log_softmax, logsumexp or sigmoid is reported as not your own work.
Check yourself with `petkit check softmax`.
"""
import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax of `x` along `dim`: positive values that sum to 1 along `dim`.

    Numerically stable: no inf or nan for logits as large as 1e4 in magnitude.
    A tensor that is not floating point is a TypeError; a `dim` out of range a ValueError.
    """
    # YOUR CODE HERE
    raise NotImplementedError("softmax.softmax is not written yet: replace this line with your code (stuck? run `petkit hint softmax.softmax`)")


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(softmax(x)) along `dim`, by the log-sum-exp trick: finite wherever the true value is.

    `log_softmax(torch.tensor([0., -1e4]))` is `[0., -1e4]`, not `[0., -inf]`.
    """
    # YOUR CODE HERE
    raise NotImplementedError("softmax.log_softmax is not written yet: replace this line with your code (stuck? run `petkit hint softmax.log_softmax`)")


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1 / (1 + exp(-x)), stable for large inputs of either sign; equals softmax([x, 0])[0]."""
    # YOUR CODE HERE
    raise NotImplementedError("softmax.sigmoid is not written yet: replace this line with your code (stuck? run `petkit hint softmax.sigmoid`)")
