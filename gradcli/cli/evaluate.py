"""`gradcli eval`: read the program, run it under the budget, pick the views, write them,
and return the exit status (SPEC §2.2)."""

from __future__ import annotations

import sys

from gradcli.base.errors import ExitStatus
from gradcli.cli.arguments import SyntaxExit, check_conflicts, parse_sets, read_program, usage_error
from gradcli.cli.output import _write_html, emit
from gradcli.sources.files import SourceError
from gradcli.sources.kind import document_kind


def run_eval(files=(), expr=None, output_format="table", sets=(), seed=None, precision=4,
             no_color=False, color_mode=None, quiet=False, trace=False, detect_anomaly=False,
             max_steps=None, trace_values=None, partials=False, max_memory=None,
             timeout=None, full=False, html=None, cells=None, symbolic=False) -> None:
    """`gradcli eval`: run each program and show its result; exits with the worst status."""
    from gradcli.base.budget import Limits
    from gradcli.runtime.interpreter import run

    overrides = parse_sets(sets)
    color_mode = check_conflicts(output_format, no_color, color_mode, quiet, trace,
                                 trace_values)
    no_color = False
    trace_values = trace_values or "summary"
    if expr is not None and files:
        raise usage_error("give either FILE or -e TEXT, not both")
    if html is not None and len(files) > 1:
        raise usage_error("--html draws one program: give one FILE")
    limits = Limits()
    if max_steps is not None:
        limits.max_steps = max_steps
    if max_memory is not None:
        limits.max_memory = max_memory
    limits.timeout = timeout
    _cap_memory(limits)
    several = len(files) > 1
    status = ExitStatus.OK
    programs = []  # every file is read before any runs: a missing one is a usage error
    for file in files or (None,):
        try:
            programs.append((file, read_program(file, expr)))
        except SourceError as exc:
            if not several:
                raise SyntaxExit(file if file not in (None, "-") else "<stdin>", exc.source,
                                 exc, output_format) from None
            programs.append((file, exc))
    if overrides:  # before anything runs: a --set it cannot do is a usage error
        for index, (file, program) in enumerate(programs):
            if isinstance(program, SourceError):
                continue
            kind = document_kind(*program)
            if kind != "script":
                raise usage_error(f"--set replaces a binding of a script; {program[0]} is a "
                                  f"{kind}")
            programs[index] = (file, (program[0], with_overrides(program[1], overrides)))
    if several and output_format == "json":
        sys.stdout.write("[")
    for index, (file, program) in enumerate(programs):
        views = None
        if isinstance(program, SourceError):
            result = _source_error_result(file, program)
        else:
            filename, source = program
            kind = document_kind(filename, source)
            if cells is not None and kind != "notebook":
                raise usage_error(f"--cells picks cells of a notebook; {filename} is not one")
            if symbolic and kind != "script":
                raise usage_error(f"--symbolic works on a script; {filename} is a {kind}")
            if kind != "script" or output_format == "ipynb":
                # Notebooks and transcripts (SPEC §1.8) have views of their own.
                from gradcli.cli.documents import eval_document

                if several and output_format not in ("json", "jsonl") and not quiet:
                    sys.stdout.write(("\n" if index else "") + f"==> {file} <==\n")
                if several and output_format == "json":
                    sys.stdout.write(",\n" if index else "\n")
                status = max(status, eval_document(
                    kind, filename, source,
                    output_format=output_format, seed=seed, limits=limits,
                    precision=precision, no_color=no_color, color_mode=color_mode, quiet=quiet,
                    trace=trace, trace_values=trace_values, partials=partials,
                    detect_anomaly=detect_anomaly, cells=cells, several=several))
                continue
            plain = output_format in ("table", "tsv", "json", "jsonl")
            if symbolic:
                # SymPy and the formulas' views: only here (exit 2 without the extra).
                from gradcli.views.symbolic import make_symbolic_views

                views = make_symbolic_views(source, trace, trace_values, partials,
                                            detect_anomaly, output_format)
            elif trace or partials or detect_anomaly or not plain:
                # The trace renderer imports rich; plain table/tsv/json runs need no views.
                # (Any new option that make_views reads must be added to this test.)
                from gradcli.views.trace import make_views

                views = make_views(source, trace, trace_values, partials, detect_anomaly,
                                   output_format, precision)
            if html is not None:
                from gradcli.views.html.page import recording_views

                views = recording_views(views, source, detect_anomaly)
            observer = views.tracer if views is not None else None
            if symbolic and observer is not views.recorder:
                from gradcli.views.symbolic import both

                observer = both(views.recorder, observer)  # --html's recorder too
            result = run(source, filename, seed=seed, limits=limits, observer=observer)
            if symbolic:
                views.finish(result)
        if several and output_format not in ("json", "jsonl") and not quiet:
            sys.stdout.write(("\n" if index else "") + f"==> {file} <==\n")
        if several and output_format == "json":
            sys.stdout.write(",\n" if index else "\n")
        emit(result, output_format, precision, no_color, color_mode=color_mode, quiet=quiet,
             several=several, views=views, full=full)
        if html is not None and (result.error is None or result.error.phase != "parse"):
            _write_html(html, result, views.tracer)
        if result.error is not None:
            status = max(status, ExitStatus.SYNTAX if result.error.phase == "parse"
                         else ExitStatus.PROGRAM_ERROR)
    if several and output_format == "json":
        sys.stdout.write("\n]\n")
        sys.stdout.flush()
    if status:
        sys.exit(status)


def with_overrides(source: str, overrides: dict) -> str:
    """--set NAME=VALUE applied to the program text; a NAME or VALUE it cannot take is a
    usage error (exit 2) before anything runs."""
    from gradcli.runtime.overrides import OverrideError, apply

    try:
        return apply(source, overrides)
    except OverrideError as exc:
        raise usage_error(str(exc)) from None


_OWN_PROCESS = False  # set by main(): the process is gradcli's alone, so it may be capped


def _cap_memory(limits) -> None:
    """Past --max-memory an allocation fails with MemoryError (a program error, exit 1)
    instead of swapping the machine; only when gradcli owns the process (not in tests)."""
    if _OWN_PROCESS:
        from gradcli.cli.memory import cap_process_memory
        from gradcli.runtime.interpreter import STACK_BYTES

        cap_process_memory(limits.max_memory, STACK_BYTES)


def _source_error_result(filename, exc):
    from gradcli.runtime.result import ErrorRecord, RunResult

    error = ErrorRecord("SyntaxError", exc.message, exc.line, exc.column, phase="parse")
    return RunResult(filename=filename, source=exc.source, error=error)
