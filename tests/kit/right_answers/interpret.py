"""Right answers to lesson `interpret`, written as course notebooks and people's homework write them."""
import torch

from petkit.corpus import right


@right("interpret.confusion_matrix", "a Python loop adding 1 to cm[actual, predicted]")
def cm_loop(preds, targets, n_classes):
    cm = torch.zeros(n_classes, n_classes, dtype=torch.long)
    for a, p in zip(targets.tolist(), preds.tolist()):
        cm[a, p] += 1
    return cm


@right("interpret.confusion_matrix", "index_put_ with accumulate=True")
def cm_index_put(preds, targets, n_classes):
    cm = torch.zeros(n_classes, n_classes, dtype=torch.long)
    return cm.index_put_((targets.long(), preds.long()), torch.ones(len(preds), dtype=torch.long), accumulate=True)


@right("interpret.confusion_matrix", "bincount of the flat index actual * n + predicted, in int64")
def cm_bincount(preds, targets, n_classes):
    flat = targets.long() * n_classes + preds.long()
    return torch.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


@right("interpret.most_confused", "loops over the off-diagonal cells, then a stable sort by count")
def mc_loops(cm, vocab, min_val=1):
    pairs = [(vocab[a], vocab[p], int(cm[a, p])) for a in range(len(vocab)) for p in range(len(vocab))
             if a != p and cm[a, p] >= min_val]
    return sorted(pairs, key=lambda t: -t[2])


@right("interpret.error_rate", "1 - the mean of (argmax == targets) in float32")
def er_one_minus_accuracy(logits, targets):
    return 1 - (logits.argmax(dim=1) == targets).float().mean().item()


@right("interpret.error_rate", "a count of wrong rows over n")
def er_count(logits, targets):
    return sum(int(p) != int(t) for p, t in zip(logits.argmax(-1), targets)) / len(targets)
