"""The cheat and fault corpora (tests/kit/integrity.py) through the real `petkit grade` command (their
students are in the graded class, softmax_class.py): each case gets the score it must on the exercise
it targets, with its message; every other exercise of the same notebook and every other student are
graded as usual; the gradebook and the course folder stay whole; a second run gives the same grades;
the README's table is the corpora's."""

import pytest

from petkit import ROOT, notebooks
from petkit.grading.course import Course, broken_gradebook
from petkit.grading.results import result

import integrity
from integrity import CHEATS, FAIR, FAULTS, LESSON, POINTS
from test_grade import FAST_GRADING as FAST
from test_grade import _grades, grade


def _lines(out: str, student: str) -> str:
    return "\n".join(l for l in out.splitlines() if l.startswith(f"  {student}: "))


def _cells(course, students):
    grader = Course(course)
    return {s: result(grader, LESSON, s) for s in students}


def _score(result, name):
    """An exercise's points: its maths and bad-input test cells together (None when not graded)."""
    cells = [result.cells[c][0] for c in (f"test_{name}", f"test_{name}_bad_input") if c in result.cells]
    return sum(cells) if cells else None


def _assert_outcomes(cases, out, results):
    wrong = []
    for c in cases:
        r = results[c.student]
        if c.exercise:
            got = _score(r, c.exercise)
            if got != c.score:
                wrong.append(f"{c.student} {c.exercise} ({c.attempt}): {got} points, not {c.score}")
        elif r.score != c.score:
            wrong.append(f"{c.student} ({c.attempt}): {r.score} points, not {c.score}")
        if c.message not in _lines(out, c.student):
            wrong.append(f"{c.student} ({c.attempt}): no {c.message!r} in\n{_lines(out, c.student)}")
    for student, mine in integrity.students(cases).items():
        targeted = {c.exercise for c in mine}
        if "" in targeted:
            continue
        for name, points in POINTS.items():  # nothing else harmed
            if name not in targeted and _score(results[student], name) != points:
                wrong.append(f"{student}: the untouched {name} got {_score(results[student], name)}")
    assert not wrong, "\n".join(wrong) + "\n\n" + out


def _course_is_whole(course):
    assert broken_gradebook(course / "gradebook.db") == ""
    assert (course / "source" / LESSON / f"{LESSON}.ipynb").read_text() == \
        (ROOT / "grader" / "source" / LESSON / f"{LESSON}.ipynb").read_text()


def _graded(graded_class, cases):
    """The cases' students as the graded class (softmax_class.py: graded once by `petkit grade all --workers
    2`, beside the samples and the other cases) got them; assert every outcome and that the course stays
    whole. Returns the course, the cases' students and their results."""
    course, out = graded_class
    _course_is_whole(course)
    students = sorted(integrity.students(cases))
    results = _cells(course, students)
    _assert_outcomes(cases, out, results)
    return course, students, results


@pytest.mark.slow
def test_cheats_score_zero_on_what_they_target_and_say_what_was_detected(graded_class):
    _graded(graded_class, CHEATS)


