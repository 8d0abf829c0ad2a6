"""Bounds that keep a hostile program from exhausting memory or time, checked *before* the
expensive thing happens: Python-value arithmetic (`10**10**10`, `'a' * 10**10`) and format
widths. Tensor sizes are checked from the shape (gradcli.base.budget); what cannot be
predicted is bounded afterwards: the runtime counts loop steps and checks the clock, and
the command line caps the process's data segment (gradcli.cli.memory) so that an
allocation past the budget fails with MemoryError instead of swapping the machine to death.
"""

from __future__ import annotations

import math
import re

from gradcli.base.budget import MAX_FORMAT_WIDTH, MAX_INT_BITS, MAX_SEQUENCE, resource_error


def _int_bits(value) -> float:
    return math.log2(abs(value)) + 1 if value else 1


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_python_binop(op: str, a, b) -> None:
    if op == "**" and _is_int(a) and _is_int(b) and b > 0 and abs(a) > 1:
        if b * _int_bits(a) > MAX_INT_BITS:
            raise resource_error(
                f"integer result of {_short(a)} ** {_short(b)} would have about "
                f"{int(b * _int_bits(a)):,} bits; gradcli refuses integers over "
                f"{MAX_INT_BITS:,} bits"
            )
    elif op == "*":
        for seq, n in ((a, b), (b, a)):
            if isinstance(seq, (str, list, tuple)) and _is_int(n) and len(seq) * n > MAX_SEQUENCE:
                raise resource_error(
                    f"repeating a {type(seq).__name__} of length {len(seq):,} {n:,} times "
                    f"exceeds gradcli's limit of {MAX_SEQUENCE:,} elements"
                )
        if _is_int(a) and _is_int(b) and _int_bits(a) + _int_bits(b) > MAX_INT_BITS:
            raise resource_error(
                f"integer product exceeds gradcli's limit of {MAX_INT_BITS:,} bits"
            )
    elif op == "+":
        if (
            isinstance(a, (str, list, tuple))
            and type(a) is type(b)
            and len(a) + len(b) > MAX_SEQUENCE
        ):
            raise resource_error(
                f"concatenating {type(a).__name__}s of length {len(a):,} and {len(b):,} "
                f"exceeds gradcli's limit of {MAX_SEQUENCE:,} elements"
            )
    elif op == "%" and isinstance(a, str):
        # printf-style formatting: '%999999999d' % 1 would build a gigabyte string.
        for number in _PRINTF_WIDTH.findall(a):
            _check_width(number)
        if "*" in a:
            for value in b if isinstance(b, tuple) else (b,):
                if _is_int(value) and abs(value) > MAX_FORMAT_WIDTH:
                    _check_width(str(abs(value)))


def _short(value: int) -> str:
    text = str(value) if _int_bits(value) < 200 else f"<{int(_int_bits(value)):,}-bit integer>"
    return text


_WIDTH = re.compile(r"(\d+)")


_PRINTF_WIDTH = re.compile(r"%[-+ #0]*(\d*)(?:\.(\d*))?")


def _check_width(number) -> None:
    for text in number if isinstance(number, tuple) else (number,):
        if text and (len(text) > 6 or int(text) > MAX_FORMAT_WIDTH):
            raise resource_error(
                f"format width/precision {text} exceeds gradcli's limit of {MAX_FORMAT_WIDTH:,}"
            )


def check_format_spec(spec: str) -> None:
    for number in _WIDTH.findall(spec):
        _check_width(number)


def check_str_width(width) -> None:
    """str.ljust/rjust/center/zfill: the width is the size of the result."""
    if _is_int(width) and width > MAX_SEQUENCE:
        raise resource_error(
            f"a string of width {width:,} exceeds gradcli's limit of {MAX_SEQUENCE:,} characters"
        )


_previous_cap: list = []  # the RLIMIT_DATA that cap_process_memory replaced

