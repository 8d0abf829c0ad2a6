"""Writing a run's views: the terminal's width, the table/tsv/json/latex/ipynb formats,
several documents in one output, and the --html page."""

from __future__ import annotations

import sys

from gradcli.cli.arguments import bad_parameter
from gradcli.views.messages import format_error, format_warning
from gradcli.views.terminal import color_enabled


def _write_html(path: str, result, recorder) -> None:
    from gradcli.explain.roots import find_roots
    from gradcli.views.html.page import page_for_run

    text = page_for_run(result, find_roots(result.tensors), recorder)
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise bad_parameter(f"cannot write {path}: {exc.strerror}", "--html") from None


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
