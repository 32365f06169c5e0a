"""Wrong answers to lesson `interpret` that learners really write, and the checks that catch them."""
from operator import itemgetter

import torch

from petkit.corpus import wrong


def _reference(name, *args):
    """The reference answer's input checks, for the in-place mistakes below (which differ only in
    what they do to their input)."""
    import importlib
    return getattr(importlib.import_module("solutions.interpret"), name)(*args)

CM_CHECKS = ["cm_counts", "cm_each_sample", "cm_oracle", "cm_book"]


# --- confusion_matrix --------------------------------------------------------------------------

@wrong("interpret.confusion_matrix", "transposed: rows are the predicted classes and columns the actual ones",
       rejected_by=CM_CHECKS,
       probes=[(torch.tensor([0, 1, 1, 2]), torch.tensor([1, 1, 2, 2]), 3)],
       hint='Rows are the actual classes (targets) and columns the predicted ones: cm[target, pred] += 1, i.e. targets * n_classes + preds.')
def cm_transposed(preds, targets, n_classes):
    flat = preds.long() * n_classes + targets.long()
    return torch.bincount(flat, minlength=n_classes * n_classes).view(n_classes, n_classes)


@wrong("interpret.confusion_matrix", "sizes the matrix by the largest index seen instead of n_classes "
       "(bincount without minlength): too small when the last classes never occur",
       rejected_by=["cm_counts", "cm_each_sample", "cm_oracle"],
       probes=[(torch.tensor([0, 1]), torch.tensor([1, 0]), 3)],
       hint='The matrix is n_classes x n_classes whatever the data: pass minlength=n_classes * n_classes to bincount.')
def cm_size_from_data(preds, targets, n_classes):
    n = int(max(preds.max(), targets.max())) + 1
    return torch.bincount(targets.long() * n + preds.long()).view(n, n)


@wrong("interpret.confusion_matrix", "counts in a loop into torch.zeros(n, n), which is float32, not int64",
       rejected_by=CM_CHECKS,
       probes=[(torch.tensor([0, 1, 1, 2]), torch.tensor([1, 1, 2, 2]), 3)],
       hint='Counts are integers: start from torch.zeros(n, n, dtype=torch.long) (or use bincount, which counts in int64).')
def cm_float_counts(preds, targets, n_classes):
    cm = torch.zeros(n_classes, n_classes)
    for t, p in zip(targets.tolist(), preds.tolist()):
        cm[t, p] += 1
    return cm


@wrong("interpret.confusion_matrix", "no cast to int64: targets * n_classes + preds overflows a uint8 for 37 breeds",
       rejected_by=["cm_oracle"],
       probes=[(torch.tensor([36, 1], dtype=torch.uint8), torch.tensor([36, 0], dtype=torch.uint8), 37)],
       hint='Cast to int64 first (targets.long() * n_classes + preds.long()): 36 * 37 does not fit in a uint8.')
def cm_no_long_cast(preds, targets, n_classes):
    return torch.bincount(targets * n_classes + preds, minlength=n_classes * n_classes).view(n_classes, n_classes)


@wrong("interpret.confusion_matrix", "right counts, but no input checks: a pred of n_classes lands in the "
       "next row, a negative one gets torch's bincount error",
       rejected_by=["cm_bad_input"],
       probes=[(torch.tensor([0, 1, 1, 2]), torch.tensor([1, 1, 2, 2]), 3), (torch.tensor([3]), torch.tensor([0]), 3), (torch.tensor([-1]), torch.tensor([0]), 3)],
       hint='Check the inputs first: a pred or target outside [0, n_classes) should be a ValueError that says so, not land in another cell.')
def cm_unchecked(preds, targets, n_classes):
    flat = targets.long() * n_classes + preds.long()
    return torch.bincount(flat, minlength=n_classes * n_classes).view(n_classes, n_classes)


@wrong("interpret.confusion_matrix", "calls scikit-learn's confusion_matrix",
       rejected_by=CM_CHECKS)
def cm_sklearn(preds, targets, n_classes):
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix
    return torch.as_tensor(sk_confusion_matrix(targets.numpy(), preds.numpy(), labels=list(range(n_classes))))


# --- most_confused -----------------------------------------------------------------------------

@wrong("interpret.most_confused", "forgets to zero the diagonal, so right predictions show up as (breed, breed, count)",
       rejected_by=["mc_cells", "mc_oracle", "mc_book"],
       probes=[(torch.tensor([[5, 2, 0], [1, 4, 3], [0, 0, 6]]), ["a", "b", "c"])],
       hint='Zero the diagonal of a copy first (m = cm.clone(); m.fill_diagonal_(0)): right predictions are not confusions.')
