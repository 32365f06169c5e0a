"""`petkit grade report LESSON`: the class at a glance, in reports/LESSON/index.html of the course.

What it shows, from the gradebook and the autograded notebooks alone (petkit.classbook; nothing is
run again): the score distribution; per exercise how many students got full, part and no points;
per exercise the causes of lost points grouped (the failing check, a known mistake, not started,
syntax error, timeout, crash, cheat verdict), with counts and the students in each group; and a
table, student by exercise, linking each student's feedback page. The figures are PNGs drawn with
matplotlib (Agg); they aggregate, so they read the same for 1 student and for 1,000. Every string
that comes from a student (ids, messages) is escaped.
"""
from __future__ import annotations

import html
import os
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

from petkit.grading import causes
from petkit.grading.causes import KINDS
from petkit.grading.classbook import ClassResults, collect

COLOURS = {"full": "#2e7d32", "part": "#f2a900", "none": "#c62828"}
OUTCOMES = (("full", "full points"), ("part", "part"), ("none", "no points"))
KIND_COLOURS = {causes.NOT_GRADED: "#424242", causes.NOT_STARTED: "#9e9e9e", causes.SYNTAX: "#8e24aa",
                causes.TIMEOUT: "#ef6c00", causes.CRASH: "#6d4c41", causes.CHEAT: "#000000",
                causes.MISTAKE: "#00838f", causes.CHECK: "#c62828", causes.HIDDEN: "#ad1457",
                causes.ERROR: "#f9a825", causes.UNKNOWN: "#b0bec5"}
SHOWN_PER_CAUSE = 30        # students listed in a cause's group; the rest are counted
OPEN_PER_CAUSE = 8          # a group this small is listed open
SHOWN_GROUPS = 12           # causes of one exercise shown at once; the rarer ones are folded
OPEN_TABLE = 200            # a per-student table this long starts open
FIGURES = ("scores.png", "exercises.png", "causes.png")


def report_dir(course, lesson_id: str) -> Path:
    return course.root / "reports" / lesson_id


def write(course, lesson_id: str) -> Path:
    """Write reports/LESSON/index.html and its figures; return the page's path."""
    results = collect(course, lesson_id)
    folder = report_dir(course, lesson_id)
    folder.mkdir(parents=True, exist_ok=True)
    draw(results, folder)
    feedback = {s.student: (course.root / "feedback" / s.student / lesson_id / f"{lesson_id}.html").exists()
                for s in results.students}
    page = folder / "index.html"
    tmp = folder / f".index.html.{os.getpid()}.tmp"
    try:
        tmp.write_text(render(results, feedback, course_id=course.course_id), encoding="utf-8")
        os.replace(tmp, page)
    finally:
        tmp.unlink(missing_ok=True)
    return page


# --- the numbers ---------------------------------------------------------------------------------

def outcome_counts(results: ClassResults) -> dict[str, Counter]:
    """exercise id -> Counter of 'full', 'part', 'none'."""
    counts = {ex: Counter() for ex in results.exercises}
    for s in results.students:
        for ex, r in s.exercises.items():
            counts[ex][r.outcome] += 1
    return counts


def cause_groups(results: ClassResults) -> dict[str, list[tuple[str, list[tuple[str, str]]]]]:
    """exercise id -> [(cause label, [(student, detail), ...]), ...], the largest group first."""
    groups: dict[str, dict[str, list[tuple[str, str]]]] = {ex: defaultdict(list) for ex in results.exercises}
    for s in results.students:
        for ex, r in s.exercises.items():
            if r.cause is not None:
                groups[ex][r.cause.label].append((s.student, r.cause.detail))
    return {ex: sorted(g.items(), key=lambda kv: (-len(kv[1]), kv[0])) for ex, g in groups.items()}


def kind_counts(results: ClassResults) -> dict[str, Counter]:
    """exercise id -> Counter of cause kinds."""
    counts = {ex: Counter() for ex in results.exercises}
    for s in results.students:
        for ex, r in s.exercises.items():
            if r.cause is not None:
                counts[ex][r.cause.kind] += 1
    return counts


# --- the figures ---------------------------------------------------------------------------------

def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, format="png")
    os.replace(tmp, path)


