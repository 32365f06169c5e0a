"""The nbgrader notebooks are built from the single source, the same way every time, and their test
cells run the very checks of pytest and `petkit check` (petkit.nbcheck). Fast: no kernels here; the
grading itself is tested in test_grade.py."""
import ast
import json
import re
import shutil

import nbformat
import pytest

from petkit import ROOT, notebooks
from petkit.checks.strategies import examples
from petkit.corpus import load
from petkit.checks.core import checks_for
from petkit.nbcheck import ChecksFailed, check, check_hidden, student_id, student_seed
from petkit.registry import lesson, lessons
from petkit.sync import expected_files, out_of_date, sync

CORPUS = load()
LESSONS = lessons()
SIGMOID_CHECKS = len(checks_for("softmax.sigmoid"))


def _code(nb, grade_id):
    return next("".join(c["source"]) for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _run_cells(nb, skip=()):
    """Execute a notebook's code cells in one namespace, here, as a kernel would (without the test cells)."""
    ns: dict = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and not meta.get("grade") and meta.get("grade_id") not in skip:
            exec(compile("".join(cell["source"]), f"<cell {meta.get('grade_id')}>", "exec"), ns)
    return ns


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.id)
def test_source_notebook_is_generated_and_up_to_date(lesson):
    path = notebooks.source_path(lesson, ROOT / "grader")
    assert path in expected_files(), "petkit sync does not write this lesson's notebook"
    assert path not in out_of_date(), f"{path.relative_to(ROOT)} differs from what `petkit sync` writes: never edit it by hand"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.id)
def test_source_notebook_has_one_answer_and_two_locked_tests_per_exercise(lesson):
    nb = notebooks.source_notebook(lesson)
    nbformat.validate(nbformat.from_dict(nb))
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    meta = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"] for c in cells}
    assert len(meta) == len(cells), "grade ids must be unique"
    assert meta["given"]["locked"] and not meta["given"]["grade"] and not meta["given"]["solution"]
    for e in lesson.exercises:
        answer, test, bad = meta[e.name], meta[f"test_{e.name}"], meta[f"test_{e.name}_bad_input"]
        assert answer["solution"] and not answer["grade"] and not answer["locked"]
        for t in (test, bad):
            assert t["grade"] and t["locked"] and not t["solution"]
        # fair points: right maths without validation earns most of the points (half of a 2-point exercise)
        assert test["points"] + bad["points"] == e.points and test["points"] >= bad["points"]
        assert bad["points"] == (1 if e.points >= 2 else 0)
        text = _code(nb, f"test_{e.name}")
        assert f"check({e.id!r}, {e.name}, kinds=MATHS)" in text
        visible, hidden = text.split(notebooks.BEGIN_HIDDEN)
        assert f"check_hidden({e.id!r}, {e.name}, kinds=MATHS)" in hidden and notebooks.END_HIDDEN in hidden
        assert "check_hidden" not in visible
        visible, hidden = _code(nb, f"test_{e.name}_bad_input").split(notebooks.BEGIN_HIDDEN)
        assert f"check_bad_input({e.id!r}, {e.name})" in visible and "check_hidden" not in visible
        assert f"check_hidden({e.id!r}, {e.name}, kinds=BAD_INPUT)" in hidden
        source = _code(nb, e.name)
        assert source.count(notebooks.BEGIN) == 1 and source.count(notebooks.END) == 1
        assert f"def {e.name}(" in source
    assert sum(m.get("points", 0) for m in meta.values()) == sum(e.points for e in lesson.exercises)
    # nbgrader finds a solution region by substring: only answer cells may hold one
    for c in cells:
        if not c["metadata"]["nbgrader"]["solution"]:
            assert "BEGIN SOLUTION" not in "".join(c["source"])


def test_notebooks_are_the_same_bytes_every_time():
    first = {p: t for p, t in expected_files().items() if p.suffix == ".ipynb"}
    second = {p: t for p, t in expected_files().items() if p.suffix == ".ipynb"}
    assert first == second
    nb = json.loads(first[notebooks.source_path(lesson("softmax"), ROOT / "grader")])
    ids = [c["id"] for c in nb["cells"]]
    assert ids == ["intro", "about-given", "given", "about-softmax", "softmax", "test_softmax", "test_softmax_bad_input",
                   "about-log_softmax", "log_softmax", "test_log_softmax", "test_log_softmax_bad_input",
                   "about-sigmoid", "sigmoid", "test_sigmoid", "test_sigmoid_bad_input"]
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", json.dumps(nb)), "no timestamps"
    for c in nb["cells"]:
        assert c.get("outputs", []) == [] and c.get("execution_count") is None and "execution" not in c["metadata"]


