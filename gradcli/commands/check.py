"""`gradcli check`: autograd's gradients against central finite differences."""

from __future__ import annotations

import json
import os
import sys

import click

from gradcli.errors import ExitStatus


@click.command("check")
@click.argument("file", required=False)
@click.option("-e", "--expr", "expr", metavar="TEXT", help="Program text instead of a file.")
@click.option("--of", "of", metavar="NAME",
              help="The scalar to differentiate (default: the last one backward() was called on).")
@click.option("--wrt", multiple=True, metavar="NAME",
              help="A leaf to check (repeatable; default: every leaf that requires grad).")
@click.option("--atol", type=float, default=1e-5, show_default=True)
@click.option("--rtol", type=float, default=1e-3, show_default=True)
@click.option("--eps", type=float, default=1e-6, show_default=True, help="Finite-difference step.")
@click.option("--seed", type=int, default=None)
@click.option("--format", "output_format", type=click.Choice(("table", "json")), default="table",
              show_default=True)
@click.option("--brief", is_flag=True, help="One row per leaf instead of one per element.")
@click.option("--no-color", is_flag=True)
def command(file, expr, of, wrt, atol, rtol, eps, seed, output_format, brief, no_color):
    """Check every leaf's gradient against central finite differences (float64)."""
    from gradcli.cli import read_program
    from gradcli.gradcheck import CheckError, check

    filename, source = read_program(file, expr)
    try:
        report = check(source, filename, of, wrt, atol, rtol, eps, seed)
    except CheckError as exc:
        if getattr(exc, "syntax", False):
            click.echo(f"gradcli check: {exc}", err=True)
            sys.exit(ExitStatus.SYNTAX)
        if output_format == "json":
            print(json.dumps({"version": 1, "ok": False, "error": str(exc)}))
        click.echo(f"gradcli check: {exc}", err=True)
        sys.exit(ExitStatus.PROGRAM_ERROR)
    if output_format == "json":
        from gradcli.render.check import document

        print(json.dumps(document(report), indent=2))
    else:
        from rich.console import Console

        from gradcli.render.check import brief_table, leaf_table, summary

        console = Console(no_color=no_color or bool(os.environ.get("NO_COLOR")), highlight=False)
        for note in report.notes:
            console.print(f"note: {note}", style="dim")
        if brief:
            console.print(brief_table(report))
        else:
            for leaf in report.leaves:
                console.print(leaf_table(leaf))
        console.print(summary(report), markup=False)
    sys.exit(ExitStatus.OK if report.passed else ExitStatus.PROGRAM_ERROR)
