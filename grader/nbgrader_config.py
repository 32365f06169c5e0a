# nbgrader's settings for the petkit course. `petkit grade ...` reads them, and so does any
# `nbgrader ...` command run in this folder (with the kit's .venv/bin first on PATH).
# source/ and samples/ are written by `petkit sync` from solutions/: never edit them by hand.
c = get_config()  # noqa: F821 - defined by nbgrader when it reads this file

c.CourseDirectory.course_id = "petkit"

# What nbgrader never copies from a submission into autograded/ and feedback/: its own defaults, plus
# the caches a learner's runs leave beside the notebook (Hypothesis's example database).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".hypothesis"]

# Seconds one cell may run. A test cell that runs longer is interrupted and loses its points, so an
# answer that loops forever costs that exercise only. The checks of one exercise take a few seconds.
c.ExecutePreprocessor.timeout = 60

# What replaces each answer in the released notebook (the same text as petkit.notebooks.CODE_STUB).
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("not written yet: replace this line with your code")',
}

# Feedback shows the student's code and what the checks said, never the hidden tests: their code is
# removed, and the tracebacks of test cells (which would quote it) are cut to the error message.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "petkit.grading.preprocessors.HideTestTracebacks",
    "petkit.grading.feedback.ReadableFeedback",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# petkit's feedback page (nbgrader's, with each exercise named in the table of contents, no
# automatic "No response." comment, and the check output wrapped): petkit/grading/templates/petkit_feedback/.
from petkit.grading.feedback import TEMPLATE, TEMPLATE_FILE, template_dirs  # noqa: E402
c.HTMLExporter.template_name = TEMPLATE
c.HTMLExporter.template_file = TEMPLATE_FILE
c.HTMLExporter.extra_template_basedirs = template_dirs()

# Before nbgrader's own sanitizing steps, each cell gets the source notebook's nbgrader marks back
# (a re-marked answer cell, an inserted grade cell): the submission is graded by the course's cells and
# points, and the instructor is told what was changed (petkit.cell_metadata).
c.Autograde.sanitize_preprocessors = [
    "petkit.grading.cell_metadata.RestoreSourceMetadata",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# nbgrader's autograde steps, with petkit's Execute: a cell that kills the kernel (exit(), os._exit(),
# a crash) loses that cell's points only, and the rest of the notebook is graded in a fresh kernel.
# An answer cell that does what an answer never needs (import the kit, patch modules, open files, end
# the process) is not run at all (petkit.grading.preprocessors.ScreenAnswers); petkit grade's referee then re-derives
# every score outside the kernel.
c.Autograde.autograde_preprocessors = [
    "petkit.grading.preprocessors.ScreenAnswers",
    "petkit.grading.preprocessors.KernelSurvivingExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Quieter kernels (no warning about TCP transport on every start).
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
# The memory one kernel may map beyond what it holds at start (torch and fastai's imports fit in it):
# a memory bomb gets a MemoryError in its own cell.
c.KernelSurvivingExecute.memory_limit_mb = 12288
