"""Checks for lesson `interpret`: confusion_matrix, most_confused, error_rate.

The oracles are scikit-learn's `confusion_matrix`, fastai's own `ClassificationInterpretation`
methods (run on given predictions, see `_fastai_interpretation`) and `fastai.metrics.error_rate`;
they are imported inside the checks, so that loading this module stays as cheap as `import torch`.
"""
import warnings

import torch
from hypothesis import strategies as st

from petkit.checks import book
from petkit.checks.core import CheckFailure, check, forbid, show
from petkit.checks.expect import expect_close, expect_raises, require
from petkit.checks.inputs import leaves_input_unchanged
from petkit.checks.strategies import prop

LESSON = ["interpret.confusion_matrix", "interpret.most_confused", "interpret.error_rate"]
# What the lesson asks you to write yourself ("module:attribute", see core._call_watching). A module
# attribute is swapped only while the answer runs, so a name imported *before* the call (a
# `from sklearn.metrics import confusion_matrix` at the top of the file) would slip past it: hence
# also the helpers those functions look up at call time. Every scikit-learn classification metric
# goes through `_check_targets`; fastai's `error_rate` calls `accuracy`, which calls `flatten_check`.
# (torchmetrics is not installed with petkit; add its functions here if it ever is.)
LIBRARY_METRICS = [
    "sklearn.metrics:confusion_matrix", "sklearn.metrics._classification:confusion_matrix",
    "sklearn.metrics._classification:_check_targets",
    "fastai.interpret:ClassificationInterpretation.confusion_matrix",
    "fastai.interpret:ClassificationInterpretation.most_confused",
    "fastai.metrics:error_rate", "fastai.metrics:accuracy", "fastai.metrics:flatten_check",
]
forbid(LESSON, LIBRARY_METRICS,
       why="Count it yourself with tensor operations (comparisons, indexing, argmax, torch.bincount) or "
           "a plain loop; scikit-learn's and fastai's versions (their confusion_matrix, most_confused, "
           "accuracy and error_rate, and the helpers they call) are what the checks compare with.")

INT_DTYPES = (torch.int64, torch.int32, torch.uint8)  # uint8: t * 37 + p overflows it without a cast
FLOAT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)

# The 37 breeds of Oxford-IIIT Pets, in fastai's vocab order (sorted: the capitalised cats first).
BREEDS = (
    "Abyssinian", "Bengal", "Birman", "Bombay", "British_Shorthair", "Egyptian_Mau", "Maine_Coon",
    "Persian", "Ragdoll", "Russian_Blue", "Siamese", "Sphynx", "american_bulldog",
    "american_pit_bull_terrier", "basset_hound", "beagle", "boxer", "chihuahua",
    "english_cocker_spaniel", "english_setter", "german_shorthaired", "great_pyrenees", "havanese",
    "japanese_chin", "keeshond", "leonberger", "miniature_pinscher", "newfoundland", "pomeranian", "pug",
    "saint_bernard", "samoyed", "scottish_terrier", "shiba_inu", "staffordshire_bull_terrier",
    "wheaten_terrier", "yorkshire_terrier",
)

# --- the book's worked example -----------------------------------------------------------------
# Chapter 5 prints `interp.most_confused(min_val=5)` for its pets model:
#   [('american_pit_bull_terrier', 'staffordshire_bull_terrier', 10), ('Ragdoll', 'Birman', 8),
#    ('Siamese', 'Birman', 6), ('Bengal', 'Egyptian_Mau', 5), ('american_pit_bull_terrier', 'american_bulldog', 5)]
# BOOK_CM is a hand-written confusion matrix over the eight breeds in that list (a stand-in for the
# book's 37 x 37 one, which it does not print) whose off-diagonal cells of 5 or more are exactly the
# book's pairs. Rows are actual breeds, columns predicted, in fastai's sorted vocab order.
BOOK_VOCAB = ["Bengal", "Birman", "Egyptian_Mau", "Ragdoll", "Siamese",
              "american_bulldog", "american_pit_bull_terrier", "staffordshire_bull_terrier"]
