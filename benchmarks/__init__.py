"""Benchmarks that print ratios (the targets are ratios measured in one run, on one quiet machine).
Each runs from the checkout as `python -m benchmarks.NAME` (with the kit's .venv python):

    check      petkit check on a maths lesson against `python -c "import torch"`
    data       how learnable the synthetic pets are in a fixed budget
    lr_find    the hand-written lr_find against fastai's, on the same learner
    transfer   a pretrained body against training from scratch; fine_tune against fastai's
    grade      petkit grade autograde (one by one, --workers N) against nbgrader's own autograde
    report     petkit grade report on a class of 200 generated students

They are not part of the package, and the test suite never times anything.
"""
