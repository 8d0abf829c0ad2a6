"""The check every new surface's escape tests share: a program that reads one attribute
chain after some set-up lines must stop on that line with the refusal, print nothing, and
name no host path or object."""

from __future__ import annotations

from gradcli.runtime.interpreter import run

REFUSALS = ("AttributeError", "NameError")


def assert_escape_refused(setup: str, expression: str, refusals=REFUSALS) -> None:
    """`setup` ends with a newline; `expression` is read on the line after it."""
    result = run(f"{setup}value = {expression}\nprint(value)\n", "<hostile>")
    assert result.error is not None, expression
    assert result.error.type in refusals, result.error
    assert result.error.line == setup.count("\n") + 1
    assert result.stdout == ""
    assert "/" not in result.error.message  # no host path or object in the message
