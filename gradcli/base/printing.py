"""Tensor text exactly as PyTorch 2.13 prints it, computed with numpy.

A port of torch/_tensor_str.py restricted to dense CPU tensors of real dtypes
(no complex, sparse, quantized, nested, meta or functorch tensors). The structure
follows torch's so the two can be compared function by function:

    _Formatter                  torch._tensor_str._Formatter
    _summarized_data            torch._tensor_str.get_summarized_data
    _vector_str / _nested_str   _vector_str / _tensor_str_with_formatter
    _tensor_str                 _tensor_str
    _add_suffixes               _add_suffixes
    tensor_repr                 _str_intern
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.base import dtypes

__all__ = [
    "PrintOptions",
    "dtype_repr",
    "size_repr",
    "tensor_body",
    "tensor_repr",
]


class PrintOptions:
    """The knobs of torch.set_printoptions, with torch's defaults."""

    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self, precision: int = 4, threshold: int = 1000, edgeitems: int = 3,
                 linewidth: int = 80, sci_mode: bool | None = None):
        for name, value in zip(self.__slots__, (precision, threshold, edgeitems, linewidth,
                                                sci_mode), strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):  # shared defaults: never changed in place
        raise AttributeError(f"cannot assign to field '{name}'")

    def astuple(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)


_DEFAULT_OPTIONS = PrintOptions()


class Current:
    """torch.set_printoptions: what tensor_repr uses when not handed options."""

    options = _DEFAULT_OPTIONS

_NUMPY_DTYPES = {
    "float16": np.float16,
    "float32": np.float32,
    "float64": np.float64,
    "uint8": np.uint8,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "bool": np.bool_,
}
_FLOATING = frozenset({"float16", "float32", "float64"})

# torch omits `dtype=` when the dtype is the default float dtype, its complex
# counterpart, int64 or bool: the dtypes torch.tensor() infers from Python
# floats, ints and bools, so the printed text round-trips through torch.tensor.
_IMPLIED_DTYPES = frozenset({"float32", "int64", "bool"})
_DEFAULT_FLOAT_DTYPE = "float32"

_PREFIX = "tensor("


def _dtype_name(dtype: str) -> str:
    name = dtype[len("torch.") :] if dtype.startswith("torch.") else dtype
    if name not in _NUMPY_DTYPES:
        raise ValueError(f"unsupported dtype for printing: {dtype!r}")
    return name


def _as_array(array: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(array)
    target = _NUMPY_DTYPES[name]
    if arr.dtype != target:
        arr = arr.astype(target)
    return arr


def dtype_repr(dtype: str) -> str:
    """str(torch.<dtype>), e.g. 'torch.float32'."""
    return "torch." + _dtype_name(dtype)


def size_repr(shape: tuple[int, ...]) -> str:
    """str(torch.Size(shape)), e.g. 'torch.Size([3, 3])' or 'torch.Size([])'."""
    return "torch.Size([" + ", ".join(str(int(s)) for s in shape) + "])"


def _shape_tuple_str(shape: tuple[int, ...]) -> str:
    # torch writes `size=` with str(tuple(shape)), hence the Python tuple
    # spelling, trailing comma for one dimension included: size=(2000,).
    return str(tuple(int(s) for s in shape))


class _Formatter:
    """Chooses one column width and one notation for every element of a tensor."""

    def __init__(self, values: np.ndarray, floating: bool, options: PrintOptions):
        self.floating = floating
        self.precision = options.precision
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        flat = values.reshape(-1)
        if not floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return

        # Zeros (of either sign), nans and infs never influence the notation or
        # the width, so e.g. -0.0000, -inf or nan can come out wider than the
        # column and break the alignment; torch accepts that.
        nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:
            # All zero / non-finite: torch keeps int_mode and prints `0.`, `nan`.
            return

        # The ratio test is done in double, whatever the tensor's dtype.
        finite_abs = np.abs(nonzero_finite).astype(np.float64)
        smallest = float(finite_abs.min())
        largest = float(finite_abs.max())

        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))

        if options.sci_mode is None:
            self.sci_mode = largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
        else:
            self.sci_mode = options.sci_mode

        # The width is measured on Python floats (the float32 value widened to
        # double), exactly like torch's f-strings on 0-d tensors.
        p = self.precision
        if self.sci_mode:
            widths = (len(f"{v:.{p}e}") for v in nonzero_finite.tolist())
        elif self.int_mode:
            # One extra column for the `.` that marks a float tensor.
            widths = (len(f"{v:.0f}") + 1 for v in nonzero_finite.tolist())
        else:
            widths = (len(f"{v:.{p}f}") for v in nonzero_finite.tolist())
        self.max_width = max(self.max_width, *widths)

    def width(self) -> int:
        return self.max_width

    def format(self, value: float | int | bool) -> str:
        if self.floating:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{self.precision}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{self.precision}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _summarized_data(arr: np.ndarray, edgeitems: int) -> np.ndarray:
    """The elements a summarized print shows: edgeitems from each end of every dimension."""
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        if arr.shape[0] > 2 * edgeitems:
            return np.concatenate((arr[:edgeitems], arr[-edgeitems:]))
        return arr
    if not edgeitems:
        return np.empty((0,) * arr.ndim, dtype=arr.dtype)
    if arr.shape[0] > 2 * edgeitems:
        rows = [*range(edgeitems), *range(arr.shape[0] - edgeitems, arr.shape[0])]
    else:
        rows = range(arr.shape[0])
    return np.stack([_summarized_data(arr[i], edgeitems) for i in rows])


