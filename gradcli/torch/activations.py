"""F.gelu, F.leaky_relu, F.softplus, F.silu, F.binary_cross_entropy_with_logits, F.one_hot.

Each differentiable one is an entry of the op table (gradcli/aten/ops.py's `op`), so its node
has PyTorch's name; the backward of gelu, leaky_relu and softplus is itself an op
(`gelu_backward`, ...), as in PyTorch, so create_graph=True gives GeluBackwardBackward0.
float32 values are computed in float64 and rounded once.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import op, save_inputs, save_self
from gradcli.autodiff.tensor import Tensor
from gradcli.autodiff.vocabulary import NumpyVocabulary
from gradcli.base.cascade_sum import torch_mean, torch_sum
from gradcli.base.errors import runtime_error
from gradcli.base.fma import fma
from gradcli.torch import functions as api

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_erf = np.frompyfunc(math.erf, 1, 1)


def _f64(x):
    return np.asarray(x, np.float64)


def _like(value, x):
    return np.asarray(value).astype(np.result_type(x), copy=False)


def _aten_erf_f32(v):
    """erf as ATen's vectorized float kernel computes it (Vectorized<float>::erf): Abramowitz
    and Stegun 7.1.26 with fused multiply-adds, |error| < 1.5e-7. A one-element tensor takes
    the scalar path, std::erf."""
    f = np.float32
    v = np.asarray(v, np.float32)
    if v.size == 1:
        return _erf(_f64(v)).astype(np.float32)
    a = np.abs(v)
    t = f(1) / fma(f(0.3275911), a, f(1))
    r = fma(f(1.061405429), t, f(-1.453152027))
    for coefficient in (1.421413741, -0.284496736, 0.254829592):
        r = fma(r, t, f(coefficient))
    e = np.exp(_f64(-(v * v))).astype(np.float32)
    return np.copysign(fma(-e * t, r, f(1)), v)


def _gelu_parts_f32(x, approximate):
    """(y, dy/dx) of gelu for float32 the way ATen's CPU kernels (GeluKernel.cpp) compute it:
    in float32, step by step; the rounding matters where 1 + erf(x) cancels (x < -3)."""
    f = np.float32
    x = np.asarray(x, np.float32)
    if approximate == "tanh":
        beta, kappa = f(math.sqrt(2.0) * (2.0 / math.sqrt(math.pi)) * 0.5), f(0.044715)
        t = np.tanh(beta * (x + kappa * (x * x * x)))
        y = f(0.5) * x * (f(1) + t)
        # gelu_backward's tanh branch
        left, right = f(0.5) * x, f(1) + t
        left_derivative, tanh_derivative = f(0.5) * right, f(1) - t * t
        inner_derivative = beta * (f(1) + f(3) * kappa * x * x)
        return y, left_derivative + left * tanh_derivative * inner_derivative
    erf = _aten_erf_f32(x * f(math.sqrt(0.5)))
    y = x * f(0.5) * (f(1) + erf)
    cdf = f(0.5) * (f(1) + erf)
    pdf = f((2.0 / math.sqrt(math.pi)) * math.sqrt(0.5) * 0.5) * np.exp(x * x * f(-0.5))
    return y, cdf + x * pdf


def _gelu_parts(x, approximate):
    """(y, dy/dx) of gelu in float64 (float32: as ATen rounds)."""
    if np.result_type(x) == np.float32:
        return _gelu_parts_f32(x, approximate)
    x = _f64(x)
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
        t = np.tanh(inner)
        y = 0.5 * x * (1 + t)
        dy = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return y, dy
    cdf = 0.5 * (1 + _erf(x / math.sqrt(2.0)).astype(np.float64))
    pdf = np.exp(-0.5 * x * x) * _INV_SQRT_2PI
    return x * cdf, cdf + x * pdf


def _gelu_second(x, approximate):
    """d2/dx2 gelu, for gelu_backward's own derivative."""
    x = _f64(x)
    if approximate == "tanh":
        h = 1e-4  # PyTorch's tanh formula differentiated numerically is not needed: exact below
        k = _SQRT_2_OVER_PI
        inner = k * (x + 0.044715 * x ** 3)
        t = np.tanh(inner)
        d_inner = k * (1 + 3 * 0.044715 * x * x)
        dd_inner = k * 6 * 0.044715 * x
        sech2 = 1 - t * t
        del h
        return sech2 * d_inner + 0.5 * x * (-2 * t * sech2 * d_inner * d_inner + sech2 * dd_inner)
    pdf = np.exp(-0.5 * x * x) * _INV_SQRT_2PI
    return pdf * (2 - x * x)