BOOK_CM = [
    # Ben Bir  EM  Rag Sia  ab  apbt staff      (predicted)
    [30,   0,  5,   0,  1,   0,   0,  0],   # Bengal
    [0,   33,  0,   4,  2,   0,   0,  0],   # Birman
    [3,    0, 34,   0,  0,   0,   0,  0],   # Egyptian_Mau
    [0,    8,  0,  29,  1,   0,   0,  0],   # Ragdoll
    [0,    6,  0,   1, 32,   0,   0,  0],   # Siamese
    [0,    0,  0,   0,  0,  35,   4,  2],   # american_bulldog
    [0,    0,  0,   0,  0,   5,  22, 10],   # american_pit_bull_terrier
    [0,    0,  0,   0,  0,   1,   4, 33],   # staffordshire_bull_terrier
]
# The book's list, word for word. The two pairs confused 5 times keep row-major order: Bengal's row
# (0) comes before american_pit_bull_terrier's (6), as fastai's stable sort leaves them.
BOOK_MOST_CONFUSED_5 = [
    ("american_pit_bull_terrier", "staffordshire_bull_terrier", 10),
    ("Ragdoll", "Birman", 8),
    ("Siamese", "Birman", 6),
    ("Bengal", "Egyptian_Mau", 5),
    ("american_pit_bull_terrier", "american_bulldog", 5),
]
# min_val=4 adds the three cells of 4, again in row-major order: Birman's row (1), then
# american_bulldog's (5), then staffordshire_bull_terrier's (7).
BOOK_MOST_CONFUSED_4 = BOOK_MOST_CONFUSED_5 + [
    ("Birman", "Ragdoll", 4),
    ("american_bulldog", "american_pit_bull_terrier", 4),
    ("staffordshire_bull_terrier", "american_pit_bull_terrier", 4),
]
# 305 pets in all (the row sums), 248 on the diagonal, so 57 mistakes.
BOOK_PETS, BOOK_MISTAKES = 305, 57
# The contract's own small example: preds [0, 2, 1, 1] against targets [0, 1, 1, 2], 3 classes.
SMALL_PREDS, SMALL_TARGETS = [0, 2, 1, 1], [0, 1, 1, 2]
SMALL_CM = [[1, 0, 0],   # the class-0 sample was predicted 0
            [0, 1, 1],   # of the two class-1 samples, one was predicted 1 and one 2
            [0, 1, 0]]   # the class-2 sample was predicted 1
# The book's `torch.manual_seed(42); acts = torch.randn((6, 2)) * 2` with targets [0, 1, 0, 1, 1, 0]:
# its softmax column 0 is [0.6025, 0.5021, 0.1332, 0.9966, 0.5959, 0.3661], so the arg-max is
# [0, 0, 1, 0, 0, 1] and only row 0 is right: an error rate of 5/6.
BOOK_ACTS_ERROR_RATE = 5 / 6


def _book_samples():
    """preds and targets of the 305 pets whose confusion matrix is BOOK_CM, in a shuffled order."""
    pairs = [(a, p) for a, row in enumerate(BOOK_CM) for p, count in enumerate(row) for _ in range(count)]
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(5))
    pairs = [pairs[i] for i in order.tolist()]
    return torch.tensor([p for _, p in pairs]), torch.tensor([a for a, _ in pairs])


# --- strategies --------------------------------------------------------------------------------

def _classes():
    """A few classes, or the pets' 37 (where t * 37 + p no longer fits in a uint8)."""
    return st.one_of(st.integers(1, 6), st.just(len(BREEDS)))


@st.composite
def _predictions(draw):
    """(preds, targets, n_classes): class indices in [0, n_classes), the same length, any int dtype."""
    c = draw(_classes())
    n = draw(st.integers(1, 30))
    dtype = draw(st.sampled_from(INT_DTYPES))
    indices = st.lists(st.integers(0, c - 1), min_size=n, max_size=n)
    return torch.tensor(draw(indices), dtype=dtype), torch.tensor(draw(indices), dtype=dtype), c


@st.composite
def _matrices(draw):
    """(cm, vocab, min_val): small counts, so that many cells tie; vocab sorted as fastai sorts it."""
    c = draw(st.integers(1, 6))
    top = draw(st.sampled_from([2, 9]))
    counts = draw(st.lists(st.integers(0, top), min_size=c * c, max_size=c * c))
    cm = torch.tensor(counts, dtype=draw(st.sampled_from((torch.int64, torch.int32)))).view(c, c)
    vocab = sorted(draw(st.lists(st.sampled_from(BREEDS), min_size=c, max_size=c, unique=True)))
    return cm, vocab, draw(st.integers(1, 3))


