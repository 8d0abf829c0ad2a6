"""Warnings raised while a statement runs; the interpreter stamps them with the source
position of the expression that raised them and applies Python's once-per-line rule."""

from __future__ import annotations

PENDING: list[tuple] = []  # (message, category, once per process, position or None)
# Set by the running program: where the program stands now, (line, column) or None.
LOCATE = None


def warn(message: str, category: str = "UserWarning", once_per_process: bool = False) -> None:
    PENDING.append((message, category, once_per_process,
                    LOCATE() if LOCATE is not None else None))
