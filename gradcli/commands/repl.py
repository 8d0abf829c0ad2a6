"""`gradcli repl` (not supported yet)."""

import click

from gradcli.errors import ExitStatus


class NotSupportedYet(click.ClickException):
    exit_code = ExitStatus.PROGRAM_ERROR


@click.command("repl", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def command(args):
    """Not supported yet."""
    raise NotSupportedYet("'gradcli repl' is not supported yet")
