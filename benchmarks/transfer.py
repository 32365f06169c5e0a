"""Benchmark: what the `transfer` lesson claims, on the synthetic pets.

    petkit pretrain --arch resnet18            # once: the offline body (or have ImageNet's in torch's cache)
    python -m benchmarks.transfer [--impl solutions] [--epochs 5] [--breeds 10] [--per-class 30]

1. Transfer learning pays: the same number of epochs from the pretrained body (make_learner, then
   `fine_tune(learn, epochs - 1, base_lr=lr)`: one frozen epoch and epochs - 1 unfrozen) against the
   same architecture from random weights (`fit_one_cycle(epochs, lr)`), each at the same few
   learning rates, the best of each side counting. Prints the error rates side by side, per seed.
2. The hand-written `fine_tune` costs what fastai's does: fresh identical learners (same seed, one
   torch thread, no workers), alternating runs, the fastest of each kept; the two must also end
   with the same weights. Prints `fine_tune: yours X s, fastai Y s, ratio Z` (target <= 1.2).
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time

TARGET = 1.2


def _impl(impl: str):
    from petkit import ROOT
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"{impl}.transfer")


def _error_rate(learn) -> float:
    with learn.no_logging():
        return float(learn.validate()[1])


def pretrained_vs_scratch(impl: str = "solutions", arch: str = "resnet18", epochs: int = 5, breeds: int = 10,
                          per_class: int = 30, img_size: int = 64, bs: int = 32, lrs=(2e-3, 1e-2),
                          seeds=(0, 1)) -> list[dict]:
    """One row per seed: the error rates of the pretrained and the scratch learners, per lr."""
    import torch
    from fastai.vision.all import set_seed
    from petkit.learners import TORCH_THREADS, tiny_dls, tiny_pets
    from petkit.pretrain import weights_source
    transfer = _impl(impl)
    torch.set_num_threads(TORCH_THREADS)
    pets = tiny_pets(breeds=breeds, per_class=per_class, size=96)
    source = weights_source(arch)  # raises, naming `petkit pretrain`, when there is no body
    rows = []
    for seed in seeds:
        def learner(pretrained):
            set_seed(seed, reproducible=True)
            dls = tiny_dls(pets, img_size=img_size, bs=bs, seed=seed, augment=True)
            set_seed(seed, reproducible=True)
            learn = transfer.make_learner(dls, arch, pretrained=pretrained)
            if hasattr(learn, "progress"):
                learn.remove_cb(learn.progress)
            return learn

        row = {"seed": seed, "source": source}
        for lr in lrs:
            learn = learner(True)
            with learn.no_logging():
                transfer.fine_tune(learn, epochs - 1, base_lr=lr)
            row[f"pretrained@{lr:g}"] = _error_rate(learn)
            learn = learner(False)
            with learn.no_logging():
                learn.fit_one_cycle(epochs, lr)
            row[f"scratch@{lr:g}"] = _error_rate(learn)
        rows.append(row)
    return rows


def fine_tune_times(impl: str = "solutions", epochs: int = 1, repeats: int = 2, img_size: int = 64,
                    bs: int = 16) -> tuple[float, float]:
    """(yours, fastai's) best wall-clock seconds for fine_tune(learn, epochs) on a resnet18 learner."""
    import torch
    from fastai.vision.all import set_seed
    from petkit.learners import tiny_dls, tiny_learner, tiny_pets
    yours = _impl(impl).fine_tune
    pets = tiny_pets(breeds=8, per_class=8, size=96)

    def learner():
        return tiny_learner(tiny_dls(pets, img_size=img_size, bs=bs), arch="resnet18", seed=42, lr_find_ready=False)

    def timed(run):
        learn = learner()
        set_seed(7, reproducible=True)
        start = time.perf_counter()
        with learn.no_logging():
            run(learn)
        return time.perf_counter() - start, learn

    timed(lambda learn: yours(learn, epochs))  # warm-up: first-call costs on neither side
    t_yours, t_fastai = [], []
    for _ in range(repeats):
        t, theirs = timed(lambda learn: learn.fine_tune(epochs))
        t_fastai.append(t)
        t, ours = timed(lambda learn: yours(learn, epochs))
        t_yours.append(t)
    same = all(torch.equal(a, b) for a, b in zip(ours.model.state_dict().values(), theirs.model.state_dict().values()))
    if not same:
        raise RuntimeError("your fine_tune and learn.fine_tune ended with different weights: not comparable")
    return min(t_yours), min(t_fastai)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.transfer", description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default="solutions", help="package whose transfer lesson is used (default solutions)")
    p.add_argument("--arch", default="resnet18", choices=["resnet18", "resnet34", "resnet50"])
    p.add_argument("--epochs", type=int, default=5, help="epochs for both learners (default 5)")
    p.add_argument("--breeds", type=int, default=10, help="synthetic breeds (default 10)")
    p.add_argument("--per-class", type=int, default=30, help="images per breed (default 30)")
    p.add_argument("--img-size", type=int, default=64)
    p.add_argument("--seeds", type=int, default=2, help="runs with seeds 0, 1, ... (default 2)")
    p.add_argument("--repeats", type=int, default=2, help="timed fine_tune runs of each (default 2)")
    p.add_argument("--lrs", type=float, nargs="+", default=[2e-3, 1e-2],
                   help="learning rates tried on both sides (default 2e-3 1e-2)")
    p.add_argument("--skip-accuracy", action="store_true", help="only time fine_tune")
    args = p.parse_args(argv)
    ok = True
    if not args.skip_accuracy:
        from petkit.pretrain import WeightsUnavailable
        try:
            rows = pretrained_vs_scratch(args.impl, args.arch, args.epochs, args.breeds, args.per_class,
                                         args.img_size, lrs=tuple(args.lrs), seeds=tuple(range(args.seeds)))
        except WeightsUnavailable as e:
            print(f"bench_transfer: {e}", file=sys.stderr)
            return 2
        cols = [k for k in rows[0] if "@" in k]
        print(f"error rate after {args.epochs} epochs, {args.arch} at {args.img_size} px, {args.breeds} synthetic "
              f"breeds x {args.per_class} images (25% validation); pretrained body: {rows[0]['source']}")
        print(f"{'seed':>4}  " + "  ".join(f"{k:>16}" for k in cols))
        for r in rows:
            print(f"{r['seed']:>4}  " + "  ".join(f"{r[k]:>16.3f}" for k in cols))
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in cols}
        print(f"{'mean':>4}  " + "  ".join(f"{mean[k]:>16.3f}" for k in cols))
        best = {side: min((mean[k], k) for k in cols if k.startswith(side)) for side in ("pretrained", "scratch")}
        ahead = best["pretrained"][0] < best["scratch"][0]
        print(f"pretrained body {'ahead of' if ahead else 'NOT ahead of'} scratch at equal epochs, best of each: "
              f"{best['pretrained'][1]} {best['pretrained'][0]:.3f} vs {best['scratch'][1]} {best['scratch'][0]:.3f}")
        ok &= ahead
    yours, theirs = fine_tune_times(args.impl, repeats=args.repeats, img_size=args.img_size)
    ratio = yours / theirs
    print(f"fine_tune: yours {yours:.2f} s, fastai {theirs:.2f} s, ratio {ratio:.2f} "
          f"(resnet18, {args.img_size} px, fine_tune(learn, 1); target <= {TARGET}; same final weights)")
    ok &= ratio <= TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
