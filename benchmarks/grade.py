"""Benchmark: `petkit grade autograde --workers N` against one-by-one grading (petkit's and nbgrader's).

    python -m benchmarks.grade [--lesson softmax] [--students 40] [--workers 2] [--keep DIR]

Generates STUDENTS submissions of LESSON (cycling through the reference answers, the release
untouched, the samples and the notebooks of known wrong answers; every student has its own name, so
its own hidden-test seed), copies the course three times, releases the lesson in each (not timed),
then times `nbgrader autograde LESSON` (one process, one notebook after another), `petkit grade
autograde LESSON` (the same, then the referee's re-run: see petkit/grading/referee.py) and `petkit grade
autograde LESSON --workers N`, and `petkit grade autograde LESSON --no-sandbox` (what the OS
sandbox of petkit/grading/sandbox.py costs per notebook, as a ratio), then nbgrader's own serial
`autograde` with its STOCK configuration (its preprocessors, a 60 s cell timeout: issue 16's baseline)
and petkit's runs cold (PETKIT_WARM=0: a fresh Python per kernel and per referee run, petkit.warm off). Prints the times, the speed-up of N workers over petkit's one-by-one
run, the same work (target: at least 0.8 x N, i.e. 1.6 for 2 workers), what the referee costs, and
whether every cell's score (nbgrader's, or the manual score of record petkit writes) is identical in
the three gradebooks. The PETKIT_* settings of this shell reach both
runs alike (PETKIT_HIDDEN_EXAMPLES=10 PETKIT_SHRINK=0, as the suite grades, makes it quicker).
Exits 1 when the grades differ.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_PER_WORKER = 0.8


def submissions(lesson_id: str, n: int) -> dict[str, str]:
    """{student: notebook text}, n of them, cycling through the kinds of submission there are."""
    from petkit import notebooks
    from petkit.corpus import load
    from petkit.registry import lesson as find
    lesson = find(lesson_id)
    source = notebooks.source_notebook(lesson)
    kinds = {"full": notebooks.dumps(source),
             "untouched": notebooks.dumps(notebooks.student_notebook(source))}
    for s in notebooks.samples(lesson):
        if s.student not in ("sample-full", "sample-untouched"):
            kinds[s.student.removeprefix("sample-")] = notebooks.dumps(notebooks.student_notebook(source, s.answers))
    for k, batch in enumerate(notebooks.wrong_answer_batches(lesson, load()), 1):
        kinds[f"wrong{k}"] = notebooks.dumps(notebooks.wrong_answer_notebook(source, lesson, batch))
    names = list(kinds)
    return {f"s{i:03d}-{names[i % len(names)]}": kinds[names[i % len(names)]] for i in range(n)}


def make_course(folder: Path, lesson_id: str, subs: dict[str, str]) -> Path:
    from petkit import ROOT
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "grader" / "nbgrader_config.py", folder)
    shutil.copytree(ROOT / "grader" / "source" / lesson_id, folder / "source" / lesson_id)
    for student, text in subs.items():
        sub = folder / "submitted" / student / lesson_id
        sub.mkdir(parents=True)
        (sub / f"{lesson_id}.ipynb").write_text(text)
    return folder


def _env(stock: bool = False) -> dict[str, str]:
    """The runs' environment: the venv's tools and the kit on the paths; `stock`: torch's threads left
    as this machine's (petkit's grading sets one per kernel, course.GRADING_THREADS; nbgrader does not)."""
    from petkit import ROOT
    from petkit.grading.course import GRADING_THREADS
    from petkit.grading.course import tools_env as _tools_env
    env = {**os.environ, **_tools_env(), "NO_COLOR": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    if stock:
        for name in GRADING_THREADS:
            if name in os.environ:
                env[name] = os.environ[name]
            else:
                env.pop(name, None)
    return env


STOCK_CONFIG = """# nbgrader's stock configuration: its own preprocessors, a 60 s cell timeout
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "petkit"
c.ExecutePreprocessor.timeout = 60
"""


def timed(command: list[str], cwd: Path, stock: bool = False, **env: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env={**_env(stock), **env}, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return took


def grades(course: Path, lesson_id: str) -> dict[str, dict[str, tuple]]:
    """{student: {grade cell: (score, auto score, extra credit, needs manual grade)}}, straight from the
    gradebook; the score is nbgrader's: the manual score when there is one, else the auto score."""
    with sqlite3.connect(course / "gradebook.db") as con:
        rows = con.execute(
            "SELECT sa.student_id, bc.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade "
            "FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id "
            "JOIN submitted_assignment sa ON sn.assignment_id = sa.id JOIN assignment a ON sa.assignment_id = a.id "
            "JOIN base_cell bc ON g.cell_id = bc.id WHERE a.name = ?", (lesson_id,)).fetchall()
    out: dict[str, dict[str, tuple]] = {}
    for student, cell, auto, manual, extra, needs_manual in rows:
        if cell in out.setdefault(student, {}):
            raise SystemExit(f"{student} has {cell} twice in {course / 'gradebook.db'}")
        out[student][cell] = (auto if manual is None else manual, auto, extra, needs_manual)
    return out


