"""The resource budget of one run: sizes, steps, memory and time (Limits), and the size
checks torch's functions make from a shape before numpy allocates.

Errors are ProgramErrors (exit 1) named after the nearest Python exception: MemoryError
for sizes, TimeoutError for the step budget and the wall clock."""

from __future__ import annotations

import math
import re

from gradcli.base.errors import ProgramError

MAX_INT_BITS = 100_000  # a Python int result larger than this is refused


MAX_SEQUENCE = 10_000_000  # elements in a str/list/tuple built by * or +


MAX_FORMAT_WIDTH = 10_000  # width or precision in a format spec


MAX_LITERAL_ELEMENTS = 10_000_000  # numbers in the nested lists given to tensor()


MAX_LITERAL_DEPTH = 64  # dimensions of a tensor made from nested lists (numpy's own limit)


MiB = 2**20


GiB = 2**30


class Limits:
    __slots__ = ("max_steps", "max_elements", "max_memory", "timeout")

    def __init__(self, max_steps: int = 10_000_000, max_elements: int = 2**31,
                 max_memory: int = 2 * GiB, timeout: float | None = None):
        self.max_steps = max_steps  # loop iterations, all loops together
        self.max_elements = max_elements  # elements in one tensor (views such as expand())
        self.max_memory = max_memory  # bytes of one tensor, and of everything live (CLI)
        self.timeout = timeout  # wall-clock seconds, off by default

    def __repr__(self) -> str:
        return (f"Limits(max_steps={self.max_steps}, max_elements={self.max_elements}, "
                f"max_memory={self.max_memory}, timeout={self.timeout})")


# The limits of the program running now. The interpreter sets them for the length of a
# run; the torch functions read them, since they are called without context.
_active = Limits()


def activate(limits: Limits) -> Limits:
    """Make `limits` the active ones; returns the previous ones for restoring."""
    global _active
    previous, _active = _active, limits
    return previous


def active() -> Limits:
    return _active


def resource_error(message: str, hint: str | None = None) -> ProgramError:
    return ProgramError("MemoryError", message, hint)


def budget_error(message: str, hint: str | None = None) -> ProgramError:
    return ProgramError("TimeoutError", message, hint)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


_UNITS = {"": 1, "k": 2**10, "m": MiB, "g": GiB, "t": 2**40}


def parse_size(text: str) -> int:
    """'2G', '512M', '1.5GiB', '1048576' -> bytes (binary multiples: 1M = 1 MiB)."""
    match = _SIZE.match(str(text))
    if match is None:
        raise ValueError(f"'{text}' is not a size (examples: 512M, 2G, 1073741824)")
    value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value <= 0:
        raise ValueError(f"'{text}' is not a positive size")
    return value


def format_bytes(count: int) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", GiB), ("MiB", MiB), ("KiB", 2**10)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"


def check_tensor_size(shape, itemsize: int, dtype_name: str, view: bool = False) -> None:
    """Refuse a tensor of `shape` before it is allocated (or, for a view such as
    expand(), before it exists: a view costs nothing, but every op on it would)."""
    dims = [int(s) for s in shape]
    elements = math.prod(dims)
    limits = _active
    shape_text = "[" + ", ".join(str(s) for s in dims) + "]"
    size = elements * itemsize
    if not view and size > limits.max_memory:
        raise resource_error(
            f"a tensor of shape {shape_text} would need {format_bytes(size)} as "
            f"{dtype_name}, over gradcli's memory limit of {format_bytes(limits.max_memory)}",
            "raise the limit with --max-memory (for example --max-memory 8G)",
        )
    if elements > limits.max_elements:
        raise resource_error(
            f"a tensor of shape {shape_text} would have {elements:,} elements, over "
            f"gradcli's limit of {limits.max_elements:,} elements per tensor"
        )


def check_literal_size(data) -> None:
    """tensor(nested lists): bounded from the first entry of each level (cheap), before
    anything walks every element (the full walk that checks the list is rectangular
    comes after)."""
    count, depth = 1, 0
    while isinstance(data, (list, tuple)):
        depth += 1
        if depth > MAX_LITERAL_DEPTH:
            raise ProgramError("ValueError", "too many dimensions 'list'")
        if not data:
            return
        count *= len(data)
        data = data[0]
    if count > MAX_LITERAL_ELEMENTS:
        raise resource_error(
            f"tensor(): a nested list of {count:,} numbers is over gradcli's limit of "
            f"{MAX_LITERAL_ELEMENTS:,} for converting Python lists; build large tensors "
            "with zeros/ones/arange/rand instead"
        )