@st.composite
def _scored(draw, ties: bool = False, dtypes=FLOAT_DTYPES):
    """(logits (n, c), targets): with `ties`, logits of 0 or 1 only, so most rows have equal maxima."""
    n, c = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    dtype = draw(st.sampled_from(dtypes))
    if ties:
        values = st.integers(0, 1).map(float)
    else:
        magnitude = draw(st.sampled_from([10.0, 1e4]))
        values = st.floats(-magnitude, magnitude, allow_nan=False, width=16)
    logits = torch.tensor(draw(st.lists(values, min_size=n * c, max_size=n * c)), dtype=dtype).view(n, c)
    targets = torch.tensor(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=torch.long)
    return logits, targets


# --- helpers -----------------------------------------------------------------------------------

def _fastai_interpretation(vocab, preds=None, targets=None, cm=None):
    """A real fastai `ClassificationInterpretation` whose methods read the given predictions (or
    the given matrix) instead of running a Learner: its `confusion_matrix()` gets them from
    `learn.get_preds`, and `most_confused()` starts from `self.confusion_matrix()`."""
    from types import SimpleNamespace

    from fastai.interpret import ClassificationInterpretation
    interp = ClassificationInterpretation.__new__(ClassificationInterpretation)
    interp.vocab, interp.act, interp.dl = list(vocab), None, None
    interp.learn = SimpleNamespace(get_preds=lambda **_: (None, targets, preds))
    if cm is not None:
        interp.confusion_matrix = lambda: cm.numpy().copy()  # fastai fills its diagonal in place
    return interp


def _matrix(confusion_matrix, preds, targets, c) -> torch.Tensor:
    cm = confusion_matrix(preds, targets, c)
    what = f"confusion_matrix(preds, targets, {c})"
    if not isinstance(cm, torch.Tensor):
        raise CheckFailure(f"{what} should return a torch.Tensor, but it returned {type(cm).__name__}: {show(cm)}")
    require(tuple(cm.shape) == (c, c), f"{what} should have shape ({c}, {c}), a row and a column for every class "
                                       f"(even one that never occurs), but it has shape {tuple(cm.shape)}")
    require(cm.dtype == torch.int64, f"{what} should hold int64 counts (a LongTensor), but its dtype is {cm.dtype}")
    return cm


def _same(got: torch.Tensor, want, *, what: str, expected_name: str) -> None:
    expect_close(got, torch.as_tensor(want, dtype=torch.int64), rtol=0, atol=0, what=what,
                 expected_name=expected_name)


def _pairs(result, call: str) -> list:
    """The answer of most_confused, checked to be a list of (str, str, int)."""
    if not isinstance(result, list):
        raise CheckFailure(f"{call} should return a list of (actual, predicted, count) tuples, but it "
                           f"returned {type(result).__name__}: {show(result)}")
    for item in result:
        ok = isinstance(item, tuple) and len(item) == 3
        if not ok or not isinstance(item[0], str) or not isinstance(item[1], str):
            raise CheckFailure(f"{call} should hold (actual, predicted, count) tuples with the class names from "
                               f"vocab first, but one item is {show(item)}")
        if not isinstance(item[2], int) or isinstance(item[2], bool):
            raise CheckFailure(f"{call} should hold (actual, predicted, count) tuples with count a Python int "
                               f"(use int(...)), but one item is {show(item)} of types "
                               f"{tuple(type(v).__name__ for v in item)}")
    return result


# --- confusion_matrix --------------------------------------------------------------------------

@check("interpret.confusion_matrix", "property",
       "the counts add up: n in all, row sums = the targets' class counts, column sums = the preds', "
       "the diagonal = the right predictions")
