"""Numbers in gradcli's own messages, with the noun agreeing: `1 second`, `0.5 seconds`,
`1 step`, `1,000 steps`."""

from __future__ import annotations


def seconds(value: float) -> str:
    """A time limit as `--timeout` took it: `1 second`, `0.2 seconds`, `30 seconds`."""
    return f"{value:g} second" + ("" if value == 1 else "s")


def steps(count: int) -> str:
    return f"{count:,} step" + ("" if count == 1 else "s")
