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
    ### BEGIN SOLUTION
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"softmax needs a floating-point tensor, got {type(x).__name__}"
                        + (f" of dtype {x.dtype}" if isinstance(x, torch.Tensor) else ""))
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"dim={dim} is out of range for a tensor with {x.ndim} dims")
    if x.numel() == 0:
        return x.clone()  # nothing to normalise (torch returns the empty tensor too)
    # half precision is too coarse to sum exponentials in: work in float32, round once at the end
    work = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    shifted = work - work.max(dim, keepdim=True).values
    e = shifted.exp()
    return (e / e.sum(dim, keepdim=True)).to(x.dtype)
    ### END SOLUTION


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(softmax(x)) along `dim`, by the log-sum-exp trick: finite wherever the true value is.

    `log_softmax(torch.tensor([0., -1e4]))` is `[0., -1e4]`, not `[0., -inf]`.
    """
    ### BEGIN SOLUTION
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"log_softmax needs a floating-point tensor, got {type(x).__name__}"
                        + (f" of dtype {x.dtype}" if isinstance(x, torch.Tensor) else ""))
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"dim={dim} is out of range for a tensor with {x.ndim} dims")
    if x.numel() == 0:
        return x.clone()
    work = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    shifted = work - work.max(dim, keepdim=True).values
    return (shifted - shifted.exp().sum(dim, keepdim=True).log()).to(x.dtype)
    ### END SOLUTION


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1 / (1 + exp(-x)), stable for large inputs of either sign; equals softmax([x, 0])[0]."""
    ### BEGIN SOLUTION
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"sigmoid needs a floating-point tensor, got {type(x).__name__}"
                        + (f" of dtype {x.dtype}" if isinstance(x, torch.Tensor) else ""))
    work = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    e = (-work.abs()).exp()  # never overflows: the exponent is <= 0
    return torch.where(work >= 0, 1 / (1 + e), e / (1 + e)).to(x.dtype)
    ### END SOLUTION
