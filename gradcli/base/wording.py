"""Numbers in gradcli's own messages, with the noun agreeing: `1 second`, `0.5 seconds`,
`1 step`, `1,000 steps`."""

from __future__ import annotations


def seconds(value: float) -> str:
    """A time limit as `--timeout` took it: `1 second`, `0.2 seconds`, `30 seconds`."""
    return f"{value:g} second" + ("" if value == 1 else "s")


def steps(count: int) -> str:
    return f"{count:,} step" + ("" if count == 1 else "s")


class InputLine(int):
    """A line of one input of a session (the repl): `input [3], line 2` in messages, the
    plain line number everywhere else (it is an int)."""

    def __new__(cls, line: int, number: int):
        value = super().__new__(cls, line)
        value.input = number
        return value


def input_line(line, number):
    """`line` as a line of input [number]; unchanged outside a session or without a line."""
    if number is None or not line or line.__class__ is bool:
        return line
    return InputLine(int(line), number)


def line_text(line) -> str:
    """`line 2`, or `input [3], line 2` for a line of a session's input."""
    number = getattr(line, "input", None)
    return f"line {line}" if number is None else f"input [{number}], line {int(line)}"