def draw(results: ClassResults, folder: Path) -> None:
    """scores.png (the distribution of total scores), exercises.png (full / part / no points per
    exercise), causes.png (the kinds of causes per exercise)."""
    from matplotlib.ticker import MaxNLocator
    scores = [s.score for s in results.students]
    top = results.max_score or 1
    fig = _figure(11, 3)
    ax = fig.add_subplot()
    whole = top <= 40 and all(float(x).is_integer() for x in scores + [top])
    bins = [b - 0.5 for b in range(int(top) + 2)] if whole else 20
    ax.hist(scores, bins=bins, range=None if whole else (0, top), color="#1565c0", edgecolor="white")
    ax.set_xlim(-0.5 if whole else 0, top + (0.5 if whole else 0))
    ax.set_xlabel(f"score (out of {top:g})")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if whole:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Scores of {len(scores)} student{'s' if len(scores) != 1 else ''}")
    _save(fig, folder / FIGURES[0])

    counts = outcome_counts(results)
    names = results.exercises[::-1]
    height = 1.2 + 0.45 * len(names)
    fig = _figure(11, height)
    ax = fig.add_subplot()
    left = [0] * len(names)
    for key, label in OUTCOMES:
        values = [counts[ex][key] for ex in names]
        ax.barh(names, values, left=left, color=COLOURS[key], label=label)
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlabel("students")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    ax.set_title("Points per exercise")
    _save(fig, folder / FIGURES[1])

    kinds = kind_counts(results)
    seen = [k for k in KINDS if any(kinds[ex][k] for ex in names)]
    fig = _figure(11, height)
    ax = fig.add_subplot()
    left = [0] * len(names)
    for kind in seen:
        values = [kinds[ex][kind] for ex in names]
        ax.barh(names, values, left=left, color=KIND_COLOURS.get(kind, "#78909c"), label=kind)
        left = [a + b for a, b in zip(left, values)]
    if not seen:
        ax.text(0.5, 0.5, "no points lost", transform=ax.transAxes, ha="center", va="center")
        ax.set_yticks(range(len(names)), names)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    ax.set_xlabel("students who lost points")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Why points were lost")
    _save(fig, folder / FIGURES[2])


# --- the page ----------------------------------------------------------------------------------

def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _num(x: float) -> str:
    return f"{x:g}"


def feedback_link(student: str, lesson_id: str) -> str:
    """The student's feedback page, relative to reports/LESSON/index.html."""
    return f"../../feedback/{quote(student, safe='')}/{quote(lesson_id, safe='')}/{quote(lesson_id, safe='')}.html"


CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222;
       max-width: 1180px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
