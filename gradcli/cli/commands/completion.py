"""`gradcli completion [bash|zsh|fish]`: the shell completion script, by click's mechanism.

The script calls gradcli back with _GRADCLI_COMPLETE set, so completions always match the
installed version: subcommands, options, --format/--color choices, and file names for
FILE arguments.
"""

from __future__ import annotations

import os

import click

from gradcli.cli.commands.options import examples

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_GRADCLI_COMPLETE"


def script(root: click.Command, shell: str, prog_name: str = "gradcli") -> str:
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    return cls(root, {}, prog_name, COMPLETE_VAR).source()


@click.command("completion", short_help="Print the shell completion script.",
               epilog=examples(
    """eval "$(gradcli completion bash)"      # in ~/.bashrc""",
    "gradcli completion fish > ~/.config/fish/completions/gradcli.fish"))
@click.argument("shell", required=False, type=click.Choice(SHELLS))
@click.pass_context
def command(ctx, shell):
    """Print the completion script for SHELL (default: the one in $SHELL).

    \b
    Install (then open a new shell):
      bash  echo 'eval "$(gradcli completion bash)"' >> ~/.bashrc
      zsh   echo 'eval "$(gradcli completion zsh)"' >> ~/.zshrc   # after compinit
      fish  gradcli completion fish > ~/.config/fish/completions/gradcli.fish
    """
    if shell is None:
        shell = os.path.basename(os.environ.get("SHELL", ""))
        if shell not in SHELLS:
            raise click.UsageError(
                f"cannot tell the shell from $SHELL ({shell or 'unset'}); "
                "name it: gradcli completion bash|zsh|fish", ctx=ctx)
    click.echo(script(ctx.find_root().command, shell), nl=False)
