"""`gradcli eval` on a notebook or a transcript: read it, run it, write the views, and
return the exit status (SPEC §1.8, §2). `gradcli.cli.evaluate.run_eval` hands these inputs here."""

from __future__ import annotations

import sys

from gradcli.base.errors import ExitStatus
from gradcli.views.terminal import color_enabled


def parse_cell_range(text: str | None, count: int) -> tuple[int, int] | None:
    """`--cell 3` / `--cells 2-7` (also `2-`, `-7`): cell numbers, 1-based, inclusive."""
    if text is None:
        return None
    low, sep, high = text.partition("-")
    try:
        first = int(low) if low.strip() else 1
        last = (int(high) if high.strip() else count) if sep else first
    except ValueError:
        raise ValueError(f"'{text}' is not a cell number or a range like 2-7") from None
    if first < 1 or last < first:
        raise ValueError(f"'{text}' is not a cell number or a range like 2-7")
    if first > count:
        raise ValueError(f"cell {first} does not exist: the notebook has {count} code cells")
    return first, min(last, count)


def eval_document(kind: str, filename: str, source: str, *, output_format: str = "table",
                  seed=None, limits=None, precision: int = 4, no_color: bool = False,
                  color_mode: str = "auto", quiet: bool = False, trace: bool = False,
                  trace_values: str = "summary", partials: bool = False,
                  detect_anomaly: bool = False, cells: str | None = None,
                  several: bool = False) -> int:
    if output_format == "ipynb":
        return _as_notebook(kind, filename, source, seed, limits)
    if kind == "notebook":
        return _eval_notebook(filename, source, output_format, seed, limits, precision,
                              no_color, color_mode, quiet, trace, trace_values, partials,
                              detect_anomaly, cells, several)
    return _eval_transcript(filename, source, output_format, seed, limits, precision,
                            no_color, color_mode, quiet, trace, trace_values, partials,
                            detect_anomaly, several)


def _as_notebook(kind, filename, source, seed, limits) -> int:
    """`--format ipynb`: the notebook (or the script's top-level blocks as cells) with the
    outputs gradcli shows recorded in it, as Jupyter would record them."""
    from gradcli.runtime.documents import run_notebook
    from gradcli.sources.notebook import (
        NotebookError,
        new_notebook,
        read_notebook,
        script_cells,
        with_outputs,
    )

    if kind == "transcript":
        from gradcli.cli.arguments import usage_error

        raise usage_error("--format ipynb takes a script or a notebook, not a transcript")
    try:
        notebook = (read_notebook(source, filename) if kind == "notebook"
                    else new_notebook(script_cells(source), filename))
    except NotebookError as exc:
        return _not_a_notebook(filename, exc, "ipynb")
    run = run_notebook(notebook, seed=seed, limits=limits)
    outputs = {r.index: (r.stdout, r.display, (r.error.type, r.error.message)
                         if r.error is not None else None) for r in run.results}
    sys.stdout.write(with_outputs(notebook, outputs))
    failed = run.failed
    if failed is not None:
        from gradcli.views import cells as view

        cell = notebook.cells[failed.index - 1]
        print(view.cell_error(filename, failed.index, cell.source, failed.error), file=sys.stderr)
        return ExitStatus.SYNTAX if failed.error.phase == "parse" else ExitStatus.PROGRAM_ERROR
    return ExitStatus.OK


def _views(source, trace, trace_values, partials, detect_anomaly, output_format):
    if not (trace or partials or detect_anomaly):
        return None
    from gradcli.views.trace import make_views

    return make_views(source, trace, trace_values, partials, detect_anomaly, output_format)


def _eval_notebook(filename, source, output_format, seed, limits, precision, no_color,
                   color_mode, quiet, trace, trace_values, partials, detect_anomaly, cells,
                   several) -> int:
    from gradcli.runtime.documents import run_notebook
    from gradcli.sources.notebook import NotebookError, read_notebook
    from gradcli.views import cells as view

    err = sys.stderr
    mode = "never" if no_color else color_mode
    try:
        notebook = read_notebook(source, filename)
    except NotebookError as exc:
        return _not_a_notebook(filename, exc, output_format, several)
    try:
        selection = parse_cell_range(cells, len(notebook.cells))
    except ValueError as exc:
        from gradcli.cli.arguments import bad_parameter

        raise bad_parameter(str(exc), "--cells") from None
    note = view.skipped_note(filename, notebook.skipped())
    if note and not quiet:
        print(note, file=err)
    views = _views(notebook.script, trace, trace_values, partials, detect_anomaly,
                   output_format)
    run = run_notebook(notebook, seed=seed, limits=limits, cells=selection,
                       observer=views.tracer if views is not None else None)
    sources = {cell.number: cell.source for cell in notebook.cells}
    if not quiet:
        for result in run.visible():
            for warning in result.warnings:
                print(view.cell_warning(filename, result.index, sources[result.index],
                                        warning), file=err)
    result = run.result()
    if output_format in ("json", "jsonl"):
        from gradcli.cli.output import write_document

        extra = {**(views.json() if views is not None else {}), **view.notebook_json(run)}
        write_document(result, extra, output_format, several, filename)
    elif quiet:
        allowed = {cell.number for cell in notebook.cells if cell.may_raise}
        for cell_result in run.visible():
            sys.stdout.write(cell_result.stdout)
            if cell_result.display is not None:
                sys.stdout.write(cell_result.display + "\n")
            if cell_result.error is not None and cell_result.index in allowed:
                sys.stdout.write(f"{cell_result.error.type}: {cell_result.error.message}\n")
    else:
        view.write_notebook(run, sys.stdout, views, color_enabled(mode, sys.stdout))
        _write_tensors(result, output_format, precision, mode)
    sys.stdout.flush()
    failed = run.failed
    if failed is not None:
        error = failed.error
        if error.hint:
            error = _hint_in_cells(error, notebook)
        print(view.cell_error(filename, failed.index, sources[failed.index], error,
                              color=color_enabled(mode, err)), file=err)
        return ExitStatus.SYNTAX if failed.error.phase == "parse" else ExitStatus.PROGRAM_ERROR
    return ExitStatus.OK