def cm_counts(confusion_matrix):
    @prop(_predictions())
    def p(case):
        preds, targets, c = case
        cm = _matrix(confusion_matrix, preds, targets, c)
        t, q = targets.long(), preds.long()
        require(int(cm.sum()) == len(t), f"confusion_matrix's counts add up to {int(cm.sum())}, but there are "
                                         f"{len(t)} samples: each should be counted exactly once")
        _same(cm.sum(1), torch.bincount(t, minlength=c), what="the row sums of the confusion matrix",
              expected_name="how often each class occurs in targets: rows are the actual classes")
        _same(cm.sum(0), torch.bincount(q, minlength=c), what="the column sums of the confusion matrix",
              expected_name="how often each class occurs in preds: columns are the predicted classes")
        right = int((t == q).sum())
        require(int(cm.trace()) == right, f"the diagonal of the confusion matrix adds up to {int(cm.trace())}, "
                                          f"but {right} of the {len(t)} predictions are right")
    p()


@check("interpret.confusion_matrix", "property",
       "one more sample of actual class a predicted as p adds 1 to cell [a, p] only; the order of samples does not matter")
def cm_each_sample(confusion_matrix):
    @prop(_predictions(), st.data())
    def p(case, data):
        preds, targets, c = case
        cm = _matrix(confusion_matrix, preds, targets, c)
        order = torch.tensor(data.draw(st.permutations(range(len(preds))), label="order"))
        _same(_matrix(confusion_matrix, preds[order], targets[order], c), cm,
              what="the confusion matrix of the same samples shuffled",
              expected_name="the matrix of the unshuffled samples: the order must not matter")
        a, q = data.draw(st.integers(0, c - 1), label="actual"), data.draw(st.integers(0, c - 1), label="predicted")
        more = _matrix(confusion_matrix, torch.cat([preds, torch.tensor([q], dtype=preds.dtype)]),
                       torch.cat([targets, torch.tensor([a], dtype=targets.dtype)]), c)
        want = cm.clone()
        want[a, q] += 1
        _same(more, want, what=f"the confusion matrix after one more sample of actual class {a} predicted as {q}",
              expected_name=f"the matrix before, with 1 more in cell [{a}, {q}] (row = actual, column = predicted)")
    p()


@check("interpret.confusion_matrix", "oracle",
       "equals scikit-learn's confusion_matrix and fastai's ClassificationInterpretation.confusion_matrix")
def cm_oracle(confusion_matrix):
    from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

    def compare(preds, targets, c):
        cm = _matrix(confusion_matrix, preds, targets, c)
        with warnings.catch_warnings():  # "a single label was found": labels= is given, as it asks
            warnings.simplefilter("ignore")
            want = sklearn_confusion_matrix(targets.numpy(), preds.numpy(), labels=list(range(c)))
        _same(cm, want, what=f"confusion_matrix(preds, targets, {c})",
              expected_name=f"sklearn.metrics.confusion_matrix(targets, preds, labels=range({c}))")
        fastai_cm = _fastai_interpretation(range(c), preds=preds, targets=targets).confusion_matrix()
        _same(cm, fastai_cm, what=f"confusion_matrix(preds, targets, {c})",
              expected_name="fastai's ClassificationInterpretation.confusion_matrix")

    # Every one of the 37 breeds once, as uint8 indices: t * 37 + p is far beyond 255.
    breeds = torch.arange(len(BREEDS), dtype=torch.uint8)
    compare(breeds.roll(1), breeds, len(BREEDS))

    @prop(_predictions())
    def p(case):
        compare(*case)
    p()


@check("interpret.confusion_matrix", "book",
       "305 pets over the book's most confused breeds give back their hand-written matrix; the contract's example")
def cm_book(confusion_matrix):
    _same(_matrix(confusion_matrix, torch.tensor(SMALL_PREDS), torch.tensor(SMALL_TARGETS), 3), SMALL_CM,
          what=f"confusion_matrix(tensor({SMALL_PREDS}), tensor({SMALL_TARGETS}), 3)",
          expected_name=f"{SMALL_CM}: rows are actual classes, columns predicted")
    preds, targets = _book_samples()
    _same(_matrix(confusion_matrix, preds, targets, len(BOOK_VOCAB)), BOOK_CM,
          what="the confusion matrix of the 305 pets", expected_name="the hand-written BOOK_CM they were made from")


@check("interpret.confusion_matrix", "bad input",
       "mismatched lengths, indices outside [0, n_classes), float indices or no samples get a clear error")
