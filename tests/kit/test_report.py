"""`petkit grade report` and `petkit grade export --per-exercise` over one generated class, graded
once for the whole run (real nbgrader and referee runs): the softmax samples, the corpus's wrong answers
and a few faults (a loop that never ends, a kernel that exits, a cheat, an answer fitted to the
visible checks, a notebook that is not JSON).
Every number of the report's HTML and of the CSV is checked against the gradebook; the page is opened
in a real headless Chromium where it is installed; the feedback pages read well."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from petkit import ROOT, notebooks
from petkit.grading import causes
from petkit.corpus import load, only_bad_input
from petkit.grading.course import Course
from petkit.registry import lesson

import integrity
from softmax_class import LESSON, NOT_GRADABLE, ODD_ID
from test_grade import _copy_course, _grades, grade

# --- helpers -------------------------------------------------------------------------------------

def _gradebook_scores(course: Path, lesson_id: str = LESSON) -> dict[str, dict[str, tuple[float, float]]]:
    """student -> exercise id -> (score, max score), read with nbgrader's API cell by cell (an
    exercise's maths and bad-input test cells added up)."""
    import warnings
    from petkit.notebooks import test_cells
    ids = {cell: e.id for e in lesson(lesson_id).exercises for cell in test_cells(e)}
    out = {}
    with warnings.catch_warnings(), Course(course).gradebook() as gb:
        warnings.simplefilter("ignore")
        for sub in gb.find_assignment(lesson_id).submissions:
            sums: dict[str, tuple[float, float]] = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    got, most = sums.get(ids[g.name], (0.0, 0.0))
                    sums[ids[g.name]] = (got + (g.score or 0), most + (g.max_score or 0))
            out[sub.student_id] = sums
    return out


def _outcome(score: float, max_score: float) -> str:
    return "full" if score >= max_score else ("part" if score > 0 else "none")


def _page(course: Path):
    from bs4 import BeautifulSoup
    return BeautifulSoup((course / "reports" / LESSON / "index.html").read_text(), "html.parser")


def _report_numbers(soup) -> dict:
    """Everything the page counts: per exercise the outcomes, the cause groups, per student the scores."""
    exercises = {tr["data-exercise"]: {td["data-outcome"]: int(td.text) for td in tr.select("td[data-outcome]")}
                 for tr in soup.select("table.exercises tr[data-exercise]")}
    groups: dict = {}
    for tr in soup.select("tr.cause"):
        shown = [li.text for li in tr.select("ul.students li:not(.muted)")]
        groups.setdefault(tr["data-exercise"], {})[tr["data-label"]] = (int(tr.select_one("td[data-count]").text), shown)
    students = {}
    for tr in soup.select("tr.student"):
        cells = {td["data-exercise"]: float(td.text) for td in tr.select("td[data-exercise]")}
        students[tr["data-student"]] = (tr.select_one("td[data-score]").text, cells)
    return {"exercises": exercises, "groups": groups, "students": students}


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _check_against_gradebook(course: Path, csv_path: Path) -> dict[tuple[str, str], str]:
    """Assert every number of the report and of the CSV equals the gradebook's; return the CSV's
    cause of each (student, exercise)."""
    book = _gradebook_scores(course)
    exercises = [e.id for e in lesson(LESSON).exercises]
    page = _report_numbers(_page(course))
    # per exercise: full, part, none
    assert list(page["exercises"]) == exercises
    for ex in exercises:
        want = {k: sum(1 for s in book.values() if _outcome(*s[ex]) == k) for k in ("full", "part", "none")}
        assert page["exercises"][ex] == want, ex
        # per cause: the groups' counts add up to those who lost points, and list only them
        lost = {st for st, s in book.items() if _outcome(*s[ex]) != "full"}
        groups = page["groups"].get(ex, {})
        assert sum(n for n, _ in groups.values()) == len(lost), (ex, groups)
        listed = [st for _, shown in groups.values() for st in shown]
        assert len(listed) == len(set(listed)) and set(listed) <= lost
        assert all(len(shown) == min(n, 30) for n, shown in groups.values())
    # per student: the total and every exercise
    assert set(page["students"]) == set(book)
    for st, s in book.items():
        total, cells = page["students"][st]
        assert total == f"{sum(v[0] for v in s.values()):g}/{sum(v[1] for v in s.values()):g}", st
        assert cells == {ex: s[ex][0] for ex in exercises}, st
    # the CSV: one row per student, the points and a cause exactly where points were lost
    rows = {r["student_id"]: r for r in _csv(csv_path)}
    assert set(rows) == set(book)
    header = list(next(iter(rows.values())))
    assert header == ["student_id"] + [c for ex in exercises for c in (ex, f"{ex} cause")]
    found = {}
    for st, s in book.items():
        for ex in exercises:
            assert float(rows[st][ex]) == s[ex][0], (st, ex)
            assert bool(rows[st][f"{ex} cause"]) == (_outcome(*s[ex]) != "full"), (st, ex, rows[st])
            found[(st, ex)] = rows[st][f"{ex} cause"]
    # the page's groups and the CSV's causes are the same partition
    for ex in exercises:
        by_label = {}
        for (st, e), cause in found.items():
            if e == ex and cause:
                label = next(l for l in page["groups"][ex] if cause == l or cause.startswith(l + " ("))
                by_label[label] = by_label.get(label, 0) + 1
        assert by_label == {l: n for l, (n, _) in page["groups"][ex].items()}, ex
    return found


