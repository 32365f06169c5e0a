"""The instructor's side: grading a class's nbgrader notebooks (`petkit grade`).

    course.py         a course folder and nbgrader configured for it: gradebook, release, export, feedback
    autograde.py      grade a lesson's submissions, one by one or in parallel
    submission.py     grade one submission: nbgrader's kernel, then the referee
    parallel.py       N processes or a Dask cluster, one writer, resumable
    results.py        one submission's result, and the instructor's table
    causes.py         why an exercise lost its points, from what grading left (nothing re-run)
    classbook.py      a class's results read from the gradebook; the per-exercise CSV
    report.py         reports/LESSON/index.html: who lost what and why, with figures
    feedback.py       the feedback page's preprocessor and template (templates/petkit_feedback/)
    screen.py         the static first line: locked cells, what an answer never needs (pure)
    referee.py        the grade of record, derived out of the kernel's reach
    sealed.py         the referee's sealed child process
    preprocessors.py  the nbgrader preprocessors named in grader/nbgrader_config.py
    cli.py            the `petkit grade` command line

Nothing outside this package imports it but the CLI (petkit/cli.py).
"""