@op("gelu", save=save_self)
def gelu_op(xs, p):
    return _like(_gelu_parts(xs[0], p)[0], xs[0])


@gelu_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    if xp is NumpyVocabulary:
        return (grad * _like(_gelu_parts(x, ctx.params)[1], x),)
    return (O.call(gelu_backward_op, (grad, x), ctx.params),)


@op("gelu_backward", save=save_inputs)
def gelu_backward_op(xs, p):
    grad, x = xs
    return grad * _like(_gelu_parts(x, p)[1], x)


@gelu_backward_op.derivative
def _(ctx, gg, xp):
    grad, x = ctx.saved
    xa = x.array if x.__class__ is Tensor else x
    first = _like(_gelu_parts(xa, ctx.params)[1], xa)
    second = _like(_gelu_second(xa, ctx.params), xa)
    if xp is NumpyVocabulary:
        return gg * first, gg * grad * second
    return api.mul(gg, Tensor(first)), api.mul(api.mul(gg, grad), Tensor(second))


@op("leaky_relu", save=save_self)
def leaky_relu_op(xs, p):
    x = xs[0]
    return np.where(x > 0, x, x * np.asarray(p, x.dtype))


@leaky_relu_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    if xp is NumpyVocabulary:
        return (np.where(x > 0, grad, grad * np.asarray(ctx.params, grad.dtype)),)
    return (O.call(leaky_relu_backward_op, (grad, x), ctx.params),)


@op("leaky_relu_backward", save=save_inputs)
def leaky_relu_backward_op(xs, p):
    grad, x = xs
    return np.where(x > 0, grad, grad * np.asarray(p, grad.dtype))


@leaky_relu_backward_op.derivative
def _(ctx, gg, xp):
    _, x = ctx.saved
    xa = x.array if x.__class__ is Tensor else x
    slope = np.where(xa > 0, 1.0, ctx.params).astype(xa.dtype)
    if xp is NumpyVocabulary:
        return gg * slope, np.zeros_like(xa)
    return api.mul(gg, Tensor(slope)), api.zeros_like(x)


def _softplus_slope(x, beta, threshold):
    z = np.exp(_f64(x) * beta)
    return np.where(_f64(x) * beta > threshold, 1.0, z / (z + 1))


@op("softplus", save=save_self)
def softplus_op(xs, p):
    beta, threshold = p
    x = _f64(xs[0])
    y = np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)
    return _like(y, xs[0])


@softplus_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    if xp is NumpyVocabulary:
        return (grad * _like(_softplus_slope(x, *ctx.params), x),)
    return (O.call(softplus_backward_op, (grad, x), ctx.params),)


@op("softplus_backward", save=save_inputs)
def softplus_backward_op(xs, p):
    grad, x = xs
    return grad * _like(_softplus_slope(x, *p), x)


@softplus_backward_op.derivative
def _(ctx, gg, xp):
    grad, x = ctx.saved
    xa = x.array if x.__class__ is Tensor else x
    beta, threshold = ctx.params
    s = _softplus_slope(xa, beta, threshold)
    first = _like(s, xa)
    second = _like(np.where(_f64(xa) * beta > threshold, 0.0, beta * s * (1 - s)), xa)
    if xp is NumpyVocabulary:
        return gg * first, gg * grad * second
    return api.mul(gg, Tensor(first)), api.mul(api.mul(gg, grad), Tensor(second))


def _sigmoid64(x):
    x = _f64(x)
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) /
                    (1 + np.exp(-np.abs(x))))


@op("silu", save=save_self)
def silu_op(xs, p):
    x = xs[0]
    return _like(_f64(x) * _sigmoid64(x), x)


@silu_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    if xp is NumpyVocabulary:
        s = _sigmoid64(x)
        return (grad * _like(s * (1 + _f64(x) * (1 - s)), x),)
    # PyTorch's formula in differentiable ops: grad * s * (1 + x * (1 - s))
    s = api.sigmoid(x)
    return (api.mul(api.mul(grad, s), api.add(api.mul(x, api.rsub(s, 1)), 1)),)


def _bce_logits_parts(x, t, weight, pos_weight):
    x64, t64 = _f64(x), _f64(t)
    softplus_neg = np.log1p(np.exp(-np.abs(x64))) + np.maximum(-x64, 0)  # log(1 + e^-x)
    if pos_weight is not None:
        log_weight = (_f64(pos_weight) - 1) * t64 + 1
        loss = (1 - t64) * x64 + log_weight * softplus_neg
    else:
        loss = (1 - t64) * x64 + softplus_neg
    if weight is not None:
        loss = loss * _f64(weight)
    return loss