def _hint_in_cells(error, notebook):
    """A hint names program lines (`the backward() call on line 12`): in a notebook,
    lines of its script view, which the reader knows as a cell and a line in it."""
    import re

    from gradcli.runtime.result import ErrorRecord

    def named(match):
        place = notebook.locate(int(match.group(1)))
        return f"cell {place[0]} line {place[1]}" if place else match.group(0)

    hint = re.sub(r"\bline (\d+)", named, error.hint)
    return ErrorRecord(error.type, error.message, error.line, error.column, hint, error.phase)


def _eval_transcript(filename, source, output_format, seed, limits, precision, no_color,
                     color_mode, quiet, trace, trace_values, partials, detect_anomaly,
                     several) -> int:
    from gradcli.runtime.documents import run_transcript
    from gradcli.sources.transcript import TranscriptError, read_transcript, report
    from gradcli.views import cells as view

    try:
        transcript = read_transcript(source, filename)
    except TranscriptError as exc:
        return _not_a_notebook(filename, exc, output_format, several)
    mode = "never" if no_color else color_mode
    views = _views(transcript.script(), trace, trace_values, partials, detect_anomaly,
                   output_format)
    run = run_transcript(transcript, seed=seed, limits=limits,
                         observer=views.tracer if views is not None else None)
    result = run.result()
    if output_format in ("json", "jsonl"):
        from gradcli.cli.output import write_document

        extra = {**(views.json() if views is not None else {}), **view.transcript_json(run)}
        write_document(result, extra, output_format, several, filename)
    elif quiet:
        sys.stdout.write(result.stdout)
    else:
        view.write_transcript(run, sys.stdout, views, color_enabled(mode, sys.stdout))
        _write_tensors(result, output_format, precision, mode)
    sys.stdout.flush()
    failures = run.failures
    for failure in failures:
        print(report(failure.example, filename, failure.got, failure.error), end="",
              file=sys.stderr)
    if failures:
        print(f"{filename}: {len(failures)} of {len(run.examples)} examples failed",
              file=sys.stderr)
        return ExitStatus.PROGRAM_ERROR
    return ExitStatus.OK


def _write_tensors(result, output_format, precision, mode) -> None:
    if output_format == "tsv":
        from gradcli.views.table import tsv

        sys.stdout.write(tsv(result, precision))
        return
    if not result.tensors:
        return
    from gradcli.cli.output import terminal_width
    from gradcli.views.table import table_text

    sys.stdout.write(table_text(result, precision, terminal_width(),
                                color_enabled(mode, sys.stdout)))


def _not_a_notebook(filename, exc, output_format, several=False) -> int:
    """A file that cannot be read as its kind (bad JSON, bad example layout): exit 3."""
    from gradcli.runtime.result import ErrorRecord, RunResult

    error = ErrorRecord("SyntaxError", exc.message, exc.line, getattr(exc, "column", None),
                        phase="parse")
    if output_format in ("json", "jsonl"):
        from gradcli.cli.output import write_document

        write_document(RunResult(filename, "", error=error), None, output_format, several)
    place = f"{filename}:{exc.line}" if exc.line else filename
    if exc.line and getattr(exc, "column", None):
        place += f":{exc.column}"
    print(f"{place}: SyntaxError: {exc.message}", file=sys.stderr)
    return ExitStatus.SYNTAX


def notebook_result(filename: str, source: str, seed, output_format: str = "table"):
    """A notebook run as one RunResult over its script view (for `gradcli graph`): the
    script's text, and the error's line counted in it."""
    from gradcli.cli.arguments import SyntaxExit
    from gradcli.runtime.documents import run_notebook
    from gradcli.runtime.result import ErrorRecord
    from gradcli.sources.notebook import NotebookError, read_notebook

    try:
        notebook = read_notebook(source, filename)
    except NotebookError as exc:
        raise SyntaxExit(filename, "", exc, output_format) from None
    run = run_notebook(notebook, seed=seed)
    result = run.result()
    failed = run.failed
    if failed is not None and failed.error.line is not None:
        error = failed.error
        line = notebook.cells[failed.index - 1].first_line + error.line
        result.error = ErrorRecord(error.type, error.message, line, error.column, error.hint,
                                   error.phase)
    return notebook.script, result
