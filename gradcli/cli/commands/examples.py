"""`gradcli examples [NAME]`: the example programs shipped with gradcli, listed or printed.

The examples travel inside the package (the wheel force-includes examples/ as
gradcli/examples), so a pip user has them too; in a source checkout they are read from
the repository's examples/ directory."""

from __future__ import annotations

import difflib
import textwrap
from pathlib import Path

import click

from gradcli.cli.commands.options import examples as examples_epilog


def examples_dir() -> Path | None:
    package = Path(__file__).resolve().parents[2]
    for candidate in (package / "examples", package.parent / "examples"):
        if candidate.is_dir() and any(candidate.glob("*.expr")):
            return candidate
    return None


def summary(path: Path) -> str:
    """The first sentence of the program's leading comment."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines)
    if ". " in text:
        text = text[: text.index(". ")]
    return text.rstrip(".")


def find(directory: Path, name: str) -> Path:
    stem = Path(name).name.removesuffix(".expr")
    path = directory / f"{stem}.expr"
    if path.is_file():
        return path
    names = sorted(p.stem for p in directory.glob("*.expr"))
    starting = [n for n in names if n.startswith(stem)]
    if len(starting) == 1:
        return directory / f"{starting[0]}.expr"
    close = starting[:5] or difflib.get_close_matches(stem, names, n=3, cutoff=0.5)
    advice = ("; did you mean: " + ", ".join(f"'{n}'" for n in close) + "?") if close else (
        "; `gradcli examples` lists them")
    raise click.BadParameter(f"no example named '{name}'{advice}", param_hint="NAME")


@click.command("examples", short_help="List the example programs, or print one.",
               epilog=examples_epilog("gradcli examples",
                                      "gradcli examples nb_14_retain_grad_graph",
                                      "gradcli examples nb_14 > nb14.expr && gradcli eval "
                                      "nb14.expr",
                                      "gradcli eval $(gradcli examples --path nb_14)"))
@click.argument("name", required=False)
@click.option("--path", "show_path", is_flag=True,
              help="Print the example's file path instead of its text.")
def command(name, show_path):
    """List the example programs shipped with gradcli, or print the one called NAME (a
    unique prefix is enough)."""
    import shutil

    directory = examples_dir()
    if directory is None:
        raise click.ClickException("the examples are not installed with this copy of gradcli")
    if name is None:
        if show_path:
            click.echo(str(directory))
            return
        paths = sorted(directory.glob("*.expr"))
        width = max(len(p.stem) for p in paths)
        columns = shutil.get_terminal_size((80, 24)).columns
        for path in paths:
            text = textwrap.shorten(summary(path), max(columns - width - 2, 20),
                                    placeholder=" …")
            click.echo(f"{path.stem.ljust(width)}  {text}".rstrip())
        click.echo("\nPrint one:  gradcli examples NAME\n"
                   "Run one:    gradcli eval $(gradcli examples --path NAME)")
        return
    path = find(directory, name)
    if show_path:
        click.echo(str(path))
    else:
        click.echo(path.read_text(encoding="utf-8"), nl=False)
