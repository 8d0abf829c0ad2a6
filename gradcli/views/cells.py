"""Notebooks and transcripts on screen: output grouped by cell (`In [3]:` headers, the
displayed value as `Out[3]:`), the JSON `"cells"` and `"examples"` lists, and error
positions named by cell (`lesson.ipynb:cell 5:line 2:col 3`). Reads the records of
gradcli.runtime.documents; computes nothing."""

from __future__ import annotations

import dataclasses

MAX_NOTES = 3  # IPython lines named in the one-line note; the rest are counted


def where(filename: str, cell: int, line: int | None, column: int | None) -> str:
    text = f"{filename}:cell {cell}"
    if line:
        text += f":line {line}"
        if column:
            text += f":col {column}"
    return text


def cell_error(filename: str, cell_number: int, cell_source: str, error,
               color: bool = False) -> str:
    """`lesson.ipynb:cell 5:line 2:col 3: RuntimeError: message`, the line, a caret."""
    kind = f"\x1b[1;31m{error.type}\x1b[0m" if color else error.type
    text = f"{where(filename, cell_number, error.line, error.column)}: {kind}: {error.message}"
    lines = cell_source.split("\n")
    if error.line and 0 < error.line <= len(lines):
        code = lines[error.line - 1]
        stripped = code.lstrip()
        pad = " " * max((error.column or 1) - 1 - (len(code) - len(stripped)), 0)
        caret = "\x1b[1;31m^\x1b[0m" if color else "^"
        text += f"\n    {stripped}\n    {pad}{caret}"
    if getattr(error, "hint", None):
        text += f"\nhint: {error.hint}"
    return text


def cell_warning(filename: str, cell_number: int, cell_source: str, warning) -> str:
    text = (f"{where(filename, cell_number, warning.line, None)}: {warning.category}: "
            f"{warning.message}")
    lines = cell_source.split("\n")
    if warning.line and 0 < warning.line <= len(lines):
        text += f"\n  {lines[warning.line - 1].strip()}"
    return text


def skipped_note(filename: str, skipped: list[tuple[int, int, str]]) -> str | None:
    """One line for stderr naming the IPython-only lines that did not run."""
    if not skipped:
        return None
    named = ", ".join(f"cell {cell} line {line} ({text})"
                      for cell, line, text in skipped[:MAX_NOTES])
    more = f" and {len(skipped) - MAX_NOTES} more" if len(skipped) > MAX_NOTES else ""
    lines = "line" if len(skipped) == 1 else "lines"
    return (f"{filename}: note: skipped {len(skipped)} IPython {lines} (magics, shell "
            f"escapes), which gradcli does not run: {named}{more}")


def out_prompt(number: int, display: str) -> str:
    return f"Out[{number}]: {display}\n"


def cell_record(result) -> dict:
    """A cell in the JSON document (SPEC §2.1 "cells")."""
    record = {"index": result.index, "stdout": result.stdout_lines, "display": result.display}
    if result.error is not None:
        record["error"] = error_record(result.error, result.index)
    return record


def error_record(error, cell: int | None = None) -> dict:
    record = {"type": error.type, "message": error.message, "line": error.line,
              "column": error.column}
    if cell is not None:
        record["cell"] = cell
    if error.hint:
        record["hint"] = error.hint
    return record


def notebook_json(run) -> dict:
    """The keys a notebook adds to (or sets in) the eval document."""
    visible = run.visible()
    doc = {
        "warnings": [{"message": w.message, "line": w.line, "column": w.column, "cell": r.index}
                     for r in visible for w in r.warnings],
        "cells": [cell_record(r) for r in visible],
    }
    failed = run.failed
    if failed is not None:
        doc["error"] = error_record(failed.error, failed.index)
    return doc


def transcript_json(run) -> dict:
    failed = next((e for e in run.examples if e.error is not None and not e.passed), None)
    doc = {
        # A transcript holds when every example prints what it expects (exit 0).
        "ok": not run.failures,
        "examples": [{
            "line": e.example.line, "source": e.example.source, "want": e.example.want,
            "got": e.got, "passed": e.passed, "skipped": e.skipped,
            "error": error_record(e.error) if e.error is not None else None,
        } for e in run.examples],
    }
    if failed is not None:
        doc["error"] = error_record(failed.error)
    return doc


def write_notebook(run, out, views=None, color: bool = False) -> None:
    """Each shown cell: its header, what it printed (with each backward pass's trace where
    backward() ran, when asked), and the value it displayed."""
    cells = {cell.number: cell for cell in run.notebook.cells}
    traces = views.traces if views is not None else []
    for result in run.visible():
        cell = cells[result.index]
        out.write(f"In [{result.index}]:\n")
        mine = [_local_trace(t, cell, run.starts[result.index]) for t in traces
                if _in_cell(t, cell)]
        if mine and views is not None:
            subset = type(views)(_Recorded(mine), trace=views.trace, partials=views.partials,
                                 full=views.full)
            subset.write(result.stdout, color, out)
        else:
            out.write(result.stdout)
        if result.display is not None:
            out.write(out_prompt(result.index, result.display))
        if result.error is not None and cell.may_raise:
            # The error the cell is meant to raise is its output, as Jupyter shows it.
            out.write(f"{result.error.type}: {result.error.message}\n")
        out.write("\n")


def write_transcript(run, out, views=None, color: bool = False) -> None:
    """The transcript as the interpreter ran it: each example's code and its output, and
    after it (when asked) the backward passes it ran, with the file's line numbers."""
    traces = views.traces if views is not None else []
    for example_run in run.examples:
        example = example_run.example
        lines = example.source.rstrip("\n").split("\n")
        mine = [t for t in traces
                if example.line <= (t.line or 0) < example.line + len(lines)]
        out.write("".join((">>> " if i == 0 else "... ") + line + "\n"
                          for i, line in enumerate(lines)))
        if example_run.skipped:
            out.write("(skipped)\n")
            continue
        out.write(example_run.got)
        if example_run.error is not None:
            out.write("Traceback (most recent call last):\n  ...\n"
                      f"{example_run.error.type}: {example_run.error.message}\n")
        if mine:
            subset = type(views)(_Recorded(mine), trace=views.trace, partials=views.partials,
                                 full=views.full)
            subset.write("", color, out)


class _Recorded:
    """A stand-in tracer holding the passes of one cell."""

    def __init__(self, traces):
        self.traces = traces


def _in_cell(trace, cell) -> bool:
    line = trace.line or 0
    return cell.first_line < line <= cell.first_line + cell.source.count("\n") + 1


def _local_trace(trace, cell, start: int):
    """The pass with its lines counted within the cell and its place in the cell's output."""
    steps = [dataclasses.replace(step, line=step.line - cell.first_line)
             if getattr(step, "line", None) else step for step in trace.steps]
    return dataclasses.replace(trace, line=trace.line - cell.first_line,
                               mark=trace.mark - start, steps=steps)
