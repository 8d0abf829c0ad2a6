"""The click command tree: `gradcli` and its subcommands. Only parsing of the command line
lives here; `eval` hands its options to `gradcli.cli.evaluate.run_eval`. The common `gradcli eval
FILE` never imports this module (see `gradcli.cli.main.quick_eval`): click costs start-up."""

from __future__ import annotations

import os
import shlex

import click

from gradcli.base.version import __version__
from gradcli.cli.arguments import FORMATS, ReaderGone
from gradcli.cli.commands.options import examples
from gradcli.cli.evaluate import run_eval
from gradcli.views.terminal import COLOR_MODES


class LazyGroup(click.Group):
    """Subcommands other than `eval` are imported when first looked up (each module is
    named after its command), so `gradcli eval` does not import the REPL or Pygments."""

    lazy = ("check", "completion", "examples", "graph", "help", "quiz", "repl", "seal", "show",
            "test")

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.lazy:
            from importlib import import_module

            self.add_command(import_module(f"gradcli.cli.commands.{name}").command)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            name = args[0] if args else ""
            if name.endswith(".expr") or os.path.isfile(name):
                # `gradcli quick.expr`: a program where a command was expected.
                rest = " ".join(shlex.quote(arg) for arg in args)
                raise click.UsageError(
                    f"No such command '{name}'. To run the program: gradcli eval {rest}",
                    ctx) from None
            raise

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # click would turn a closed pipe into exit 1; SPEC's 1 means the program failed.
            raise ReaderGone from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=examples("gradcli eval examples/nb_14_retain_grad_graph.expr",
                             "gradcli graph examples/nb_14_retain_grad_graph.expr",
                             "gradcli help language"))
@click.version_option(__version__, "-V", "--version", prog_name="gradcli")
def cli():
    """gradcli: see what PyTorch's autograd does with a small tensor program."""


@cli.command("eval", short_help="Run a program and show its tensors.", epilog=examples(
    "gradcli eval examples/nb_20_leaf_retain_grad.expr",
    "gradcli eval -e 'x = tensor(3.0, requires_grad=True); (x ** 2).backward()'",
    "gradcli eval prog.expr --format json | jq '.tensors[0].grad'",
    "gradcli eval examples/*.expr --format jsonl",
))
@click.argument("files", nargs=-1, metavar="[FILE]...",
                type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-e", "--expr", "expr", metavar="TEXT", help="Program text instead of a file.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Output format.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Give NAME's first binding (a number, list, tensor(...) or zeros/ones/"
                   "full/rand/randn/empty call) this value, of the same shape.")
@click.option("--seed", type=click.IntRange(0, 2**64 - 1), default=None,
              help="Seed for rand/randn/randint (default 0).")
@click.option("--precision", type=click.IntRange(0, 16), default=4, show_default=True,
              help="Digits after the point in the table, TSV and partials.")
@click.option("--full", is_flag=True,
              help="Print long tensors below the table in full (no `...`).")
@click.option("--no-color", is_flag=True, help="No colour (same as --color never).")
@click.option("--color", "color_mode", type=click.Choice(COLOR_MODES), default=None,
              help="Colour: auto (default) means a terminal and no NO_COLOR in the "
                   "environment.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print only what the program's print() wrote (errors still go to stderr).")
@click.option("--trace", is_flag=True, help="Show every backward pass node by node.")
@click.option("--detect-anomaly", is_flag=True, help="Report the first NaN/inf made in backward.")
@click.option("--trace-values", type=click.Choice(("summary", "full")), default=None,
              help="With --trace: summarise long tensors (default), or show every value.")
@click.option("--partials", is_flag=True,
              help="After each backward, print ∂output/∂leaf for every leaf it reached.")
@click.option("--max-steps", type=click.IntRange(1), default=None,
              help="Loop-iteration budget for the whole program (default 10,000,000).")
@click.option("--max-memory", metavar="SIZE", default=None, callback=lambda c, p, v: _size(v),
              help="Memory budget: the largest tensor, and all live data (default 2G; "
                   "forms like 512M, 2G, 1.5GiB).")
@click.option("--timeout", metavar="SECONDS", type=click.FloatRange(0, min_open=True),
              default=None, help="Stop the program after this many seconds (default: no limit).")
@click.option("--html", "html", metavar="PATH", type=click.Path(dir_okay=False), default=None,
              help="Also write one offline HTML page: the graph, click a node for its rule "
                   "and values, step through each backward pass.")
@click.option("--cell", "--cells", "cells", metavar="N|A-B", default=None,
              help="A notebook: show only cell N or cells A-B (the cells before still run).")
@click.option("--symbolic", is_flag=True,
              help="Formulas beside the numbers: ∂output/∂leaf in the program's names, "
                   "checked against the engine (needs the extra: pip install "
                   "'gradcli[symbolic]').")
def eval_command(files, expr, output_format, sets, seed, precision, full, no_color, color_mode,
                 quiet, trace, detect_anomaly, max_steps, trace_values, partials, max_memory=None,
                 timeout=None, html=None, cells=None, symbolic=False):
    """Run a program (FILE, '-' or piped stdin, or -e TEXT) and show its tensors.

    With several FILEs, each runs on its own and prints its own result, in order (json:
    one array of documents, jsonl: one document per line, each with a "file" key); the
    exit code is the worst outcome. Contradicting options (-q with a --format other than
    table, --trace-values without --trace, --color with --no-color) are usage errors.
    """
    run_eval(files, expr, output_format, sets, seed, precision, no_color, color_mode, quiet,
             trace, detect_anomaly, max_steps, trace_values, partials, max_memory, timeout,
             full, html=html, cells=cells, symbolic=symbolic)


def _size(value):
    if value is None:
        return None
    from gradcli.base.budget import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--max-memory") from None
