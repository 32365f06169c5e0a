"""The nbgrader preprocessors petkit adds, named in grader/nbgrader_config.py: the screen before the
kernel runs anything, an Execute that survives a dying kernel, and the feedback without tracebacks.
nbgrader imports them by name, only when it grades."""
from __future__ import annotations

from pathlib import Path

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer

from petkit import tempdirs
from petkit.grading.screen import scan

SCREENED = "petkit grade did not run this cell"


class ScreenAnswers(NbGraderPreprocessor):
    """An answer cell in which `scan` finds what an answer never needs is not run in nbgrader's
    kernel at all (it could write to the gradebook or read the course's files there): its code
    is kept as comments, under an error that says what was found. Its test cell then fails."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            found = scan(cell.source)
            if found:
                kept = "\n".join("# " + line for line in cell.source.splitlines())
                cell.source = (f"{kept}\nraise PermissionError({SCREENED + ': cheat detected: the answer cell ' + found!r})")
        return cell, resources


class HideTestTracebacks(NbGraderPreprocessor):
    """Cut the tracebacks of autograder test cells down to the error's message: a traceback quotes
    the cell's code, hidden tests included, while the message says what broke in plain words."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources


KERNEL_DIED = "KernelDied"


class KernelSurvivingExecute(Execute):
    """nbgrader's Execute, except that a cell that kills the kernel (exit(), os._exit(), a crash)
    costs that cell only: it gets an error output saying so, a fresh kernel re-runs the code cells
    before it that define things (not the test cells), and the notebook goes on from the next cell.
    The per-cell time limit is for the student's code: the read-only cells the course gives (the
    imports: torch, fastai) get `read_only_timeout`, so a busy machine cannot fail a whole notebook."""

    max_kernel_deaths = Integer(3, help="how many kernel deaths one notebook may cause before it "
                                        "is given up").tag(config=True)
    read_only_timeout = Integer(600, help="seconds a read-only cell that is not a test may run: the "
                                          "course's own code (imports), never the student's").tag(config=True)

    memory_limit_mb = Integer(0, help="address space (MB) a kernel may map beyond what it has at start; "
                                      "0: no limit").tag(config=True)
    sandbox = Bool(True, help="start the kernel in petkit.grading.sandbox (bwrap), in a scratch copy of the "
                              "submission's folder; `petkit grade --no-sandbox` turns it off").tag(config=True)
    warm = Bool(True, help="start each kernel as a fork of a warm server that imported the course's modules "
                           "once (petkit.warm); off (or PETKIT_WARM=0): a fresh Python per kernel").tag(config=True)

    _warm = None  # the warm server (petkit.warm) this notebook's kernels fork from, when there is one
    _tmp = None  # without the sandbox: the kernels' TMPDIR, removed after the notebook

    def _get_timeout(self, cell):
        meta = (cell or {}).get("metadata", {}).get("nbgrader", {})
        timeout = super()._get_timeout(cell)
        if meta.get("locked") and not meta.get("grade") and not meta.get("solution") and timeout:
            return max(timeout, self.read_only_timeout)
        return timeout

    def preprocess(self, nb, resources=None, km=None):
        self._deaths = 0
        from petkit.grading import warm_grading
        lesson = (resources or {}).get("metadata", {}).get("name") or ""
        self._warm = warm_grading.kernel_server(nb, lesson, self.sandbox) if self.warm else None
        if not self.sandbox:  # the kernel's temporary files go with the notebook (sandboxed: /tmp is the scratch)
            self._tmp = tempdirs.make("petkit-nb-")
            try:
                return super().preprocess(nb, resources, km)
            finally:
                tempdirs.remove(self._tmp)
                self._tmp = None
        from petkit.grading import sandbox
        folder = Path((resources or {}).get("metadata", {}).get("path") or ".").resolve()
        self._scratch = sandbox.scratch_folder(parent=warm_grading.spool_of(self._warm))
        try:
            self._scratch_cwd = sandbox.copy_into(folder, self._scratch)
            return super().preprocess(nb, resources, km)
        finally:
            tempdirs.remove(self._scratch)

    async def async_start_new_kernel(self, **kwargs):
        """The kernel starts with the memory cap. Added here, as nbclient starts it: nbconvert's
        `preprocess` runs NotebookClient.__init__ again, which sets the traits from the config again,
        so arguments added to `extra_arguments` before that (c.Execute.extra_arguments set) were lost
        and the kernel ran without a cap. A restart (after a kernel death) reuses these arguments."""
        if self.memory_limit_mb and not any("limit_memory" in a for a in self.extra_arguments):
            self.extra_arguments = [*self.extra_arguments, "--IPKernelApp.exec_lines="
                                    f"__import__('petkit.supervisor').supervisor.limit_memory({self.memory_limit_mb})"]
        if self._tmp is not None:
            import os
            kwargs["env"] = {**kwargs.get("env", os.environ), "TMPDIR": str(self._tmp)}
        return await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.sandbox:
            from petkit.grading import sandbox
            folder = Path(self.resources.get("metadata", {}).get("path") or ".").resolve()
            sandbox.confine_kernel(km, self._scratch, self._scratch_cwd, hidden=[folder])
        if self._warm is not None:
            from petkit.grading import warm_grading
            warm_grading.start_kernels_through(km, self._warm, keep=str(self._scratch) if self.sandbox else "")
        return km

    def preprocess_cell(self, cell, resources, index):
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._deaths += 1
            cell.outputs = [NotebookNode(
                output_type="error", ename=KERNEL_DIED,
                evalue="the kernel died while running this cell (exit(), quit(), os._exit() or a crash): "
                       "the cell loses its points, and the rest of the notebook runs in a fresh kernel",
                traceback=[f"{KERNEL_DIED}: the kernel died while running this cell"])]
            if self._deaths > self.max_kernel_deaths:
                raise
            self.log.warning("The kernel died in cell %d; restarting it and re-running the cells before", index)
            run_sync(self._async_restart)()
            for i, earlier in enumerate(self.nb.cells[:index]):
                meta = earlier.get("metadata", {}).get("nbgrader", {})
                if earlier.cell_type == "code" and not meta.get("grade"):
                    self.execute_cell(NotebookNode(earlier.copy(), outputs=[]), i, store_history=False)
            return cell, self.resources

    async def _async_restart(self):
        await ensure_async(self.km.restart_kernel(now=True))
        await ensure_async(self.kc.stop_channels())
        self.kc = None
        await self.async_start_new_kernel_client()
