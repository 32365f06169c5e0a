"""Wrong answers to lesson `cross_entropy` that learners really write, and the checks that catch them."""
import torch
import torch.nn.functional as F

from petkit.corpus import probe, wrong
from solutions.cross_entropy import nll_loss
from solutions.softmax import log_softmax, softmax

# probe inputs: 2 rows, 3 classes (so a mix-up of rows and classes shows), targets out of order
_LOGITS = torch.tensor([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
_LOG_PROBS = log_softmax(_LOGITS, dim=-1)
_TARGETS = torch.tensor([2, 0])


@wrong("cross_entropy.nll_loss", "forgets the minus sign: the loss is negative",
       rejected_by=["nll_reductions", "nll_non_negative", "nll_oracle", "nll_book"],
       probes=[(_LOG_PROBS, _TARGETS), probe(_LOG_PROBS, _TARGETS, reduction="none")],
       hint='The loss is minus the log-probability of the right class: -log_probs[range(n), targets], so it is never negative.')
def nll_no_minus(log_probs, targets, reduction="mean"):
    picked = log_probs[torch.arange(len(targets)), targets]
    return picked.mean() if reduction == "mean" else picked.sum() if reduction == "sum" else picked


@wrong("cross_entropy.nll_loss", "indexes with log_probs[:, targets]: an (n, n) block, not one value per row",
       rejected_by=["nll_reductions", "nll_oracle", "nll_book"],
       probes=[(_LOG_PROBS, _TARGETS), probe(_LOG_PROBS, _TARGETS, reduction="none")],
       hint='log_probs[torch.arange(n), targets] picks one value per row; log_probs[:, targets] picks whole columns.')
def nll_column_indexing(log_probs, targets, reduction="mean"):
    picked = -log_probs[:, targets]
    return picked.mean() if reduction == "mean" else picked.sum() if reduction == "sum" else picked


@wrong("cross_entropy.nll_loss", "swaps 'sum' and 'mean'",
       rejected_by=["nll_reductions", "nll_oracle", "nll_book"],
       probes=[(_LOG_PROBS, _TARGETS), probe(_LOG_PROBS, _TARGETS, reduction="sum")],
       hint="reduction='mean' averages the n losses (.mean()), 'sum' adds them up (.sum()).")
def nll_swapped_reductions(log_probs, targets, reduction="mean"):
    picked = -log_probs[torch.arange(len(targets)), targets]
    return picked.sum() if reduction == "mean" else picked.mean() if reduction == "sum" else picked


@wrong("cross_entropy.nll_loss", "no input checks: an out-of-range target gets torch's IndexError",
       rejected_by=["nll_bad_input"],
       probes=[(_LOG_PROBS, _TARGETS), (_LOG_PROBS, torch.tensor([0, 5]))],
       hint='Check the targets first: a class index outside [0, classes) should be a ValueError that says which range is allowed.')
def nll_unchecked(log_probs, targets, reduction="mean"):
    picked = -log_probs[torch.arange(len(targets)), targets]
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"bad reduction {reduction!r}")
    return picked.mean() if reduction == "mean" else picked.sum() if reduction == "sum" else picked


@wrong("cross_entropy.nll_loss", "calls F.nll_loss",
       rejected_by=["nll_reductions", "nll_non_negative", "nll_oracle", "nll_book"])
def nll_library(log_probs, targets, reduction="mean"):
    return F.nll_loss(log_probs, targets, reduction=reduction)


@wrong("cross_entropy.cross_entropy", "takes the log of softmax: inf for a confident wrong prediction",
       rejected_by=["ce_finite", "ce_oracle"],
       probes=[(torch.tensor([[0., -1e4], [1., 2.]]), torch.tensor([1, 0]))],
       hint='Use your log_softmax, which stays in log space: log(softmax(x)) is -inf wherever a probability rounds to 0.')
def ce_log_of_softmax(logits, targets, reduction="mean"):
    return nll_loss(softmax(logits, dim=-1).log(), targets, reduction=reduction)


@wrong("cross_entropy.cross_entropy", "softmax over the batch (dim=0) instead of the classes",
       rejected_by=["ce_shift", "ce_oracle", "ce_book"],
       probes=[(_LOGITS, _TARGETS)],
       hint='Take log_softmax over the classes (dim=-1, each row), not over the batch (dim=0).')
def ce_wrong_dim(logits, targets, reduction="mean"):
    return nll_loss(log_softmax(logits, dim=0), targets, reduction=reduction)


@wrong("cross_entropy.cross_entropy", "uses sigmoid on each logit, as for a binary problem",
       rejected_by=["ce_shift", "ce_oracle", "ce_book"],
       probes=[(_LOGITS, _TARGETS)],
       hint='Several classes compete, so use log_softmax over each row: sigmoid treats each logit as its own yes/no question.')
def ce_sigmoid(logits, targets, reduction="mean"):
    e = (-logits.abs()).exp()
    log_p = torch.where(logits >= 0, -(1 + e).log(), logits - (1 + e).log())
    return nll_loss(log_p, targets, reduction=reduction)


@wrong("cross_entropy.cross_entropy", "relies on nll_loss to check logits: the error talks of log_probs",
       rejected_by=["ce_bad_input"],
       probes=[(_LOGITS, _TARGETS), (torch.tensor([[1, 2], [0, 3]]), torch.tensor([0, 1]))],
       hint='Check logits yourself (a floating-point tensor of shape (n, classes)) and say so in words about logits, before calling log_softmax.')
def ce_unchecked(logits, targets, reduction="mean"):
    return nll_loss(log_softmax(logits, dim=-1), targets, reduction=reduction)


@wrong("cross_entropy.cross_entropy", "calls F.cross_entropy",
       rejected_by=["ce_finite", "ce_shift", "ce_oracle", "ce_book"])
def ce_library(logits, targets, reduction="mean"):
    return F.cross_entropy(logits, targets, reduction=reduction)


@wrong("cross_entropy.cross_entropy", "uses nn.CrossEntropyLoss, a module around the same library function",
       rejected_by=["ce_oracle"])
def ce_library_module(logits, targets, reduction="mean"):
    return torch.nn.CrossEntropyLoss(reduction=reduction)(logits, targets)


@wrong("cross_entropy.cross_entropy_grad", "forgets to divide by n: the gradient of the sum, not the mean",
       rejected_by=["grad_rows", "grad_oracle", "grad_book"],
       probes=[(_LOGITS, _TARGETS)],
       hint='The loss is the mean over the n rows, so its gradient is (softmax - one_hot) / n.')
def grad_no_mean(logits, targets):
    return softmax(logits, dim=-1) - F.one_hot(targets, logits.shape[1]).to(logits.dtype)


@wrong("cross_entropy.cross_entropy_grad", "one_hot - softmax: the sign is flipped",
       rejected_by=["grad_rows", "grad_oracle", "grad_book"],
       probes=[(_LOGITS, _TARGETS)],
       hint='The gradient is softmax - one_hot (divided by n): it is positive for the wrong classes.')
def grad_flipped(logits, targets):
    return (F.one_hot(targets, logits.shape[1]).to(logits.dtype) - softmax(logits, dim=-1)) / len(targets)


@wrong("cross_entropy.cross_entropy_grad", "divides by the number of classes instead of rows",
       rejected_by=["grad_oracle", "grad_book"],
       probes=[(_LOGITS, _TARGETS)],
       hint='Divide by n, the number of rows (logits.shape[0]), as the mean loss does, not by the number of classes.')
def grad_divides_by_classes(logits, targets):
    n, c = logits.shape
    return (softmax(logits, dim=-1) - F.one_hot(targets, c).to(logits.dtype)) / c


@wrong("cross_entropy.cross_entropy_grad", "uses autograd instead of the closed form",
       rejected_by=["grad_rows", "grad_oracle", "grad_book"])
def grad_autograd(logits, targets):
    leaf = logits.detach().clone().requires_grad_(True)
    loss = -log_softmax(leaf, dim=-1)[torch.arange(len(targets)), targets].mean()
    loss.backward()
    return leaf.grad


@wrong("cross_entropy.cross_entropy_grad", "right formula, but no input checks on targets",
       rejected_by=["grad_bad_input"],
       probes=[(_LOGITS, _TARGETS), (_LOGITS, torch.tensor([0, 7]))],
       hint='Check the targets first: a class index outside [0, classes) should be a ValueError that says which range is allowed.')
def grad_unchecked(logits, targets):
    n, c = logits.shape
    return (softmax(logits, dim=-1) - F.one_hot(targets, c).to(logits.dtype)) / n


# Right maths that changes the caller's tensors in place: only "leaves its input unchanged" rejects them.

def _classes(x, targets, name):
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim != 2:
        raise ValueError(f"{name} must be a floating-point tensor of shape (n, classes)")
    if not isinstance(targets, torch.Tensor) or targets.is_floating_point() or targets.dtype == torch.bool:
        raise TypeError("targets must be an integer tensor of class indices")
    if targets.shape != (x.shape[0],):
        raise ValueError(f"targets must have shape ({x.shape[0]},), got {tuple(targets.shape)}")
    if ((targets < 0) | (targets >= x.shape[1])).any():
        raise ValueError(f"targets must be class indices in [0, {x.shape[1]}), got {targets.tolist()}")


@wrong("cross_entropy.nll_loss", "negates the caller's log-probabilities in place (neg_) to pick the losses",
       rejected_by=["nll_loss_leaves_input_unchanged"])
def nll_negates_in_place(log_probs, targets, reduction="mean"):
    _classes(log_probs, targets, "log_probs")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    picked = log_probs.neg_()[torch.arange(len(targets)), targets]
    return picked.mean() if reduction == "mean" else picked.sum() if reduction == "sum" else picked


@wrong("cross_entropy.cross_entropy", "shifts the caller's activations in place (logits -= logits.max(...))",
       rejected_by=["cross_entropy_leaves_input_unchanged"])
def ce_shifts_in_place(logits, targets, reduction="mean"):
    _classes(logits, targets, "logits")
    logits -= logits.max(1, keepdim=True).values
    return nll_loss(logits - logits.exp().sum(1, keepdim=True).log(), targets, reduction=reduction)


@wrong("cross_entropy.cross_entropy_grad", "turns the caller's logits into the gradient in place and returns them",
       rejected_by=["cross_entropy_grad_leaves_input_unchanged"])
def grad_in_place(logits, targets):
    _classes(logits, targets, "logits")
    n = len(targets)
    p = logits.sub_(logits.max(1, keepdim=True).values).exp_()
    p /= p.sum(1, keepdim=True)
    p[torch.arange(n), targets] -= 1
    return p.div_(n)
