"""What running a program produced: the contract between the interpreter and the renderers.

The interpreter fills a `RunResult`; renderers read it and compute nothing. Plain slotted
classes rather than dataclasses: building a dataclass runs generated code at import, a
millisecond each, on every start-up.
"""

from __future__ import annotations


class _Record:
    __slots__ = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other._values() == self._values()

    __hash__ = None

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({inner})"


class WarningRecord(_Record):
    __slots__ = ("message", "category", "line", "column")

    def __init__(self, message: str, category: str, line: int, column: int):
        self.message = message
        self.category = category  # "UserWarning"
        self.line = line  # 1-based
        self.column = column  # 1-based


class ErrorRecord(_Record):
    __slots__ = ("type", "message", "line", "column", "hint", "phase", "end_line",
                 "end_column", "stack")

    def __init__(self, type: str, message: str, line: int | None, column: int | None,
                 hint: str | None = None, phase: str = "run", end_line: int | None = None,
                 end_column: int | None = None):
        self.stack: list = []  # (function name, line) of the calls around the error
        self.type = type  # "RuntimeError", "SyntaxError", ...
        self.message = message  # PyTorch's / Python's message, verbatim
        self.line = line
        self.column = column
        self.hint = hint
        self.phase = phase  # "parse" for syntax errors (exit 3), "run" otherwise (exit 1)
        # Optional: where the culprit ends (1-based, exclusive, as CPython's
        # end_col_offset + 1); the caret then underlines the span with ^^^^.
        self.end_line = end_line
        self.end_column = end_column


class TensorRecord(_Record):
    """A name bound to a tensor when the program ended (or failed)."""

    __slots__ = ("name", "tensor")

    def __init__(self, name: str, tensor):
        self.name = name
        self.tensor = tensor  # gradcli.autodiff.tensor.Tensor


class RunResult(_Record):
    __slots__ = ("filename", "source", "stdout", "warnings", "tensors", "error")

    def __init__(self, filename: str, source: str, stdout: str = "",
                 warnings: list[WarningRecord] | None = None,
                 tensors: list[TensorRecord] | None = None, error: ErrorRecord | None = None):
        self.filename = filename
        self.source = source
        self.stdout = stdout  # everything print() wrote, newlines included
        self.warnings = [] if warnings is None else warnings
        self.tensors = [] if tensors is None else tensors
        self.error = error

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def stdout_lines(self) -> list[str]:
        if not self.stdout:
            return []
        text = self.stdout[:-1] if self.stdout.endswith("\n") else self.stdout
        return text.split("\n")
