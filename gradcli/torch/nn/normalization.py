"""Layer and batch normalisation: F.layer_norm, F.batch_norm and their modules
(torch/nn/modules/normalization.py, batchnorm.py; aten/src/ATen/native/layer_norm.cpp,
Normalization.cpp), recorded as PyTorch 2.13 records them: one NativeLayerNormBackward0 or
NativeBatchNormBackward0 node with (input, weight, bias) as its inputs.

Both normalise x over a group of elements G: x_hat = (x - mean_G) * rstd,
rstd = 1 / sqrt(var_G + eps) with the biased variance, then y = x_hat * w + b. The input's
gradient through the batch statistics is
    dx = rstd * (dx_hat - mean_G(dx_hat) - x_hat * mean_G(dx_hat * x_hat)),  dx_hat = g * w,
and with fixed statistics (batch norm in eval mode) dx = g * w * rstd.

Layer norm and batch norm run PyTorch's CPU kernels' float order (norm_kernels.py,
batch_norm_kernels.py), so float32 values and gradients are PyTorch's to the last bit;
group norm's forward is too, its backward is computed in float64 and rounded once (it can
differ from PyTorch's in the last bit). None of them can be differentiated twice yet
(create_graph=True through their backward says so).
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import op, save_inputs
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.dtypes import LEGACY_TYPE_NAMES
from gradcli.base.errors import ProgramError, runtime_error, value_error
from gradcli.base.fma import fma
from gradcli.base.moments import rowwise_moments
from gradcli.torch import functions as api
from gradcli.torch._common import wrap_dim
from gradcli.torch.autograd.grad_mode import no_grad
from gradcli.torch.nn import batch_norm_kernels as BN
from gradcli.torch.nn import init
from gradcli.torch.nn.functional import _first_order_only
from gradcli.torch.nn.module import Module, Parameter
from gradcli.torch.nn.norm_kernels import layer_norm_backward, layer_norm_forward


def _moments(x64: np.ndarray, axes: tuple):
    mean = np.mean(x64, axis=axes, keepdims=True)
    centred = x64 - mean
    var = np.mean(centred * centred, axis=axes, keepdims=True)
    return mean, var


def _normalise_backward(g, x, axes, eps, fixed_rstd=None):
    """dx for x_hat = (x - mean) * rstd over `axes`; g already multiplied by the weight."""
    x64 = x.astype(np.float64)
    g64 = g.astype(np.float64)
    if fixed_rstd is not None:
        return g64 * fixed_rstd
    mean, var = _moments(x64, axes)
    rstd = 1 / np.sqrt(var + eps)
    x_hat = (x64 - mean) * rstd
    return rstd * (g64 - np.mean(g64, axis=axes, keepdims=True)
                   - x_hat * np.mean(g64 * x_hat, axis=axes, keepdims=True))


# ----- layer_norm ---------------------------------------------------------------------------


@op("native_layer_norm", save=save_inputs)
def _native_layer_norm(xs, p):
    x, w, b = xs
    axes, eps = p
    rows = _as_rows(x, len(axes))
    flat = lambda v: None if v is None else v.reshape(-1)  # noqa: E731
    y, _mean, _rstd = layer_norm_forward(rows, flat(w), flat(b), eps)
    return y.reshape(x.shape)


@_native_layer_norm.derivative
def _(ctx, grad, xp):
    _first_order_only(xp, "layer_norm")
    x, w, b = ctx.saved
    axes, eps = ctx.params
    rows = _as_rows(x, len(axes))
    _y, mean, rstd = layer_norm_forward(rows, None, None, eps)
    dy = np.ascontiguousarray(grad, dtype=x.dtype).reshape(rows.shape)
    dx, dw, db = layer_norm_backward(dy, rows, mean, rstd,
                                     None if w is None else w.reshape(-1), ctx.needs)
    return (None if dx is None else dx.reshape(x.shape),
            None if dw is None else dw.reshape(w.shape),
            None if db is None else db.reshape(b.shape))


def _as_rows(x, normalized_dims: int):
    """x as (M, N): N the normalised elements of one row, M the rows."""
    size = math.prod(x.shape[x.ndim - normalized_dims:])
    return np.ascontiguousarray(x).reshape(-1, size)


def _shape_list(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    n = len(shape)
    if n == 0:
        raise runtime_error(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
            "least one element, but got normalized_shape = []")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise runtime_error(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {_shape_list(t.shape)} and normalized_shape = {_shape_list(shape)}")
    if input.ndim < n or tuple(input.shape[input.ndim - n:]) != shape:
        raise runtime_error(
            f"Given normalized_shape={_shape_list(shape)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in shape)}], but got input of size"
            f"{_shape_list(input.shape)}")
    _check_dtypes(input, "LayerNormKernelImpl", weight, bias)
    axes = tuple(range(input.ndim - n, input.ndim))
    return O.call(_native_layer_norm, (input, weight, bias), (axes, float(eps)))


def _check_dtypes(input, kernel: str, *others) -> None:
    """PyTorch's CPU kernels: float32 input with float64 parameters is one message, any
    other difference another; an integer input alone has no kernel."""
    for t in others:
        if t is not None and t.dtype is not input.dtype:
            if input.dtype is dtypes.float32:
                raise runtime_error(
                    "mixed dtype (CPU): expect parameter to have scalar type of Float")
            raise runtime_error("mixed dtype (CPU): all inputs must share same datatype.")
    if not input.dtype.is_floating_point:
        name = LEGACY_TYPE_NAMES[input.dtype.name]
        raise ProgramError("NotImplementedError", f'"{kernel}" not implemented for \'{name}\'')


def _affine_parameters(module, shape, affine: bool, bias: bool, dtype) -> None:
    """The learnable per-element scale and shift of a norm layer, or None for both (and
    only the shift None when `bias` is False); reset to ones and zeros by _reset_affine."""
    if affine:
        module.weight = Parameter(api.empty(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(api.empty(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    _program_attributes_ = frozenset({"normalized_shape", "eps", "elementwise_affine",
                                      "weight", "bias", "reset_parameters"})

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


# ----- batch_norm ---------------------------------------------------------------------------


def _channel_axes(ndim: int) -> tuple:
    return (0, *range(2, ndim))


def _per_channel(v, ndim: int):
    """A (C,) vector shaped to broadcast against (N, C, *)."""
    return np.reshape(v, (1, -1) + (1,) * (ndim - 2))


@op("native_batch_norm", save=save_inputs)
def _native_batch_norm(xs, p):
    x, w, b = xs
    mean, invstd = p[:2]
    return BN.transform(x, mean, invstd, w, b)


@_native_batch_norm.derivative
def _(ctx, grad, xp):
    _first_order_only(xp, "batch_norm")
    x, w, b = ctx.saved
    mean, invstd, training, running_var, eps = ctx.params
    dy = np.ascontiguousarray(grad, dtype=x.dtype)
    return BN.backward(dy, x, mean, invstd, w, training, ctx.needs, running_var, eps)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    if training:
        size = input.shape
        values = math.prod(size) // size[1] if input.ndim >= 2 and size[1] else 0
        if input.ndim >= 2 and values == 1:
            raise value_error("Expected more than 1 value per channel when training, "
                              f"got input size {api.Size(size)}")
    elif running_mean is None or running_var is None:
        raise runtime_error(
            f"running_{'mean' if running_mean is None else 'var'} must be defined in "
            "evaluation mode")
    if input.ndim < 2 and running_mean is None and weight is None:
        wrap_dim(1, input.ndim)  # PyTorch's IndexError for input.size(1)
    channels = input.shape[1] if input.ndim > 1 else 0
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and api.numel(t) != channels:
            raise runtime_error(f"{name} should contain {channels} elements not {api.numel(t)}")
    _check_dtypes(input, "batch_norm", weight, bias, running_mean, running_var)
    x = np.ascontiguousarray(input.array)
    running = None
    if training:
        mean, var_sum = BN.batch_stats(x)
        count = x.size // channels
        invstd = BN.train_invstd(var_sum, count, eps)
        if running_mean is not None and running_var is not None:
            new_mean, new_var = BN.update_running(running_mean.array, running_var.array, mean,
                                                  var_sum, count, momentum)
            with no_grad():
                api.copy_(running_mean, Tensor(new_mean))
                api.copy_(running_var, Tensor(new_var))
    else:
        mean = running_mean.array.copy()
        running = running_var.array.copy()
        invstd = BN.eval_invstd(running, eps, x.dtype)
    return O.call(_native_batch_norm, (input, weight, bias),
                  (mean, invstd, bool(training), running, float(eps)))


class _BatchNorm(Module):
    _program_attributes_ = frozenset({
        "num_features", "eps", "momentum", "affine", "track_running_stats", "weight", "bias",
        "running_mean", "running_var", "num_batches_tracked", "reset_parameters",
        "reset_running_stats",
    })

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _affine_parameters(self, num_features, affine, True, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", api.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", api.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", api.tensor(0, dtype=dtypes.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                api.zero_(self.running_mean)
                api.fill_(self.running_var, 1)
                api.zero_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input) -> None:
        raise NotImplementedError

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                api.copy_(self.num_batches_tracked,
                          api.tensor(int(self.num_batches_tracked.array) + 1,
                                     dtype=dtypes.int64))
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.array)
            else:
                factor = self.momentum
        training = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if use_running else None,
                          self.running_var if use_running else None, self.weight, self.bias,
                          training, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    def _check_input_dim(self, input) -> None:
        if input.ndim not in (2, 3):
            raise value_error(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    def _check_input_dim(self, input) -> None:
        if input.ndim != 4:
            raise value_error(f"expected 4D input (got {input.ndim}D input)")


# ----- group_norm ---------------------------------------------------------------------------


def _grouped(a, groups: int):
    """(N, C, *) as (N, groups, C/groups * prod(*)): each group normalised as one row."""
    return np.reshape(a, (a.shape[0], groups, -1))


@op("native_group_norm", save=save_inputs)
def _native_group_norm(xs, p):
    # GroupNormKernelImplInternal: RowwiseMoments per (sample, group), then per channel
    # scale = rstd * w, bias = fma(-scale, mean, b), y = fma(scale, x, bias)
    x, w, b = xs
    groups, eps = p
    t = x.dtype.type
    n, channels = x.shape[0], x.shape[1]
    mean, var = rowwise_moments(np.ascontiguousarray(x).reshape(n * groups, -1))
    # rstd = 1 / sqrt(max(var, 0) + eps) with eps a double: computed in double
    rstd = (1 / np.sqrt(np.maximum(var, t(0)).astype(np.float64) + eps)).astype(x.dtype)
    xs4 = x.reshape(n, groups, channels // groups, -1)
    m4 = mean.reshape(n, groups, 1, 1)
    r4 = rstd.reshape(n, groups, 1, 1)
    if w is None and b is None:
        return ((xs4 - m4) * r4).reshape(x.shape)
    shape4 = (1, groups, channels // groups, 1)
    scale = r4 * (w.reshape(shape4) if w is not None else t(1))
    shift = b.reshape(shape4) if b is not None else np.zeros(shape4, x.dtype)
    return fma(scale, xs4, fma(-scale, m4, shift)).astype(x.dtype).reshape(x.shape)


@_native_group_norm.derivative
def _(ctx, grad, xp):
    _first_order_only(xp, "group_norm")
    x, w, b = ctx.saved
    groups, eps = ctx.params
    axes = _channel_axes(x.ndim)
    grad_x = grad_w = grad_b = None
    if ctx.needs[0]:
        g = grad if w is None else grad * _per_channel(w, x.ndim)
        dx = _normalise_backward(_grouped(g, groups), _grouped(x, groups), (2,), eps)
        grad_x = np.reshape(dx, x.shape).astype(x.dtype)
    if ctx.needs[1]:
        x64 = _grouped(x.astype(np.float64), groups)
        mean, var = _moments(x64, (2,))
        x_hat = np.reshape((x64 - mean) / np.sqrt(var + eps), x.shape)
        grad_w = np.sum(grad * x_hat, axis=axes).astype(x.dtype)
    if ctx.needs[2]:
        grad_b = np.sum(grad.astype(np.float64), axis=axes).astype(x.dtype)
    return grad_x, grad_w, grad_b


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    if input.ndim < 2:
        raise runtime_error(
            f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    size = list(input.shape)
    values = size[0] * size[1] // num_groups * math.prod(size[2:])
    if values == 1:
        raise value_error("Expected more than 1 value per channel when training, got input "
                          f"size {[size[0] * size[1] // num_groups, num_groups] + size[2:]}")
    channels = size[1]
    if channels % num_groups:
        raise runtime_error(
            "Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {_shape_list(size)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or api.numel(t) != channels):
            raise runtime_error(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {_shape_list(t.shape)} and input of shape "
                f"{_shape_list(size)}")
    _check_dtypes(input, "GroupNormKernelImpl", weight, bias)
    return O.call(_native_group_norm, (input, weight, bias), (int(num_groups), float(eps)))


class GroupNorm(Module):
    _program_attributes_ = frozenset({"num_groups", "num_channels", "eps", "affine", "weight",
                                      "bias", "reset_parameters"})

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise value_error(f"num_channels ({num_channels}) must be divisible by "
                              f"num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, num_channels, affine, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm", "batch_norm", "group_norm",
           "layer_norm"]