def _total(g: dict[str, dict[str, tuple]]) -> float:
    return sum((v[0] or 0) for cells in g.values() for v in cells.values())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.grade", description=__doc__.splitlines()[0])
    p.add_argument("--lesson", default="softmax")
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--keep", type=Path, default=None, help="make the two courses here and keep them")
    args = p.parse_args(argv)
    from petkit.grading.course import Course
    base = args.keep or Path(tempfile.mkdtemp(prefix="petkit-bench-grade-"))
    try:
        subs = submissions(args.lesson, args.students)
        serial = make_course(base / "serial", args.lesson, subs)
        one = make_course(base / "petkit-serial", args.lesson, subs)
        parallel = make_course(base / "parallel", args.lesson, subs)
        bare = make_course(base / "no-sandbox", args.lesson, subs)
        stock = make_course(base / "stock", args.lesson, subs)
        (stock / "nbgrader_config.py").write_text(STOCK_CONFIG)
        cold = make_course(base / "cold", args.lesson, subs)
        cold_par = make_course(base / "cold-parallel", args.lesson, subs)
        for course in (serial, one, parallel, bare, stock, cold, cold_par):
            Course(course).release(args.lesson)
        print(f"{len(subs)} submissions of {args.lesson} ({len(set(s.split('-', 1)[1] for s in subs))} kinds); "
              f"PETKIT_* settings: {' '.join(f'{k}={v}' for k, v in os.environ.items() if k.startswith('PETKIT_')) or 'none'}",
              flush=True)
        t_serial = timed([sys.executable, "-m", "nbgrader", "autograde", args.lesson], serial)
        print(f"nbgrader autograde (serial): {t_serial:.1f} s", flush=True)
        t_one = timed([sys.executable, "-m", "petkit.cli", "grade", "autograde", args.lesson, "--course", str(one)], one)
        print(f"petkit grade autograde (serial, with the referee): {t_one:.1f} s", flush=True)
        t_par = timed([sys.executable, "-m", "petkit.cli", "grade", "autograde", args.lesson, "--workers",
                       str(args.workers), "--course", str(parallel)], parallel)
        print(f"petkit grade autograde --workers {args.workers}: {t_par:.1f} s", flush=True)
        t_bare = timed([sys.executable, "-m", "petkit.cli", "grade", "autograde", args.lesson, "--no-sandbox",
                        "--course", str(bare)], bare)
        print(f"petkit grade autograde --no-sandbox (serial): {t_bare:.1f} s", flush=True)
        t_stock = timed([sys.executable, "-m", "nbgrader", "autograde", args.lesson], stock, stock=True)
        print(f"nbgrader autograde, stock configuration (serial): {t_stock:.1f} s", flush=True)
        t_cold = timed([sys.executable, "-m", "petkit.cli", "grade", "autograde", args.lesson, "--course", str(cold)],
                       cold, PETKIT_WARM="0")
        print(f"petkit grade autograde, cold (PETKIT_WARM=0, serial): {t_cold:.1f} s", flush=True)
        t_cold_par = timed([sys.executable, "-m", "petkit.cli", "grade", "autograde", args.lesson, "--workers",
                            str(args.workers), "--course", str(cold_par)], cold_par, PETKIT_WARM="0")
        print(f"petkit grade autograde, cold, --workers {args.workers}: {t_cold_par:.1f} s", flush=True)
        print(f"over nbgrader's stock serial run: --workers 1 {t_stock / t_one:.2f} (target 2), --workers "
              f"{args.workers} {t_stock / t_par:.2f} (target 4); cold: {t_stock / t_cold:.2f} and "
              f"{t_stock / t_cold_par:.2f}; the warm start's own speed-up, one by one: {t_cold / t_one:.2f}")
        scores = lambda g: {s: {c: v[0] for c, v in cells.items()} for s, cells in g.items()}  # noqa: E731
        st, wo = scores(grades(stock, args.lesson)), scores(grades(one, args.lesson))
        print(f"scores identical to nbgrader's stock run, cell for cell: {'yes' if st == wo else 'NO'}; warm and cold "
              f"gradebooks identical: {'yes' if grades(cold, args.lesson) == grades(one, args.lesson) == grades(cold_par, args.lesson) else 'NO'}")
        a, o, b = grades(serial, args.lesson), grades(one, args.lesson), grades(parallel, args.lesson)
        cells = sum(len(v) for v in a.values())
        same = a == o == b == grades(cold, args.lesson) == grades(cold_par, args.lesson) and len(a) == len(subs)
        print(f"the OS sandbox's cost: {t_one / t_bare:.2f} x the time without it "
              f"({(t_one - t_bare) / len(subs):+.2f} s per notebook); grades "
              f"{'identical' if grades(bare, args.lesson) == o else 'DIFFERENT'} (the sandbox changes no grade)")
        target = TARGET_PER_WORKER * args.workers
        print(f"speed-up of {args.workers} workers over petkit one by one: {t_one / t_par:.2f} "
              f"(target at least {target:.1f} on {os.cpu_count()} cores)")
        print(f"over nbgrader alone: {t_serial / t_par:.2f}; the referee's cost one by one: "
              f"{t_one / t_serial:.2f} x nbgrader's time")
        print(f"grades identical: {'yes' if same else 'NO'} ({len(a)} students, {cells} graded cells; "
              f"total scores {_total(a):g}, {_total(o):g} and {_total(b):g})")
        if not same:
            for s in sorted(set(a) | set(o) | set(b)):
                if not a.get(s) == o.get(s) == b.get(s):
                    print(f"  {s}: nbgrader {a.get(s)}, petkit {o.get(s)}, --workers {b.get(s)}")
        return 0 if same else 1
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
