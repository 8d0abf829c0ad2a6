"""What running a program produced: the contract between the interpreter and the renderers.

The interpreter fills a `RunResult`; renderers read it and compute nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SourcePosition:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class WarningRecord:
    message: str
    category: str  # "UserWarning"
    line: int
    column: int


@dataclass
class ErrorRecord:
    type: str  # "RuntimeError", "SyntaxError", ...
    message: str  # PyTorch's / Python's message, verbatim
    line: int | None
    column: int | None
    hint: str | None = None
    phase: str = "run"  # "parse" for syntax errors (exit 3), "run" otherwise (exit 1)


@dataclass
class TensorRecord:
    """A name bound to a tensor when the program ended (or failed)."""

    name: str
    tensor: object  # gradcli.tensor.Tensor


@dataclass
class RunResult:
    filename: str
    source: str
    stdout: str = ""  # everything print() wrote, newlines included
    warnings: list[WarningRecord] = field(default_factory=list)
    tensors: list[TensorRecord] = field(default_factory=list)
    error: ErrorRecord | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def stdout_lines(self) -> list[str]:
        if not self.stdout:
            return []
        return self.stdout[:-1].split("\n") if self.stdout.endswith("\n") else self.stdout.split("\n")
