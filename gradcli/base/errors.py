"""Errors a user's program raises, named after the Python/PyTorch exception they mirror.

Anything raised inside gradcli that is *not* a ProgramError or a GradcliSyntaxError is
an internal bug: the CLI reports it as such instead of blaming the program.
"""

from __future__ import annotations

import builtins
from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    PROGRAM_ERROR = 1
    USAGE = 2
    SYNTAX = 3
    INTERNAL = 70
    INTERRUPTED = 130


class ProgramError(Exception):
    """What the same text raises under Python + PyTorch: a type name and its message.

    An instance is also an instance of the Python exception it names (a "RuntimeError"
    is a RuntimeError), so a program's `except RuntimeError as e:` catches it and
    `str(e)` is PyTorch's message."""

    def __new__(cls, type_name: str = "Exception", message: str = "",
                hint: str | None = None):
        if cls is ProgramError:
            cls = _program_error_class(type_name)
        for base in cls.__mro__[1:]:
            if base is not ProgramError and base.__module__ == "builtins":
                return base.__new__(cls, message)
        return Exception.__new__(cls, message)

    def __init__(self, type_name: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.hint = hint
        self.line: int | None = None
        self.column: int | None = None

    def __str__(self) -> str:
        return self.message

    def at(self, line: int, column: int) -> ProgramError:
        if self.line is None:
            self.line, self.column = line, column
        return self


_CLASSES: dict[str, type] = {}
# Python exceptions whose constructor takes one message, as ProgramError's does.
_MIRRORED = frozenset({
    "RuntimeError", "TypeError", "ValueError", "IndexError", "KeyError", "NameError",
    "AttributeError", "ZeroDivisionError", "OverflowError", "NotImplementedError",
    "AssertionError", "StopIteration", "RecursionError", "ImportError",
    "ModuleNotFoundError", "UnboundLocalError", "LookupError", "ArithmeticError",
    "TimeoutError", "FloatingPointError", "BufferError", "EOFError",
})


def _program_error_class(type_name: str) -> type:
    cls = _CLASSES.get(type_name)
    if cls is None:
        base = getattr(builtins, type_name, None) if type_name in _MIRRORED else None
        cls = ProgramError
        if base is not None:
            try:
                cls = type(type_name, (ProgramError, base), {"__module__": "builtins"})
            except TypeError:  # an incompatible layout: stay a plain ProgramError
                cls = ProgramError
        _CLASSES[type_name] = cls
    return cls


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
