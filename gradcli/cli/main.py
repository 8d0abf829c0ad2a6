"""The command line: reads input, calls the interpreter, picks a renderer, and maps every
outcome to an exit code in one place (`main`). No computation happens here."""

from __future__ import annotations

import os
import sys

from gradcli.base.errors import ExitStatus
from gradcli.sources.kind import document_kind
from gradcli.views.terminal import COLOR_MODES, color_enabled

FORMATS = ("table", "tsv", "json", "jsonl", "latex", "ipynb")


def usage_error(message: str) -> Exception:
    import click  # only on this error path: click costs start-up

    return click.UsageError(message)


def bad_parameter(message: str, param_hint: str) -> Exception:
    import click

    return click.BadParameter(message, param_hint=param_hint)


class SourceError(Exception):
    """The input bytes are not a program (bad encoding, NUL byte): a syntax error, exit 3."""

    def __init__(self, message: str, line: int, column: int, source: str = ""):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column
        self.source = source  # the bytes decoded with replacement characters, to show


def decode_source(data: bytes) -> str:
    if b"\x00" in data:
        offset = data.index(b"\x00")
        line = data.count(b"\n", 0, offset) + 1
        raise SourceError(
            f"source code cannot contain null bytes (byte offset {offset})",
            line,
            offset - (data.rfind(b"\n", 0, offset) + 1) + 1,
        )
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        # The column counts characters (as the line is shown, with U+FFFD for bad bytes);
        # the message gives the byte's position in the file.
        column = len(data[line_start:exc.start].decode("utf-8", "replace")) + 1
        shown = data.decode("utf-8-sig", "replace").replace("\r\n", "\n").replace("\r", "\n")
        raise SourceError(
            f"(unicode error) 'utf-8' codec can't decode byte 0x{data[exc.start]:02x} in "
            f"position {exc.start}: {exc.reason}",
            line,
            column,
            shown,
        ) from None


def read_program(file: str | None, expr: str | None) -> tuple[str, str]:
    if expr is not None:
        if file is not None:
            raise usage_error("give either FILE or -e TEXT, not both")
        return "<string>", expr
    if file is None or file == "-":
        if sys.stdin.isatty():
            if file is None:
                raise usage_error("no program: give FILE, '-' for stdin, or -e TEXT")
            # `gradcli eval -` typed at a terminal: say why nothing happens.
            print("reading the program from stdin; end with Ctrl-D", file=sys.stderr)
        return "<stdin>", decode_source(sys.stdin.buffer.read())
    try:
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise bad_parameter(f"cannot read '{file}': {exc.strerror}", "FILE") from None
    return file, decode_source(data)


def parse_sets(values) -> dict[str, str]:
    overrides = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise bad_parameter(f"expected NAME=VALUE, got '{item}'", "--set")
        overrides[name.strip()] = value.strip()
    return overrides


def source_line(source: str, line: int | None) -> str | None:
    if not line:
        return None
    lines = source.split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else None


def format_error(filename: str, source: str, error, color: bool = False, scope=()) -> str:
    """`file:line:col: Type: message`, CPython's "Did you mean" for a misspelt name, the
    source line and a caret under the culprit (^^^^ under its span when the error
    record has one); `scope`: the program's variable names, for NameError."""
    code = source_line(source, error.line)
    column = max(error.column or 1, 1)
    end = getattr(error, "end_column", None)
    close = None
    if error.phase != "parse":
        from gradcli.base.suggestions import culprit_span, suggestion

        close = suggestion(error.type, error.message, scope)
        if code is not None:
            # The misspelt word itself when the message names one; else the span the
            # runtime reported (CPython 3.11's ^^^^ under the failing expression).
            column, end = culprit_span(error.type, error.message, code, column) or (column, end)
    where = f"{filename}:{error.line}:{column}" if error.line else filename
    kind = f"\x1b[1;31m{error.type}\x1b[0m" if color else error.type
    text = f"{where}: {kind}: {error.message}"
    if close is not None:
        text += f". Did you mean: '{close}'?"
    if code is not None:
        stripped = code.lstrip()
        indent = len(code) - len(stripped)
        same_line = getattr(error, "end_line", None) in (None, error.line)
        width = end - column if end and same_line and end > column else 1
        width = max(min(width, len(code) - (column - 1)), 1)
        caret = "^" * width
        caret = f"\x1b[1;31m{caret}\x1b[0m" if color else caret
        pad = " " * max(column - 1 - indent, 0)
        if color:
            from gradcli.views.highlight import highlight  # Pygments: only when colouring

            stripped = highlight(stripped, color)
        text += f"\n    {stripped}\n    {pad}{caret}"
    stack = getattr(error, "stack", None)
    if stack and len(stack) > 1:
        # Inside functions: where it happened, then the calls that led there.
        function, line = stack[-1]
        text += f"\n  in {function}(), line {line}"
        for function, line in reversed(stack[:-1]):
            where_from = "" if function == "<module>" else f"{function}(), "
            text += f"\n  called from {where_from}line {line}"
    if getattr(error, "hint", None):
        text += f"\nhint: {error.hint}"
    return text


