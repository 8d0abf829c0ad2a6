"""torch.nn.functional entries the nn layers need beyond gradcli's core set: leaky_relu,
binary_cross_entropy_with_logits, dropout and bilinear, each recorded as the ATen op
PyTorch 2.13 records (LeakyReluBackward0, BinaryCrossEntropyWithLogitsBackward0,
MulBackward0 for CPU dropout, TrilinearBackward0 under bilinear's views)."""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import op, save_inputs, save_self
from gradcli.autodiff.tensor import Tensor
from gradcli.autodiff.vocabulary import NumpyVocabulary
from gradcli.base.cascade_sum import torch_mean, torch_sum
from gradcli.base.errors import ProgramError, runtime_error, value_error
from gradcli.torch import functions as api


def _first_order_only(xp, name):
    if xp is not NumpyVocabulary:
        raise ProgramError("NotImplementedError",
                           f"gradcli cannot differentiate {name}'s backward (create_graph=True)")


# ----- leaky_relu ---------------------------------------------------------------------------


@op("leaky_relu", save=save_self)
def _leaky_relu(xs, p):
    x = xs[0]
    return np.where(x > 0, x, x * x.dtype.type(p))


@_leaky_relu.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    # leaky_relu_backward(grad, self, negative_slope): slope where self <= 0
    return (xp.where(xp.numpy(x) > 0, grad, grad * ctx.params),)


# leaky_relu_ has its own derivatives.yaml entry: LeakyReluBackward1
_leaky_relu_inplace = op("leaky_relu_", save=save_self)(_leaky_relu.forward)
_leaky_relu_inplace.derivative(_leaky_relu.backward)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    slope = float(negative_slope)
    if inplace:
        return api.inplace(input, lambda s: O.call(_leaky_relu_inplace, (s,), slope))
    return O.call(_leaky_relu, (input,), slope)


# ----- binary_cross_entropy_with_logits -----------------------------------------------------


def _log_sigmoid(x):
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


@op("binary_cross_entropy_with_logits", save=save_inputs)
def _bce_logits(xs, p):
    x, target = xs
    reduction, weight, pos_weight = p
    log_sig = _log_sigmoid(x)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * x - log_sig
    if weight is not None:
        loss = loss * weight
    if reduction == "mean":
        return torch_mean(loss)
    if reduction == "sum":
        return torch_sum(loss)
    return loss


@_bce_logits.derivative
def _(ctx, grad, xp):
    _first_order_only(xp, "binary_cross_entropy_with_logits")
    x, target = ctx.saved
    reduction, weight, pos_weight = ctx.params
    shape = np.broadcast_shapes(x.shape, target.shape)
    g = np.broadcast_to(grad, shape) if reduction != "none" else grad
    if reduction == "mean":
        g = g / max(int(np.prod(shape)), 1)
    sig = 1 / (1 + np.exp(-x))
    if pos_weight is not None:
        t = pos_weight * target
        grad_input = g * ((t + 1 - target) * sig - t)
    else:
        grad_input = g * (sig - target)
    if weight is not None:
        grad_input = grad_input * weight
    grad_target = None
    if ctx.needs[1]:
        grad_target = -x * g
        if pos_weight is not None:
            grad_target = grad_target - (pos_weight - 1) * _log_sigmoid(x) * g
        if weight is not None:
            grad_target = grad_target * weight
    return grad_input, grad_target


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    api._check_reduction(reduction)
    if input.shape != target.shape:
        raise value_error(
            f"Target size ({api.Size(target.shape)}) must be the same as input size "
            f"({api.Size(input.shape)})")
    w = weight.array if weight is not None else None
    pw = pos_weight.array if pos_weight is not None else None
    x = input.array
    t = api.cast(target, input.dtype) if target.dtype is not input.dtype else target.array
    return O.call(_bce_logits, (input, target), (reduction, w, pw), (x, t))


# ----- dropout ------------------------------------------------------------------------------


def dropout(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise value_error(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return api.mul(input, api.zeros_like(input))
    # CPU dropout: noise = empty_like(input).bernoulli_(1 - p); noise.div_(1 - p); input * noise
    from gradcli.torch.nn.init import _bernoulli_

    noise = _bernoulli_(Tensor(np.empty(input.shape, input.array.dtype)), 1 - p)
    noise.array /= noise.array.dtype.type(1 - p)
    if inplace:
        return api.mul_(input, noise)
    return api.mul(input, noise)


# ----- bilinear -----------------------------------------------------------------------------


@op("_trilinear", save=save_inputs)
def _trilinear(xs, p):
    x1, w, x2 = xs
    return np.einsum("na,oab,nb->no", x1, w, x2).astype(x1.dtype, copy=False)


@_trilinear.derivative
def _(ctx, grad, xp):
    _first_order_only(xp, "bilinear")
    x1, w, x2 = ctx.saved
    return (
        np.einsum("no,oab,nb->na", grad, w, x2) if ctx.needs[0] else None,
        np.einsum("no,na,nb->oab", grad, x1, x2) if ctx.needs[1] else None,
        np.einsum("no,oab,na->nb", grad, w, x1) if ctx.needs[2] else None,
    )


def bilinear(input1, input2, weight, bias=None):
    if input1.ndim != input2.ndim:
        raise runtime_error(
            f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    out_shape = tuple(input1.shape[:-1]) + (weight.shape[0],)
    flat1 = api.reshape(input1, (-1, input1.shape[-1]))
    flat2 = api.reshape(input2, (-1, input2.shape[-1]))
    out = api.reshape(O.call(_trilinear, (flat1, weight, flat2)), out_shape)
    return api.add(out, bias) if bias is not None else out


FUNCTIONAL_EXTRA = {
    "leaky_relu": leaky_relu,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "dropout": dropout,
    "bilinear": bilinear,
}
