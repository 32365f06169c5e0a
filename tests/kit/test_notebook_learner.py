"""What a learner meets in a notebook (petkit.nbcheck): hints counted beside the notebook, `hint()`
for the exercise last checked, no pointer to the reference answers, messages said once and never cut
mid-word, a known mistake named, the two graded parts of an exercise, and a coloured result box in a
real kernel."""
import json
import os

import pytest
import torch

from petkit import ROOT, hints, nbcheck
from petkit.misconceptions import PREFIX
from petkit.nbcheck import BAD_INPUT, MATHS, ChecksFailed, check, check_bad_input, hint, shorten
from petkit.registry import exercise, exercises
from solutions.softmax import sigmoid


@pytest.fixture
def notebook_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a notebook's kernel runs in the notebook's folder
    monkeypatch.setattr(nbcheck, "_last_checked", [])
    monkeypatch.setattr(nbcheck, "_hints_in_memory", {})
    return tmp_path


def softmax_unvalidated(x, dim=-1):
    z = torch.exp(x - torch.amax(x, dim=dim, keepdim=True))
    return z / z.sum(dim=dim, keepdim=True)


def softmax_no_shift(x, dim=-1):
    return x.exp() / x.exp().sum(dim, keepdim=True)


# --- hints ---------------------------------------------------------------------------------------

def test_hint_counts_live_beside_the_notebook_not_in_the_checkout(notebook_dir, capsys):
    ex = exercise("softmax.sigmoid")
    checkout_state = notebook_dir / "checkout-hints.json"
    for _ in range(3):
        hints.next_hint(ex, checkout_state)  # the learner used `petkit hint` in the checkout
    before = hints.STATE.read_bytes() if hints.STATE.exists() else None
    hint("softmax.sigmoid")
    assert capsys.readouterr().out.startswith(f"Hint 1 of {len(ex.hints)} for softmax.sigmoid")
    hint("softmax.sigmoid")
    assert capsys.readouterr().out.startswith(f"Hint 2 of {len(ex.hints)}")
    assert json.loads((notebook_dir / nbcheck.HINT_STATE).read_text()) == {"softmax.sigmoid": 2}
    assert (hints.STATE.read_bytes() if hints.STATE.exists() else None) == before


def test_hints_go_on_where_the_notebook_folder_cannot_be_written(notebook_dir, capsys):
    (notebook_dir / nbcheck.HINT_STATE).mkdir()  # neither readable nor writable as a file, even for root
    hint("softmax.sigmoid")
    hint("softmax.sigmoid")
    out = capsys.readouterr().out
    assert "Hint 1 of" in out and "Hint 2 of" in out and "Traceback" not in out


def test_hint_without_an_argument_is_for_the_exercise_last_checked(notebook_dir, capsys):
    hint()
    out = capsys.readouterr().out
    assert "run one first" in out and "hint('softmax.softmax')" in out
    check("softmax.sigmoid", sigmoid)
    capsys.readouterr()
    hint()
    assert capsys.readouterr().out.startswith(f"Hint 1 of {len(exercise('softmax.sigmoid').hints)} for softmax.sigmoid")
    hint("softmax.sigmoide")
    assert "did you mean" in capsys.readouterr().out.lower()


@pytest.mark.parametrize("ex", exercises(), ids=lambda e: e.id)
def test_notebook_hints_never_point_at_the_reference_answers(notebook_dir, capsys, ex):
    for _ in range(len(ex.hints) + 1):
        hint(ex.id)
    out = capsys.readouterr().out
    assert "solutions" not in out and "petkit hint --reset" not in out and "last hint" in out


# --- messages --------------------------------------------------------------------------------------

def test_shorten_never_cuts_a_word():
    text = "softmax returned nan for the row of logits that overflow when exp is taken without a shift"
    short = shorten(text, 40)
    assert len(short) <= 40 and short.endswith("\u2026")
    assert text.startswith(short[:-1]) and text[len(short) - 1] == " "
    assert shorten("short enough", 40) == "short enough"


def test_the_summary_line_is_cut_at_a_word(notebook_dir):
    def long_error(x):
        raise ValueError("a message " + "that goes on and on " * 20)
    with pytest.raises(ChecksFailed) as raised:
        check("softmax.sigmoid", long_error)
    first = str(raised.value).splitlines()[0]
    assert first.endswith("\u2026") and first[-2] != " " and first[:-1].split()[-1] in ("that", "goes", "on", "and")