def format_warning(filename: str, source: str, warning) -> str:
    # Python's own warning format: file:line: Category: message, then the source line.
    text = f"{filename}:{warning.line}: {warning.category}: {warning.message}"
    code = source_line(source, warning.line)
    if code is not None:
        text += f"\n  {code.strip()}"
    return text


def check_conflicts(output_format="table", no_color=False, color_mode=None, quiet=False,
                    trace=False, trace_values=None) -> str:
    """One rule (README "Conflicting options"): options that contradict each other are a
    usage error naming both, never silently resolved. Returns the colour mode."""
    if quiet and output_format != "table":
        raise usage_error(f"--quiet prints only what print() wrote, --format {output_format} "
                          "prints a result: give one of them")
    if trace_values is not None and not trace:
        raise usage_error("--trace-values chooses how --trace shows values: add --trace or "
                          "drop --trace-values")
    if no_color and color_mode not in (None, "never"):
        raise usage_error(f"--no-color contradicts --color {color_mode}: give one of them")
    return "never" if no_color else (color_mode or "auto")


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


def _write_html(path: str, result, recorder) -> None:
    from gradcli.cli.commands.graph import find_roots
    from gradcli.views.html.page import page_for_run

    text = page_for_run(result, find_roots(result.tensors), recorder)
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise bad_parameter(f"cannot write {path}: {exc.strerror}", "--html") from None


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


def terminal_width() -> int:
    """The width the table must fit: $COLUMNS, else the terminal's, else 80 (a pipe)."""
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


def emit(result, output_format: str, precision: int, no_color: bool = False, *,
         color_mode: str = "auto", quiet: bool = False, several: bool = False,
         views=None, full: bool = False) -> None:
    err = sys.stderr
    mode = "never" if no_color else (color_mode or "auto")
    if not quiet:
        for warning in result.warnings:
            print(format_warning(result.filename, result.source, warning), file=err)
    if output_format in ("json", "jsonl"):
        write_document(result, views.json() if views is not None else None, output_format,
                       several)
    else:
        if views is not None:
            # Each backward pass's trace and partials where backward() ran, between prints.
            views.write(result.stdout, color_enabled(mode, sys.stdout), sys.stdout)
        else:
            sys.stdout.write(result.stdout)
        if quiet:
            pass
        elif output_format == "latex":
            sys.stdout.write(views.latex() if views is not None else "")
        elif output_format == "tsv":
            from gradcli.views.table import tsv

            sys.stdout.write(tsv(result, precision))
        elif not result.tensors:
            if result.error is None:
                # An empty or comment-only program: say so rather than print nothing.
                sys.stdout.write(("\n" if result.stdout else "") + "(no tensors)\n")
        else:
            from gradcli.views.table import table_text

            if result.stdout:
                sys.stdout.write("\n")
            sys.stdout.write(table_text(result, precision, terminal_width(),
                                        color_enabled(mode, sys.stdout), full=full))
    sys.stdout.flush()
    if result.error is not None:
        print(format_error(result.filename, result.source, result.error,
                           color=color_enabled(mode, err),
                           scope=[record.name for record in result.tensors]), file=err)


def write_document(result, extra, output_format: str, several: bool,
                   filename: str | None = None) -> None:
    """The JSON document of one program to stdout. json: the document (indented, inside
    the array run_eval opens for several files, with "file"); jsonl: one line per program,
    always with "file", for `jq -c` and `while read`."""
    from gradcli.views.jsondoc import write

    lines = output_format == "jsonl"
    out = _Indented(sys.stdout, "  ") if several and not lines else sys.stdout
    write(out, result, extra, indent=None if lines else 2,
          head={"file": filename or result.filename} if several or lines else None)
    if lines or not several:
        sys.stdout.write("\n")


class _Indented:
    """A stream that indents every line it is given (a document inside the json array)."""

    def __init__(self, stream, prefix: str):
        self.stream, self.prefix, self.fresh = stream, prefix, True

    def write(self, text: str) -> None:
        if not text:
            return
        if self.fresh:
            text = self.prefix + text
        self.fresh = text.endswith("\n")
        body = text[:-1] if self.fresh else text
        self.stream.write(body.replace("\n", "\n" + self.prefix) + ("\n" if self.fresh else ""))


class ReaderGone(Exception):
    """stdout's reader closed the pipe (`gradcli eval f | head -1`): not an error."""


class SyntaxExit(Exception):
    def __init__(self, filename, source, error, output_format):
        super().__init__(error.message)
        self.filename, self.source, self.error, self.output_format = (
            filename, source, error, output_format)


