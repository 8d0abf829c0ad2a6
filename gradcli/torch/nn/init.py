"""torch.nn.init (PyTorch 2.13's torch/nn/init.py): in-place initialisation under no_grad.

Random draws go through `_uniform_`, `_normal_` and `_bernoulli_` only: PyTorch's
generator (gradcli.random)."""

from __future__ import annotations

import math

import numpy as np

from gradcli.base.diagnostics import warn
from gradcli.torch import functions as api
from gradcli.torch.nn import init_extra
from gradcli.torch.nn import random_init as pytorch_generator
from gradcli.torch.nn.random_init import calculate_gain
from gradcli.torch.nograd_writes import write_


def _uniform_(tensor, low: float, high: float, generator=None):
    """tensor.uniform_(low, high): PyTorch's draws, number for number (gradcli.random)."""
    return pytorch_generator.uniform_(tensor, low, high, generator)


def _normal_(tensor, mean: float, std: float, generator=None):
    """tensor.normal_(mean, std), as _uniform_."""
    return pytorch_generator.normal_(tensor, mean, std, generator)


def _bernoulli_(tensor, p: float):
    """tensor.bernoulli_(p): 1 with probability p, else 0 (Dropout's mask)."""
    return pytorch_generator.bernoulli_(tensor, p)


# torch.nn.init's fan and gain arithmetic is gradcli.torch.nn.random_init's (one copy of each).
_calculate_fan_in_and_fan_out = pytorch_generator.fan_in_and_fan_out
_calculate_correct_fan = pytorch_generator._fan


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    return _uniform_(tensor, a, b, generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    return _normal_(tensor, mean, std, generator)


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
    return _uniform_(tensor, -a, a, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        warn("Initializing zero-element tensors is a no-op")
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _uniform_(tensor, -bound, bound, generator)


INIT_MEMBERS = {
    "calculate_gain": calculate_gain,
    "uniform_": uniform_,
    "normal_": normal_,
    "constant_": constant_,
    "zeros_": zeros_,
    "ones_": ones_,
    "xavier_uniform_": xavier_uniform_,
    "kaiming_uniform_": kaiming_uniform_,
    "dirac_": init_extra.dirac_,
    "eye_": init_extra.eye_,
    "kaiming_normal_": pytorch_generator.kaiming_normal_,
    "orthogonal_": init_extra.orthogonal_,
    "sparse_": init_extra.sparse_,
    "trunc_normal_": init_extra.trunc_normal_,
    "xavier_normal_": pytorch_generator.xavier_normal_,
}
