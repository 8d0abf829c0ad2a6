"""The command line: reads input, calls the interpreter, picks a renderer, and maps every
outcome to an exit code in one place (`main`). No computation happens here."""

from __future__ import annotations

import os
import sys

from gradcli.base.errors import ExitStatus
from gradcli.cli import evaluate
from gradcli.cli.arguments import FORMATS, ReaderGone, SyntaxExit
from gradcli.cli.evaluate import run_eval
from gradcli.views.messages import format_error
from gradcli.views.terminal import COLOR_MODES


def main(argv=None) -> None:
    """Entry point: every outcome becomes one exit code here."""
    evaluate._OWN_PROCESS = True
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
        evaluate._OWN_PROCESS = False
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