def _memory_caps_hold(course, students) -> None:
    """Each kernel that ran the students' CAP_PROBE cell (integrity.py) had its address space capped at
    what it mapped at its start plus the course's `KernelSurvivingExecute.memory_limit_mb`."""
    import json
    import resource
    limit = Course(course).config.KernelSurvivingExecute.memory_limit_mb
    assert limit > 0, "the course sets no memory cap for its kernels"
    for student in students:
        nb = json.loads((course / "autograded" / student / LESSON / f"{LESSON}.ipynb").read_text())
        printed = ["".join(o["text"]) for c in nb["cells"] if c["cell_type"] == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream"]
        probes = [line.split() for text in printed for line in text.splitlines() if line.startswith("address space cap:")]
        assert probes, f"{student}: the probe cell printed nothing: {printed}"
        for *_, cap, _, mapped in probes:
            cap, mapped = int(cap), int(mapped)
            assert cap != resource.RLIM_INFINITY, f"{student}: the kernel ran without a memory cap"
            assert 0 < cap - mapped <= limit * 2 ** 20, (student, cap, mapped, limit)


@pytest.mark.slow
def test_faults_cost_what_they_break_and_nothing_else(graded_class, tmp_path):
    course, students, first = _graded(graded_class, FAULTS)
    # the memory bomb's kernel, and a kernel started again after two deaths (fault-2): capped
    _memory_caps_hold(course, ["fault-1", "fault-2"])
    assert set(students) <= set(_grades(course / "grades.csv"))  # one row per student, graded or not
    # graded again, one by one (the class was graded by two workers): the same grades, cell for cell
    import shutil
    mine = tmp_path / "course"
    shutil.copytree(course, mine)  # the class is read only
    again = grade("autograde", LESSON, "--course", str(mine), "--force", "--student", "fault-2",
                  "--student", "fault-json", "--timeout", "10", env=FAST, timeout=1200)
    second = _cells(mine, ["fault-2", "fault-json"])
    _memory_caps_hold(mine, ["fault-2"])  # one by one, in this process's own kernels (the class: workers')
    assert {s: (r.score, r.cells) for s, r in second.items()} == \
        {s: (first[s].score, first[s].cells) for s in second}, again.stdout + again.stderr


@pytest.mark.slow
def test_fair_answers_keep_their_points_and_changed_marks_are_named(graded_class):
    # a helper in its own cell, `hint = None`, re-marked or inserted grade cells: graded by the source
    course, students, results = _graded(graded_class, FAIR)
    assert {s: (r.score, r.max_score) for s, r in results.items()} == {s: (5, 5) for s in students}


REFEREE_LIMIT_S = 10  # per step, as the class's cells get (several times a step's time on two loaded cores)
# what the referee says of each fault (integrity.py's FAULTS with an answer cell) when it re-runs it itself
REFEREE_SAYS = {"an infinite loop": f"its checks ran past the time limit ({REFEREE_LIMIT_S} s)",
                "a memory bomb": "ran out of memory: sigmoid raised RuntimeError: [enforce fail",
                "`sys.exit(3)`": "its answer cell raised SystemExit: 3",
                "`os._exit(1)`": "its checks killed the process running it (exit status 1)",
                "a segfault": "running its answer cell killed the process running it (killed by signal SIGSEGV)"}
CAP_ANSWER = ("import resource\n\n\ndef sigmoid(x):\n"
              "    raise RuntimeError(f'cap {resource.getrlimit(resource.RLIMIT_AS)[0]}')\n")


def _referee_of(answers: dict, student: str) -> dict:
    """The referee's verdicts on a softmax notebook with these answer cells (the reference answers
    elsewhere), every exercise re-run as if the kernel had given it points; sandboxed, warm."""
    from petkit.grading.referee import judge
    from petkit.registry import lesson
    l = lesson(LESSON)
    source = notebooks.source_notebook(l)
    reference = {e.name: notebooks.solved(notebooks.read_source(l).functions[e.name]) for e in l.exercises}
    cells = {e.name: notebooks.solved for e in l.exercises}
    cells.update({name: notebooks.written(code.replace(integrity.REFERENCE, reference[name])) for name, code in answers.items()})
    return judge(source, notebooks.student_notebook(source, cells), LESSON, student, timeout=REFEREE_LIMIT_S,
                 memory_mb=8192, rerun={e.name for e in l.exercises})


@pytest.mark.slow
def test_the_referee_stops_each_fault_that_reaches_it_and_caps_its_memory(monkeypatch):
    """In the graded class the kernel scores these faults 0 first, so the referee never re-runs them
    there: here it does, as it would for an answer that earned kernel points. Each costs its own exercise
    only, with a plain message (no interpreter noise), and the referee's process has its address-space cap."""
    import resource
    for k, v in FAST.items():
        monkeypatch.setenv(k, v)
    wrong = []
    for student, cases in integrity.students([c for c in FAULTS if c.cell]).items():
        verdicts = _referee_of({c.exercise: c.cell for c in cases}, student)
        targeted = {c.exercise: c for c in cases}
        for name, v in verdicts.items():
            c = targeted.get(name)
            says = next((m for a, m in REFEREE_SAYS.items() if c and c.attempt.startswith(a)), None)
            if says is None:  # untouched, or a fault that keeps its points (the flood)
                if not (v.maths_passed and v.bad_input_passed) or (c and c.message not in v.note):
                    wrong.append(f"{student} {name}: {v}")
            elif v.maths_passed or v.bad_input_passed or not v.message.startswith(says) or "runpy" in v.message:
                wrong.append(f"{student} {name} ({c.attempt}): {v.message!r}, not {says!r}...")
    assert not wrong, "\n".join(wrong)
    message = _referee_of({"sigmoid": CAP_ANSWER}, "capped")["sigmoid"].message
    cap = int(message.split("RuntimeError: cap ")[1].split()[0])
    assert cap != resource.RLIM_INFINITY and 8192 * 2 ** 20 < cap < (8192 + 65536) * 2 ** 20, message


def test_the_readme_table_is_the_corpora():
    readme = (ROOT / "README.md").read_text()
    assert integrity.readme_table() in readme, "regenerate the README's table: python tests/kit/integrity.py"


def test_the_static_scan_lets_every_reference_answer_through():
    from petkit.grading.screen import scan
    from petkit.registry import lessons
    found = {}
    for l in lessons():
        for name, text in notebooks.read_source(l).functions.items():
            if scan(notebooks.solved(text)):
                found[f"{l.id}.{name}"] = scan(notebooks.solved(text))
    from petkit.corpus import load
    for w in load():  # the wrong answers must fail their checks, not the scan
        if scan(notebooks.wrong_answer_cell(w)):
            found[w.fn.__name__] = scan(notebooks.wrong_answer_cell(w))
    assert not found