def test_not_your_own_work_is_said_once_per_exercise(notebook_dir):
    with pytest.raises(ChecksFailed) as raised:
        check("softmax.softmax", lambda x, dim=-1: torch.softmax(x, dim))
    message = str(raised.value)
    assert message.count("not your own implementation") == 1, message
    assert message.count("- ") >= 3  # every check it fails is still listed


def test_the_untouched_message_says_to_run_the_answer_cell_first(notebook_dir):
    def sigmoid(x):  # nbgrader's stub, as the release hands it out
        raise NotImplementedError("not written yet: replace this line with your code")
    with pytest.raises(ChecksFailed) as raised:
        check("softmax.sigmoid", sigmoid)
    assert "run that answer cell first, then run this test cell" in str(raised.value)


def test_a_known_mistake_is_named_on_its_own_line(notebook_dir):
    with pytest.raises(ChecksFailed) as raised:
        check("softmax.softmax", softmax_no_shift)
    lines = str(raised.value).splitlines()
    named = [l for l in lines if l.startswith(PREFIX)]
    assert len(named) == 1 and "no max shift" in named[0] and "Subtract the max" in named[0]
    check("softmax.softmax", softmax_unvalidated, kinds=MATHS)  # right maths: no line, no failure


# --- the two graded parts ---------------------------------------------------------------------------

def test_right_maths_without_validation_passes_the_maths_and_fails_the_bad_input_cell(notebook_dir, capsys):
    check("softmax.softmax", softmax_unvalidated, kinds=MATHS)
    assert "maths checks pass" in capsys.readouterr().out
    with pytest.raises(ChecksFailed) as raised:
        check_bad_input("softmax.softmax", softmax_unvalidated)
    assert str(raised.value).startswith("softmax.softmax: 1 of 1 bad-input checks fail")
    with pytest.raises(ChecksFailed):
        check("softmax.softmax", softmax_no_shift, kinds=MATHS)
    with pytest.raises(ValueError, match="not check kinds"):
        check("softmax.softmax", softmax_unvalidated, kinds=("maths",))
    assert set(MATHS) | set(BAD_INPUT) == set(__import__("petkit.checks.core", fromlist=["KINDS"]).KINDS)


# --- in a real kernel: the coloured box ----------------------------------------------------------------

def test_a_notebook_shows_a_green_or_red_box_and_the_failing_cell_still_raises(tmp_path):
    import nbformat
    from nbclient import NotebookClient
    cells = [
        "import sys, torch\nsys.path.insert(0, %r)\nfrom petkit.nbcheck import check\n" % str(ROOT),
        "from solutions.softmax import sigmoid\ncheck('softmax.sigmoid', sigmoid)",
        "def softmax(x, dim=-1):\n    return x.exp() / x.exp().sum(dim, keepdim=True)\n"
        "check('softmax.softmax', softmax)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    os.environ["PYTHONPATH"], saved = env_path, os.environ.get("PYTHONPATH")
    try:
        NotebookClient(nb, timeout=300, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    passed, failed = nb.cells[1].outputs, nb.cells[2].outputs
    boxes = [o for o in passed if o.output_type == "display_data"]
    assert len(boxes) == 1 and "#1a7f37" in boxes[0].data["text/html"], passed
    from petkit.checks.core import checks_for
    assert boxes[0].data["text/plain"] == f"softmax.sigmoid: all {len(checks_for('softmax.sigmoid'))} checks pass."
    assert not any(o.output_type == "error" for o in passed)
    red = [o for o in failed if o.output_type == "display_data"]
    errors = [o for o in failed if o.output_type == "error"]
    assert len(red) == 1 and "#b42318" in red[0].data["text/html"] and PREFIX in red[0].data["text/html"]
    assert len(errors) == 1 and errors[0].ename == "ChecksFailed"  # nbgrader scores the cell 0
    assert errors[0].evalue.startswith("softmax.softmax: ") and PREFIX in errors[0].evalue  # the full text
    assert len(errors[0].traceback) == 1 and "box above" in errors[0].traceback[0]  # not said twice
    assert not any(o.output_type == "stream" and o.name == "stderr" for o in passed + failed)