def mc_keeps_diagonal(cm, vocab, min_val=1):
    pairs = [(vocab[a], vocab[p], int(cm[a, p])) for a, p in (cm >= min_val).nonzero().tolist()]
    return sorted(pairs, key=itemgetter(2), reverse=True)


@wrong("interpret.most_confused", "sorts ascending and then reverses the list, which reverses the order of ties too",
       rejected_by=["mc_order", "mc_oracle", "mc_book"],
       probes=[(torch.tensor([[0, 2, 2], [2, 0, 1], [3, 0, 0]]), ["a", "b", "c"])],
       hint='Sort once with reverse=True (sorted is stable): ties keep their row-major order, which [::-1] reverses.')
def mc_reversed_ties(cm, vocab, min_val=1):
    m = cm.clone()
    m.fill_diagonal_(0)
    pairs = [(vocab[a], vocab[p], int(m[a, p])) for a, p in (m >= min_val).nonzero().tolist()]
    return sorted(pairs, key=itemgetter(2))[::-1]


@wrong("interpret.most_confused", "keeps counts > min_val instead of >= min_val",
       rejected_by=["mc_cells", "mc_oracle", "mc_book"],
       probes=[(torch.tensor([[5, 2, 1], [1, 4, 3], [0, 0, 6]]), ["a", "b", "c"])],
       hint='min_val is the smallest count to keep: compare with >=, not >.')
def mc_strictly_greater(cm, vocab, min_val=1):
    m = cm.clone()
    m.fill_diagonal_(0)
    pairs = [(vocab[a], vocab[p], int(m[a, p])) for a, p in (m > min_val).nonzero().tolist()]
    return sorted(pairs, key=itemgetter(2), reverse=True)


@wrong("interpret.most_confused", "zeroes the diagonal of the caller's matrix in place (fill_diagonal_ without a copy)",
       rejected_by=["most_confused_leaves_input_unchanged"],
       probes=[(torch.tensor([[5, 2, 1], [1, 4, 3], [0, 0, 6]]), ["a", "b", "c"])],
       hint="Work on a copy (cm.clone()): the caller's matrix must keep its diagonal.")
def mc_mutates_cm(cm, vocab, min_val=1):
    cm.fill_diagonal_(0)
    pairs = [(vocab[a], vocab[p], int(cm[a, p])) for a, p in (cm >= min_val).nonzero().tolist()]
    return sorted(pairs, key=itemgetter(2), reverse=True)


@wrong("interpret.most_confused", "counts left as 0-d tensors (cm[a, p]) instead of Python ints",
       rejected_by=["mc_cells", "mc_order", "mc_oracle", "mc_book"],
       probes=[(torch.tensor([[5, 2, 1], [1, 4, 3], [0, 0, 6]]), ["a", "b", "c"])],
       hint="Turn each count into a Python int (int(m[a, p])), as the exercise's return type says.")
def mc_tensor_counts(cm, vocab, min_val=1):
    m = cm.clone()
    m.fill_diagonal_(0)
    pairs = [(vocab[a], vocab[p], m[a, p]) for a, p in (m >= min_val).nonzero().tolist()]
    return sorted(pairs, key=lambda t: int(t[2]), reverse=True)


@wrong("interpret.most_confused", "right list, but no input checks: a vocab of the wrong length or min_val=0 pass silently",
       rejected_by=["mc_bad_input"],
       probes=[(torch.tensor([[5, 2, 1], [1, 4, 3], [0, 0, 6]]), ["a", "b", "c"]), (torch.tensor([[5, 2, 1], [1, 4, 3], [0, 0, 6]]), ["a", "b", "c", "d"]), (torch.tensor([[5, 2], [1, 4]]), ["a", "b"], 0)],
       hint="Check the inputs first: a vocab whose length is not the matrix's size, or min_val below 1, should be a ValueError that says so.")
def mc_unchecked(cm, vocab, min_val=1):
    m = cm.clone()
    m.fill_diagonal_(0)
    pairs = [(vocab[a], vocab[p], int(m[a, p])) for a, p in (m >= min_val).nonzero().tolist()]
    return sorted(pairs, key=itemgetter(2), reverse=True)


@wrong("interpret.most_confused", "runs fastai's ClassificationInterpretation.most_confused on a stand-in object",
       rejected_by=["mc_cells", "mc_order", "mc_oracle", "mc_book"])
def mc_fastai(cm, vocab, min_val=1):
    from fastai.interpret import ClassificationInterpretation
    interp = ClassificationInterpretation.__new__(ClassificationInterpretation)
    interp.vocab, interp.confusion_matrix = list(vocab), lambda: cm.numpy().copy()
    return [(a, p, int(n)) for a, p, n in interp.most_confused(min_val)]