h3 { margin-bottom: 0.3em; } .muted { color: #666; }
table { border-collapse: collapse; margin: 0.5em 0 1em; } th, td { padding: 3px 8px; border-bottom: 1px solid #eee;
  text-align: left; vertical-align: top; } th { background: #f5f5f5; } td.n, th.n { text-align: right; }
td.full { background: #e8f5e9; } td.part { background: #fff8e1; } td.none { background: #ffebee; }
td.msg { max-width: 44em; overflow-wrap: anywhere; font-size: 0.92em; }
.figures img { max-width: 100%; display: block; margin: 0.4em 0; }
.kind { display: inline-block; padding: 0 6px; border-radius: 3px; background: #eceff1; font-size: 0.88em; }
details summary { cursor: pointer; color: #1565c0; } ul.students { columns: 4 12em; margin: 0.3em 0; }
.stats span { margin-right: 1.5em; } code { font-size: 0.92em; }
"""


def render(results: ClassResults, feedback: dict[str, bool] | None = None, course_id: str = "") -> str:
    feedback = feedback or {}
    lesson = results.lesson
    n = len(results.students)
    scores = [s.score for s in results.students]
    top = results.max_score
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{_e(lesson)}: class report</title>", f"<style>{CSS}</style></head><body>",
           f"<h1>{_e(lesson)}: class report</h1>",
           f'<p class="muted">{_e(course_id) + ", " if course_id else ""}{n} graded submission{"s" if n != 1 else ""}'
           f", {len(results.exercises)} exercises, {_num(top)} points; from the gradebook and the autograded "
           f"notebooks (<code>petkit grade report {_e(lesson)}</code>).</p>"]
    if n:
        full = sum(1 for s in results.students if top and s.score >= top)
        unread = sum(1 for s in results.students if not s.graded)
        out.append('<p class="stats" id="stats">'
                   f'<span>mean <b data-stat="mean">{statistics.mean(scores):.2f}</b></span>'
                   f'<span>median <b data-stat="median">{_num(statistics.median(scores))}</b></span>'
                   f'<span>full marks <b data-stat="full">{full}</b></span>'
                   f'<span>could not be graded <b data-stat="not-graded">{unread}</b></span></p>')
    out.append('<div class="figures">' + "".join(
        f'<img src="{f}" alt="{alt}">' for f, alt in zip(FIGURES, (
            "the distribution of the class's scores", "full, part and no points per exercise",
            "the kinds of causes of lost points per exercise"))) + "</div>")
    out += _exercise_table(results)
    out += _causes(results)
    out += _student_table(results, feedback)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _exercise_table(results: ClassResults) -> list[str]:
    counts = outcome_counts(results)
    rows = ['<h2 id="exercises">Per exercise</h2>', '<table class="exercises"><tr><th>exercise</th>'
            '<th class="n">points</th><th class="n">full points</th><th class="n">part</th>'
            '<th class="n">no points</th><th class="n">mean</th></tr>']
    for ex in results.exercises:
        got = [s.exercises[ex].score for s in results.students if ex in s.exercises]
        mean = f"{statistics.mean(got):.2f}" if got else "-"
        rows.append(f'<tr data-exercise="{_e(ex)}"><td><a href="#causes-{_e(ex)}"><code>{_e(ex)}</code></a></td>'
                    f'<td class="n">{_num(results.points[ex])}</td>'
                    + "".join(f'<td class="n {k}" data-outcome="{k}">{counts[ex][k]}</td>' for k, _ in OUTCOMES)
                    + f'<td class="n">{mean}</td></tr>')
    rows.append("</table>")
    return rows


def _causes(results: ClassResults) -> list[str]:
    out = ['<h2 id="causes">Why points were lost</h2>']
    for ex, groups in cause_groups(results).items():
        lost = sum(len(students) for _, students in groups)
        out.append(f'<h3 id="causes-{_e(ex)}"><code>{_e(ex)}</code> <span class="muted">'
                   f'{lost} student{"s" if lost != 1 else ""} lost points</span></h3>')
        if not groups:
            out.append('<p class="muted">Everyone got full points.</p>')
            continue
        head = ('<table class="causes"><tr><th>cause</th><th class="n">students</th><th>for example</th>'
                '<th>who</th></tr>')
        out.append(head)
        for i, (label, students) in enumerate(groups):
            if i == SHOWN_GROUPS:  # the rarest causes, folded: a class of 1,000 can have many
                rest = groups[SHOWN_GROUPS:]
                out.append(f'</table><details class="more-causes"><summary>{len(rest)} more causes '
                           f'({sum(len(st) for _, st in rest)} students)</summary>{head}')
            kind, _, group = label.partition(": ")
            example = next((d for _, d in students if d), "")
            shown = students[:SHOWN_PER_CAUSE]
            items = "".join(f"<li>{_e(s)}</li>" for s, _ in shown)
            more = len(students) - len(shown)
            more_text = (f'<li class="muted">and {more} more (<code>petkit grade export --per-exercise</code> '
                         f"lists everyone)</li>") if more else ""
            is_open = " open" if len(students) <= OPEN_PER_CAUSE else ""
            out.append(f'<tr class="cause" data-exercise="{_e(ex)}" data-label="{_e(label)}">'
                       f'<td><span class="kind">{_e(kind)}</span> {_e(group)}</td>'
                       f'<td class="n" data-count>{len(students)}</td><td class="msg">{_e(example)}</td>'
                       f'<td><details{is_open}><summary>{len(students)} student{"s" if len(students) != 1 else ""}'
                       f'</summary><ul class="students">{items}{more_text}</ul></details></td></tr>')
        out.append("</table>" + ("</details>" if len(groups) > SHOWN_GROUPS else ""))
    return out


def _student_table(results: ClassResults, feedback: dict[str, bool]) -> list[str]:
    n = len(results.students)
    heads = "".join(f'<th class="n"><code>{_e(ex.partition(".")[2] or ex)}</code></th>' for ex in results.exercises)
    out = ['<h2 id="students">Per student</h2>',
           f'<details{" open" if n <= OPEN_TABLE else ""}><summary>{n} student{"s" if n != 1 else ""}, '
           f'exercise by exercise (hover a cell for why it lost points)</summary>',
           f'<table class="students"><tr><th>student</th><th class="n">score</th>{heads}<th>feedback</th></tr>']
    for s in results.students:
        cells = []
        for ex in results.exercises:
            r = s.exercises.get(ex)
            if r is None:
                cells.append('<td class="n">-</td>')
                continue
            why = f' title="{_e(r.cause.label + (": " + r.cause.detail if r.cause.detail else ""))}"' if r.cause else ""
            cells.append(f'<td class="n {r.outcome}" data-exercise="{_e(ex)}"{why}>{_num(r.score)}</td>')
        link = (f'<a href="{_e(feedback_link(s.student, results.lesson))}">feedback</a>'
                if feedback.get(s.student) else '<span class="muted">none yet</span>')
        out.append(f'<tr class="student" data-student="{_e(s.student)}"><td>{_e(s.student)}</td>'
                   f'<td class="n" data-score>{_num(s.score)}/{_num(s.max_score)}</td>{"".join(cells)}'
                   f'<td>{link}</td></tr>')
    out += ["</table>", "</details>"]
    return out
