"""Run code cells one after another in one namespace: what notebooks, transcripts and
`gradcli test` run on. This module is the whole interface between them and the runtime:

    runner = CellRunner(seed=None, limits=None, observer=None, record_bindings=False)
    result = runner.run(Cell(index, source, first_line), mode)   # -> CellResult
    value, error = runner.evaluate(text, line)     # an expression's value, or its error
    runner.tensors()                               # [TensorRecord] bound now, in order
    runner.bindings()                 # with record_bindings=True (gradcli show)
    results, runner = run_cells(cells, mode, seed=..., limits=..., observer=...,
                                stop_at_error=True)   # after an error: ran=False cells

`mode` is how bare expression statements show their value:
- "jupyter": only the cell's last statement, if it is a bare expression and the cell does
  not end with `;` (comments aside), displays its repr (as `CellResult.display`; None
  displays nothing). `display(x)` from IPython.display prints repr(x) into stdout.
- "interactive": every bare expression statement echoes its repr into the output, where
  it ran (Python's `>>>` prompt, a doctest example); `display` stays None.
- "script": nothing echoes (a file run by Python).

State carried from cell to cell: the variables, the random generator (seeded once, from
`seed` or 0), the warning registry, and the grad mode (`torch.set_grad_enabled(False)`
in one cell holds in the next). An error ends the cell at the failing statement; what
ran before it in the cell stays done.

Line numbers: `Cell.first_line` places the cell in a program text (a notebook's script
view): line L of the cell is line `first_line + L` there, which is what an observer (the
--trace tracer, labelling by source line) sees. Everything a CellResult reports (error,
warnings) is relative to the cell. `CellResult.stdout` is what print() and display()
wrote, without the displayed value; summed over the cells in order it is the count of
characters the tracer's `Trace.mark` is measured in (render/cells.py places each pass
inside its cell's output by it).

Today this runs on `gradcli.runtime.session.Session` (the REPL's runtime) with one additive
option (`keep_grad_mode`); the displayed expression is cut off the cell's text here and
evaluated with the session's echo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradcli.runtime.result import ErrorRecord, TensorRecord, WarningRecord

MODES = ("jupyter", "interactive", "script")
_VALUE_NAME = "_gradcli_cell_value"


@dataclass
class Cell:
    index: int  # the cell's number, as errors name it
    source: str
    first_line: int = 0


@dataclass
class CellResult:
    index: int
    stdout: str = ""  # what print() and display() wrote (and, interactive, the echoes)
    display: str | None = None  # jupyter: the repr the cell's last expression displays
    error: ErrorRecord | None = None  # line and column within the cell
    warnings: list[WarningRecord] = field(default_factory=list)  # lines within the cell
    ran: bool = True  # False for a cell skipped because an earlier one failed

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def stdout_lines(self) -> list[str]:
        text = self.stdout[:-1] if self.stdout.endswith("\n") else self.stdout
        return text.split("\n") if self.stdout else []


class CellRunner:
    """One namespace, one random generator and one warning registry for many cells."""

    def __init__(self, *, seed: int | None = None, limits=None, observer=None,
                 record_bindings: bool = False):
        from gradcli.runtime.session import Session

        self.session = Session(seed=seed, limits=limits, keep_grad_mode=True,
                               record_bindings=record_bindings)
        self.observer = observer

    def run(self, cell: Cell, mode: str = "jupyter") -> CellResult:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        padded = "\n" * cell.first_line + cell.source
        result = CellResult(cell.index)
        if mode == "jupyter":
            split = _split_display(padded)
            if split is not None:
                before, last, shift = split
                self._into(result, before, cell, echo=False)
                if result.error is None:
                    outcome = self._into(result, last, cell, echo=True, shift=shift)
                    if outcome.echoes:
                        shown = outcome.echoes[-1]
                        result.display = shown
                        # The echo is the output's tail: the value is shown, not printed.
                        result.stdout = result.stdout[: len(result.stdout) - len(shown) - 1]
                return result
        self._into(result, padded, cell, echo=mode == "interactive")
        return result

    def _into(self, result: CellResult, text: str, cell: Cell, *, echo: bool, shift=None):
        outcome = self.session.execute(text, echo=echo, observer=self.observer)
        result.stdout += outcome.stdout
        for warning in outcome.warnings:
            result.warnings.append(WarningRecord(
                warning.message, warning.category, _local(warning.line, cell),
                _shifted(warning.line, warning.column, shift)))
        if outcome.error is not None:
            error = outcome.error
            result.error = ErrorRecord(error.type, error.message, _local(error.line, cell),
                                       _shifted(error.line, error.column, shift), error.hint,
                                       error.phase)
        return outcome

    def evaluate(self, text: str, line: int = 1):
        """The value of expression `text` in the namespace (as if written at `line` of the
        program text), and None; or None and the ErrorRecord it raised."""
        padded = "\n" * (line - 1) + f"{_VALUE_NAME} = ({text})\n"
        outcome = self.session.execute(padded, echo=False, observer=self.observer)
        value = self.session.namespace.globals.pop(_VALUE_NAME, None)
        return value, outcome.error

    def tensors(self) -> list[TensorRecord]:
        return self.session.tensors()

    def bindings(self) -> list:
        """With `record_bindings`: every binding of a name to a tensor, in order, as
        session.Binding (line in the program text, name, shape, dtype, requires_grad,
        grad_fn name)."""
        return self.session.bindings


def run_cells(cells, mode: str = "jupyter", *, seed=None, limits=None, observer=None,
              stop_at_error: bool = True) -> tuple[list[CellResult], CellRunner]:
    """Run `cells` in order; after the first error (Run All) the rest are `ran=False`."""
    runner = CellRunner(seed=seed, limits=limits, observer=observer)
    results: list[CellResult] = []
    failed = False
    for cell in cells:
        if failed:
            results.append(CellResult(cell.index, ran=False))
            continue
        result = runner.run(cell, mode)
        results.append(result)
        failed = stop_at_error and result.error is not None
    return results, runner


def _local(line: int | None, cell: Cell) -> int | None:
    if line is None:
        return None
    return max(line - cell.first_line, 1)


def _shifted(line, column, shift):
    """The column in the cell when the displayed expression was cut out of its line."""
    if shift is not None and column is not None and line == shift[0]:
        return column + shift[1]
    return column


def _split_display(padded: str):
    """(text before the last statement, the last statement alone, (its line, columns cut)),
    when the cell's last statement is a bare expression not silenced by a final `;`;
    else None. The last statement keeps its line number (blank lines before it)."""
    from gradcli.base.errors import GradcliSyntaxError
    from gradcli.lang import ast as A
    from gradcli.lang.parser import parse

    try:
        body = parse(padded).body
    except GradcliSyntaxError:
        return None  # running it reports the error
    if not body or not isinstance(body[-1], A.ExprStmt):
        return None
    last = body[-1]
    lines = padded.split("\n")
    offset = sum(len(text) + 1 for text in lines[: last.line - 1]) + last.column - 1
    tail = padded[offset:]
    if _code_tail(tail).endswith(";"):
        return None  # IPython: a trailing semicolon silences the display
    before = padded[:offset]
    if last.column > 1:
        before = before.rstrip(" \t;")  # `a = 1; a`: the statement before, alone
    return before, "\n" * (last.line - 1) + tail, (last.line, last.column - 1)


def _code_tail(text: str) -> str:
    """The text without comments and trailing blanks: does it end with `;`?"""
    import io
    import tokenize

    code = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                                  tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT):
                code.append(token.string)
    except (tokenize.TokenError, SyntaxError):
        return text.rstrip()
    return "".join(code)