def test_code_stub_is_the_one_the_course_config_gives_nbgrader():
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "grader")).load_config()
    assert config.ClearSolutions.code_stub["python"] == notebooks.CODE_STUB
    assert "nbgrader.preprocessors.ClearHiddenTests" in config.GenerateFeedback.preprocessors
    assert "petkit.grading.preprocessors.HideTestTracebacks" in config.GenerateFeedback.preprocessors
    assert config.ExecutePreprocessor.timeout > 0


def test_a_lesson_that_builds_on_another_gets_its_answers_given_read_only():
    nb = notebooks.source_notebook(lesson("cross_entropy"))
    given = _code(nb, "given")
    tree = ast.parse(given)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"softmax", "log_softmax"} <= defined
    assert not defined & {e.name for e in lesson("cross_entropy").exercises}, "graded functions must not be given"
    assert "BEGIN SOLUTION" not in given and "from .softmax" not in given
    assert "REDUCTIONS" in given  # the module's own constants come along


def test_sync_regenerates_a_notebook_edited_by_hand(tmp_path):
    for folder in ("solutions", "exercises", "tests/kit/wrong_answers"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "grader").mkdir()
    sync(tmp_path)
    path = notebooks.source_path(lesson("softmax"), tmp_path / "grader")
    original = path.read_text()
    edited = original.replace("check('softmax.sigmoid', sigmoid, kinds=MATHS)", "pass")
    assert edited != original
    path.write_text(edited)
    assert path in out_of_date(tmp_path)
    report = sync(tmp_path)  # no --force needed: generated files hold no learner work
    assert path in report.written and path.read_text() == original and not report.backups


# --- samples -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.id)
def test_samples_are_what_they_say(lesson):
    course = ROOT / "grader"
    samples = {s.student: s for s in notebooks.samples(lesson)}
    assert set(samples) == {"sample-full", "sample-partial", "sample-untouched", "sample-syntax-error"}
    total = sum(e.points for e in lesson.exercises)
    assert samples["sample-full"].expected == total and samples["sample-untouched"].expected == 0
    assert 0 < samples["sample-partial"].expected < total
    for student in samples:
        nb = json.loads(notebooks.sample_path(course, student, lesson).read_text())
        nbformat.validate(nbformat.from_dict(nb))
        text = json.dumps(nb)
        assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
        broken = []
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                try:
                    compile("".join(cell["source"]), "cell", "exec")
                except SyntaxError:
                    broken.append(cell["id"])
        assert broken == ([lesson.exercises[-1].name] if student == "sample-syntax-error" else []), student


def test_untouched_sample_says_not_started_in_the_notebook():
    nb = json.loads(notebooks.sample_path(ROOT / "grader", "sample-untouched", lesson("softmax")).read_text())
    ns = _run_cells(nb)
    with pytest.raises(ChecksFailed) as raised:
        check("softmax.softmax", ns["softmax"])
    assert str(raised.value).startswith("softmax.softmax is not written yet: replace `raise NotImplementedError(...)`")


def test_a_function_built_on_a_notebook_stub_names_the_stub():
    l = lesson("cross_entropy")
    source = notebooks.source_notebook(l)
    nb = notebooks.student_notebook(source, {"cross_entropy": notebooks.solved})  # nll_loss left as the stub
    ns = _run_cells(nb)
    with pytest.raises(ChecksFailed, match="uses cross_entropy.nll_loss, which is not written yet"):
        check("cross_entropy.cross_entropy", ns["cross_entropy"])


# --- the checks the test cells call ----------------------------------------------------------------

def test_check_passes_the_reference_answer_and_says_so(capsys):
    nb = notebooks.source_notebook(lesson("softmax"))
    ns = _run_cells(nb)
    check("softmax.sigmoid", ns["sigmoid"])
    assert capsys.readouterr().out.strip() == f"softmax.sigmoid: all {SIGMOID_CHECKS} checks pass."


def test_check_rejects_a_wrong_answer_in_plain_words():
    answer = next(w for w in CORPUS if w.fn.__name__ == "sigmoid_sign_error")
    with pytest.raises(ChecksFailed) as raised:
        check(answer.exercise, answer.fn)
    message = str(raised.value)
    assert re.match(rf"softmax.sigmoid: [1-{SIGMOID_CHECKS}] of {SIGMOID_CHECKS} checks fail; \S.*\n", message)  # the first line says what
    assert "- oracle: equals torch.sigmoid" in message and "the call that shows it: sigmoid(" in message
    assert "Traceback" not in message and "hypothesis" not in message.lower()
    assert "hint('softmax.sigmoid')" in message


