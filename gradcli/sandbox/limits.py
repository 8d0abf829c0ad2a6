"""Bounds that keep a hostile program from exhausting memory or time.

Every check here runs *before* the expensive thing happens: Python-value arithmetic
(`10**10**10`, `'a' * 10**10`), format widths, tensor sizes (checked against the shape,
before numpy allocates), loop lengths. What cannot be predicted is bounded afterwards: the
interpreter counts loop steps and checks the clock, and the command line caps the
process's data segment so that an allocation past the budget fails with MemoryError
instead of swapping the machine to death.

Errors are ProgramErrors (exit 1) named after the nearest Python exception: MemoryError
for sizes, TimeoutError for the step budget and the wall clock.
"""

from __future__ import annotations

import functools
import math
import re
import string
import sys

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
# run; the torch functions (gradcli.torch.functions) read them, since they are called without context.
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


# ----- sizes ----------------------------------------------------------------------------

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


# ----- Python values --------------------------------------------------------------------


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


class _SafeFormatter(string.Formatter):
    """str.format without Python's attribute walk: `'{0.__class__}'.format(x)` and
    `'{0.__globals__[os]}'.format(f)` would reach any object in the process, so a field
    may only use the attributes the language itself allows, and index lists/dicts."""

    def get_field(self, field_name, args, kwargs):
        from gradcli.sandbox.attributes import get_attribute

        first, rest = _field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attribute, key in rest:
            if is_attribute:
                obj = get_attribute(obj, key)
            elif isinstance(obj, (list, tuple, dict, str)):
                obj = obj[key]
            else:
                raise ProgramError(
                    "TypeError", f"'{type(obj).__name__}' object is not subscriptable"
                )
        return obj, first

    def get_value(self, key, args, kwargs):
        if isinstance(key, int):
            if key >= len(args):
                raise ProgramError(
                    "IndexError",
                    f"Replacement index {key} out of range for positional args tuple",
                )
            return args[key]
        if key not in kwargs:
            raise ProgramError("KeyError", repr(key))
        return kwargs[key]

    def format_field(self, value, format_spec):
        check_format_spec(format_spec)
        return format(value, format_spec)


def _field_name_split(field_name):
    import _string

    return _string.formatter_field_name_split(field_name)


_FORMATTER = _SafeFormatter()


def safe_format(template: str, *args, **kwargs) -> str:
    """`template.format(*args, **kwargs)` for programs (str.format goes through here)."""
    return _FORMATTER.vformat(template, args, kwargs)


def check_str_width(width) -> None:
    """str.ljust/rjust/center/zfill: the width is the size of the result."""
    if _is_int(width) and width > MAX_SEQUENCE:
        raise resource_error(
            f"a string of width {width:,} exceeds gradcli's limit of {MAX_SEQUENCE:,} characters"
        )


def python_method(obj, attr: str):
    """`obj.attr` for an allow-listed method of a Python value, with the size checks that
    Python itself does not make (str.format walks attributes; padding allocates width)."""
    method = getattr(obj, attr)
    if not isinstance(obj, str):
        return method
    if attr == "format":
        return functools.partial(safe_format, obj)
    if attr in ("ljust", "rjust", "center", "zfill"):

        @functools.wraps(method)
        def padded(width, *fillchar):
            check_str_width(width)
            return method(width, *fillchar)

        return padded
    if attr == "replace":

        @functools.wraps(method)
        def replace(old, new, count=-1):
            if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
                found = obj.count(old) if count < 0 else min(count, obj.count(old))
                if len(obj) + found * (len(new) - len(old)) > MAX_SEQUENCE:
                    raise resource_error(
                        f"str.replace() would build a string over gradcli's limit of "
                        f"{MAX_SEQUENCE:,} characters"
                    )
            return method(old, new, count)

        return replace
    return method


# ----- process -------------------------------------------------------------------------


def _status_field(name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


_previous_cap: list = []  # the RLIMIT_DATA that cap_process_memory replaced


def cap_process_memory(max_memory: int, reserve: int) -> bool:
    """Cap the data segment (heap and anonymous mappings: numpy arrays, Python objects)
    at what the process uses now, plus `reserve` (the interpreter thread's stack), plus
    `max_memory`, plus headroom for gradcli itself, so that the allocation that would
    cross it raises MemoryError. Linux only (elsewhere the shape checks still apply)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import resource
    except ImportError:
        return False
    used = _status_field("VmData")
    if used is None:
        return False
    try:
        previous = resource.getrlimit(resource.RLIMIT_DATA)
        cap = used + reserve + max_memory + 512 * MiB
        hard = previous[1]
        if hard != resource.RLIM_INFINITY and cap > hard:
            cap = hard
        resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    except (ValueError, OSError):
        return False
    if not _previous_cap:
        _previous_cap.append(previous)
    return True


def restore_process_memory() -> None:
    if not _previous_cap:
        return
    previous = _previous_cap.pop()
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_DATA, previous)
    except (ImportError, ValueError, OSError):
        pass
