"""Benchmark: the hand-written `lr_find` against fastai's `learn.lr_find()` on the same learner.

    python -m benchmarks.lr_find [--impl solutions] [--arch resnet18] [--num-it 30] [--repeats 2]

Each run gets a fresh learner built the same way (petkit.learners.tiny_learner, same seed, one torch
thread, no workers) and the same random state, so both do exactly the same training steps; the runs
alternate (fastai, yours, fastai, yours, ...) so that both see the same machine, and the fastest of
each is kept. Prints `lr_find: yours X s, fastai Y s, ratio Z` (wall clock; target: ratio <= 1.2,
the README's benchmark table), then the same in CPU time, the steadier figure when other jobs share the machine.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time

TARGET = 1.2


def _time_once(run, learn) -> tuple[float, float]:
    """(wall-clock, CPU) seconds of one run; with one torch thread and no workers the CPU time is
    this process's work alone, which other jobs on a shared machine do not inflate."""
    from fastai.vision.all import set_seed
    set_seed(7, reproducible=True)
    wall, cpu = time.perf_counter(), time.process_time()
    run(learn)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(impl: str = "solutions", arch: str = "resnet18", num_it: int = 30, repeats: int = 2,
            img_size: int = 64, bs: int = 16) -> dict[str, tuple[float, float]]:
    """{"yours": (wall, cpu), "fastai": (wall, cpu)}: the best seconds of each over `repeats`
    alternating runs."""
    from petkit import ROOT
    from petkit.learners import tiny_dls, tiny_learner, tiny_pets
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    yours = importlib.import_module(f"{impl}.lr_finder").lr_find
    pets = tiny_pets(breeds=8, per_class=8, size=96)

    def learner():
        return tiny_learner(tiny_dls(pets, img_size=img_size, bs=bs), arch=arch, seed=42)

    counts = {"fastai": set(), "yours": set()}

    def fastai_run(learn):
        with learn.no_logging():
            learn.lr_find(num_it=num_it, show_plot=False, suggest_funcs=None)
        counts["fastai"].add(len(learn.recorder.lrs))

    def your_run(learn):
        counts["yours"].add(len(yours(learn, num_it=num_it)[0]))

    _time_once(your_run, learner())  # warm-up: first-call costs (allocations, file cache) on neither side
    t_fastai, t_yours = [], []
    for _ in range(repeats):
        t_fastai.append(_time_once(fastai_run, learner()))
        t_yours.append(_time_once(your_run, learner()))
    if len(counts["fastai"]) != 1 or counts["fastai"] != counts["yours"]:
        raise RuntimeError(f"the two finders trained different numbers of batches ({counts}): not comparable")
    return {"yours": (min(w for w, _ in t_yours), min(c for _, c in t_yours)),
            "fastai": (min(w for w, _ in t_fastai), min(c for _, c in t_fastai))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lr_find", description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default="solutions", help="package whose lr_finder.lr_find is timed (default solutions)")
    p.add_argument("--arch", default="resnet18", choices=["tiny", "resnet18", "resnet34"])
    p.add_argument("--num-it", type=int, default=30, help="finder batches per run (default 30)")
    p.add_argument("--repeats", type=int, default=2, help="timed runs of each (default 2; the fastest counts)")
    p.add_argument("--img-size", type=int, default=64)
    p.add_argument("--bs", type=int, default=16)
    args = p.parse_args(argv)
    t = measure(args.impl, args.arch, args.num_it, args.repeats, args.img_size, args.bs)
    ratio, cpu_ratio = t["yours"][0] / t["fastai"][0], t["yours"][1] / t["fastai"][1]
    print(f"lr_find: yours {t['yours'][0]:.2f} s, fastai {t['fastai'][0]:.2f} s, ratio {ratio:.2f} "
          f"(CPU time: {t['yours'][1]:.2f} s vs {t['fastai'][1]:.2f} s, ratio {cpu_ratio:.2f}; "
          f"{args.arch}, {args.img_size} px, bs {args.bs}, {args.num_it} batches; target <= {TARGET})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
