"""Whether to colour output. Apart from the Pygments lexer so that deciding costs no
Pygments import: a plain `gradcli eval` with a table never highlights anything."""

from __future__ import annotations

import os

COLOR_MODES = ("auto", "always", "never")


def color_enabled(mode: str = "auto", stream=None) -> bool:
    """--color auto|always|never: auto means a terminal, unless NO_COLOR is set."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False