def _kind(cause: str) -> str | None:
    """The kind a CSV cause names (None for an empty cause: full points)."""
    if not cause:
        return None
    return next(k for k in causes.KINDS if cause == k or cause.startswith((k + ":", k + " (")))


# --- the causes, parsed from the checks' own output ----------------------------------------------

def _checks_failed(exercise_id, title, message, hidden=False):
    from types import SimpleNamespace
    from petkit.nbcheck import _report
    text = _report(exercise_id, [(SimpleNamespace(kind="property", title=title),
                                  SimpleNamespace(status="fail", message=message))], 5)
    return ("the grader's hidden tests (the same checks on 60 other inputs) found a problem the visible "
            "checks missed.\n" + text) if hidden else text


def test_causes_group_by_the_failing_check_and_name_each_kind():
    a = causes.from_error("ChecksFailed", _checks_failed("softmax.softmax", "rows sum to 1", "sum is 2.0 for x = 1"))
    b = causes.from_error("ChecksFailed", _checks_failed("softmax.softmax", "rows sum to 1", "sum is 7.5 for x = 9"))
    c = causes.from_error("ChecksFailed", _checks_failed("softmax.softmax", "keeps the shape", "shape (2,) not (3,)"))
    assert a.kind == causes.CHECK and a.label == b.label == "check fails: rows sum to 1" and c.label != a.label
    assert a.detail != b.detail and "sum is 2.0" in a.detail and "\n" not in a.detail
    h = causes.from_error("ChecksFailed", _checks_failed("softmax.softmax", "rows sum to 1", "m", hidden=True))
    assert h.kind == causes.HIDDEN and h.group == "rows sum to 1"
    m = causes.from_error("ChecksFailed", _checks_failed(
        "softmax.softmax", "rows sum to 1", "sum is 2.0\nThis looks like a known mistake: sums over the whole tensor."))
    assert (m.kind, m.group) == (causes.MISTAKE, "sums over the whole tensor")
    n = causes.from_error("ChecksFailed", "softmax.softmax is not written yet: replace `raise NotImplementedError(...)` "
                                          "with your code, then run this cell again.")
    assert n.kind == causes.NOT_STARTED and "run this cell again" not in n.detail
    assert causes.from_error("CellTimeoutError", "timed out").kind == causes.TIMEOUT
    assert causes.from_error("KernelDied", "the kernel died while running this cell").kind == causes.CRASH
    assert causes.from_error("SyntaxError", "'(' was never closed").kind == causes.SYNTAX
    screened = causes.from_error("PermissionError", "petkit grade did not run this cell: cheat detected: the answer "
                                                    "cell imports petkit.nbcheck (the kit), which an answer never needs")
    assert screened.kind == causes.CHEAT and screened.group == "imports petkit.nbcheck"
    assert causes.from_error("NameError", "name 'x' is not defined").label == "error: NameError"
    # the answer cell's error explains its test cell's; a cheat verdict of the referee comes first
    answer = {"outputs": [{"output_type": "error", "ename": "SyntaxError", "evalue": "bad"}]}
    test = {"outputs": [{"output_type": "error", "ename": "NameError", "evalue": "name 'f' is not defined"}]}
    assert causes.of_exercise(answer, test).kind == causes.SYNTAX
    assert causes.of_exercise(None, None, "cheat detected: calling f changed torch.allclose").group == "changed torch.allclose"
    ref = causes.of_exercise({"outputs": []}, {"outputs": []}, "1 check(s) fail; first: rows sum to 1: sum is 2")
    assert ref.label == "check fails: rows sum to 1"
    # an exercise's test cells (the maths, then the bad input): the first that failed explains it, and a
    # failing check the referee names as a known mistake is that mistake (the sandboxed kernel cannot)
    bad = {"outputs": [{"output_type": "error", "ename": "ChecksFailed",
                        "evalue": _checks_failed("softmax.softmax", "rejects bad input", "no TypeError for ints")}]}
    assert causes.of_exercise({"outputs": []}, [{"outputs": []}, bad]).label == "check fails: rejects bad input"
    named = causes.of_exercise({"outputs": []}, [bad], "1 check(s) fail; first: x: y; This looks like a known "
                                                       "mistake: no max shift. Subtract the max first.")
    assert (named.kind, named.group) == (causes.MISTAKE, "no max shift")
    # the instructor's one line: no advice to the learner, no second line
    line = causes.one_line("ChecksFailed", _checks_failed("softmax.softmax", "rows sum to 1", "sum is 2.0\nmore"))
    assert line.startswith("ChecksFailed: 1 of 5 checks fail") and "\n" not in line and "hint(" not in line
    assert causes.one_line("ChecksFailed", "softmax.softmax is not written yet: replace `raise NotImplementedError"
                                           "(...)` with your code, then run this cell again.") == \
        "ChecksFailed: not started (softmax.softmax is not written yet)"


