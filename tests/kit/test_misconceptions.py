"""Known mistakes named (petkit.misconceptions): an answer that behaves exactly as a corpus entry's
wrong answer on the entry's probes gets "This looks like a known mistake: ..."; a right answer never."""
import collections
import time

import pytest
import torch

from petkit import ROOT, misconceptions
from petkit.sync import exercise_files

from helpers import petkit
from petkit.corpus import load, load_right
from petkit.misconceptions import PREFIX, known_mistakes, matches, reference

CORPUS = load()
PROBED = [w for w in CORPUS if w.probes]
EXERCISES = sorted({w.exercise for w in PROBED})


def test_most_of_the_corpus_has_probes():
    # the entries without probes are library shortcuts (the guard names those) and the exercises that
    # need a Learner or image folders (no cheap probe): see the report in tests/kit/wrong_answers
    assert len(PROBED) >= 70, len(PROBED)
    per_exercise = collections.Counter(w.exercise for w in PROBED)
    assert len(per_exercise) >= 18, per_exercise


@pytest.mark.parametrize("entry", PROBED, ids=lambda w: f"{w.exercise}:{w.fn.__name__}")
def test_each_wrong_answer_matches_its_own_entry_and_the_probes_tell_it_apart(entry):
    ref = reference(entry.exercise)
    ref_b = [misconceptions.behaviour(ref, p) for p in entry.probes]
    wrong_b = [misconceptions.behaviour(entry.fn, p) for p in entry.probes]
    assert any(not misconceptions.same(r, w, **misconceptions.APART) for r, w in zip(ref_b, wrong_b)), \
        f"no probe tells {entry.fn.__name__} from the reference: {entry.mistake}"
    assert matches(entry, entry.fn)
    text = known_mistakes(entry.exercise, entry.fn)
    assert text and f"{PREFIX} {entry.mistake.rstrip('.')}. {entry.hint}" in text.splitlines()
    assert entry.hint and "\n" not in entry.hint and "solutions/" not in entry.hint


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_the_reference_matches_no_entry(exercise_id):
    assert known_mistakes(exercise_id, reference(exercise_id)) is None


# --- right answers written differently from the reference: never a line -------------------------

def softmax_right(x, dim=-1):
    if not torch.is_floating_point(x):
        raise TypeError("need floats")
    if dim >= x.dim() or dim < -x.dim():
        raise ValueError("bad dim")
    z = torch.exp(x - torch.amax(x, dim=dim, keepdim=True))
    return z / torch.sum(z, dim=dim, keepdim=True)


def log_softmax_right(x, dim=-1):
    if not torch.is_floating_point(x):
        raise TypeError("need floats")
    if dim >= x.dim() or dim < -x.dim():
        raise ValueError("bad dim")
    m = torch.amax(x, dim=dim, keepdim=True)
    return x - (m + torch.log(torch.sum(torch.exp(x - m), dim=dim, keepdim=True)))


def nll_right(log_probs, targets, reduction="mean"):
    if not torch.is_floating_point(log_probs) or log_probs.dim() != 2:
        raise TypeError("log_probs: (n, c) floats")
    if targets.dtype not in (torch.int64, torch.int32) or targets.shape != (log_probs.shape[0],):
        raise ValueError("targets: one index per row")
    if len(targets) == 0 or targets.min() < 0 or targets.max() >= log_probs.shape[1]:
        raise ValueError("targets out of range")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError("reduction")
    losses = -log_probs.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    return {"mean": losses.mean, "sum": losses.sum, "none": lambda: losses}[reduction]()


def confusion_matrix_right(preds, targets, n_classes):
    if preds.shape != targets.shape or preds.ndim != 1:
        raise ValueError("shapes")
    if len(preds) and (min(preds.min(), targets.min()) < 0 or max(preds.max(), targets.max()) >= n_classes):
        raise ValueError("out of range")
    cm = torch.zeros(n_classes, n_classes, dtype=torch.long)
    for t, p in zip(targets.tolist(), preds.tolist()):
        cm[t][p] += 1
    return cm


def smooth_losses_right(losses, beta=0.98):
    if not losses or not 0 <= beta < 1:
        raise ValueError("losses empty or beta out of range")
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = avg * beta + float(loss) * (1 - beta)
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def choose_epochs_right(valid_metric, higher_is_better=False):
    values = []
    for v in valid_metric:
        if isinstance(v, str):
            raise TypeError("numbers only")
        values.append(float(v))
    best = None
    for i, v in enumerate(values):
        if v != v:
            continue
        if best is None or (v > values[best] if higher_is_better else v < values[best]):
            best = i
    if best is None:
        raise ValueError("empty or all nan")
    return best + 1


