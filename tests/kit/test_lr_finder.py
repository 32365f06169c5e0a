"""The lr_finder lesson's own kit tests: the choices it makes where fastai has quirks, its plot, its
benchmark, and what the finder leaves on disk."""
import math

import pytest

torch = pytest.importorskip("torch")

from petkit.checks import lr_finder as checks
from petkit.checks.core import checks_for
from petkit.checks.lr_finder_curves import CURVES
from petkit.checks.runner import FAIL, PASS, run_check
from petkit.plots import finder_curve, plot_lr_find
from solutions.lr_finder import lr_find, suggest_minimum, suggest_steep, suggest_valley

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- the valley's edge: what the lesson teaches instead of fastai's index -1 -------------------

EDGE_LRS = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
EDGE_LOSSES = [2.0, 1.0, 3.0, 4.0, 5.0]  # falls once, from the first point to the second, then climbs


def test_fastai_valley_wraps_round_to_the_largest_lr_at_the_edge():
    from fastai.callback.schedule import valley
    lr, _ = valley(torch.tensor(EDGE_LRS), torch.tensor(EDGE_LOSSES), 100)
    assert lr == pytest.approx(EDGE_LRS[-1], rel=1e-6)  # the quirk the lesson does not copy


def test_the_lesson_answers_the_first_lr_at_the_edge_and_the_check_insists():
    assert suggest_valley(EDGE_LRS, EDGE_LOSSES) == EDGE_LRS[0]
    edge_check = next(c for c in checks_for("lr_finder.suggest_valley") if c.key == "suggest_valley_falling_and_edge")
    oracle = next(c for c in checks_for("lr_finder.suggest_valley") if c.key == "suggest_valley_oracle")

    def fastai_as_it_is(lrs, losses):
        from fastai.callback.schedule import valley
        return valley(torch.tensor(lrs, dtype=torch.float64), torch.tensor(losses), len(lrs))[0]

    def own_copy_of_fastai(lrs, losses):  # the index arithmetic of fastai's valley, written out
        longest = [1] * len(losses)
        for i in range(1, len(losses)):
            for j in range(i):
                if losses[i] < losses[j]:
                    longest[i] = max(longest[i], longest[j] + 1)
        end = longest.index(max(longest))
        return lrs[end - longest[end] + longest[end] // 3 + longest[end] // 6]

    assert run_check(edge_check, suggest_valley).status == PASS
    outcome = run_check(edge_check, own_copy_of_fastai)
    assert outcome.status == FAIL and "must not wrap round" in outcome.message
    assert run_check(oracle, fastai_as_it_is).status == FAIL  # and calling fastai's is not one's own work


def test_the_oracle_expects_the_first_lr_where_fastai_says_minus_one():
    lr, idx = checks._fastai("valley", EDGE_LRS, EDGE_LOSSES)
    assert idx == -1 and lr == EDGE_LRS[-1]
    checks._oracle_agrees(suggest_valley, "valley", EDGE_LRS, EDGE_LOSSES, "the edge curve")  # no CheckFailure


# --- the book's worked curve and the recorded curves, against fastai itself --------------------

def test_the_worked_curve_gives_what_fastai_gives():
    from fastai.callback.schedule import minimum, steep, valley
    lrs, losses = torch.tensor(checks.BOOK_LRS), torch.tensor(checks.BOOK_LOSSES)
    assert minimum(lrs, losses, 13)[0] == pytest.approx(10 ** -3.5, rel=1e-6)
    assert steep(lrs, losses, 13)[0] == pytest.approx(1e-4, rel=1e-6)
    assert valley(lrs, losses, 13)[0] == pytest.approx(1e-5, rel=1e-6)


@pytest.mark.parametrize("name", sorted(CURVES))
def test_recorded_curves_are_finder_curves_and_the_answers_agree_with_fastai(name):
    lrs, losses = CURVES[name]
    assert len(lrs) == len(losses) > 40
    assert all(b > a for a, b in zip(lrs, lrs[1:])) and not any(math.isnan(v) for v in losses)
    assert all(float(torch.tensor(v, dtype=torch.float32)) == v for v in lrs + losses)  # float32, exactly
    for fn, fastai_name in ((suggest_minimum, "minimum"), (suggest_steep, "steep"), (suggest_valley, "valley")):
        assert fn(lrs, losses) == pytest.approx(checks._fastai(fastai_name, lrs, losses)[0], rel=1e-6)


# --- fastai's own functions, however they were imported, are not one's own work ---------------

def test_a_fastai_function_imported_before_the_call_is_still_caught():
    from fastai.callback.schedule import valley  # taken before the check starts, as a notebook's star import would

    def borrowed(lrs, losses):
        return valley(torch.tensor(lrs), torch.tensor(losses), len(lrs))[0]

    oracle = next(c for c in checks_for("lr_finder.suggest_valley") if c.key == "suggest_valley_oracle")
    outcome = run_check(oracle, borrowed)
    assert outcome.status == FAIL and outcome.message.startswith("not your own implementation: suggest_valley called valley")
    assert valley(torch.tensor(EDGE_LRS), torch.tensor(EDGE_LOSSES), 5)[0] == pytest.approx(EDGE_LRS[-1])  # put back


# --- lr_find: fastai's edge cases, and nothing left on disk -----------------------------------

def _pair(seed=5):
    from petkit.learners import tiny_learner
    return tiny_learner(seed=seed), tiny_learner(seed=seed)


@pytest.mark.parametrize("num_it", [3, 7])
def test_lr_find_matches_fastai_below_six_and_at_odd_counts(num_it):
    from fastai.vision.all import set_seed
    theirs, mine = _pair()
    set_seed(7, reproducible=True)
    with theirs.no_logging():
        theirs.lr_find(num_it=num_it, show_plot=False, suggest_funcs=None)
    set_seed(7, reproducible=True)
    lrs, losses = lr_find(mine, num_it=num_it)
    assert lrs == theirs.recorder.lrs
    assert losses == [float(v) for v in theirs.recorder.losses]


def test_lr_find_leaves_nothing_on_disk_unlike_fastai(tmp_path, monkeypatch):
    theirs, mine = _pair()
    monkeypatch.chdir(tmp_path)
    lr_find(mine, num_it=6)
    assert list(mine.path.rglob("*")) == [] and list(tmp_path.iterdir()) == []
    with theirs.no_logging():
        theirs.lr_find(num_it=6, show_plot=False, suggest_funcs=None)
    assert [p.name for p in theirs.path.iterdir()] == ["models"]  # fastai's empty models/ (FASTAI-FACTS)


def test_lr_find_puts_the_learner_back_even_when_it_fails():
    from petkit.learners import tiny_learner
    learn = tiny_learner(seed=9)
    before = checks._snapshot(learn)
    calls = []
    real_loss = learn.loss_func

    def breaks_on_the_third_batch(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("out of memory (pretend)")
        return real_loss(*args)

    learn.loss_func = breaks_on_the_third_batch
    with pytest.raises(RuntimeError, match="pretend"):
        lr_find(learn, num_it=10)
    learn.loss_func = real_loss
    checks._expect_put_back(before, learn, "lr_find(learn) that raised")


# --- the plot and the benchmark ----------------------------------------------------------------

def test_plot_lr_find_writes_a_png(tmp_path):
    lrs, losses = finder_curve(*CURVES["tiny CNN, 1e-7 to 10"])
    marks = {"minimum": suggest_minimum(lrs, losses), "steep": suggest_steep(lrs, losses),
             "valley": suggest_valley(lrs, losses)}
    path = plot_lr_find(lrs, losses, marks, tmp_path / "plots" / "lr_find.png")
    assert path == tmp_path / "plots" / "lr_find.png"
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    from PIL import Image
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (600, 400)
    with pytest.raises(ValueError, match=".png"):
        plot_lr_find(lrs, losses, marks, tmp_path / "lr_find.jpg")
    with pytest.raises(ValueError, match="same length"):
        plot_lr_find(lrs, losses[:-1], marks, tmp_path / "x.png")


def test_finder_curve_trims_as_fastai_does():
    lrs = [10.0 ** (i / 10) for i in range(30)]
    losses = [1.0] * 20 + [float("nan")] + [2.0] * 9
    got_lrs, got_losses = finder_curve(lrs, losses, num_it=30)
    assert got_lrs == lrs[3:20] and got_losses == losses[3:20]


def test_benchmark_prints_the_ratio(capsys):
    from benchmarks import lr_find
    lr_find.main(["--arch", "tiny", "--num-it", "6", "--repeats", "1", "--img-size", "32", "--bs", "8"])
    out = capsys.readouterr().out
    assert out.startswith("lr_find: yours ") and ", fastai " in out and ", ratio " in out