def _vector_str(
    arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter, options: PrintOptions
) -> str:
    # Each element costs its width plus ", "; the closing "]" and the leading
    # "[" are not counted, so a full line can reach linewidth + 1 characters.
    element_length = fmt.width() + 2
    elements_per_line = max(1, math.floor((options.linewidth - indent) / element_length))

    edge = options.edgeitems
    if summarize and not edge:
        data = ["..."]
    elif summarize and arr.shape[0] > 2 * edge:
        # The leading space of " ..." makes torch print ",  ..., " (two spaces),
        # and the ellipsis counts as one element when lines are filled.
        data = (
            [fmt.format(v) for v in arr[:edge].tolist()]
            + [" ..."]
            + [fmt.format(v) for v in arr[-edge:].tolist()]
        )
    else:
        data = [fmt.format(v) for v in arr.tolist()]

    lines = [
        ", ".join(data[i : i + elements_per_line]) for i in range(0, len(data), elements_per_line)
    ]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(
    arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter, options: PrintOptions
) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, fmt, options)

    edge = options.edgeitems
    n = arr.shape[0]
    if summarize and n > 2 * edge:
        slices = (
            [_nested_str(arr[i], indent + 1, summarize, fmt, options) for i in range(edge)]
            + ["..."]
            + [_nested_str(arr[i], indent + 1, summarize, fmt, options) for i in range(n - edge, n)]
        )
    else:
        slices = [_nested_str(arr[i], indent + 1, summarize, fmt, options) for i in range(n)]

    # Sub-blocks of a d-dimensional tensor are separated by d - 2 blank lines.
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _tensor_str(arr: np.ndarray, floating: bool, indent: int, options: PrintOptions) -> str:
    if arr.size == 0:
        return "[]"
    summarize = arr.size > options.threshold
    if summarize and not options.edgeitems:
        # Every block collapses to "[...]", so the formatter is never consulted.
        # (torch still builds one, and for a 1-d tensor its `self[-0:]` slice
        # even feeds it every element; skipping it changes nothing printed.)
        fmt = _Formatter(np.empty(0, dtype=arr.dtype), floating, options)
    else:
        # Only the elements that will be shown decide widths and notation: a
        # huge value hidden behind `...` does not switch on scientific mode.
        fmt = _Formatter(
            _summarized_data(arr, options.edgeitems) if summarize else arr, floating, options
        )
    return _nested_str(arr, indent, summarize, fmt, options)


def _add_suffixes(tensor_str: str, suffixes: list[str], indent: int, linewidth: int) -> str:
    parts = [tensor_str]
    # torch's length of the last line is off by two when there is no newline
    # (rfind gives -1, then +1 is added), and by one otherwise; reproduced as is.
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_body(array: np.ndarray, dtype: str, options: PrintOptions = _DEFAULT_OPTIONS) -> str:
    """The bracketed values torch would print at indent 0 (torch._tensor_str._tensor_str(t, 0))."""
    name = _dtype_name(dtype)
    return _tensor_str(_as_array(array, name), name in _FLOATING, 0, options)


def tensor_repr(
    array: np.ndarray,
    dtype: str,
    *,
    grad_fn: str | None = None,
    requires_grad: bool = False,
    options: PrintOptions = _DEFAULT_OPTIONS,
) -> str:
    """Exactly what print(t) / repr(t) gives in PyTorch 2.13 for a CPU tensor.

    array: the values (any shape, 0-d and empty included); converted to `dtype`.
    dtype: torch dtype name without 'torch.', e.g. 'float32', 'int64', 'bool'.
    grad_fn: backward node class name, printed as 'grad_fn=<MulBackward0>'.
    requires_grad: printed as 'requires_grad=True', only when grad_fn is None.
    """
    name = _dtype_name(dtype)
    arr = _as_array(array, name)
    indent = len(_PREFIX)
    suffixes = []
    if options is _DEFAULT_OPTIONS:
        options = Current.options
    # torch.set_default_dtype(torch.float64) makes float64 the dtype a repr leaves out.
    default_float = dtypes.DEFAULT_FLOAT.name
    implied = _IMPLIED_DTYPES if default_float == "float32" else frozenset(
        {"int64", "bool", default_float})

    if arr.size == 0:
        # A (0,) tensor reads like NumPy's `[]`; any other empty shape is spelled out.
        if arr.ndim != 1:
            suffixes.append("size=" + _shape_tuple_str(arr.shape))
        # With no element to infer it from, every dtype but the default float
        # one is shown, int64 and bool included.
        if name != default_float:
            suffixes.append("dtype=" + dtype_repr(name))
        body = "[]"
    else:
        # With edgeitems=0 the body can be a bare "[...]", so torch adds the shape
        # -- even when nothing is summarized, and even for 0-d: `size=()`.
        if not options.edgeitems:
            suffixes.append("size=" + _shape_tuple_str(arr.shape))
        if name not in implied:
            suffixes.append("dtype=" + dtype_repr(name))
        body = _tensor_str(arr, name in _FLOATING, indent, options)

    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")

    return _add_suffixes(_PREFIX + body, suffixes, indent, options.linewidth)