@op("binary_cross_entropy_with_logits", save=save_inputs)
def bce_with_logits_op(xs, p):
    x, t = xs[0], xs[1]
    weight = xs[2] if len(xs) > 2 else None
    pos_weight = xs[3] if len(xs) > 3 else None
    loss = _bce_logits_parts(x, t, weight, pos_weight)
    if p == "mean":
        loss = torch_mean(loss)
    elif p == "sum":
        loss = torch_sum(loss)
    return _like(loss, x)


@bce_with_logits_op.derivative
def _(ctx, grad, xp):
    saved = [s.array if s.__class__ is Tensor else s for s in ctx.saved]
    x, t = _f64(saved[0]), _f64(saved[1])
    weight = saved[2] if len(saved) > 2 else None
    pos_weight = saved[3] if len(saved) > 3 else None
    s = _sigmoid64(x)
    if pos_weight is not None:
        pt = _f64(pos_weight) * t
        d_x = (pt + 1 - t) * s - pt
        # loss = (1 - t) x + (1 + (pw - 1) t) log(1 + e^-x): d/dt = -x + (pw - 1) log(1 + e^-x)
        d_t = -x + (_f64(pos_weight) - 1) * (np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0))
    else:
        d_x = s - t
        d_t = -x
    if weight is not None:
        d_x, d_t = d_x * _f64(weight), d_t * _f64(weight)
    scale = 1.0 / max(x.size, 1) if ctx.params == "mean" else 1.0
    g = grad.array if grad.__class__ is Tensor else grad
    gx = _like(d_x * scale, saved[0]) * g
    gt = _like(d_t * scale, saved[0]) * g if ctx.needs[1] else None
    if xp is not NumpyVocabulary:
        gx = Tensor(np.asarray(gx))
        gt = None if gt is None else Tensor(np.asarray(gt))
    return (gx, gt) + (None,) * (len(saved) - 2)


# ----- the functions ------------------------------------------------------------------


def _float_input(name, input):
    if input.__class__ is not Tensor:
        from gradcli.base.errors import type_error

        raise type_error(
            f"{name}(): argument 'input' (position 1) must be Tensor, not "
            f"{type(input).__name__}")
    return input


def gelu(input, approximate="none"):
    _float_input("gelu", input)
    if approximate not in ("none", "tanh"):
        raise runtime_error("approximate argument must be either none or tanh.")
    return O.call(gelu_op, (input,), approximate)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _float_input("leaky_relu", input)
    return O.call(leaky_relu_op, (input,), float(negative_slope))


def softplus(input, beta=1.0, threshold=20.0):
    _float_input("softplus", input)
    return O.call(softplus_op, (input,), (beta, threshold))


def silu(input, inplace=False):
    _float_input("silu", input)
    if inplace:
        return api.inplace(input, lambda s: O.call(silu_op, (s,)))
    return O.call(silu_op, (input,))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    if target.shape != input.shape:
        raise api_value_error(
            f"Target size ({_size(target.shape)}) must be the same as input size "
            f"({_size(input.shape)})")
    inputs = (input, target)
    if weight is not None or pos_weight is not None:
        inputs += (weight,)
    if pos_weight is not None:
        inputs += (pos_weight,)
    return O.call(bce_with_logits_op, inputs, reduction)


def api_value_error(message):
    from gradcli.base.errors import value_error

    return value_error(message)


def _size(shape):
    return f"torch.Size([{', '.join(str(s) for s in shape)}])"


def one_hot(tensor, num_classes=-1):
    if tensor.dtype.name != "int64":
        raise runtime_error("one_hot is only applicable to index tensor of type LongTensor.")
    values = tensor.array
    if values.size and values.min() < 0:
        raise runtime_error("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(values.max()) + 1 if values.size else 0
    elif values.size and values.max() >= num_classes:
        raise runtime_error("Class values must be smaller than num_classes.")
    out = (values[..., None] == np.arange(num_classes)).astype(np.int64)
    return Tensor(out)


FUNCTIONAL_MEMBERS = {
    "gelu": gelu, "leaky_relu": leaky_relu, "softplus": softplus, "silu": silu,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits, "one_hot": one_hot,
}
__all__ = ["FUNCTIONAL_MEMBERS", "api"]
