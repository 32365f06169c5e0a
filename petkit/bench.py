"""Benchmarks that print ratios (DESIGN.md: targets are ratios measured in one run on one machine).

    python -m petkit.bench check [--runs N]   petkit check <maths lesson> against `import torch`
    python -m petkit.bench data                how learnable the synthetic pets are: a resnet18 from
                                               scratch, a fixed budget, its error rate against chance
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from petkit import ROOT


def _time(cmd: list[str], expect_rc: int = 0) -> float:
    start = time.perf_counter()
    rc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    elapsed = time.perf_counter() - start
    if rc != expect_rc:
        sys.exit(f"benchmark command failed (exit {rc}, expected {expect_rc}): {' '.join(cmd)}")
    return elapsed


def bench_check(runs: int) -> int:
    base = [sys.executable, "-c", "import torch"]
    rows = []
    for lesson in ("softmax", "cross_entropy"):
        check = [sys.executable, "-m", "petkit.cli", "check", lesson, "--impl", "solutions"]
        _time(base), _time(check)  # warm the file cache
        t_base, t_check = [], []
        for _ in range(runs):  # interleaved, so both see the same machine
            t_base.append(_time(base))
            t_check.append(_time(check))
        b, c = statistics.median(t_base), statistics.median(t_check)
        rows.append((lesson, c, b, c / b))
    print(f"{'command':<46} {'median s':>9} {'import torch s':>15} {'ratio':>6}  (target <= 2.5)")
    for lesson, c, b, r in rows:
        print(f"{'petkit check ' + lesson + ' --impl solutions':<46} {c:>9.2f} {b:>15.2f} {r:>6.2f}")
    return 0 if all(r <= 2.5 for *_, r in rows) else 1


def bench_data(per_class: int, size: int, img_size: int, epochs: int, seed: int) -> int:
    import tempfile
    from pathlib import Path

    import torch
    from fastai.vision.all import (CategoryBlock, DataBlock, ImageBlock, RandomSplitter, Resize, aug_transforms,
                                   error_rate, get_image_files, resnet18, set_seed, using_attr, RegexLabeller,
                                   vision_learner)
    from petkit.data import make_pets

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path = make_pets(Path(tmp) / "pets", per_class=per_class, size=size, seed=seed)
        made = time.perf_counter() - start
        set_seed(seed, reproducible=True)
        block = DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files,
                          splitter=RandomSplitter(0.2, seed=seed),
                          get_y=using_attr(RegexLabeller(r"(.+)_\d+.jpg$"), "name"),
                          item_tfms=Resize(img_size * 2), batch_tfms=aug_transforms(size=img_size, min_scale=0.75))
        dls = block.dataloaders(path / "images", bs=32, num_workers=0)
        learn = vision_learner(dls, resnet18, pretrained=False, metrics=error_rate, path=Path(tmp))
        start = time.perf_counter()
        with learn.no_bar(), learn.no_logging():
            learn.fit_one_cycle(epochs, 3e-3)
        trained = time.perf_counter() - start
        err = float(learn.validate()[1])
    chance = 1 - 1 / 37
    print(f"synthetic pets: 37 breeds x {per_class} images around {size} px, made in {made:.1f} s")
    print(f"resnet18 from scratch, {epochs} epochs at {img_size} px (presized from {img_size * 2}): "
          f"{trained:.0f} s of training")
    print(f"error rate {err:.3f} against chance {chance:.3f}: ratio to chance {err / chance:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m petkit.bench")
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("check", help="petkit check on a maths lesson vs python -c 'import torch'")
    s.add_argument("--runs", type=int, default=5)
    s = sub.add_parser("data", help="error rate of a resnet18 from scratch on the synthetic pets")
    s.add_argument("--per-class", type=int, default=20)
    s.add_argument("--size", type=int, default=128)
    s.add_argument("--img-size", type=int, default=64)
    s.add_argument("--epochs", type=int, default=8)
    s.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.what == "data":
        return bench_data(args.per_class, args.size, args.img_size, args.epochs, args.seed)
    return bench_check(args.runs)


if __name__ == "__main__":
    sys.exit(main())
