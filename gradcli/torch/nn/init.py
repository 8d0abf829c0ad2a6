"""torch.nn.init (PyTorch 2.13's torch/nn/init.py): in-place initialisation under no_grad.

Random draws go through `_uniform_` and `_normal_` only, so the generator behind them is
swapped in one place (issue 15 brings PyTorch's MT19937 stream)."""

from __future__ import annotations

import math

import numpy as np

from gradcli import api
from gradcli.diagnostics import warn
from gradcli.errors import value_error
from gradcli.torch._inplace import write_


def _generator():
    """PyTorch's CPU generator (gradcli.random, issue 15) when this tree has it."""
    try:
        from gradcli.random import init as pytorch_generator
    except ImportError:
        return None
    return pytorch_generator


def _uniform_(tensor, low: float, high: float):
    """tensor.uniform_(low, high). With gradcli.random the draws are PyTorch's, number for
    number; without it, ATen's formula u * (to - from) + from over gradcli's rand."""
    generator = _generator()
    if generator is not None:
        return generator.uniform_(tensor, low, high)
    u = api.rand(tuple(tensor.shape), dtype=tensor.dtype).array
    kind = u.dtype.type
    return write_(tensor, u * (kind(high) - kind(low)) + kind(low))


def _normal_(tensor, mean: float, std: float):
    """tensor.normal_(mean, std), as _uniform_: PyTorch's draws when gradcli.random exists."""
    generator = _generator()
    if generator is not None:
        return generator.normal_(tensor, mean, std)
    z = api.randn(tuple(tensor.shape), dtype=tensor.dtype).array
    kind = z.dtype.type
    return write_(tensor, z * kind(std) + kind(mean))


def _bernoulli_(tensor, p: float):
    """tensor.bernoulli_(p): 1 with probability p, else 0 (Dropout's mask)."""
    generator = _generator()
    if generator is not None:
        return generator.bernoulli_(tensor, p)
    u = api.rand(tuple(tensor.shape), dtype=tensor.dtype).array
    return write_(tensor, (u < p).astype(u.dtype))


def calculate_gain(nonlinearity, param=None):
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, int) or isinstance(param, float):
            negative_slope = param
        else:
            raise value_error(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise value_error(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise value_error(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    return tensor.shape[1] * receptive_field_size, tensor.shape[0] * receptive_field_size


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise value_error(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    return _uniform_(tensor, a, b)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    return _normal_(tensor, mean, std)


def constant_(tensor, val):
    return write_(tensor, np.asarray(api.python_float(val) if not isinstance(val, (int, bool))
                                     else val))


def zeros_(tensor):
    return write_(tensor, np.zeros((), tensor.array.dtype))


def ones_(tensor):
    return write_(tensor, np.ones((), tensor.array.dtype))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return _uniform_(tensor, -a, a)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        warn("Initializing zero-element tensors is a no-op")
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _uniform_(tensor, -bound, bound)


INIT_MEMBERS = {
    "calculate_gain": calculate_gain,
    "uniform_": uniform_,
    "normal_": normal_,
    "constant_": constant_,
    "zeros_": zeros_,
    "ones_": ones_,
    "xavier_uniform_": xavier_uniform_,
    "kaiming_uniform_": kaiming_uniform_,
}
