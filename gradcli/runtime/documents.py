"""Run a notebook or a transcript through the cell runner and keep what each cell or
example did. The views (gradcli.views.cells) and `gradcli test` read these records."""

from __future__ import annotations

from dataclasses import dataclass, field

from gradcli.runtime.cells import Cell, CellResult, CellRunner
from gradcli.runtime.result import ErrorRecord, RunResult
from gradcli.sources.notebook import Notebook
from gradcli.sources.transcript import Transcript, check


@dataclass
class NotebookRun:
    notebook: Notebook
    results: list[CellResult]  # every cell that ran (silent ones too), in order
    shown: tuple[int, int]  # the first and last cell number asked for
    tensors: list = field(default_factory=list)
    starts: dict = field(default_factory=dict)  # cell number -> print() chars before it
    bindings: list = field(default_factory=list)  # with record_bindings (gradcli show)

    @property
    def failed(self) -> CellResult | None:
        """The cell whose error stopped the run (a cell that may raise does not)."""
        allowed = {cell.number for cell in self.notebook.cells if cell.may_raise}
        return next((r for r in self.results
                     if r.error is not None and r.index not in allowed), None)

    def visible(self) -> list[CellResult]:
        low, high = self.shown
        return [r for r in self.results if low <= r.index <= high]

    def result(self) -> RunResult:
        """The run as a RunResult (the script view's text, the shown cells' prints, the
        tensors now, the error with its line within its cell) for the shared views."""
        failed = self.failed
        stdout = "".join(r.stdout for r in self.visible())
        return RunResult(self.notebook.filename, self.notebook.script, stdout, [],
                         self.tensors, failed.error if failed is not None else None)


def run_notebook(notebook: Notebook, *, seed=None, limits=None, observer=None,
                 cells: tuple[int, int] | None = None, testing: bool = False,
                 record_bindings: bool = False) -> NotebookRun:
    """Run the code cells in order in one namespace (Jupyter's display rule) until the
    first error, as Run All does (a cell tagged `raises-exception` may fail and the run
    goes on). With `cells=(low, high)` the cells before `low` run silently first and the
    run ends after `high`. `testing` leaves out the cells tagged `nbval-skip`."""
    low, high = cells or (1, len(notebook.cells))
    runner = CellRunner(seed=seed, limits=limits, observer=observer,
                        record_bindings=record_bindings)
    run = NotebookRun(notebook, [], (low, high))
    printed = 0
    for cell in notebook.cells:
        if cell.number > high:
            break
        run.starts[cell.number] = printed
        if testing and cell.test_skipped:
            run.results.append(CellResult(cell.number, ran=False))
            continue
        result = runner.run(Cell(cell.number, cell.source, cell.first_line), "jupyter")
        printed += len(result.stdout)
        run.results.append(result)
        if result.error is not None and not cell.may_raise:
            break
    run.tensors = runner.tensors()
    run.bindings = runner.bindings()
    return run


@dataclass
class ExampleRun:
    example: object  # sources.transcript.Example
    got: str = ""
    error: ErrorRecord | None = None
    passed: bool = True
    skipped: bool = False


@dataclass
class TranscriptRun:
    transcript: Transcript
    examples: list[ExampleRun]
    tensors: list = field(default_factory=list)

    @property
    def failures(self) -> list[ExampleRun]:
        return [e for e in self.examples if not e.passed]

    def result(self) -> RunResult:
        stdout = "".join(e.got for e in self.examples)
        return RunResult(self.transcript.filename, self.transcript.script(), stdout, [],
                         self.tensors, None)


def run_transcript(transcript: Transcript, *, seed=None, limits=None,
                   observer=None) -> TranscriptRun:
    """Run every example as Python's interactive interpreter would (each bare expression
    echoes its repr) in one namespace, and check each against its expected output as
    doctest does. An example that raises does not stop the others (doctest's rule)."""
    runner = CellRunner(seed=seed, limits=limits, observer=observer)
    runs = []
    for example in transcript.examples:
        if example.skip:
            runs.append(ExampleRun(example, skipped=True))
            continue
        result = runner.run(Cell(example.number, example.source, example.first_line()),
                            "interactive")
        error = result.error
        if error is not None and error.line is not None:
            # Where in the file: the example's code starts after its indent and `>>> `.
            column = None if error.column is None else error.column + example.indent + 4
            error = ErrorRecord(error.type, error.message, example.first_line() + error.line,
                                column, error.hint, error.phase)
        runs.append(ExampleRun(example, result.stdout, error,
                               check(example, result.stdout, error)))
    return TranscriptRun(transcript, runs, runner.tensors())
