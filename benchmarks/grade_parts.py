"""Benchmark: what each part of grading one notebook costs, cold (a fresh Python per kernel and per
referee run) and warm (a fork of petkit.warm's server), in the OS sandbox.

    python -m benchmarks.grade_parts [--lesson softmax] [--repeat 3]

Parts: kernel start (start to the first reply), imports (the course's given cell), checks (the test
cells), the referee (petkit.grading.referee.judge on the same notebook). Warm, the server's own start
(its imports, paid once per grading process) is reported apart. Prints seconds (the median of
--repeat) and the ratio cold / warm per part.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _kernel_parts(nb: dict, lesson: str, server) -> dict[str, float]:
    from jupyter_client.manager import KernelManager
    from petkit import tempdirs
    from petkit.grading import sandbox, warm_grading
    from petkit.notebooks import GIVEN_ID
    scratch = sandbox.scratch_folder(parent=warm_grading.spool_of(server))
    km = KernelManager(kernel_name="python3")
    try:
        cwd = sandbox.copy_into(scratch / "none", scratch)
        sandbox.confine_kernel(km, scratch, cwd)
        if server is not None:
            warm_grading.start_kernels_through(km, server, keep=str(scratch))
        t0 = time.perf_counter()
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=600)
        parts = {"kernel start": time.perf_counter() - t0}
        for part, cells in (("imports", [c for c in nb["cells"] if _id(c) == GIVEN_ID]),
                            ("answers", [c for c in nb["cells"] if _meta(c).get("solution")]),
                            ("checks", [c for c in nb["cells"] if _meta(c).get("grade") and not _meta(c).get("solution")])):
            t = time.perf_counter()
            for c in cells:
                reply = kc.execute_interactive("".join(c["source"]), timeout=600, output_hook=lambda msg: None)
                if reply["content"]["status"] != "ok":
                    raise SystemExit(f"a {part} cell failed: {reply['content'].get('evalue')}")
            parts[part] = time.perf_counter() - t
        kc.stop_channels()
        return parts
    finally:
        km.shutdown_kernel(now=True)
        tempdirs.remove(scratch)


def _meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _id(cell: dict) -> str:
    return _meta(cell).get("grade_id", "")


def _referee(source: dict, lesson: str) -> float:
    from petkit.grading.referee import judge
    t = time.perf_counter()
    verdicts = judge(source, source, lesson, "bench-student")
    if not all(v.passed for v in verdicts.values()):
        raise SystemExit(f"the referee failed the reference answers: {verdicts}")
    return time.perf_counter() - t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.grade_parts", description=__doc__.splitlines()[0])
    p.add_argument("--lesson", default="softmax")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    from petkit import notebooks, warm
    from petkit.grading import sandbox, warm_grading
    from petkit.grading.course import tools_env
    from petkit.registry import lesson as find
    if sandbox.available():
        raise SystemExit(f"the sandbox does not work here: {sandbox.available()}")
    os.environ.update(tools_env(), NBGRADER_EXECUTION="autograde")  # as nbgrader's kernels have it
    source = notebooks.source_notebook(find(args.lesson))
    rows: dict[str, dict[str, list[float]]] = {"cold": {}, "warm": {}}
    t = time.perf_counter()
    # one server for the kernels and the referee, as petkit grade has it
    server = warm_grading.grading_server(warm_grading.given_cell(source), args.lesson, True,
                                         env=warm_grading.grading_env())
    started = time.perf_counter() - t
    if server is None:
        raise SystemExit("no warm server could start here (PETKIT_WARM=0, or see petkit/warm.py)")
    for _ in range(args.repeat):
        for mode in ("cold", "warm"):
            os.environ["PETKIT_WARM"] = "1" if mode == "warm" else "0"
            parts = _kernel_parts(source, args.lesson, server if mode == "warm" else None)
            parts["referee"] = _referee(source, args.lesson)
            for k, v in parts.items():
                rows[mode].setdefault(k, []).append(v)
    warm.close_all()
    print(f"{args.lesson}, median of {args.repeat}, seconds ({os.cpu_count()} cores; the warm server's own start, "
          f"once per grading process: {started:.1f} s)")
    print(f"  {'part':<14}{'cold':>8}{'warm':>8}{'cold/warm':>11}")
    for part in rows["cold"]:
        c, w = statistics.median(rows["cold"][part]), statistics.median(rows["warm"][part])
        print(f"  {part:<14}{c:>8.2f}{w:>8.2f}{c / w:>11.1f}")
    total_c = sum(statistics.median(v) for v in rows["cold"].values())
    total_w = sum(statistics.median(v) for v in rows["warm"].values())
    print(f"  {'one notebook':<14}{total_c:>8.2f}{total_w:>8.2f}{total_c / total_w:>11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
