"""`gradcli show FILE`: the program, each line annotated with the tensors it bound.

A line's note lists every name the statement starting there bound to a tensor, as the
tensor was at that moment: shape, dtype and grad_fn (or `leaf`, with `requires_grad`
when it has it). A line run several times (a loop body) shows its last binding and the
count. The program runs once, exactly as `gradcli eval` runs it.
"""

from __future__ import annotations

import sys

import click

from gradcli.base.errors import ExitStatus
from gradcli.cli.commands.options import color_choice, color_options, examples, seed_option
from gradcli.cli.documents import _hint_in_cells, _not_a_notebook
from gradcli.views.highlight import highlight
from gradcli.views.terminal import color_enabled

MAX_CODE_WIDTH = 56


def describe(binding) -> str:
    shape = "(" + ", ".join(str(s) for s in binding.shape) + ("," if len(binding.shape) == 1
                                                               else "") + ")"
    if binding.grad_fn is not None:
        kind = binding.grad_fn
    else:
        kind = "leaf requires_grad" if binding.requires_grad else "leaf"
    return f"{binding.name}: {shape} {binding.dtype} {kind}"


def annotations(bindings) -> dict[int, str]:
    """line -> note, in order of binding; repeated bindings of a name count up."""
    per_line: dict[int, dict[str, list]] = {}
    for binding in bindings:
        names = per_line.setdefault(binding.line, {})
        entry = names.setdefault(binding.name, [binding, 0])
        entry[0] = binding
        entry[1] += 1
    notes = {}
    for line, names in per_line.items():
        parts = []
        for binding, count in names.values():
            parts.append(describe(binding) + (f" (×{count}, last shown)" if count > 1 else ""))
        notes[line] = "; ".join(parts)
    return notes


def render(source: str, notes: dict[int, str], error_line: int | None, color: bool) -> str:
    lines = source.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    number_width = len(str(len(lines)))
    marked = [n for n in (*notes, error_line) if n is not None and 0 < n <= len(lines)]
    code_width = min(max((len(lines[n - 1].rstrip().expandtabs(4)) for n in marked), default=0),
                     MAX_CODE_WIDTH)

    def dim(text):
        return f"\x1b[2m{text}\x1b[0m" if color else text

    out = []
    for number, line in enumerate(lines, 1):
        code = line.rstrip().expandtabs(4)
        shown = highlight(code, color)
        if error_line is not None and number > error_line:
            shown = dim(code)  # never ran
        prefix = dim(str(number).rjust(number_width) + " │ ")
        note = notes.get(number)
        # The note's arrow keeps it apart from the program's own `#` comments.
        if number == error_line:
            note = (note + "; " if note else "") + "✗ failed here"
            mark = f"\x1b[1;31m← {note}\x1b[0m" if color else f"← {note}"
        elif note:
            mark = f"\x1b[32m← {note}\x1b[0m" if color else f"← {note}"
        else:
            mark = ""
        padding = " " * (max(code_width - len(code), 0) + 2)
        out.append(prefix + shown + (padding + mark if mark else ""))
    return "\n".join(out) + "\n"


def _report(text: str, color: bool) -> None:
    click.echo(text, err=True, color=color)


@click.command("show", short_help="Print a program annotated with what each line bound.",
               epilog=examples("gradcli show examples/nb_14_retain_grad_graph.expr",
                               "gradcli show -e 'x = tensor([1.0, 2.0], requires_grad=True); "
                               "y = (x * x).sum()'"))
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-e", "--expr", "expr", metavar="TEXT", help="Program text instead of a file.")
@seed_option
@color_options
def command(file, expr, seed, color_mode, no_color):
    """Print a program with each line annotated by the tensors it bound.

    Each note reads `← name: shape dtype grad_fn` (or `leaf`), as the tensor was when that
    line bound it. The program's own output is not shown (`gradcli eval` shows it);
    warnings and errors go to stderr as with eval.
    """
    from gradcli.cli.arguments import read_program
    from gradcli.runtime.session import Session
    from gradcli.sources.files import SourceError
    from gradcli.views.messages import format_error, format_warning

    color_mode = color_choice(color_mode, no_color)
    color = color_enabled(color_mode, sys.stdout)
    err_color = color_enabled(color_mode, sys.stderr)
    if file is not None and file.lower().endswith(".ipynb"):
        filename, source = read_program(file, expr)
        sys.exit(show_notebook(filename, source, seed, color, err_color))
    try:
        filename, source = read_program(file, expr)
    except SourceError as exc:
        from gradcli.runtime.result import ErrorRecord

        error = ErrorRecord("SyntaxError", exc.message, exc.line, exc.column, phase="parse")
        _report(format_error(file or "<stdin>", exc.source, error, color=err_color), err_color)
        sys.exit(ExitStatus.SYNTAX)
    session = Session(seed=seed, record_bindings=True)
    outcome = session.execute(source, echo=False)
    error = outcome.error
    if error is not None and error.phase == "parse":
        _report(format_error(filename, source, error, color=err_color), err_color)
        sys.exit(ExitStatus.SYNTAX)
    for warning in outcome.warnings:
        click.echo(format_warning(filename, source, warning), err=True)
    sys.stdout.write(render(source, annotations(session.bindings),
                            error.line if error is not None else None, color))
    sys.stdout.flush()
    if error is not None:
        _report(format_error(filename, source, error, color=err_color), err_color)
        sys.exit(ExitStatus.PROGRAM_ERROR)


def show_notebook(filename: str, source: str, seed, color: bool, err_color: bool) -> int:
    """`gradcli show lesson.ipynb`: each cell annotated with the tensors its lines bound,
    and the value it displayed."""
    from gradcli.runtime.documents import run_notebook
    from gradcli.sources.notebook import NotebookError, read_notebook
    from gradcli.views import cells as view

    try:
        notebook = read_notebook(source, filename)
    except NotebookError as exc:
        return _not_a_notebook(filename, exc, "table")
    run = run_notebook(notebook, seed=seed, record_bindings=True)
    notes = annotations(run.bindings)
    results = {r.index: r for r in run.results}
    for cell in notebook.cells:
        result = results.get(cell.number)
        sys.stdout.write(f"In [{cell.number}]:\n")
        if result is None:
            sys.stdout.write("(not run)\n\n")
            continue
        local = {line - cell.first_line: note for line, note in notes.items()
                 if cell.first_line < line <= cell.first_line + cell.source.count("\n") + 1}
        error_line = result.error.line if result.error is not None else None
        sys.stdout.write(render(cell.source, local, error_line, color))
        if result.display is not None:
            sys.stdout.write(view.out_prompt(cell.number, result.display))
        sys.stdout.write("\n")
    sys.stdout.flush()
    failed = run.failed
    if failed is not None:
        error = _hint_in_cells(failed.error, notebook) if failed.error.hint else failed.error
        print(view.cell_error(filename, failed.index, notebook.cells[failed.index - 1].source,
                              error, color=err_color), file=sys.stderr)
        return ExitStatus.SYNTAX if failed.error.phase == "parse" else ExitStatus.PROGRAM_ERROR
    return ExitStatus.OK
