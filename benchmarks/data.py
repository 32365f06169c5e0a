"""Benchmark: how hard the synthetic pets are, in one fixed budget: a resnet18 from scratch and a
pretrained body (EfficientNet-Lite0, ImageNet), error rates against chance.

    python -m benchmarks.data [--per-class 30] [--size 160] [--img-size 96] [--epochs 6] [--seed 0]

Both train as the demo trains (petkit.demo: its threads, channels-last), one after the other.
"""
from __future__ import annotations

import argparse
import sys
import time

from petkit import ROOT


def bench_data(per_class: int, size: int, img_size: int, epochs: int, seed: int, body: str = "efficientnet_lite0",
               scratch_lr: float = 3e-3, tune_lr: float = 1e-2) -> int:
    """How hard the synthetic pets are, in one fixed budget of `epochs` epochs: a resnet18 from
    random weights (fit_one_cycle) and the pretrained `body` (fine_tune: one frozen epoch, then
    epochs - 1), on the same data and split, each against chance."""
    import os
    import tempfile
    from pathlib import Path

    from petkit.threads import passive_threads
    passive_threads()
    import torch
    from fastai.vision.all import set_seed
    from petkit.data import make_pets
    from petkit.demo import THREADS
    from petkit.pretrain import weights_source
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from solutions.datablock import pets_dataloaders
    from solutions.transfer import fine_tune, make_learner

    torch.set_num_threads(THREADS)
    chance = 1 - 1 / 37
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path = make_pets(Path(tmp) / "pets", per_class=per_class, size=size, seed=seed)
        made = time.perf_counter() - start
        print(f"synthetic pets: 37 breeds x {per_class} images around {size} px, made in {made:.1f} s; "
              f"{epochs} epochs at {img_size} px (presized from {img_size * 2}), bs 32, seed {seed}", flush=True)
        rows = []
        for name, arch, pretrained, lr in (("resnet18 from scratch", "resnet18", False, scratch_lr),
                                           (f"{body} pretrained ({weights_source(body)})", body, True, tune_lr)):
            set_seed(seed, reproducible=True)  # the loaders' shuffling takes its generator from `random`
            dls = pets_dataloaders(path, bs=32, item_size=img_size * 2, crop_size=img_size, seed=seed)
            set_seed(seed, reproducible=True)
            learn = make_learner(dls, arch, pretrained=pretrained)
            learn.path = Path(tmp)
            learn.to_channelslast(use_amp=False)
            start = time.perf_counter()
            with learn.no_bar(), learn.no_logging():
                if pretrained:
                    fine_tune(learn, epochs - 1, base_lr=lr)
                else:
                    learn.fit_one_cycle(epochs, lr)
            trained = time.perf_counter() - start
            with learn.no_bar(), learn.no_logging():
                err = float(learn.validate()[1])
            how = f"fine_tune({epochs - 1}, base_lr={lr:g})" if pretrained else f"fit_one_cycle({epochs}, {lr:g})"
            print(f"{name:<45} {how:<28} error rate {err:.3f} ({err / chance:.2f} x chance {chance:.3f}), "
                  f"{trained:.0f} s of training", flush=True)
            rows.append(err)
    print(f"scratch / pretrained error: {rows[0] / max(rows[1], 1e-9):.1f}x "
          f"({os.environ.get('OMP_WAIT_POLICY')} OpenMP threads; times depend on the machine's load)")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.data", description=__doc__.split("\n\n")[0])
    p.add_argument("--per-class", type=int, default=30, help="images per breed (default 30, as the demo)")
    p.add_argument("--size", type=int, default=160, help="synthetic image size (default 160, as the demo)")
    p.add_argument("--img-size", type=int, default=96, help="crop size (default 96, as the demo)")
    p.add_argument("--epochs", type=int, default=6, help="the budget, for both (default 6; the demo trains 7, fine_tune(6))")
    p.add_argument("--body", default="efficientnet_lite0", choices=["efficientnet_lite0", "resnet18", "resnet34"],
                   help="the pretrained body (a resnet needs `petkit pretrain` or ImageNet weights)")
    p.add_argument("--scratch-lr", type=float, default=3e-3)
    p.add_argument("--tune-lr", type=float, default=1e-2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    return bench_data(args.per_class, args.size, args.img_size, args.epochs, args.seed, args.body,
                      args.scratch_lr, args.tune_lr)


if __name__ == "__main__":
    sys.exit(main())