def test_warnings_and_stderr_never_reach_the_test_cell(capfd):
    # nbgrader gives a test cell 0 points for any output on stderr, so the checks keep it quiet
    import os
    import sys
    import warnings
    from solutions.softmax import sigmoid

    def noisy(x):
        warnings.warn("a warning from the answer")
        print("debugging output on stderr", file=sys.stderr)
        os.write(2, b"C-level output on stderr\n")
        return sigmoid(x)

    check("softmax.sigmoid", noisy)
    out, err = capfd.readouterr()
    assert err == "" and f"all {SIGMOID_CHECKS} checks pass" in out


def test_check_names_what_is_not_a_function():
    with pytest.raises(ChecksFailed, match="sigmoid should be a function, but it is int"):
        check("softmax.sigmoid", 3)


def test_hidden_checks_look_harder_and_never_show_their_code():
    from petkit.checks.strategies import RUN
    from solutions.softmax import sigmoid

    def fitted_to_the_visible_checks(x):  # right on the fixed examples, wrong on any other seed
        return sigmoid(x) if RUN["seed"] is None else sigmoid(x) * 0.5

    check("softmax.sigmoid", fitted_to_the_visible_checks)
    with pytest.raises(ChecksFailed) as raised:
        check_hidden("softmax.sigmoid", fitted_to_the_visible_checks, seed=7)
    message = str(raised.value)
    assert message.startswith("the grader's hidden tests")
    assert "check_hidden" not in message and "HIDDEN" not in message


def test_each_student_gets_a_seed_of_their_own(tmp_path, monkeypatch):
    monkeypatch.delenv("PETKIT_STUDENT", raising=False)
    seeds = {}
    for student in ("alice", "bob"):
        folder = tmp_path / "autograded" / student / "softmax"
        folder.mkdir(parents=True)
        monkeypatch.chdir(folder)  # where nbgrader runs a student's kernel
        assert student_id() == student
        seeds[student] = student_seed("softmax.softmax")
        assert student_seed("softmax.softmax") == seeds[student]
    assert seeds["alice"] != seeds["bob"]
    monkeypatch.setenv("PETKIT_STUDENT", "alice")
    monkeypatch.chdir(tmp_path)
    assert student_seed("softmax.softmax") == seeds["alice"]


# --- the corpus as notebooks -------------------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.id)
def test_wrong_answers_are_batched_one_per_exercise_and_on_their_own_account(lesson):
    batches = notebooks.wrong_answer_batches(lesson, CORPUS)
    placed = [w for b in batches for w in b.values()]
    mine = [w for w in CORPUS if w.exercise.partition(".")[0] == lesson.id]
    assert sorted(id(w) for w in placed) == sorted(id(w) for w in mine)
    names = {e.name for e in lesson.exercises}
    for batch in batches:
        assert all(w.exercise == f"{lesson.id}.{name}" for name, w in batch.items())
        for name, w in batch.items():
            calls = {n.id for n in ast.walk(ast.parse(w.source)) if isinstance(n, ast.Name)} & names - {name}
            assert not calls & set(batch), f"{w.fn.__name__} calls {calls & set(batch)}, wrong in the same notebook"


@pytest.mark.parametrize("lesson", [pytest.param(l, marks=getattr(pytest.mark, l.id)) for l in LESSONS],
                         ids=lambda l: l.id)
def test_every_wrong_answer_fails_its_test_cell(lesson):
    """Every wrong answer of the corpus, written into its answer cell, makes the locked test cell of
    each part it gets wrong fail (the maths cell for a maths check, the bad-input cell for a bad-input
    check): the cells run here as a kernel runs them. (test_grade.py grades one such notebook per
    lesson with nbgrader itself, which shows a failing test cell costs exactly its points.)"""
    from petkit.checks.core import checks_for
    source = notebooks.source_notebook(lesson)
    slipped = []
    for batch in notebooks.wrong_answer_batches(lesson, CORPUS):
        nb = notebooks.wrong_answer_notebook(source, lesson, batch)
        ns = _run_cells(nb)
        with examples(shrink=False):  # pass or fail is all that matters here
            for name, w in batch.items():
                kind = {c.key: c.kind for c in checks_for(w.exercise)}
                cells = {f"test_{name}_bad_input" if kind[k] == "bad input" else f"test_{name}" for k in w.rejected_by}
                for cell in sorted(cells):
                    try:
                        exec(compile(_code(nb, cell), f"<{cell}>", "exec"), ns)
                    except ChecksFailed as failed:
                        assert str(failed).startswith(w.exercise), str(failed)
                    else:
                        slipped.append(f"{w.fn.__name__} ({w.mistake}): {cell}")
    assert not slipped, f"wrong answers that pass a test cell they should fail: {slipped}"