def main(argv=None) -> None:
    """Entry point: every outcome becomes one exit code here."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    for stream in (sys.stdout, sys.stderr):
        # A terminal or pipe whose encoding lacks a character (a latin-1 locale and `α`)
        # gets an escape, not a crash while writing the result.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        options = quick_eval(sys.argv[1:] if argv is None else list(argv))
        if options is not None:
            run_eval(**options)
        else:
            from gradcli.cli.group import cli

            cli.main(args=argv, prog_name="gradcli", standalone_mode=False)
    except _click("exceptions.Exit") as exc:
        sys.exit(exc.exit_code)
    except _click("ClickException") as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except _click("exceptions.Abort"):
        print("gradcli: interrupted", file=sys.stderr)
        sys.exit(ExitStatus.INTERRUPTED)
    except SyntaxExit as exc:
        _report_source_error(exc)
        sys.exit(ExitStatus.SYNTAX)
    except KeyboardInterrupt:
        print("gradcli: interrupted", file=sys.stderr)
        sys.exit(ExitStatus.INTERRUPTED)
    except (BrokenPipeError, ReaderGone):
        # The reader went away (`gradcli eval f | head -1`): exit quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(ExitStatus.OK)
    except SystemExit:
        raise
    except MemoryError as exc:
        # Past --max-memory while writing the result (the program itself reports its own).
        print(f"gradcli: out of memory{': ' + str(exc) if str(exc) else ''} (raise the limit "
              "with --max-memory)", file=sys.stderr)
        sys.exit(ExitStatus.PROGRAM_ERROR)
    except Exception as exc:  # noqa: BLE001 - the one place internal bugs are reported
        if os.environ.get("GRADCLI_DEBUG"):
            raise
        tb = exc.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        print(
            f"gradcli: internal error ({type(exc).__name__}: {exc}) at {where}. This is a bug "
            "in gradcli; please report it with the program that caused it "
            "(GRADCLI_DEBUG=1 shows the traceback).",
            file=sys.stderr,
        )
        sys.exit(ExitStatus.INTERNAL)
    finally:
        from gradcli.cli.memory import restore_process_memory

        restore_process_memory()
        _OWN_PROCESS = False
        _exit_now_if_abandoned()


def _click(name: str):
    """A click exception class for an `except` clause, or () (matches nothing) when click
    was never imported, so nothing from it can be propagating."""
    found = sys.modules.get("click")
    for part in name.split("."):
        if found is None:
            return ()
        found = getattr(found, part, None)
    return found or ()


def quick_eval(args: list[str]) -> dict | None:
    """The options of the commonest invocations (`gradcli eval FILE...`, `--format F`,
    `--quiet`, `--no-color`, `--color C`, `-` for stdin) without importing click, which
    would cost a tenth of start-up. Anything else, including every mistake, returns None
    and goes through click, whose messages and help stay the only ones."""
    if not args or args[0] != "eval":
        return None
    options: dict = {"files": []}
    rest = iter(args[1:])
    for arg in rest:
        if arg in ("--format", "--color"):
            value = next(rest, None)
            if value not in (FORMATS if arg == "--format" else COLOR_MODES):
                return None
            options["output_format" if arg == "--format" else "color_mode"] = value
        elif arg.startswith("--format="):
            if arg[len("--format="):] not in FORMATS:
                return None
            options["output_format"] = arg[len("--format="):]
        elif arg in ("-q", "--quiet"):
            options["quiet"] = True
        elif arg == "--no-color":
            options["no_color"] = True
        elif arg == "-" or (not arg.startswith("-") and os.path.isfile(arg)
                            and os.access(arg, os.R_OK)):
            options["files"].append(arg)
        else:
            return None
    if options.get("quiet") and options.get("output_format", "table") != "table":
        return None  # a conflict: click's path reports it
    if options.get("no_color") and options.get("color_mode", "never") != "never":
        return None
    if not options["files"] and sys.stdin.isatty():
        return None
    options["files"] = tuple(options["files"])
    return options


def __getattr__(name: str):
    # `from gradcli.cli.main import cli` (tests, plugins) still finds the click group.
    if name == "cli":
        from gradcli.cli.group import cli

        return cli
    raise AttributeError(f"module 'gradcli.cli.main' has no attribute {name!r}")


def _exit_now_if_abandoned() -> None:
    """After --timeout gave up on a program stuck in one numpy call, skip the interpreter's
    shutdown: OpenBLAS's exit handler would wait for that call forever."""
    from gradcli.runtime.interpreter import abandoned_threads

    if abandoned_threads():
        exc = sys.exc_info()[1]
        code = exc.code if isinstance(exc, SystemExit) else (0 if exc is None else 1)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(int(code or 0))


def _report_source_error(exc: SyntaxExit) -> None:
    from gradcli.runtime.result import ErrorRecord, RunResult

    error = ErrorRecord("SyntaxError", exc.error.message, exc.error.line, exc.error.column,
                        phase="parse")
    result = RunResult(filename=exc.filename, source=exc.source, error=error)
    if exc.output_format in ("json", "jsonl"):
        from gradcli.views.jsondoc import write

        lines = exc.output_format == "jsonl"
        write(sys.stdout, result, indent=None if lines else 2,
              head={"file": exc.filename} if lines else None)
        sys.stdout.write("\n")
    print(format_error(exc.filename, exc.source, error), file=sys.stderr)
