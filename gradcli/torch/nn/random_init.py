"""torch.nn.init's random initialisers and Dropout's noise, for gradcli's torch.nn.

Each fills a gradcli Tensor in place without recording autograd history (PyTorch runs
them under torch.no_grad()), bumps its version, and returns it; the numbers are PyTorch's
for the same generator state. The formulas are torch/nn/init.py's:

    kaiming_uniform_: bound = sqrt(3) * gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)
    xavier_uniform_:  bound = sqrt(3) * gain * sqrt(2 / (fan_in + fan_out))
    nn.Linear:        kaiming_uniform_(weight, a=sqrt(5)); uniform_(bias, -1/sqrt(fan_in), ...)
    dropout (CPU):    noise = empty_like(x).bernoulli_(1 - p); noise.div_(1 - p); x * noise
"""

from __future__ import annotations

import math

from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import value_error
from gradcli.torch import pointwise
from gradcli.torch import random as R
from gradcli.torch.autograd.grad_mode import no_grad

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d")


def uniform_(tensor: Tensor, a=0.0, b=1.0, generator=None) -> Tensor:
    with no_grad():
        return R.uniform_(tensor, a, b, generator=generator)


def normal_(tensor: Tensor, mean=0.0, std=1.0, generator=None) -> Tensor:
    with no_grad():
        return R.normal_(tensor, mean, std, generator=generator)


def bernoulli_(tensor: Tensor, p=0.5, generator=None) -> Tensor:
    """Fill with 1 (probability p) or 0, in the tensor's dtype: the mask Dropout draws."""
    with no_grad():
        return R.bernoulli_(tensor, p, generator=generator)


def calculate_gain(nonlinearity, param=None) -> float:
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise value_error(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise value_error(f"Unsupported nonlinearity {nonlinearity}")


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """torch.nn.init._calculate_fan_in_and_fan_out."""
    if tensor.ndim < 2:
        raise value_error(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field = 1
    for size in tensor.shape[2:]:
        receptive_field *= size
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise value_error(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _empty(tensor: Tensor) -> bool:
    if 0 in tensor.shape:
        from gradcli.base import diagnostics

        diagnostics.warn("Initializing zero-element tensors is a no-op")
        return True
    return False


def kaiming_uniform_(tensor: Tensor, a=0, mode="fan_in", nonlinearity="leaky_relu",
                     generator=None) -> Tensor:
    if _empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a=0, mode="fan_in", nonlinearity="leaky_relu",
                    generator=None) -> Tensor:
    if _empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0, std, generator)


def xavier_uniform_(tensor: Tensor, gain=1.0, generator=None) -> Tensor:
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain=1.0, generator=None) -> Tensor:
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def reset_linear_(weight: Tensor, bias: Tensor | None, generator=None) -> None:
    """nn.Linear.reset_parameters (and Bilinear's weight-then-bias order for its weight)."""
    kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        fan_in, _ = fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound, generator)


def dropout_noise(input: Tensor, p: float, generator=None) -> Tensor:
    """The tensor F.dropout(input, p, training=True) multiplies input by, for 0 < p < 1:
    bernoulli_(1 - p) into a tensor like input, divided by 1 - p (in input's dtype).
    The caller computes `input * noise` (MulBackward0, as on PyTorch's CPU path)."""
    noise = Tensor(R.bernoulli_values(input.shape, input.dtype, 1 - p, generator), input.dtype)
    with no_grad():
        return pointwise.div(noise, 1 - p)