# --- synthetic classes (no kernels): scale, a class of one, PostgreSQL, bad --to --------------------

KIND_OF = {"full": None, "check": causes.CHECK, "part": causes.CHECK, "mistake": causes.MISTAKE,
           "hidden": causes.HIDDEN, "not started": causes.NOT_STARTED, "syntax": causes.SYNTAX,
           "timeout": causes.TIMEOUT, "crash": causes.CRASH, "cheat": causes.CHEAT, "not graded": causes.NOT_GRADED}


def _synthetic(root: Path, students: int, seed: int = 0, ids=None, db_url: str | None = None):
    from benchmarks.report import prepare, synthetic_class
    course = prepare(root, LESSON, db_url=db_url)
    return course, synthetic_class(course, LESSON, students, seed=seed, ids=ids)


@pytest.fixture(scope="module")
def big_class(tmp_path_factory):
    """300 synthetic students: more than a cause's list shows, more than the open table holds."""
    course, truth = _synthetic(tmp_path_factory.mktemp("big"), 300, seed=3)
    assert grade("report", LESSON, "--course", str(course)).returncode == 0
    r = grade("export", "--per-exercise", "--to", str(course / "per-exercise.csv"), "--course", str(course))
    assert r.returncode == 0, r.stderr
    return course, truth


@pytest.mark.slow  # minutes: 300 students written through nbgrader's API
def test_a_big_class_is_counted_exactly_and_aggregated(big_class):
    course, truth = big_class
    found = _check_against_gradebook(course, course / "per-exercise.csv")
    for key, kind in truth.items():  # every cause is the kind of thing that happened
        assert _kind(found[key]) == KIND_OF[kind], (key, found[key])
    soup = _page(course)
    assert soup.select_one("h2#students + details").get("open") is None  # 300 rows start folded
    for name in ("scores.png", "exercises.png", "causes.png"):
        data = (course / "reports" / LESSON / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) < 200_000
    known = [tr["data-label"] for tr in soup.select("tr.cause")]
    assert "known mistake: no max shift: exp overflows for large logits" in known
    assert any(l.startswith("check fails: ") for l in known) and "not started" in known


def test_a_class_of_one(tmp_path):
    course, truth = _synthetic(tmp_path, 1, seed=5)
    assert grade("report", LESSON, "--course", str(course)).returncode == 0
    assert grade("export", "--per-exercise", "--to", str(course / "one.csv"), "--course", str(course)).returncode == 0
    _check_against_gradebook(course, course / "one.csv")
    assert "1 graded submission," in (course / "reports" / LESSON / "index.html").read_text()


