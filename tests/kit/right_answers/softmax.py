"""Right answers to lesson `softmax`, written as textbooks, docs and course notebooks write them.
Each is right maths; the checks must accept every one at every seed the grade of record may use."""
import torch

from petkit.corpus import right


@right("softmax.softmax", "exp of the max-shifted logits over their sum (the book's stable form)")
def softmax_shifted(x, dim=-1):
    e = (x - x.max(dim, keepdim=True).values).exp()
    return e / e.sum(dim, keepdim=True)


@right("softmax.softmax", "exp(x - logsumexp(x)), with logsumexp written as m + log(sum(exp(x - m)))")
def softmax_via_logsumexp(x, dim=-1):
    m = x.amax(dim, keepdim=True)
    return torch.exp(x - (m + torch.log(torch.sum(torch.exp(x - m), dim, keepdim=True))))


@right("softmax.softmax", "moves dim to the end, works on the last axis, moves it back")
def softmax_movedim(x, dim=-1):
    y = x.movedim(dim, -1)
    e = torch.exp(y - torch.max(y, -1, keepdim=True)[0])
    return (e / e.sum(-1, keepdim=True)).movedim(-1, dim)


@right("softmax.log_softmax", "x - logsumexp(x) with a max-shifted logsumexp, the identity PyTorch's docs write")
def log_softmax_minus_logsumexp(x, dim=-1):
    m = x.amax(dim, keepdim=True)
    return x - (m + (x - m).exp().sum(dim, keepdim=True).log())


@right("softmax.log_softmax", "shifted - log(sum(exp(shifted))), shifted = x - max")
def log_softmax_shifted(x, dim=-1):
    shifted = x - torch.max(x, dim=dim, keepdim=True)[0]
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


@right("softmax.log_softmax", "checks its input as the contract says, then the log-sum-exp trick", validates=True)
def log_softmax_validated(x, dim=-1):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be floating point, got dtype {x.dtype}")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"dim {dim} is out of range for x with {x.ndim} dims")
    m = x.amax(dim, keepdim=True)
    return (x - m) - (x - m).exp().sum(dim, keepdim=True).log()


@right("softmax.sigmoid", "1/(1+exp(-x)) for x >= 0 and exp(x)/(1+exp(x)) below, both computed, one kept")
def sigmoid_two_branches(x):
    return torch.where(x >= 0, 1 / (1 + torch.exp(-x)), torch.exp(x) / (1 + torch.exp(x)))


@right("softmax.sigmoid", "(1 + tanh(x / 2)) / 2")
def sigmoid_tanh(x):
    return (1 + torch.tanh(x / 2)) / 2


@right("softmax.sigmoid", "exp(-|x|) on the side that cannot overflow", validates=True)
def sigmoid_abs(x):
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"sigmoid needs a floating-point tensor x, got {type(x).__name__}"
                        + (f" of dtype {x.dtype}" if isinstance(x, torch.Tensor) else ""))
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
