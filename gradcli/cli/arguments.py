"""What the command line asks for: the program (FILE, '-', -e TEXT), --set pairs, the
output formats and the one rule on conflicting options, and click's usage errors (made
lazily: the quick eval path does not import click)."""

from __future__ import annotations

import sys

from gradcli.sources.files import decode_source

FORMATS = ("table", "tsv", "json", "jsonl", "latex", "ipynb")


def usage_error(message: str) -> Exception:
    import click  # only on this error path: click costs start-up

    return click.UsageError(message)


def bad_parameter(message: str, param_hint: str) -> Exception:
    import click

    return click.BadParameter(message, param_hint=param_hint)


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


class ReaderGone(Exception):
    """stdout's reader closed the pipe (`gradcli eval f | head -1`): not an error."""


class SyntaxExit(Exception):
    def __init__(self, filename, source, error, output_format):
        super().__init__(error.message)
        self.filename, self.source, self.error, self.output_format = (
            filename, source, error, output_format)