def test_every_student_string_is_escaped(tmp_path):
    odd = ["<script>alert(1)</script>", 'a"b', "x&amp;y", ODD_ID]
    course, _ = _synthetic(tmp_path, len(odd), ids=odd)
    assert grade("report", LESSON, "--course", str(course)).returncode == 0
    text = (course / "reports" / LESSON / "index.html").read_text()
    assert "<script>" not in text and 'data-student="a"b"' not in text and "x&amp;y<" not in text
    from bs4 import BeautifulSoup
    assert {tr["data-student"] for tr in BeautifulSoup(text, "html.parser").select("tr.student")} == set(odd)


def test_the_per_exercise_csv_never_overwrites_what_is_not_a_grades_csv(tmp_path):
    course, _ = _synthetic(tmp_path, 3)
    precious = {"notes.csv": "my notes, not grades\n", "softmax.ipynb": '{"cells": []}', "grades.txt": "x\n",
                "roster.csv": "student_id,name,email\nalice,Alice,alice@example.org\n"}  # a student_id column: not ours
    for name, text in precious.items():
        (tmp_path / name).write_text(text)
        r = grade("export", "--per-exercise", "--to", str(tmp_path / name), "--course", str(course))
        assert r.returncode == 2 and "--to FILE.csv" in r.stderr and "\n" not in r.stderr.strip(), r.stderr
        assert (tmp_path / name).read_text() == text
    r = grade("export", "--to", str(tmp_path / "nbgrader.csv"), "--course", str(course))  # nbgrader's own CSV ...
    assert r.returncode == 0, r.stderr
    r = grade("export", "--per-exercise", "--to", str(tmp_path / "nbgrader.csv"), "--course", str(course))
    assert r.returncode == 0, r.stderr  # ... may be replaced, as may petkit's
    assert _csv(tmp_path / "nbgrader.csv")[0]["softmax.softmax"] != ""


@pytest.mark.slow
def test_a_postgresql_gradebook_reports_as_sqlite_does(tmp_path, postgres_url):
    lite, _ = _synthetic(tmp_path / "sqlite", 40, seed=7)
    pg, _ = _synthetic(tmp_path / "pg", 40, seed=7, db_url=postgres_url)
    assert not (pg / "gradebook.db").exists()
    pages = {}
    for course in (lite, pg):
        assert grade("report", LESSON, "--course", str(course)).returncode == 0
        r = grade("export", "--per-exercise", "--to", str(course / "per.csv"), "--course", str(course))
        assert r.returncode == 0, r.stderr
        pages[course] = ((course / "reports" / LESSON / "index.html").read_text(), (course / "per.csv").read_text())
    assert pages[lite] == pages[pg]
    _check_against_gradebook(pg, pg / "per.csv")


def test_the_group_is_the_check_the_first_line_names_and_a_library_shortcut_is_its_own():
    from types import SimpleNamespace
    from petkit.nbcheck import _report
    fails = [(SimpleNamespace(kind="property", title="rows sum to 1"), SimpleNamespace(status="fail", message="sum is 2")),
             (SimpleNamespace(kind="oracle", title="matches torch"), SimpleNamespace(
                 status="fail", message="not your own implementation: softmax called torch.softmax: write it yourself"))]
    shortcut = causes.from_checks(_report("softmax.softmax", fails, 5))
    assert shortcut.label == "check fails: not your own implementation (calls torch.softmax)", shortcut
    second = causes.from_checks(_report("softmax.softmax", [fails[0], (SimpleNamespace(kind="oracle", title="keeps dim"),
                                                                       SimpleNamespace(status="fail", message="x"))], 5))
    assert second.group == "rows sum to 1"


# --- a class graded for real: samples, the corpus's wrong answers, faults ----------------------------

