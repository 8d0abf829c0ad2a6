"""`gradcli seal FILE`: turn `# expect: A == B` comments into sealed expectations that
`gradcli test` checks without showing B (see gradcli.checking.seal)."""

from __future__ import annotations

import sys

import click

from gradcli.base.errors import ExitStatus


@click.command("seal")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", metavar="OUT", type=click.Path(dir_okay=False),
              help="Write the sealed program to OUT (default: stdout).")
@click.option("--in-place", is_flag=True, help="Rewrite FILE itself.")
@click.option("--seed", type=int, default=None, help="Seed for rand/randn/randint.")
def command(file, output, in_place, seed):
    """Seal FILE's `# expect: A == B` values: B becomes a salted digest of its value
    rounded to 4 significant digits, and `gradcli test` still checks A against it."""
    from gradcli.checking.expect import seal_text
    from gradcli.checking.runner import expected_values
    from gradcli.cli.arguments import read_program

    if output and in_place:
        raise click.UsageError("give either --output or --in-place, not both")
    filename, text = read_program(file, None)
    values, problems = expected_values(text, seed=seed)
    for problem in problems:
        click.echo(f"{filename}: {problem}", err=True)
    if problems:
        sys.exit(ExitStatus.PROGRAM_ERROR)
    if not values:
        click.echo(f"{filename}: no `# expect: A == B` comment to seal", err=True)
        sys.exit(ExitStatus.PROGRAM_ERROR)
    sealed = seal_text(text, values)
    target = file if in_place else output
    if target:
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(sealed)
        click.echo(f"sealed {len(values)} expectation{'s' * (len(values) != 1)} into {target}",
                   err=True)
    else:
        sys.stdout.write(sealed)
