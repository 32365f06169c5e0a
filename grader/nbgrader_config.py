# nbgrader's settings for the petkit course. `petkit grade ...` reads them, and so does any
# `nbgrader ...` command run in this folder (with the kit's .venv/bin first on PATH).
# source/ and samples/ are written by `petkit sync` from solutions/: never edit them by hand.
c = get_config()  # noqa: F821 - defined by nbgrader when it reads this file

c.CourseDirectory.course_id = "petkit"

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
    "petkit.grade.HideTestTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# nbgrader's autograde steps, with petkit's Execute: a cell that kills the kernel (exit(), os._exit(),
# a crash) loses that cell's points only, and the rest of the notebook is graded in a fresh kernel.
c.Autograde.autograde_preprocessors = [
    "petkit.grade.KernelSurvivingExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Quieter kernels (no warning about TCP transport on every start).
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