def _expected_kinds() -> dict[tuple[str, str], set]:
    """(student, exercise id) -> the kinds of cause it may have (None: full points)."""
    l = lesson(LESSON)
    ids = {e.name: e.id for e in l.exercises}
    want = {(full, i): {None} for i in ids.values() for full in ("sample-full", "as-source")}
    want.update({("sample-untouched", i): {causes.NOT_STARTED} for i in ids.values()})
    first, last = l.exercises[0], l.exercises[-1]
    failing = {causes.CHECK, causes.HIDDEN, causes.MISTAKE}

    def costs(exercise, maths_right: bool) -> set:  # right maths of a 1-point exercise loses nothing (fair points)
        free = notebooks.test_cells(exercise)[notebooks.bad_input_tests_id(exercise)] == 0
        return {None} if free and maths_right else failing
    want.update({("sample-syntax-error", i): {None} for i in ids.values()})
    want[("sample-syntax-error", last.id)] = {causes.SYNTAX}
    want.update({("sample-partial", i): {causes.NOT_STARTED} for i in ids.values()})
    want[("sample-partial", first.id)] = {None}
    want[("sample-partial", last.id)] = costs(last, maths_right=True)  # its answer: right maths, no input checks
    for student, (broken, kind) in {ODD_ID: ("softmax", causes.CHEAT),
                                    "fits-visible-only": ("sigmoid", causes.HIDDEN)}.items():
        want.update({(student, i): {None} for i in ids.values()})
        want[(student, ids[broken])] = {kind}
    # integrity.py's faults (test_integrity.py checks every case's points and message)
    want[("fault-1", ids["softmax"])] = {None}  # a flood of output, with a right answer
    want[("fault-1", ids["log_softmax"])] = {causes.TIMEOUT}
    want[("fault-2", ids["log_softmax"])] = {causes.CRASH}  # os._exit
    want[("fault-2", ids["sigmoid"])] = {causes.CRASH}  # a segfault
    for student in NOT_GRADABLE:
        want.update({(student, i): {causes.NOT_GRADED} for i in ids.values()})
    for k, batch in enumerate(notebooks.wrong_answer_batches(l, load()), 1):
        for e in l.exercises:
            want[(f"wrong-{k}", e.id)] = costs(e, only_bad_input(batch[e.name].rejected_by)) if e.name in batch \
                else {None, causes.NOT_STARTED}
    return want


@pytest.mark.slow
def test_the_report_and_the_csv_of_a_graded_class_match_its_gradebook(graded_class):
    course, _ = graded_class
    found = _check_against_gradebook(course, course / "per-exercise.csv")
    wrong = {key: (found[key], want) for key, want in _expected_kinds().items() if _kind(found[key]) not in want}
    assert not wrong, wrong
    text = (course / "reports" / LESSON / "index.html").read_text()
    assert "o&#x27;neil &amp; &lt;co&gt;" in text and ODD_ID not in text  # escaped, everywhere
    soup = _page(course)
    for a in soup.select("tr.student a"):  # each link opens that student's feedback page
        assert (course / "reports" / LESSON / unquote(a["href"])).resolve().is_file(), a["href"]
    linked = {tr["data-student"] for tr in soup.select("tr.student") if tr.select_one("a")}
    assert linked == {p.parent.parent.name for p in (course / "feedback").glob(f"*/{LESSON}/{LESSON}.html")}
    assert not linked & NOT_GRADABLE and "sample-full" in linked


@pytest.mark.slow
def test_grade_all_grades_the_samples_as_meant_and_nbgrader_agrees(graded_class, tmp_path):
    course, out = graded_class
    samples = notebooks.samples(lesson(LESSON))
    grades = _grades(course / "grades.csv")
    assert {s.student: grades[s.student] for s in samples} == {s.student: (s.expected, s.max_points) for s in samples}
    rows = [line.split() for line in out.splitlines() if line.startswith("  sample-")]
    table = {row[0]: row[1] for row in rows if not row[0].endswith(":")}
    assert table == {s.student: f"{s.expected}/{s.max_points}" for s in samples}
    for s in samples:
        html = (course / "feedback" / s.student / LESSON / f"{LESSON}.html").read_text()
        assert "check_hidden" not in html and "HIDDEN TESTS" not in html
    partial = (course / "feedback" / "sample-partial" / LESSON / f"{LESSON}.html").read_text()
    assert "softmax.sigmoid: " in partial and "checks fail" in partial  # the plain message, not a traceback
    # the samples' untouched notebook is what nbgrader's release really hands out
    released = json.loads((course / "release" / LESSON / f"{LESSON}.ipynb").read_text())
    untouched = json.loads((course / "samples" / "sample-untouched" / LESSON / f"{LESSON}.ipynb").read_text())
    assert [c["source"] for c in released["cells"]] == [c["source"] for c in untouched["cells"]]
    # nbgrader's own commands work on the same folder, with the same settings (a copy: the class is read only)
    checkout = sorted(p.name for p in (ROOT / "grader").iterdir())
    mine = tmp_path / "course"
    shutil.copytree(course, mine)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PETKIT_HIDDEN_EXAMPLES": "10"}
    for command in (["autograde", LESSON, "--student", "sample-partial", "--force"],
                    ["generate_feedback", LESSON, "--student", "sample-partial", "--force"],
                    ["export", "--to", "by-nbgrader.csv"]):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *command], cwd=mine, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    partial_sample = next(s for s in samples if s.student == "sample-partial")
    assert _grades(mine / "by-nbgrader.csv")["sample-partial"] == (partial_sample.expected, partial_sample.max_points)
    html = (mine / "feedback" / "sample-partial" / LESSON / f"{LESSON}.html").read_text()
    assert "check_hidden" not in html and "HIDDEN TESTS" not in html
    assert sorted(p.name for p in (ROOT / "grader").iterdir()) == checkout, "the test wrote into the checkout"