def cm_bad_input(confusion_matrix):
    t = torch.tensor([0, 1, 2])
    expect_raises(confusion_matrix, (torch.tensor([0, 1]), t, 3),
                  when="there are 2 preds but 3 targets", offending=("preds", "targets"))
    expect_raises(confusion_matrix, (torch.tensor([0, 3, 1]), t, 3),
                  when="a pred is 3 but n_classes is 3 (classes 0, 1, 2)",
                  offending=("preds", "n_classes"), value=3)
    expect_raises(confusion_matrix, (torch.tensor([0, 1, 2]), torch.tensor([0, -1, 2]), 3),
                  when="a target is -1", offending="targets", value=-1)
    expect_raises(confusion_matrix, (torch.tensor([0, 1, 2]), torch.tensor([0, 5, 1]), 3),
                  when="a target is 5 but n_classes is 3", offending=("targets", "n_classes"), value=5)
    expect_raises(confusion_matrix, (torch.tensor([0.0, 1.0, 2.0]), t, 3),
                  when="preds are floats, not class indices", offending="preds", value=torch.float32)
    expect_raises(confusion_matrix, (torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long), 3),
                  when="preds and targets are empty", offending=("preds", "targets"))


# --- most_confused -----------------------------------------------------------------------------

@check("interpret.most_confused", "property",
       "lists every off-diagonal cell >= min_val once, as (actual, predicted, count)")
def mc_cells(most_confused):
    @prop(_matrices())
    def p(case):
        cm, vocab, min_val = case
        call = f"most_confused(cm, vocab, min_val={min_val})"
        got = _pairs(most_confused(cm, vocab, min_val=min_val), call)
        want = {(vocab[a], vocab[q], int(cm[a, q])) for a in range(len(vocab)) for q in range(len(vocab))
                if a != q and cm[a, q] >= min_val}
        for item in got:
            if item not in want:
                actual, predicted, count = item
                why = ("the diagonal holds the right predictions, not confusions" if actual == predicted
                       else f"count {count} is below min_val={min_val}" if isinstance(count, int) and count < min_val
                       else "no off-diagonal cell has these names and this count (row = actual, column = predicted)")
                raise CheckFailure(f"{call} lists {item!r}, which should not be there: {why}")
        require(len(got) == len(set(got)), f"{call} lists the same pair twice")
        missing = sorted(want - set(got), key=lambda w: -w[2])
        if missing:
            raise CheckFailure(f"{call} leaves out {missing[0]!r} (and {len(missing) - 1} more): every "
                               f"off-diagonal cell with a count >= min_val={min_val} belongs in the list")
    p()


@check("interpret.most_confused", "property",
       "largest count first, and pairs with the same count in row-major order (row by row, left to right)")
def mc_order(most_confused):
    @prop(_matrices())
    def p(case):
        cm, vocab, min_val = case
        call = f"most_confused(cm, vocab, min_val={min_val})"
        got = _pairs(most_confused(cm, vocab, min_val=min_val), call)
        index = {name: i for i, name in enumerate(vocab)}
        keys = []
        for item in got:
            actual, predicted, count = item
            require(actual in index and predicted in index, f"{call} lists {item!r}, whose names are not in vocab")
            keys.append((-count, index[actual], index[predicted]))
        for k, (first, second) in enumerate(zip(keys, keys[1:])):
            if first > second:
                why = ("a smaller count comes before a larger one" if first[0] > second[0] else
                       "of two pairs with the same count, the one further along in row-major order comes first "
                       "(sort by the count alone, with a stable sort)")
                raise CheckFailure(f"{call} lists {got[k]!r} before {got[k + 1]!r}: {why}")
    p()


@check("interpret.most_confused", "oracle", "equals fastai's ClassificationInterpretation.most_confused, ties included")
def mc_oracle(most_confused):
    @prop(_matrices())
    def p(case):
        cm, vocab, min_val = case
        call = f"most_confused(cm, vocab, min_val={min_val})"
        got = _pairs(most_confused(cm, vocab, min_val=min_val), call)
        want = [(a, q, int(count)) for a, q, count in _fastai_interpretation(vocab, cm=cm).most_confused(min_val)]
        _same_list(got, want, call=call, expected_name="fastai's most_confused")
    p()


