"""F.max_pool1d/2d, F.avg_pool1d/2d, F.adaptive_avg_pool1d/2d with PyTorch's argument checks
(in ATen's order), and the modules nn.MaxPool1d/2d, nn.AvgPool1d/2d, nn.AdaptiveAvgPool1d/2d
(torch/nn/modules/pooling.py). The 1-d ones are ATen's too: the 2-d op on a height-1 view.

max_pool1d is ATen's: max_pool2d_with_indices on the input with a height-1 dim inserted,
so the graph reads SqueezeBackward1 -> MaxPool2DWithIndicesBackward0 -> UnsqueezeBackward0.
adaptive_avg_pool2d to (1, 1) is a mean over the last two dims (MeanBackward1), as in ATen.
"""

from __future__ import annotations

from gradcli.aten import ops as O
from gradcli.autodiff.tensor import Tensor
from gradcli.base import budget, dtypes
from gradcli.base.errors import runtime_error, value_error
from gradcli.torch import functions as api
from gradcli.torch._common import wrap_dim
from gradcli.torch.nn.module import Module
from gradcli.torch.nn.pooling_ops import (
    AvgWindow,
    Window,
    adaptive_avg_pool2d_op,
    avg_pool2d_op,
    max_indices,
    max_pool2d_op,
    output_length,
)


