"""nn.Conv1d and nn.Conv2d (torch/nn/modules/conv.py): _ConvNd's argument checks, its
parameters (weight of shape (out_channels, in_channels // groups, *kernel_size), then bias),
reset_parameters (kaiming_uniform_(a=sqrt(5)) on the weight, then U(-1/sqrt(fan_in), ...) on
the bias, drawn in that order) and its extra_repr."""

from __future__ import annotations

import math

from gradcli.base.errors import runtime_error, value_error
from gradcli.torch import functions as api
from gradcli.torch.nn import init
from gradcli.torch.nn.convolution import conv1d, conv2d
from gradcli.torch.nn.module import Module, Parameter


def _tuple(value, n):
    """torch.nn.modules.utils._ntuple: an int repeated n times, an iterable as a tuple."""
    if isinstance(value, int):
        return (value,) * n
    return tuple(value)


class _ConvNd(Module):
    _nd = 2
    _program_attributes_ = frozenset({
        "in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
        "groups", "padding_mode", "output_padding", "transposed", "weight", "bias",
        "reset_parameters"})

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__()
        n = self._nd
        if groups <= 0:
            raise value_error("groups must be a positive integer")
        if in_channels % groups != 0:
            raise value_error("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise value_error("out_channels must be divisible by groups")
        kernel_size, stride, dilation = _tuple(kernel_size, n), _tuple(stride, n), _tuple(
            dilation, n)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                # PyTorch prints the set {'valid', 'same'} in Python's hash order
                raise value_error(f"Invalid padding string {padding!r}, should be one of "
                                  f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise value_error("padding='same' is not supported for strided convolutions")
        if padding_mode != "zeros":
            raise runtime_error(f"gradcli supports padding_mode='zeros' only, not "
                                f"padding_mode={padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n)
        self.dilation = dilation
        self.transposed = False
        self.output_padding = (0,) * n
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(api.empty((out_channels, in_channels // groups, *kernel_size),
                                          dtype=dtype))
        if bias:
            self.bias = Parameter(api.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        n = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if isinstance(self.padding, str) or self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    _nd = 1

    def forward(self, input):
        return conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class Conv2d(_ConvNd):
    _nd = 2

    def forward(self, input):
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


CONV_MODULES = {"Conv1d": Conv1d, "Conv2d": Conv2d}
