"""Command-line rules shared by every command. One rule for conflicting options: two
options that ask for contradictory things (`--color always --no-color`, `-q --format
tsv`, `--trace-values full` without `--trace`) are a usage error (exit 2) naming both,
never silently resolved."""

from __future__ import annotations

import click


def color_choice(color_mode: str | None, no_color: bool) -> str:
    """The colour mode from `--color MODE` (None when not given) and `--no-color`."""
    from gradcli.cli.arguments import check_conflicts  # the one rule, shared with `eval`

    return check_conflicts(no_color=no_color, color_mode=color_mode)


def examples(*lines: str) -> str:
    """An `Examples:` epilog for a command's help, kept as written (click's \\b)."""
    return "\b\nExamples:\n" + "\n".join("  " + line for line in lines)


def color_options(function):
    """`--color auto|always|never` and `--no-color`, the same on every command; the
    command calls color_choice(color_mode, no_color)."""
    from gradcli.views.terminal import COLOR_MODES

    function = click.option("--no-color", is_flag=True,
                            help="No colour (same as --color never).")(function)
    return click.option("--color", "color_mode", type=click.Choice(COLOR_MODES), default=None,
                        help="Colour: auto (default) means a terminal and no NO_COLOR in the "
                             "environment.")(function)


def seed_option(function):
    return click.option("--seed", type=click.IntRange(0, 2**64 - 1), default=None,
                        help="Seed for rand/randn/randint (default 0).")(function)