@pytest.mark.slow
def test_faults_cost_what_they_broke_and_everyone_else_is_graded(graded_class):
    course, out = graded_class
    assert "fault-1: test_log_softmax: stopped at the time limit per cell: does it loop forever?" in out
    assert "fault-2: test_log_softmax: KernelDied: the kernel died while running this cell" in out
    assert "broken-json: NOT GRADED: softmax.ipynb is not valid notebook JSON" in out
    assert "fits-visible-only: test_sigmoid: ChecksFailed: the grader's hidden tests" in out
    students = {p.name for p in (course / "submitted").iterdir()}
    n = len(NOT_GRADABLE)
    head = f"{len(students) - n} of {len(students)} submissions graded; could not grade: "
    [line] = [l for l in out.splitlines() if l.startswith(head)] or [out]
    assert set(line[len(head):].split(", ")) == NOT_GRADABLE, line
    points = {e.name: e.points for e in lesson(LESSON).exercises}
    total = sum(points.values())
    grades = _grades(course / "grades.csv")
    assert set(grades) == students  # one row per student, graded or not
    assert {s: grades[s] for s in ("fault-1", "fits-visible-only", "broken-json")} == {
        "fault-1": (total - points["log_softmax"] - points["sigmoid"], total),  # a loop, a memory bomb
        "fits-visible-only": (total - points["sigmoid"], total), "broken-json": (0, total)}
    feedback = {p.parent.parent.name for p in (course / "feedback").glob(f"*/{LESSON}/{LESSON}.html")}
    assert feedback == students - NOT_GRADABLE
    html = (course / "feedback" / "fits-visible-only" / LESSON / f"{LESSON}.html").read_text()
    assert "hidden tests (the same checks on" in html  # the student learns what broke ...
    assert "check_hidden" not in html and "HIDDEN TESTS" not in html  # ... but not the hidden code
    assert "nbcheck.py" not in html and "Cell In[" not in html  # no traceback quoting the cell's code


