"""Errors a user's program raises, named after the Python/PyTorch exception they mirror.

Anything raised inside gradcli that is *not* a ProgramError or a GradcliSyntaxError is
an internal bug: the CLI reports it as such instead of blaming the program.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    PROGRAM_ERROR = 1
    USAGE = 2
    SYNTAX = 3
    INTERNAL = 70
    INTERRUPTED = 130


class ProgramError(Exception):
    """What the same text raises under Python + PyTorch: a type name and its message."""

    def __init__(self, type_name: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.hint = hint
        self.line: int | None = None
        self.column: int | None = None

    def at(self, line: int, column: int) -> ProgramError:
        if self.line is None:
            self.line, self.column = line, column
        return self


class GradcliSyntaxError(Exception):
    """The program is not valid gradcli syntax (SyntaxError, IndentationError, TabError)."""

    def __init__(self, message: str, line: int, column: int, type_name: str = "SyntaxError"):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.type_name = type_name


def runtime_error(message: str) -> ProgramError:
    return ProgramError("RuntimeError", message)


def type_error(message: str) -> ProgramError:
    return ProgramError("TypeError", message)


def value_error(message: str) -> ProgramError:
    return ProgramError("ValueError", message)


def index_error(message: str) -> ProgramError:
    return ProgramError("IndexError", message)


def name_error(message: str) -> ProgramError:
    return ProgramError("NameError", message)


def attribute_error(message: str) -> ProgramError:
    return ProgramError("AttributeError", message)