RIGHT = {"softmax.softmax": softmax_right, "softmax.log_softmax": log_softmax_right,
         "cross_entropy.nll_loss": nll_right, "interpret.confusion_matrix": confusion_matrix_right,
         "lr_finder.smooth_losses": smooth_losses_right, "transfer.choose_epochs": choose_epochs_right}


@pytest.mark.parametrize("exercise_id", sorted(RIGHT))
def test_right_answers_written_differently_get_no_line(exercise_id):
    assert known_mistakes(exercise_id, RIGHT[exercise_id]) is None


RIGHT_CORPUS = load_right()  # tests/kit/right_answers/: textbook formulations found in the wild


@pytest.mark.parametrize("answer", RIGHT_CORPUS, ids=lambda a: f"{a.exercise}:{a.fn.__name__}")
def test_the_right_answer_corpus_gets_no_line(answer):
    # a formulation that validates as the contract says is never told of a mistake; one that only gets
    # the maths right may hear just that (an entry whose only mistake is the missing input checks)
    text = known_mistakes(answer.exercise, answer.fn) or ""
    unvalidated = {misconceptions.line(e) for e in misconceptions.entries(answer.exercise) if misconceptions.unvalidated(e)}
    said = set(text.splitlines())
    assert said <= (set() if answer.validates else unvalidated), f"{answer.formulation}: {text}"


def test_the_right_answer_corpus_covers_the_probed_maths_exercises():
    covered = {a.exercise for a in RIGHT_CORPUS}
    assert {"softmax.softmax", "softmax.log_softmax", "cross_entropy.nll_loss", "cross_entropy.cross_entropy"} <= covered


# --- the same mistakes written differently: named -------------------------------------------------

def softmax_no_shift_rewritten(x, dim=-1):
    if not torch.is_floating_point(x):
        raise TypeError("need floats")
    num = torch.exp(x)
    return num / torch.sum(num, dim=dim, keepdim=True)


def log_softmax_via_log_rewritten(x, dim=-1):
    return torch.log(softmax_right(x, dim))


def nll_sum_for_mean_rewritten(log_probs, targets, reduction="mean"):
    losses = torch.stack([-log_probs[i, t] for i, t in enumerate(targets.tolist())])
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "mean" else losses.sum() / len(losses)


def confusion_matrix_transposed_rewritten(preds, targets, n_classes):
    cm = torch.zeros(n_classes, n_classes, dtype=torch.int64)
    for p, t in zip(preds.tolist(), targets.tolist()):
        cm[p, t] += 1
    return cm


def smooth_losses_biased_rewritten(losses, beta=0.98):
    if len(losses) == 0:
        raise ValueError("empty")
    out = [(1 - beta) * float(losses[0])]
    for loss in losses[1:]:
        out.append(beta * out[-1] + (1 - beta) * float(loss))
    return out


def choose_epochs_zero_based_rewritten(valid_metric, higher_is_better=False):
    values = [float(v) for v in valid_metric]
    best = max(values) if higher_is_better else min(values)
    return values.index(best)


def breed_first_underscore_rewritten(name):
    return str(name).split("/")[-1].split("_")[0]


def most_confused_mutates_rewritten(cm, vocab, min_val=1):
    for i in range(len(cm)):
        cm[i, i] = 0
    out = [(vocab[a], vocab[p], int(cm[a, p])) for a in range(len(cm)) for p in range(len(cm))
           if cm[a, p] >= min_val]
    return sorted(out, key=lambda t: -t[2])


def softmax_unvalidated_rewritten(x, dim=-1):
    z = torch.exp(x - torch.amax(x, dim=dim, keepdim=True))
    return z / z.sum(dim=dim, keepdim=True)


SAME_MISTAKE = [
    ("softmax.softmax", softmax_no_shift_rewritten, "softmax_no_shift"),
    ("softmax.log_softmax", log_softmax_via_log_rewritten, "log_softmax_log_of_softmax"),
    ("cross_entropy.nll_loss", nll_sum_for_mean_rewritten, "nll_swapped_reductions"),
    ("interpret.confusion_matrix", confusion_matrix_transposed_rewritten, "cm_transposed"),
    ("lr_finder.smooth_losses", smooth_losses_biased_rewritten, "smooth_losses_biased"),
    ("transfer.choose_epochs", choose_epochs_zero_based_rewritten, "choose_epochs_zero_based"),
    ("datablock.breed_from_filename", breed_first_underscore_rewritten, "breed_first_underscore"),
    ("interpret.most_confused", most_confused_mutates_rewritten, "mc_mutates_cm"),
]