@pytest.mark.slow
def test_what_broke_says_each_failure_in_one_line_for_the_instructor(graded_class):
    _, out = graded_class
    broke = out.split("What broke, per student:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert broke and all(line.startswith("  ") for line in broke)
    assert not [l for l in broke if "run this cell again" in l or "hint(" in l], broke
    assert "  sample-untouched: test_softmax: ChecksFailed: not started (softmax.softmax is not written yet)" in broke


@pytest.mark.slow
def test_feedback_pages_name_the_exercises_and_say_no_response_nowhere(graded_class):
    from bs4 import BeautifulSoup
    course, _ = graded_class
    titles = [t for n, e in enumerate(lesson(LESSON).exercises, 1)  # an exercise's maths cell, then its bad input
              for t in (f"{n}. {e.title} ({e.id})", f"{n}. {e.title} ({e.id}): bad input")]
    recut = {c.student for c in integrity.CHEATS + integrity.FAIR if c.notebook}  # cells deleted, re-marked, inserted
    for page in sorted((course / "feedback").glob(f"*/{LESSON}/{LESSON}.html")):
        if page.parent.parent.name in recut:
            continue
        text = page.read_text()
        toc = [a.text for a in BeautifulSoup(text, "html.parser").select("#toc a")]
        assert [t for t in toc if not t.startswith("The grader's comment on ")] == titles, (page, toc)
        assert "No response." not in text and "Test cell" not in toc
        assert "white-space: pre-wrap" in text  # the check output wraps
    untouched = (course / "feedback" / "sample-untouched" / LESSON / f"{LESSON}.html").read_text()
    assert "Comments:" not in untouched  # nobody commented on a cell left as released


@pytest.mark.slow
def test_the_report_opens_in_a_real_browser(graded_class, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    from PIL import Image
    course, _ = graded_class
    shot = tmp_path / "report.png"
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
                           (course / "reports" / LESSON / "index.html").as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    with Image.open(shot) as img:
        assert img.size == (1280, 2000)
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20) or []
    # the figures drew: the bars' greens and reds are on the page, not only text on white
    def near(rgb, want):
        return sum(abs(a - b) for a, b in zip(rgb, want)) < 30
    assert sum(n for n, c in colours if near(c, (0x2e, 0x7d, 0x32))) > 2000, "no full-points bars rendered"
    assert sum(n for n, c in colours if near(c, (0xc6, 0x28, 0x28))) > 2000, "no no-points bars rendered"


def test_many_distinct_causes_are_folded_and_still_counted():
    from bs4 import BeautifulSoup
    from petkit.grading import report
    from petkit.grading.classbook import ClassResults, ExerciseResult, StudentResult
    students = [StudentResult(f"s{i:03d}", {"l.a": ExerciseResult("l.a", 0, 1, causes.Cause(causes.ERROR, f"E{i % 40}", "x"))})
                for i in range(400)]
    soup = BeautifulSoup(report.render(ClassResults("l", ["l.a"], {"l.a": 1.0}, students)), "html.parser")
    rows = soup.select("tr.cause")
    assert len(rows) == 40 and sum(int(r.select_one("td[data-count]").text) for r in rows) == 400
    assert len(soup.select("details.more-causes tr.cause")) == 40 - report.SHOWN_GROUPS
    assert all(len(r.select("ul.students li:not(.muted)")) == 10 for r in rows)


def test_a_class_of_a_thousand_is_aggregated(tmp_path):
    """Rendered from results in memory (the gradebook path is the tests above): the figures draw, a
    big group lists its first students and counts the rest, the per-student table starts folded."""
    import random
    from bs4 import BeautifulSoup
    from petkit.grading import report
    from petkit.grading.classbook import ClassResults, ExerciseResult, StudentResult
    rng = random.Random(1)
    kinds = [None, None, causes.Cause(causes.NOT_STARTED, "", "x is not written yet"),
             causes.Cause(causes.CHECK, "rows sum to 1", "sum is 2"), causes.Cause(causes.TIMEOUT, "", "stopped")]
    exercises = [f"l.e{i}" for i in range(6)]
    students = []
    for i in range(1000):
        results = {}
        for ex in exercises:
            cause = rng.choice(kinds)
            results[ex] = ExerciseResult(ex, 0 if cause else 2, 2, cause)
        students.append(StudentResult(f"s{i:04d}", results))
    results = ClassResults("l", exercises, {ex: 2.0 for ex in exercises}, students)
    report.draw(results, tmp_path)
    for name in report.FIGURES:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    soup = BeautifulSoup(report.render(results), "html.parser")
    for row in soup.select("tr.cause"):
        n = int(row.select_one("td[data-count]").text)
        assert n > report.SHOWN_PER_CAUSE  # about 200 each
        assert len(row.select("ul.students li:not(.muted)")) == report.SHOWN_PER_CAUSE
        assert row.select_one("ul.students li.muted").text.startswith(f"and {n - report.SHOWN_PER_CAUSE} more")
        assert row.select_one("details").get("open") is None
    assert soup.select_one("h2#students + details").get("open") is None
    assert len(soup.select("tr.student")) == 1000


def test_a_report_before_any_grading_says_what_to_run(tmp_path, monkeypatch):
    course = _copy_course(tmp_path)
    r = grade("report", LESSON, "--course", str(course))
    assert r.returncode == 2 and "no gradebook" in r.stderr and "petkit grade autograde" in r.stderr, r.stderr
    assert not (course / "reports").exists() and not (course / "gradebook.db").exists()  # nothing made
    from nbgrader.api import Gradebook
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # its alembic
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}"):  # a gradebook, but nothing of this lesson in it
        pass
    r = grade("report", LESSON, "--course", str(course))
    assert r.returncode == 2 and f"holds no grades of {LESSON}" in r.stderr and "petkit grade autograde" in r.stderr
    assert not (course / "reports").exists()
    r = grade("report", "no_such_lesson", "--course", str(course))
    assert r.returncode == 2 and "petkit sync" in r.stderr