def _pair(value, message, allow_empty=False):
    """An int or a 1- or 2-element sequence as two ints (ATen's IntArrayRef of size 1 or 2);
    `message` for any other length."""
    values = (value,) if isinstance(value, int) else tuple(value)
    if not (len(values) in (1, 2) or (allow_empty and not values)):
        raise runtime_error(message)
    return tuple(int(v) for v in values) * (2 // max(len(values), 1))


def _check_lengths(kernel, stride, pad, dilation, size, ceil_mode):
    """ATen's pooling_output_shape_pad_lr checks, height then width; the output size."""
    out = []
    for k, s, p, d, n in zip(kernel, stride, pad, dilation, size, strict=True):
        if s == 0:
            raise runtime_error("stride should not be zero")
        if p < 0:
            raise runtime_error(f"pad must be non-negative, but got pad: {p}")
        if p > int(((k - 1) * d + 1) / 2):  # C++ division truncates toward zero
            raise runtime_error(f"pad should be at most half of effective kernel size, but got "
                                f"pad={p}, kernel_size={k} and dilation={d}")
        out.append(output_length(n, k, p, s, d, ceil_mode))
    return out


def _check_pool2d_shape(input, kernel, stride, dilation, out):
    """ATen's pool2d_shape_check."""
    if min(kernel) <= 0:
        raise runtime_error(f"kernel size should be greater than zero, but got kH: {kernel[0]} "
                            f"kW: {kernel[1]}")
    if min(stride) <= 0:
        raise runtime_error(f"stride should be greater than zero, but got dH: {stride[0]} "
                            f"dW: {stride[1]}")
    if min(dilation) <= 0:
        raise runtime_error(f"dilation should be greater than zero, but got dilationH: "
                            f"{dilation[0]} dilationW: {dilation[1]}")
    if min(out) < 1:
        c, h, w = input.shape[-3:]
        raise runtime_error(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                            f"({c}x{out[0]}x{out[1]}). Output size is too small")


def _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    kernel = _pair(kernel_size, "max_pool2d: kernel_size must either be a single int, or a "
                   "tuple of two ints")
    stride = _pair(() if stride is None else stride, "max_pool2d: stride must either be "
                   "omitted, a single int, or a tuple of two ints", allow_empty=True) or kernel
    pad = _pair(padding, "max_pool2d: padding must either be a single int, or a tuple of two "
                "ints")
    dilation = _pair(dilation, "max_pool2d: dilation must be either a single int, or a tuple "
                     "of two ints")
    if input.ndim not in (3, 4):
        raise runtime_error("non-empty 3D or 4D (batch mode) tensor expected for input")
    out = _check_lengths(kernel, stride, pad, dilation, input.shape[-2:], ceil_mode)
    _check_pool2d_shape(input, kernel, stride, dilation, out)
    window = Window(kernel, stride, pad, dilation, ceil_mode)
    # the window values are copied to find each maximum: (…, OH, OW, kH*kW)
    budget.check_tensor_size((*input.shape[:-2], *out, *kernel), input.dtype.itemsize,
                             input.dtype.name)
    _, indices = max_indices(input.array, window)
    values = O.call(max_pool2d_op, (input,), (window, indices))
    if return_indices:
        return values, Tensor(indices, dtypes.int64)
    return values


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _one(value, message):
    values = (value,) if isinstance(value, int) else tuple(value)
    if len(values) != 1:
        raise runtime_error(message.format(len(values)))
    return int(values[0])


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """ATen's check_max_pool1d, then max_pool2d on the input with a height-1 dim."""
    if input.ndim not in (2, 3):
        raise runtime_error(f"max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                            f"dim batch size for input, but got:{list(input.shape)}")
    k = _one(kernel_size, "max_pool1d() kernel_size must be an int, list of ints or tuple of "
             "ints of size 1 but got size {}")
    s = k if stride is None or stride == () or stride == [] else _one(
        stride, "max_pool1d() stride must be None, an int, list of ints, or tuple of ints of "
        "size 1 but got size {}")
    p = _one(padding, "max_pool1d() padding must be an int, list of ints, or tuple of ints of "
             "size 1 but got size {}")
    d = _one(dilation, "max_pool1d() dilation must be an int, list of ints or tuple of ints "
             "of size 1 but got size {}")
    if k <= 0:
        raise runtime_error(f"max_pool1d() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise runtime_error(f"max_pool1d() stride must be greater than zero, but got {s}")
    if p < 0:
        raise runtime_error(f"max_pool1d() padding must be non-negative, but got {p}")
    if p > k // 2:
        raise runtime_error(f"max_pool1d() padding should be at most half of kernel size, but "
                            f"got padding={p} and kernel_size={k}")
    if d <= 0:
        raise runtime_error(f"max_pool1d() dilation must be greater than zero, but got {d}")
    width = output_length(input.shape[-1], k, p, s, d, ceil_mode)
    if width <= 0:
        raise runtime_error(f"max_pool1d() Invalid computed output size: {width}")
    pooled = _max_pool2d(api.unsqueeze(input, -2), (1, k), (1, s), (0, p), (1, d), ceil_mode,
                         return_indices)
    if return_indices:
        return api.squeeze(pooled[0], -2), api.squeeze(pooled[1], -2)
    return api.squeeze(pooled, -2)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    kernel = _pair(kernel_size, "avg_pool2d: kernel_size must either be a single int, or a "
                   "tuple of two ints")
    stride = _pair(() if stride is None else stride, "avg_pool2d: stride must either be "
                   "omitted, a single int, or a tuple of two ints", allow_empty=True) or kernel
    pad = _pair(padding, "avg_pool2d: padding must either be a single int, or a tuple of two "
                "ints")
    if divisor_override is not None and divisor_override == 0:
        raise runtime_error("divisor must be not zero")
    if input.ndim not in (3, 4):
        wrap_dim(-3, input.ndim)  # IndexError for fewer dims, as avg_pool2d's size(-3)
        raise runtime_error(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                            f"size for input, but got:{list(input.shape)}")
    out = _check_lengths(kernel, stride, pad, (1, 1), input.shape[-2:], ceil_mode)
    _check_pool2d_shape(input, kernel, stride, (1, 1), out)
    window = AvgWindow(kernel, stride, pad, ceil_mode, count_include_pad, divisor_override)
    budget.check_tensor_size((*input.shape[:-2], *out, *kernel), 8, "float64")
    return O.call(avg_pool2d_op, (input,), window)


def adaptive_avg_pool2d(input, output_size):
    if isinstance(output_size, int):
        size = (output_size, output_size)
    else:
        size = tuple(output_size)
        if len(size) >= input.ndim:
            raise value_error(f"Input dimension should be at least {len(size) + 1}")
        # None keeps the input's size there (torch.nn.functional._list_with_default)
        size = tuple(input.shape[-len(size) + i] if v is None else v for i, v in enumerate(size))
    if len(size) != 2:
        raise runtime_error("adaptive_avg_pool2d: output_size must be 2")
    if min(size) < 0:
        raise runtime_error(f"adaptive_avg_pool2d: elements of output_size must be greater than "
                            f"or equal to 0 but received {{{size[0]}, {size[1]}}}")
    if input.ndim not in (3, 4):
        raise runtime_error(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                            f"{list(input.shape)}")
    if size == (1, 1):
        return api.mean(input, (-1, -2), keepdim=True)
    return O.call(adaptive_avg_pool2d_op, (input,), size)


def _check_1d(name, input):
    if input.ndim not in (2, 3):
        raise runtime_error(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor "
                            f"for argument #1 'self' (while checking arguments for {name})")


def _single(name, arg, value):
    values = (value,) if isinstance(value, int) else tuple(value)
    if len(values) != 1:
        raise runtime_error(f"{name}() argument '{arg}' should contain one int (got "
                            f"{len(values)})")
    return values[0]


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """ATen's avg_pool1d: avg_pool2d on the input with a height-1 dim inserted."""
    _check_1d("avg_pool1d", input)
    k = _single("avg_pool1d", "kernel_size", kernel_size)
    s = k if stride is None or stride == () or stride == [] else _single(
        "avg_pool1d", "stride", stride)
    p = _single("avg_pool1d", "padding", padding)
    pooled = avg_pool2d(api.unsqueeze(input, -2), (1, k), (1, s), (0, p), ceil_mode,
                        count_include_pad)
    return api.squeeze(pooled, -2)


def adaptive_avg_pool1d(input, output_size):
    """ATen's adaptive_avg_pool1d: adaptive_avg_pool2d to (1, L) on a height-1 input."""
    _check_1d("adaptive_avg_pool1d", input)
    size = _single("adaptive_avg_pool1d", "output_size", output_size)
    return api.squeeze(adaptive_avg_pool2d(api.unsqueeze(input, -2), (1, size)), -2)


# ----- modules ------------------------------------------------------------------------------


class _MaxPoolNd(Module):
    _program_attributes_ = frozenset({"kernel_size", "stride", "padding", "dilation",
                                      "ceil_mode", "return_indices"})

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={_text(self.kernel_size)}, stride={_text(self.stride)}, "
                f"padding={_text(self.padding)}, dilation={_text(self.dilation)}, "
                f"ceil_mode={self.ceil_mode}")


def _text(value):
    """How str.format shows an int, tuple or list argument."""
    return str(tuple(value)) if isinstance(value, tuple) else str(value)


class MaxPool1d(_MaxPoolNd):
    def forward(self, input):
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    def forward(self, input):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool2d(Module):
    _program_attributes_ = frozenset({"kernel_size", "stride", "padding", "ceil_mode",
                                      "count_include_pad", "divisor_override"})

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return (f"kernel_size={_text(self.kernel_size)}, stride={_text(self.stride)}, "
                f"padding={_text(self.padding)}")

    def forward(self, input):
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


class AvgPool1d(Module):
    """Its arguments are stored as 1-tuples (torch.nn.modules.utils._single)."""

    _program_attributes_ = frozenset({"kernel_size", "stride", "padding", "ceil_mode",
                                      "count_include_pad"})

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = _one_tuple(kernel_size)
        self.stride = _one_tuple(stride if stride is not None else kernel_size)
        self.padding = _one_tuple(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")

    def forward(self, input):
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)


def _one_tuple(value):
    return (value,) if isinstance(value, int) else tuple(value)


class _AdaptiveAvgPoolNd(Module):
    _program_attributes_ = frozenset({"output_size"})

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={_text(self.output_size)}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    def forward(self, input):
        return adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    def forward(self, input):
        return adaptive_avg_pool2d(input, self.output_size)


POOLING_FUNCTIONAL = {
    "adaptive_avg_pool1d": adaptive_avg_pool1d,
    "adaptive_avg_pool2d": adaptive_avg_pool2d,
    "avg_pool1d": avg_pool1d,
    "avg_pool2d": avg_pool2d,
    "max_pool1d": max_pool1d,
    "max_pool2d": max_pool2d,
}

POOLING_MODULES = {
    "AdaptiveAvgPool1d": AdaptiveAvgPool1d,
    "AdaptiveAvgPool2d": AdaptiveAvgPool2d,
    "AvgPool1d": AvgPool1d,
    "AvgPool2d": AvgPool2d,
    "MaxPool1d": MaxPool1d,
    "MaxPool2d": MaxPool2d,
}
