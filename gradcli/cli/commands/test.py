"""`gradcli test`: check lessons (notebooks with recorded outputs, doctest transcripts,
scripts with `# expect:` comments) and report as pytest does; exit 0 when everything
checked holds, 1 when something does not (SPEC §2.2)."""

from __future__ import annotations

import sys
import time

import click

from gradcli.base.errors import ExitStatus
from gradcli.views.terminal import COLOR_MODES, color_enabled


@click.command("test")
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path())
@click.option("--update", is_flag=True,
              help="Write what gradcli shows into the checks that failed: notebook "
                   "outputs, transcript expected lines, # expect: values and blocks.")
@click.option("--format", "output_format", type=click.Choice(("text", "json", "gradescope")),
              default="text", show_default=True,
              help="gradescope writes Gradescope's results.json document.")
@click.option("--junit-xml", "junit_xml", metavar="FILE", type=click.Path(dir_okay=False),
              help="Also write a JUnit XML report (for CI) to FILE.")
@click.option("--seed", type=int, default=None, help="Seed for rand/randn/randint.")
@click.option("--color", "color_mode", type=click.Choice(COLOR_MODES), default="auto",
              show_default=True)
@click.option("--no-color", is_flag=True, help="No colour (same as --color never).")
def command(paths, update, output_format, junit_xml, seed, color_mode, no_color):
    """Check lessons under PATHs (default: the current directory).

    A notebook passes cell by cell when gradcli prints and displays what its recorded
    outputs say (object addresses compared loosely); a transcript passes example by
    example as doctest checks it; a script passes each `# expect:` comment.
    """
    from gradcli.checking.runner import check_file, collect
    from gradcli.views import lesson_report

    found, missing = collect(paths or (".",))
    if missing:
        raise click.BadParameter(f"'{missing[0]}' does not exist", param_hint="PATH")
    started = time.perf_counter()
    reports = [check_file(path, kind, seed=seed, update=update) for path, kind in found]
    seconds = time.perf_counter() - started
    updated = [r.path for r in reports if r.updated]
    if output_format == "json":
        sys.stdout.write(lesson_report.json_report(reports, seconds, updated))
    elif output_format == "gradescope":
        sys.stdout.write(lesson_report.gradescope(reports, seconds))
    else:
        color = color_enabled("never" if no_color else color_mode, sys.stdout)
        sys.stdout.write(lesson_report.text_report(reports, seconds, color, updated))
    if junit_xml:
        try:
            with open(junit_xml, "w", encoding="utf-8") as handle:
                handle.write(lesson_report.junit_xml(reports, seconds))
        except OSError as exc:
            raise click.BadParameter(f"cannot write '{junit_xml}': {exc.strerror}",
                                     param_hint="--junit-xml") from None
    tally = lesson_report.counts(reports)
    if tally["failed"] or tally["error"]:
        sys.exit(ExitStatus.PROGRAM_ERROR)
