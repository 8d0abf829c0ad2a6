"""Bounds that keep a hostile program from exhausting memory or time.

Python-value arithmetic is checked before it runs (`10**10**10`, `'a' * 10**10`), as are
format widths in f-strings and tensor sizes; loops are counted against a step budget.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gradcli.errors import ProgramError

MAX_INT_BITS = 100_000  # a Python int result larger than this is refused
MAX_SEQUENCE = 10_000_000  # elements in a repeated str/list
MAX_FORMAT_WIDTH = 10_000


@dataclass
class Limits:
    max_steps: int = 50_000_000  # loop iterations, all loops together
    max_elements: int = 2**28  # elements in one tensor
    max_memory: int = 2 * 2**30  # bytes of one tensor's data
    timeout: float | None = None


def resource_error(message: str) -> ProgramError:
    return ProgramError("MemoryError", message)


def _int_bits(value) -> float:
    return math.log2(abs(value)) + 1 if value else 1


def check_python_binop(op: str, a, b) -> None:
    if op == "**" and isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b * _int_bits(a) > MAX_INT_BITS:
            raise resource_error(
                f"integer result of {a} ** {b} would have about {int(b * _int_bits(a)):,} bits; "
                f"gradcli refuses integers over {MAX_INT_BITS:,} bits"
            )
    elif op == "*":
        for seq, n in ((a, b), (b, a)):
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                if len(seq) * n > MAX_SEQUENCE:
                    raise resource_error(
                        f"repeating a sequence of length {len(seq)} {n} times exceeds "
                        f"gradcli's limit of {MAX_SEQUENCE:,} elements"
                    )
        if isinstance(a, int) and isinstance(b, int) and _int_bits(a) + _int_bits(b) > MAX_INT_BITS:
            raise resource_error(f"integer product exceeds gradcli's limit of {MAX_INT_BITS:,} bits")
    elif op in ("<<",):
        raise resource_error("shift operators are not supported")


_WIDTH = re.compile(r"(\d+)")


def check_format_spec(spec: str) -> None:
    for number in _WIDTH.findall(spec):
        if len(number) > 6 or int(number) > MAX_FORMAT_WIDTH:
            raise resource_error(
                f"format width/precision {number} exceeds gradcli's limit of {MAX_FORMAT_WIDTH:,}"
            )
