"""Right answers to lesson `cross_entropy`, written as textbooks and course notebooks write them.
They build on the reference softmax lesson, as a learner's build on their own."""
import torch
import torch.nn.functional as F

from petkit.corpus import right
from solutions.softmax import log_softmax, softmax


def _pick(losses, reduction):
    return losses.mean() if reduction == "mean" else losses.sum() if reduction == "sum" else losses


@right("cross_entropy.nll_loss", "-log_probs[range(n), targets], as the book indexes")
def nll_indexing(log_probs, targets, reduction="mean"):
    return _pick(-log_probs[range(len(targets)), targets], reduction)


@right("cross_entropy.nll_loss", "-log_probs.gather(1, targets[:, None])")
def nll_gather(log_probs, targets, reduction="mean"):
    return _pick(-log_probs.gather(1, targets.long().unsqueeze(1)).squeeze(1), reduction)


@right("cross_entropy.nll_loss", "minus the sum of one_hot(targets) * log_probs over the classes")
def nll_one_hot(log_probs, targets, reduction="mean"):
    mask = F.one_hot(targets.long(), log_probs.shape[1]).bool()
    return _pick(-torch.where(mask, log_probs, torch.zeros_like(log_probs)).sum(1), reduction)


@right("cross_entropy.cross_entropy", "nll_loss(log_softmax(logits)), as the book composes them")
def ce_composed(logits, targets, reduction="mean"):
    return _pick(-log_softmax(logits, dim=1)[torch.arange(len(targets)), targets], reduction)


@right("cross_entropy.cross_entropy", "logsumexp(logits) - logits[target], logsumexp max-shifted")
def ce_logsumexp_minus_target(logits, targets, reduction="mean"):
    m = logits.amax(1, keepdim=True)
    lse = (m + (logits - m).exp().sum(1, keepdim=True).log()).squeeze(1)
    return _pick(lse - logits[torch.arange(len(targets)), targets], reduction)


@right("cross_entropy.cross_entropy_grad", "(softmax - one_hot) / n, the closed form")
def grad_closed_form(logits, targets):
    n, c = logits.shape
    return (softmax(logits, dim=1) - F.one_hot(targets, c).to(logits.dtype)) / n


@right("cross_entropy.cross_entropy_grad", "softmax, minus 1 at each row's target, over n")
def grad_subtract_one(logits, targets):
    p = softmax(logits, dim=1).clone()
    p[torch.arange(len(targets)), targets] -= 1
    return p / len(targets)


@right("cross_entropy.cross_entropy_grad", "exp(log_softmax) - one_hot, over n")
def grad_from_log_softmax(logits, targets):
    one_hot = torch.zeros_like(logits)
    one_hot[torch.arange(len(targets)), targets] = 1
    return (log_softmax(logits, dim=1).exp() - one_hot) / logits.shape[0]
