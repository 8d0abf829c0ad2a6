"""`gradcli check`: autograd's gradients against central finite differences."""

from __future__ import annotations

import json
import sys

import click

from gradcli.base.errors import ExitStatus
from gradcli.cli.commands.options import color_choice, examples
from gradcli.views.terminal import COLOR_MODES, color_enabled

EXAMPLES = examples(
    "gradcli check examples/mlp_tanh_cross_entropy.expr --brief",
    "gradcli check prog.expr --of loss --wrt w --format json",
)


@click.command("check", short_help="Check gradients against finite differences.",
               epilog=EXAMPLES)
@click.argument("file", required=False)
@click.option("-e", "--expr", "expr", metavar="TEXT", help="Program text instead of a file.")
@click.option("--of", "of", metavar="NAME",
              help="The scalar to differentiate (default: the last one backward() was called on).")
@click.option("--wrt", multiple=True, metavar="NAME",
              help="A leaf to check (repeatable; default: every leaf that requires grad).")
@click.option("--atol", type=click.FloatRange(0), default=1e-5, show_default=True,
              help="Absolute tolerance: an element passes when |analytic - numeric| <= "
                   "atol + rtol * |numeric|.")
@click.option("--rtol", type=click.FloatRange(0), default=1e-3, show_default=True,
              help="Relative tolerance (see --atol).")
@click.option("--eps", type=click.FloatRange(0, min_open=True), default=1e-6, show_default=True,
              help="Finite-difference step (> 0).")
@click.option("--seed", type=click.IntRange(0, 2**64 - 1), default=None,
              help="Seed for rand/randn/randint (default 0).")
@click.option("--format", "output_format", type=click.Choice(("table", "json")), default="table",
              show_default=True, help="Output format.")
@click.option("--brief", is_flag=True, help="One row per leaf instead of one per element.")
@click.option("--color", "color_mode", type=click.Choice(COLOR_MODES), default=None,
              help="Colour: auto (default) means a terminal and no NO_COLOR in the environment.")
@click.option("--no-color", is_flag=True, help="No colour (same as --color never).")
def command(file, expr, of, wrt, atol, rtol, eps, seed, output_format, brief, color_mode,
            no_color):
    """Check every leaf's gradient against central finite differences (float64)."""
    from gradcli.cli.arguments import read_program
    from gradcli.runtime.gradcheck import CheckError, check

    filename, source = read_program(file, expr)
    try:
        report = check(source, filename, of, wrt, atol, rtol, eps, seed)
    except CheckError as exc:
        if exc.usage:
            raise click.UsageError(str(exc)) from None
        if exc.syntax:
            click.echo(f"gradcli check: {exc}", err=True)
            sys.exit(ExitStatus.SYNTAX)
        if output_format == "json":
            print(json.dumps({"version": 1, "ok": False, "error": str(exc)}))
        click.echo(f"gradcli check: {exc}", err=True)
        sys.exit(ExitStatus.PROGRAM_ERROR)
    if output_format == "json":
        from gradcli.views.check import document

        print(json.dumps(document(report), indent=2))
    else:
        from rich.console import Console

        from gradcli.views.check import brief_table, leaf_table, summary

        color = color_enabled(color_choice(color_mode, no_color), sys.stdout)
        console = Console(force_terminal=color, color_system="auto" if color else None,
                          highlight=False)
        with console.capture() as captured:
            for note in report.notes:
                console.print(f"note: {note}", style="dim")
            if brief:
                console.print(brief_table(report))
            else:
                for leaf in report.leaves:
                    console.print(leaf_table(leaf))
            console.print(summary(report), markup=False)
        # rich pads every line to the table's width and opens a table with a blank line.
        text = "".join(line.rstrip(" ") + "\n" for line in captured.get().split("\n")[:-1])
        sys.stdout.write(text.lstrip("\n"))
        sys.stdout.flush()
    sys.exit(ExitStatus.OK if report.passed else ExitStatus.PROGRAM_ERROR)