@pytest.mark.parametrize("exercise_id, answer, entry_name", SAME_MISTAKE, ids=[s[2] for s in SAME_MISTAKE])
def test_the_same_mistake_written_differently_is_named(exercise_id, answer, entry_name):
    entry = next(w for w in PROBED if w.fn.__name__ == entry_name)
    text = known_mistakes(exercise_id, answer)
    assert text is not None and f"{PREFIX} {entry.mistake.rstrip('.')}" in text, text
    assert all(line.startswith(PREFIX) for line in text.splitlines())


def test_right_maths_without_validation_is_named_only_as_such():
    # torch.amax instead of .max().values, no checks: the "no input checks" entry, nothing else
    text = known_mistakes("softmax.softmax", softmax_unvalidated_rewritten)
    assert text is not None and len(text.splitlines()) == 1 and "no input checks" in text, text


def test_other_mistakes_stubs_and_slow_answers_get_no_line():
    assert known_mistakes("softmax.softmax", lambda x, dim=-1: x) is None            # a mistake the corpus lacks

    def stub(x, dim=-1):
        raise NotImplementedError("petkit hint softmax.softmax")
    assert known_mistakes("softmax.softmax", stub) is None

    def forever(x, dim=-1):
        while True:
            time.sleep(0.01)
    assert known_mistakes("softmax.softmax", forever, budget_s=0.3) is None          # stopped, not hung
    assert known_mistakes("softmax.softmax", softmax_no_shift_rewritten) is not None  # the timer is put back
    assert known_mistakes("no_such_lesson.f", softmax_no_shift_rewritten) is None


UNVALIDATED = [w for w in PROBED if misconceptions.unvalidated(w)]


@pytest.mark.parametrize("entry", UNVALIDATED, ids=lambda w: f"{w.exercise}:{w.fn.__name__}")
def test_right_maths_is_never_claimed_of_an_answer_whose_maths_is_wrong(entry):
    # "right maths, no input checks" must match no corpus answer with a maths mistake (those with probes;
    # the others are library shortcuts, whose maths is the library's, or need a Learner)
    derived = next(e for e in misconceptions.entries(entry.exercise) if e.fn.__name__ == entry.fn.__name__)
    assert len(derived.probes) > len(entry.probes)  # it probes where its siblings' mistakes show
    for other in PROBED:
        if other.exercise == entry.exercise and other is not entry:
            assert not matches(derived, other.fn), f"{other.fn.__name__} ({other.mistake}) matches {entry.fn.__name__}"


# --- where a learner and a grader read it ---------------------------------------------------------

SOLVED_SOFTMAX = (ROOT / "solutions" / "softmax.py").read_text()
NO_SHIFT = SOLVED_SOFTMAX.replace("shifted = work - work.max(dim, keepdim=True).values\n    e = shifted.exp()",
                                  "e = work.exp()")


def _package(tmp_path, softmax_text):
    pkg = tmp_path / "mine"
    pkg.mkdir()
    for p, text in exercise_files().items():
        (pkg / p.name).write_text(text)
    (pkg / "softmax.py").write_text(softmax_text)
    return "mine"


