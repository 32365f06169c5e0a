"""petkit.deferred: rfc3987_syntax (a Lark grammar built at import, ~1 s) is not built by reading a
notebook in a petkit process, and jsonschema checks an IRI exactly as without the deferral."""
import json
import subprocess
import sys

from petkit import ROOT

IRIS = ["http://example.com/é", "http://exa mple.com", "urn:isbn:0451450523", "", "//no-scheme", "ftp://[::1]:21/",
        "http://example.com/%zz", "mailto:jo@example.com", "http://例え.jp/パス?q=1#frag"]

CHECK_IRIS = f"""
import json, jsonschema
fc = jsonschema.FormatChecker()
print(json.dumps([[fc.conforms(i, "iri"), fc.conforms(i, "iri-reference")] for i in {IRIS!r}]))
"""


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_reading_a_notebook_in_a_petkit_process_builds_no_iri_grammar():
    out = _python("import sys, petkit, nbformat, nbgrader.apps, jsonschema; "
                  "print(sorted(m for m in ('lark', 'rfc3987_syntax.syntax_helpers') if m in sys.modules))")
    assert out == "[]", f"imported at start-up after all: {out}"


def test_iris_are_checked_as_without_the_deferral():
    plain = json.loads(_python(CHECK_IRIS))  # no petkit in this process: the real module from the start
    deferred = json.loads(_python("import petkit\n" + CHECK_IRIS))
    assert deferred == plain
    assert [True, True] in plain and [False, False] in plain  # the oracle tells IRIs apart


def test_the_stand_in_becomes_the_real_module_on_first_use_and_its_submodules_import():
    out = _python("import sys, petkit, rfc3987_syntax\n"
                  "from rfc3987_syntax import is_valid_syntax\n"
                  "before = type(sys.modules['rfc3987_syntax']).__name__\n"
                  "import rfc3987_syntax.syntax_helpers\n"
                  "ok = is_valid_syntax('iri', 'http://example.com/')\n"
                  "after = sys.modules['rfc3987_syntax']\n"
                  "print(before, ok, type(after).__name__, after is not rfc3987_syntax, "
                  "rfc3987_syntax.RFC3987_SYNTAX_TERMS is after.RFC3987_SYNTAX_TERMS)")  # the old name forwards
    assert out == "_StandIn True module True True", out


def test_threads_at_their_first_use_all_get_the_real_answer():
    out = _python("import sys, threading, petkit\n"
                  "from rfc3987_syntax import is_valid_syntax\n"
                  "got, errors = [], []\n"
                  "def use():\n"
                  "    try:\n"
                  "        got.append(is_valid_syntax('iri', 'http://example.com/é'))\n"
                  "    except Exception as e:\n"
                  "        errors.append(repr(e))\n"
                  "ts = [threading.Thread(target=use) for _ in range(6)]\n"
                  "[t.start() for t in ts]; [t.join() for t in ts]\n"
                  "print(got == [True] * 6, errors[:1])")
    assert out == "True []", out