def _same_list(got: list, want: list, *, call: str, expected_name: str) -> None:
    for k, (g, w) in enumerate(zip(got, want)):
        require(g == w, f"item {k} of {call} is {g!r}, but {expected_name} gives {w!r} there")
    if len(got) != len(want):
        extra = f"{want[len(got)]!r} is missing" if len(got) < len(want) else f"{got[len(want)]!r} is one too many"
        raise CheckFailure(f"{call} lists {len(got)} pairs, but {expected_name} gives {len(want)}: {extra}")


@check("interpret.most_confused", "book",
       "the book's five most confused pairs (min_val=5), in the book's order, from a matrix over those breeds")
def mc_book(most_confused):
    cm = torch.tensor(BOOK_CM)
    for min_val, want in ((5, BOOK_MOST_CONFUSED_5), (4, BOOK_MOST_CONFUSED_4)):
        call = f"most_confused(BOOK_CM, BOOK_VOCAB, min_val={min_val})"
        _same_list(_pairs(most_confused(cm, list(BOOK_VOCAB), min_val=min_val), call), want, call=call,
                   expected_name="the book" if min_val == 5 else "the worked example")
    call = "most_confused(tensor([[5, 2], [3, 4]]), ['cat', 'dog'])"
    _same_list(_pairs(most_confused(torch.tensor([[5, 2], [3, 4]]), ["cat", "dog"]), call),
               [("dog", "cat", 3), ("cat", "dog", 2)], call=call, expected_name="the contract (default min_val=1)")


@check("interpret.most_confused", "bad input", "a cm that is not square, a vocab of the wrong length, min_val < 1 get a clear ValueError")
def mc_bad_input(most_confused):
    cm = torch.tensor([[5, 2], [3, 4]])
    expect_raises(most_confused, (torch.tensor([[5, 2, 1], [3, 4, 0]]), ["cat", "dog"]),
                  when="cm is 2 x 3, not square", offending="cm")
    expect_raises(most_confused, (torch.tensor([5, 2, 3, 4]), ["cat", "dog"]), when="cm is 1-D", offending="cm")
    expect_raises(most_confused, (cm, ["cat", "dog", "bird"]),
                  when="vocab has 3 names but cm is 2 x 2", offending="vocab")
    expect_raises(most_confused, (cm, ["cat", "dog"]), {"min_val": 0},
                  when="min_val is 0", offending="min_val", value=0)


# --- error_rate --------------------------------------------------------------------------------

