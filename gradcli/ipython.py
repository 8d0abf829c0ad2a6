"""An IPython extension: `%load_ext gradcli`, then a `%%gradcli` cell runs its text as a
gradcli program and shows what `gradcli eval` shows (the printed output, the tensor
table, and with `--trace` every backward pass), inline in the notebook.

    %%gradcli --trace
    x = tensor([1., 2.], requires_grad=True)
    (x * x).sum().backward()

The magic's line takes `gradcli eval`'s options (`--trace`, `--format json`, `--seed N`,
`--partials`, ...). The cell runs in gradcli's sandbox, not in the notebook's Python:
it sees none of the notebook's variables. IPython is an optional extra; gradcli never
imports it.
"""

from __future__ import annotations

import shlex


def load_ipython_extension(ipython) -> None:
    ipython.register_magic_function(gradcli_cell, magic_kind="cell", magic_name="gradcli")


def gradcli_cell(line: str, cell: str) -> None:
    """Run the cell as `gradcli eval -e CELL` with the line's options."""
    from gradcli.cli.group import cli

    args = ["eval", "-e", cell, *shlex.split(line)]
    if not any(arg.startswith(("--color", "--no-color")) for arg in args):
        args += ["--color", "always"]  # Jupyter shows ANSI colours in cell output
    try:
        cli.main(args=args, prog_name="%%gradcli", standalone_mode=False)
    except SystemExit:
        pass  # the exit status is for shells; errors were already written to stderr
    except Exception as exc:  # noqa: BLE001 - click's usage errors, shown as the CLI shows them
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
