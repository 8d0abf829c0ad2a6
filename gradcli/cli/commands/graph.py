"""`gradcli graph`: the backward graph of a program's outputs as a tree, DOT, Mermaid, SVG or
an interactive HTML page."""

from __future__ import annotations

import sys

import click

from gradcli.base.errors import ExitStatus
from gradcli.cli.commands.options import color_choice, color_options, examples, seed_option
from gradcli.explain.roots import find_roots
from gradcli.views.terminal import color_enabled

FORMATS = ("tree", "dot", "mermaid", "svg", "html")
LAYOUTS = ("gradcli", "dot")


class GraphError(click.ClickException):
    exit_code = ExitStatus.PROGRAM_ERROR


@click.command("graph", short_help="Draw a program's backward graph: tree, DOT or Mermaid.",
               epilog=examples("gradcli graph examples/nb_14_retain_grad_graph.expr",
                               "gradcli graph prog.expr --root loss --show-saved --depth 4",
                               "gradcli graph prog.expr --format dot | dot -Tsvg > graph.svg"))
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-e", "--expr", "expr", metavar="TEXT", help="Program text instead of a file.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="tree",
              show_default=True, help="tree (terminal), dot (Graphviz), mermaid (Markdown), "
              "svg (a picture, no Graphviz needed) or html (one offline page: click nodes, "
              "step through backward).")
@click.option("--layout", "layout", type=click.Choice(LAYOUTS), default="gradcli",
              show_default=True, help="svg/html: gradcli's own layered layout, or Graphviz "
              "dot's coordinates (needs `dot` installed).")
@click.option("--root", "roots", multiple=True, metavar="NAME",
              help="Draw the graph of NAME only (repeatable). Default: every tensor that "
                   "is not an input to another op.")
@click.option("--show-saved", is_flag=True,
              help="Show what each node saved for backward (tensor, shape, dtype, bytes).")
@click.option("--depth", type=click.IntRange(1), default=12, show_default=True,
              help="Tree: levels shown before the rest is summarised.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Give NAME's first binding (a number, list, tensor(...) or zeros/ones/"
                   "full/rand/randn/empty call) this value, of the same shape.")
@seed_option
@color_options
def command(file, expr, output_format, layout, roots, show_saved, depth, sets, seed, color_mode,
            no_color):
    """Run a program (FILE, '-' or piped stdin, or -e TEXT) and draw its backward graph.

    What the program prints is not shown; errors go to stderr. Graphviz draws the
    dot format.
    """
    from gradcli.cli.arguments import SyntaxExit, parse_sets, read_program
    from gradcli.cli.evaluate import with_overrides
    from gradcli.explain.labels import Labeller
    from gradcli.runtime.interpreter import run
    from gradcli.sources.files import SourceError
    from gradcli.views import graph as G
    from gradcli.views.messages import format_error

    overrides = parse_sets(sets)
    mode = color_choice(color_mode, no_color)
    try:
        filename, source = read_program(file, expr)
    except SourceError as exc:
        raise SyntaxExit(file or "<stdin>", exc.source, exc, output_format) from None
    notebook = filename.lower().endswith(".ipynb")
    if not notebook:
        source = with_overrides(source, overrides)
    recorder = None
    if output_format == "html":
        from gradcli.explain.replay import ReplayRecorder

        recorder = ReplayRecorder(source)
    if layout == "dot" and output_format in ("svg", "html"):
        from gradcli.views.dot_layout import available

        if not available():
            raise click.UsageError("--layout dot needs Graphviz's `dot` program on PATH "
                                   "(or use the default --layout gradcli)")
    if notebook:  # the cells in order, as Run All runs them
        from gradcli.cli.documents import notebook_result

        source, result = notebook_result(filename, source, seed, output_format)
    else:
        result = run(source, filename, seed=seed, observer=recorder)
    if result.error is not None and result.error.phase == "parse":
        print(format_error(filename, source, result.error), file=sys.stderr)
        sys.exit(ExitStatus.SYNTAX)
    chosen = select_roots(result.tensors, roots) if roots else find_roots(result.tensors)
    names = {}
    for record in result.tensors:
        names.setdefault(id(record.tensor), record.name)
    labeller = Labeller(source, names)
    graph = G.build(chosen, labeller)

    if output_format == "dot":
        sys.stdout.write(G.dot(graph, show_saved))
    elif output_format == "mermaid":
        sys.stdout.write(G.mermaid(graph, show_saved))
    elif output_format == "svg":
        from gradcli.views import svg

        sys.stdout.write(svg.standalone(svg.draw(graph, engine=layout),
                                        title=f"backward graph of {filename}"))
    elif output_format == "html":
        from gradcli.views.html.page import render

        sys.stdout.write(render(result, graph, recorder, engine=layout))
    else:
        from rich.console import Console

        color = color_enabled(mode, sys.stdout)
        console = Console(force_terminal=color, color_system="auto" if color else None,
                          highlight=False, soft_wrap=False)
        if not graph.nodes:
            console.print("no backward graph: no tensor the program bound requires grad")
        for tree in G.tree(graph, show_saved, depth, console.width):
            console.print(tree)
        if show_saved:
            console.print(G.saved_summary(graph), style="dim" if graph.nodes else None)
    sys.stdout.flush()
    if result.error is not None:
        print(format_error(filename, source, result.error), file=sys.stderr)
        sys.exit(ExitStatus.PROGRAM_ERROR)


def select_roots(records, names) -> list[tuple[str, object]]:
    bound = {}
    for record in records:
        bound.setdefault(record.name, record.tensor)
    chosen = []
    for name in names:
        tensor = bound.get(name)
        if tensor is None:
            known = ", ".join(sorted(bound)) or "none"
            raise click.BadParameter(f"no tensor named '{name}' (tensors: {known})",
                                     param_hint="--root")
        if tensor.grad_fn is None and not tensor.requires_grad:
            raise GraphError(f"{name} has no backward graph: it does not require grad")
        chosen.append((name, tensor))
    return chosen