def test_petkit_check_names_the_mistake_on_its_own_line(tmp_path):
    assert NO_SHIFT != SOLVED_SOFTMAX
    r = petkit("check", "softmax.softmax", "--impl", _package(tmp_path, NO_SHIFT), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    named = [l.strip() for l in r.stdout.splitlines() if l.strip().startswith(PREFIX)]
    assert len(named) == 1 and "no max shift" in named[0], r.stdout
    r = petkit("check", "softmax.softmax", "--impl", "solutions")
    assert r.returncode == 0 and PREFIX not in r.stdout


def test_petkit_check_says_maths_right_when_only_validation_is_missing(tmp_path):
    body = SOLVED_SOFTMAX + ("\n\ndef softmax(x, dim=-1):  # the learner's: right maths, no checks\n"
                             "    e = (x - x.max(dim, keepdim=True).values).exp()\n"
                             "    return e / e.sum(dim, keepdim=True)\n")
    r = petkit("check", "softmax.softmax", "--impl", _package(tmp_path, body), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    row = next(l for l in r.stdout.splitlines() if "softmax.softmax" in l and "checks" in l)
    assert "maths right, bad input not handled yet" in row, r.stdout
    assert "right maths, but no input checks" in r.stdout  # and the known mistake says the same


def test_the_referee_scores_each_test_cell_and_records_the_mistake(monkeypatch):
    from petkit import notebooks
    from petkit.grading.referee import judge
    from petkit.registry import lesson
    for k, v in {"PETKIT_EXAMPLES": "10", "PETKIT_HIDDEN_EXAMPLES": "10", "PETKIT_SHRINK": "0"}.items():
        monkeypatch.setenv(k, v)
    source = notebooks.source_notebook(lesson("softmax"))
    unvalidated = ("def softmax(x, dim=-1):\n    e = (x - x.max(dim, keepdim=True).values).exp()\n"
                   "    return e / e.sum(dim, keepdim=True)\n")
    log_of_softmax = "def log_softmax(x, dim=-1):\n    return softmax(x, dim).log()\n"
    submitted = notebooks.student_notebook(source, {"softmax": notebooks.written(unvalidated),
                                                    "log_softmax": notebooks.written(log_of_softmax),
                                                    "sigmoid": notebooks.solved})
    verdicts = judge(source, submitted, "softmax", "alice", timeout=120)
    soft, log_soft, sig = verdicts["softmax"], verdicts["log_softmax"], verdicts["sigmoid"]
    assert soft.maths_passed and not soft.bad_input_passed and not soft.passed
    assert soft.message.startswith("maths right, bad input not handled yet"), soft.message
    assert not log_soft.maths_passed and PREFIX in log_soft.message and "log of softmax" in log_soft.message
    assert sig.passed and sig.cell_passed("maths") and sig.cell_passed("bad input") and not sig.message


# --- what the referee's sealed child is given: packed once, kept while its sources stay the same -------

def _lines(packed: dict) -> dict:
    return {ex: [k.line for k in found] for ex, found in misconceptions.unpack(packed).items()}


def test_the_packed_mistakes_are_kept_and_a_kept_pack_needs_no_torch(tmp_path):
    import json
    import subprocess
    import sys
    code = ("import json, sys; from petkit import misconceptions as m; p = m.pack(['softmax.softmax', "
            "'softmax.log_softmax']); print(json.dumps([p, 'torch' in sys.modules]))")
    env = {**__import__("os").environ, misconceptions.CACHE_ENV: str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                      check=True, timeout=300).stdout) for _ in range(2)]
    (first, torch_first), (second, torch_second) = runs
    assert torch_first and not torch_second  # worked out (the corpus runs on torch), then read
    assert first == second
    want = {ex: [k.line for k in misconceptions.known(ex)] for ex in ("softmax.softmax", "softmax.log_softmax")}
    assert _lines(first) == want and all(want.values())
    kept = sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert kept == ["softmax.log_softmax.b64", "softmax.softmax.b64"], kept  # no half-written file left


def test_a_change_to_the_corpus_or_the_references_is_a_new_key(tmp_path):
    import shutil
    root = tmp_path / "checkout"
    for folder in ("tests/kit/wrong_answers", "solutions", "petkit"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    key = misconceptions.sources_key(root)
    assert key == misconceptions.sources_key(ROOT)  # the same files anywhere: the same key
    for changed in ("tests/kit/wrong_answers/softmax.py", "solutions/softmax.py", "petkit/misconceptions.py"):
        copy = tmp_path / changed.replace("/", "-")
        shutil.copytree(root, copy)
        (copy / changed).write_text((copy / changed).read_text() + "\n# changed\n")
        assert misconceptions.sources_key(copy) != key, changed


def test_a_corpus_that_cannot_load_is_not_kept_and_a_cache_that_cannot_be_written_is_no_error(tmp_path, monkeypatch):
    monkeypatch.setenv(misconceptions.CACHE_ENV, str(tmp_path / "cache"))

    def broken(exercise_id):
        raise ImportError("the corpus is half-written")
    with monkeypatch.context() as m:
        m.setattr(misconceptions, "entries", broken)
        assert _lines(misconceptions.pack(["softmax.softmax"])) == {"softmax.softmax": []}
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert _lines(misconceptions.pack(["softmax.softmax"]))["softmax.softmax"]  # the next pack: worked out
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv(misconceptions.CACHE_ENV, str(tmp_path / "a-file"))
    assert _lines(misconceptions.pack(["softmax.sigmoid"])) == {
        "softmax.sigmoid": [k.line for k in misconceptions.known("softmax.sigmoid")]}
    monkeypatch.setenv(misconceptions.CACHE_ENV, "off")
    assert misconceptions.cache_folder() is None and misconceptions.pack(["softmax.sigmoid"])


def test_a_damaged_packed_entry_names_no_mistake_and_spares_the_others():
    packed = misconceptions.pack(["softmax.softmax", "softmax.log_softmax"])
    whole = _lines(packed)
    for damage in (packed["softmax.softmax"][: len(packed["softmax.softmax"]) // 2], "not base64 at all!", ""):
        got = _lines({**packed, "softmax.softmax": damage})
        assert got == {"softmax.softmax": [], "softmax.log_softmax": whole["softmax.log_softmax"]}, damage
    assert whole["softmax.softmax"]
