# Exercises for lesson `interpret`, written by `petkit sync` from solutions/interpret.py.
# Replace each `raise NotImplementedError(...)` with your code; check it with `petkit check interpret`.

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
    # YOUR CODE HERE
    raise NotImplementedError("interpret.confusion_matrix is not written yet: replace this line with your code (stuck? run `petkit hint interpret.confusion_matrix`)")


def most_confused(cm: torch.Tensor, vocab, min_val: int = 1) -> list[tuple[str, str, int]]:
    """The off-diagonal cells of `cm` with a count of at least `min_val`, as
    `(actual, predicted, count)` with the class names from `vocab` and `count` a Python int,
    largest count first; cells with the same count stay in row-major order (fastai's stable sort).

    >>> most_confused(torch.tensor([[5, 2], [3, 4]]), ["cat", "dog"])
    [('dog', 'cat', 3), ('cat', 'dog', 2)]

    `cm` must be a square integer tensor with one row per entry of `vocab`, and `min_val` at
    least 1; anything else is a clear ValueError or TypeError. `cm` itself is left unchanged.
    """
    # YOUR CODE HERE
    raise NotImplementedError("interpret.most_confused is not written yet: replace this line with your code (stuck? run `petkit hint interpret.most_confused`)")


def error_rate(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """The share of rows of `logits` (n, classes) whose arg-max is not the row's target, as a
    Python float in [0, 1]. Ties go to the first largest logit, as `torch.argmax` decides them.

    >>> error_rate(torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 1.0]]), torch.tensor([0, 0, 1]))
    0.6666666666666666

    logits that are not 2-D, targets of the wrong length, dtype or range, or no rows at all are a
    clear ValueError or TypeError.
    """
    # YOUR CODE HERE
    raise NotImplementedError("interpret.error_rate is not written yet: replace this line with your code (stuck? run `petkit hint interpret.error_rate`)")
