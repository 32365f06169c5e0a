"""Lesson `interpret`: reading the model's mistakes.

A confusion matrix counts, for every pair of classes, how often a pet of the first (actual) class
was predicted as the second; `most_confused` lists its largest off-diagonal cells, the pairs of
breeds the model mixes up; `error_rate` is the share of wrong predictions, fastai's usual metric.

Count with elementary tensor operations (indexing, comparisons, `torch.bincount`, or a plain loop):
scikit-learn's `confusion_matrix`, fastai's `ClassificationInterpretation` and fastai's
`error_rate`/`accuracy` are what the checks compare with, so calling them is reported as not your
own work. Check yourself with `petkit check interpret`.
"""
import torch


def confusion_matrix(preds: torch.Tensor, targets: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The (n_classes, n_classes) int64 matrix whose cell [a, p] counts the samples of actual class
    `a` (from `targets`) that were predicted as class `p` (from `preds`): rows are actual classes,
    columns predicted ones, as in fastai's `ClassificationInterpretation.confusion_matrix`.

    >>> confusion_matrix(torch.tensor([0, 2, 1, 1]), torch.tensor([0, 1, 1, 2]), 3)
    tensor([[1, 0, 0],
            [0, 1, 1],
            [0, 1, 0]])

    Lengths that differ, indices outside [0, n_classes), float indices or no samples at all are a
    clear ValueError or TypeError.
    """
    ### BEGIN SOLUTION
    if isinstance(n_classes, (bool, float)) or not hasattr(n_classes, "__index__"):
        raise TypeError(f"n_classes must be an int, got {type(n_classes).__name__}")
    n_classes = n_classes.__index__()  # an int, a numpy int or a 0-d integer tensor
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    for name, x in (("preds", preds), ("targets", targets)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(x).__name__}")
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer class indices, got dtype {x.dtype}; "
                            f"for predictions, take the arg-max of the activations first")
        if x.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one class index per sample), got shape {tuple(x.shape)}")
    if len(preds) != len(targets):
        raise ValueError(f"preds and targets must have the same length (one prediction per target), "
                         f"got {len(preds)} preds and {len(targets)} targets")
    if len(targets) == 0:
        raise ValueError("preds and targets are empty: a confusion matrix needs at least one sample")
    for name, x in (("preds", preds), ("targets", targets)):
        bad = ((x < 0) | (x >= n_classes)).nonzero()
        if len(bad):
            i = int(bad[0])
            raise ValueError(f"{name}[{i}] is {int(x[i])}, but class indices must be in the range "
                             f"[0, {n_classes}) for n_classes={n_classes}")
    # Cell [a, p] of an n x n matrix is entry a*n + p of its flattened form: count those entries.
    flat = targets.long() * n_classes + preds.long()
    return torch.bincount(flat, minlength=n_classes * n_classes).view(n_classes, n_classes)
    ### END SOLUTION


def most_confused(cm: torch.Tensor, vocab, min_val: int = 1) -> list[tuple[str, str, int]]:
    """The off-diagonal cells of `cm` with a count of at least `min_val`, as
    `(actual, predicted, count)` with the class names from `vocab` and `count` a Python int,
    largest count first; cells with the same count stay in row-major order (fastai's stable sort).

    >>> most_confused(torch.tensor([[5, 2], [3, 4]]), ["cat", "dog"])
    [('dog', 'cat', 3), ('cat', 'dog', 2)]

    `cm` must be a square integer tensor with one row per entry of `vocab`, and `min_val` at
    least 1; anything else is a clear ValueError or TypeError. `cm` itself is left unchanged.
    """
    ### BEGIN SOLUTION
    if not isinstance(cm, torch.Tensor):
        raise TypeError(f"cm must be a torch.Tensor of counts, got {type(cm).__name__}; "
                        f"use torch.as_tensor(cm)")
    if cm.is_floating_point() or cm.is_complex() or cm.dtype == torch.bool:
        raise TypeError(f"cm must hold integer counts, got dtype {cm.dtype}")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square matrix (classes x classes), got shape {tuple(cm.shape)}")
    if isinstance(vocab, str) or not hasattr(vocab, "__len__") or not hasattr(vocab, "__getitem__"):
        raise TypeError(f"vocab must be a list of class names, got {type(vocab).__name__}")
    if len(vocab) != cm.shape[0]:
        raise ValueError(f"vocab has {len(vocab)} class names but cm is {cm.shape[0]} x {cm.shape[1]}: "
                         f"they must match, one name per row")
    if isinstance(min_val, bool) or not isinstance(min_val, int):
        raise TypeError(f"min_val must be an int, got {type(min_val).__name__}")
    if min_val < 1:
        raise ValueError(f"min_val must be at least 1 (a pair never confused is no confusion), got {min_val}")
    off_diagonal = cm.clone()
    off_diagonal.fill_diagonal_(0)
    cells = (off_diagonal >= min_val).nonzero().tolist()  # nonzero lists cells in row-major order
    pairs = [(vocab[a], vocab[p], int(off_diagonal[a, p])) for a, p in cells]
    return sorted(pairs, key=lambda pair: pair[2], reverse=True)  # sorted() is stable
    ### END SOLUTION


def error_rate(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """The share of rows of `logits` (n, classes) whose arg-max is not the row's target, as a
    Python float in [0, 1]. Ties go to the first largest logit, as `torch.argmax` decides them.

    >>> error_rate(torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 1.0]]), torch.tensor([0, 0, 1]))
    0.6666666666666666

    logits that are not 2-D, targets of the wrong length, dtype or range, or no rows at all are a
    clear ValueError or TypeError.
    """
    ### BEGIN SOLUTION
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError("logits must be a floating-point tensor of shape (n, classes), got "
                        + (f"dtype {logits.dtype}" if isinstance(logits, torch.Tensor) else type(logits).__name__))
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-D, of shape (n, classes), got shape {tuple(logits.shape)}")
    n, classes = logits.shape
    if not isinstance(targets, torch.Tensor) or targets.is_floating_point() or targets.dtype == torch.bool:
        raise TypeError("targets must be a tensor of integer class indices, got "
                        + (f"dtype {targets.dtype}" if isinstance(targets, torch.Tensor) else type(targets).__name__))
    if targets.ndim != 1 or len(targets) != n:
        raise ValueError(f"targets must be 1-D with the same length as logits has rows: {n} rows of "
                         f"logits, targets of shape {tuple(targets.shape)}")
    if n == 0 or classes == 0:
        raise ValueError(f"logits of shape {tuple(logits.shape)} are empty: an error rate needs at least "
                         f"one row and one class")
    bad = ((targets < 0) | (targets >= classes)).nonzero()
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"targets[{i}] is {int(targets[i])}, but there are {classes} classes: "
                         f"targets must be class indices in the range [0, {classes})")
    wrong = logits.argmax(dim=1) != targets  # argmax picks the first of equal maxima
    return int(wrong.sum()) / n
    ### END SOLUTION