def _want_error_rate(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """1 - trace / n of the confusion matrix of the arg-max predictions (counted here, not by the answer)."""
    n, c = logits.shape
    cm = torch.bincount(targets * c + logits.argmax(dim=1), minlength=c * c).view(c, c)
    return 1 - int(cm.trace()) / n


def _rate(error_rate, logits, targets, call="error_rate(logits, targets)") -> float:
    r = error_rate(logits, targets)
    if not isinstance(r, float):
        raise CheckFailure(f"{call} should return a Python float (use .item() or a division of ints), but it "
                           f"returned {type(r).__name__}: {show(r)}")
    return r


@check("interpret.error_rate", "property",
       "a float in [0, 1] that is the share of wrong rows: 1 - diagonal / n of the confusion matrix of the arg-max")
def er_share(error_rate):
    @prop(_scored())
    def p(case):
        logits, targets = case
        r = _rate(error_rate, logits, targets)
        require(0 <= r <= 1, f"error_rate(logits, targets) is {r}, outside [0, 1]")
        want = _want_error_rate(logits, targets)
        n = len(targets)
        require(abs(r - want) <= 1e-6, f"error_rate(logits, targets) is {r:.6g}, but {round(want * n)} of the {n} "
                                       f"rows have an arg-max that is not their target: {want:.6g}")
    p()


@check("interpret.error_rate", "property",
       "ties go to the first largest logit (as torch.argmax); shuffling the rows changes nothing")
def er_ties(error_rate):
    @prop(_scored(ties=True, dtypes=(torch.float32,)), st.data())
    def p(case, data):
        logits, targets = case
        r = _rate(error_rate, logits, targets)
        want = _want_error_rate(logits, targets)
        if abs(r - want) > 1e-6:
            tied = int(((logits == logits.max(dim=1, keepdim=True).values).sum(dim=1) > 1).sum())
            why = (f"in the {tied} rows with several equal largest logits, the prediction is the first of them "
                   f"(as torch.argmax picks it), and it is right only if that is the target" if tied else
                   "the share of rows whose arg-max is not the target")
            raise CheckFailure(f"error_rate(logits, targets) is {r:.6g}, but it should be {want:.6g}: {why}")
        order = torch.tensor(data.draw(st.permutations(range(len(targets))), label="order"))
        shuffled = _rate(error_rate, logits[order], targets[order], "error_rate(logits[order], targets[order])")
        require(abs(shuffled - r) <= 1e-6, f"error_rate of the same rows shuffled is {shuffled:.6g}, but "
                                           f"unshuffled it is {r:.6g}: the order of rows must not matter")
    p()


@check("interpret.error_rate", "oracle", "equals fastai.metrics.error_rate (ties and half-precision logits included)")
def er_oracle(error_rate):
    from fastai.metrics import error_rate as fastai_error_rate

    @prop(st.one_of(_scored(), _scored(ties=True)))
    def p(case):
        logits, targets = case
        r = _rate(error_rate, logits, targets)
        want = float(fastai_error_rate(logits, targets))
        require(abs(r - want) <= 1e-6, f"error_rate(logits, targets) is {r:.6g}, but "
                                       f"fastai.metrics.error_rate gives {want:.6g}")
    p()


@check("interpret.error_rate", "book",
       "the book's acts (6 rows, 5 wrong: 5/6), and the 305 pets of the most-confused matrix (57 wrong)")
def er_book(error_rate):
    r = _rate(error_rate, book.acts(), torch.tensor(book.TARGETS), "error_rate(acts, targ)")
    require(abs(r - BOOK_ACTS_ERROR_RATE) <= 1e-6,
            f"error_rate(acts, targ) is {r:.6g}, but the book's acts predict [0, 0, 1, 0, 0, 1] against targets "
            f"{list(book.TARGETS)}: 5 of 6 wrong, {BOOK_ACTS_ERROR_RATE:.6g}")
    preds, targets = _book_samples()
    logits = torch.nn.functional.one_hot(preds, len(BOOK_VOCAB)).float() * 3 - 1
    r = _rate(error_rate, logits, targets, "error_rate(logits of the 305 pets, targets)")
    want = BOOK_MISTAKES / BOOK_PETS
    require(abs(r - want) <= 1e-6, f"error_rate of the 305 pets of BOOK_CM is {r:.6g}, but {BOOK_MISTAKES} of them "
                                   f"are off the diagonal: {BOOK_MISTAKES}/{BOOK_PETS} = {want:.6g}")


@check("interpret.error_rate", "bad input",
       "logits not 2-D, targets of the wrong length, dtype or range, and no rows get a clear error")
def er_bad_input(error_rate):
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0, 3, 1])
    expect_raises(error_rate, (x[0], torch.tensor([0])),
                  when="logits are 1-D instead of (n, classes)", offending="logits")
    expect_raises(error_rate, (x[None], t), when="logits are 3-D instead of (n, classes)", offending="logits")
    expect_raises(error_rate, (x, torch.tensor([0, 1])),
                  when="logits have 3 rows but there are 2 targets", offending=("logits", "targets"))
    expect_raises(error_rate, (x, torch.tensor([0.0, 3.0, 1.0])),
                  when="targets are floats, not class indices", offending="targets", value=torch.float32)
    expect_raises(error_rate, (x, torch.tensor([0, 4, 1])),
                  when="a target is 4 but there are only 4 classes (0..3)", offending="targets", value=4)
    expect_raises(error_rate, (torch.zeros(0, 4), torch.tensor([], dtype=torch.long)),
                  when="logits and targets have no rows", offending=("logits", "targets"))


# --- every exercise of the lesson: the caller's tensors are left as they were -----------------

leaves_input_unchanged("interpret.confusion_matrix", _predictions())
leaves_input_unchanged("interpret.most_confused", _matrices())
leaves_input_unchanged("interpret.error_rate", _scored())