# --- error_rate --------------------------------------------------------------------------------

@wrong("interpret.error_rate", "returns the accuracy (the share of right rows) instead of the error rate",
       rejected_by=["er_share", "er_ties", "er_oracle", "er_book"],
       probes=[(torch.tensor([[2., 1.], [0., 3.], [4., 1.]]), torch.tensor([0, 0, 1]))],
       hint='The error rate is the share of rows whose arg-max is NOT the target: 1 - accuracy.')
def er_accuracy(logits, targets):
    return int((logits.argmax(dim=1) == targets).sum()) / len(targets)


@wrong("interpret.error_rate", "counts a row as right when the target's logit equals the row's max, so a tie "
       "the model broke the other way counts as right",
       rejected_by=["er_ties", "er_oracle"],
       probes=[(torch.tensor([[1., 1.], [0., 3.]]), torch.tensor([1, 1]))],
       hint="A row is right only when argmax(dim=1) equals the target: on a tie, argmax picks the first class, as the model's prediction does.")
def er_ties_count_as_right(logits, targets):
    picked = logits[torch.arange(len(targets)), targets]
    return int((picked < logits.max(dim=1).values).sum()) / len(targets)


@wrong("interpret.error_rate", "returns a 0-d tensor, as fastai's metric does, instead of a Python float",
       rejected_by=["er_share", "er_ties", "er_oracle", "er_book"],
       probes=[(torch.tensor([[2., 1.], [0., 3.], [4., 1.]]), torch.tensor([0, 0, 1]))],
       hint="Return a Python float (.item() or float(...)), as the exercise's return type says.")
def er_tensor(logits, targets):
    return (logits.argmax(dim=1) != targets).float().mean()


@wrong("interpret.error_rate", "takes the arg-max over dim 0 (across the batch) instead of over the classes",
       rejected_by=["er_share", "er_oracle", "er_book"],
       probes=[(torch.tensor([[2., 1.], [3., 0.]]), torch.tensor([0, 1]))],
       hint='Take the arg-max over the classes (dim=1, along each row), not over the batch.')
def er_argmax_dim0(logits, targets):
    return (logits.argmax(dim=0) != targets).float().mean().item()


@wrong("interpret.error_rate", "right rate, but no input checks: mismatched lengths broadcast, no rows give nan",
       rejected_by=["er_bad_input"],
       probes=[(torch.tensor([[2., 1.], [0., 3.], [4., 1.]]), torch.tensor([0, 0, 1])), (torch.tensor([[2., 1.], [0., 3.]]), torch.tensor([0])), (torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))],
       hint='Check the inputs first: one target per row (else a ValueError that gives both lengths), and at least one row.')
def er_unchecked(logits, targets):
    return (logits.argmax(dim=-1) != targets).float().mean().item()


@wrong("interpret.error_rate", "calls fastai.metrics.error_rate",
       rejected_by=["er_share", "er_ties", "er_oracle", "er_book"])
def er_fastai(logits, targets):
    from fastai.metrics import error_rate as fastai_error_rate
    return float(fastai_error_rate(logits, targets))


@wrong("interpret.error_rate", "1 - scikit-learn's accuracy_score (caught through the helper every sklearn "
       "classification metric calls, however it was imported)",
       rejected_by=["er_share", "er_ties", "er_oracle", "er_book"])
def er_sklearn_accuracy(logits, targets):
    from sklearn.metrics import accuracy_score
    return 1 - accuracy_score(targets.numpy(), logits.argmax(dim=1).numpy())


# Right counts that change the caller's tensors in place: only "leaves its input unchanged" rejects them.

@wrong("interpret.confusion_matrix", "folds preds into the caller's targets in place (targets.mul_(n).add_(preds))",
       rejected_by=["confusion_matrix_leaves_input_unchanged"])
def cm_folds_in_place(preds, targets, n_classes):
    _reference("confusion_matrix", preds, targets, n_classes)  # the same input checks as the reference
    flat = targets.long() if targets.dtype == torch.uint8 else targets
    flat = flat.mul_(n_classes).add_(preds.long())
    return torch.bincount(flat.long(), minlength=n_classes * n_classes).view(n_classes, n_classes)


@wrong("interpret.error_rate", "shifts the caller's logits in place before the arg-max",
       rejected_by=["error_rate_leaves_input_unchanged"])
def er_shifts_in_place(logits, targets):
    _reference("error_rate", logits, targets)  # the same input checks as the reference
    logits -= logits.max(1, keepdim=True).values
    return int((logits.argmax(1) != targets).sum()) / len(targets)
