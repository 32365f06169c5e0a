"""Benchmark: how learnable the synthetic pets are: a resnet18 from scratch, a fixed budget, its
error rate against chance.

    python -m benchmarks.data [--per-class 20] [--size 128] [--img-size 64] [--epochs 8] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys
import time


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
    p = argparse.ArgumentParser(prog="python -m benchmarks.data", description=__doc__.split("\n\n")[0])
    p.add_argument("--per-class", type=int, default=20)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--img-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    return bench_data(args.per_class, args.size, args.img_size, args.epochs, args.seed)


if __name__ == "__main__":
    sys.exit(main())
