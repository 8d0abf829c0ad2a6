"""`gradcli quiz FILE --wrt w --answer EXPR`: check a derivative a learner typed."""

from __future__ import annotations

import sys

import click

from gradcli.base.errors import ExitStatus


@click.command("quiz")
@click.argument("file", required=False)
@click.option("-e", "--expr", "expr", metavar="TEXT", help="Program text instead of a file.")
@click.option("--wrt", required=True, metavar="NAME", help="The leaf the derivative is for.")
@click.option("--answer", required=True, metavar="EXPR",
              help="Your ∂output/∂NAME, over the program's names: \"2*x*(w*x+b-y)\".")
@click.option("--of", "of", metavar="NAME",
              help="The output (default: the last one backward() was called on).")
@click.option("--seed", type=int, default=18, show_default=True,
              help="Seed for the random points the answer is also checked at.")
def command(file, expr, wrt, answer, of, seed):
    """Check a typed derivative against autograd; exit 0 right, 1 wrong.

    The answer is checked at the program's values and at random points near them; when it
    is wrong, gradcli names the first node of the graph where your chain rule departs."""
    from gradcli.base.errors import GradcliSyntaxError
    from gradcli.cli.arguments import read_program
    from gradcli.explain.quiz import AnswerError, check, pick_pass
    from gradcli.explain.recording import PassRecorder
    from gradcli.lang.parser import parse_expression
    from gradcli.runtime.interpreter import run
    from gradcli.views.messages import format_error

    filename, source = read_program(file, expr)
    try:
        answer_node = parse_expression(answer, 1, 1)
    except GradcliSyntaxError as exc:
        column = getattr(exc, "column", None) or 1
        message = str(exc.args[0] if exc.args else exc).replace("f-string: ", "")
        click.echo(f"--answer:1:{column}: SyntaxError: {message}\n"
                   f"    {answer}\n    {' ' * (column - 1)}^", err=True)
        sys.exit(ExitStatus.USAGE)
    recorder = PassRecorder(source)
    recorder.install()
    try:
        result = run(source, filename, observer=recorder)
    finally:
        recorder.uninstall()
    if result.error is not None:
        click.echo(format_error(filename, source, result.error), err=True)
        sys.exit(ExitStatus.SYNTAX if result.error.phase == "parse"
                 else ExitStatus.PROGRAM_ERROR)
    captured = pick_pass(recorder.passes, wrt, of)
    if captured is None:
        output = f" from {of}" if of else ""
        click.echo(f"gradcli quiz: no backward pass{output} reached '{wrt}': the program must "
                   f"call backward() (or torch.autograd.grad) on an output that depends on it",
                   err=True)
        sys.exit(ExitStatus.USAGE)
    try:
        verdict = check(captured, wrt, answer_node, answer, recorder.labeller, seed)
    except AnswerError as exc:
        click.echo(f"gradcli quiz: cannot evaluate the answer: {exc}", err=True)
        sys.exit(ExitStatus.USAGE)
    if len(recorder.passes) > 1:
        where = f", line {captured.line}" if captured.line else ""
        click.echo(f"(checked against backward pass {captured.index} of {captured.output}"
                   f"{where}, the last one recorded that reached {wrt})")
    for line in verdict.lines:
        click.echo(line)
    sys.exit(ExitStatus.OK if verdict.right else ExitStatus.PROGRAM_ERROR)
