"""The losses and distances beyond nn_functions.py: F.smooth_l1_loss, F.huber_loss,
F.soft_margin_loss (each its own ATen node, with its backward an op too, so create_graph=True
gives SmoothL1LossBackwardBackward0), and the ones PyTorch 2.13 composes of other ops, built
the same way here so the graph shows the same nodes: F.kl_div, F.margin_ranking_loss,
F.hinge_embedding_loss, F.cosine_embedding_loss, F.poisson_nll_loss, F.gaussian_nll_loss,
F.cosine_similarity, F.pairwise_distance, F.normalize.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import op, save_inputs
from gradcli.autodiff.tensor import Tensor
from gradcli.autodiff.vocabulary import NumpyVocabulary
from gradcli.base import diagnostics
from gradcli.base.cascade_sum import torch_mean, torch_sum
from gradcli.base.errors import runtime_error, value_error
from gradcli.torch import functions as api
from gradcli.torch.nn_functions import _check_reduction


def _f64(x):
    return np.asarray(x.array if x.__class__ is Tensor else x, np.float64)


def _dtype_of(*xs):
    return np.result_type(*[x.array if x.__class__ is Tensor else x for x in xs])


def _reduce(loss, reduction):
    if reduction == "mean":
        return torch_mean(loss)
    if reduction == "sum":
        return torch_sum(loss)
    return loss


def _norm(reduction, shape):
    """1/N for a mean, 1 otherwise: what PyTorch's loss backward kernels scale by."""
    return 1.0 / max(math.prod(shape), 1) if reduction == "mean" else 1.0


# ----- pointwise losses of d = input - target, with a backward op ----------------------------


def _difference_loss(overload, backward_overload, value, slope, curvature):
    """loss(input, target) = reduce(value(input - target)); its backward op
    `<loss>_backward(grad, self, target)` = grad * slope(self - target) * norm, which PyTorch
    also uses for the target's gradient with self and target swapped."""

    @op(overload, save=save_inputs)
    def loss_op(xs, p):
        x, t = xs
        reduction, param = p
        dtype = _dtype_of(x, t)
        return _reduce(value(_f64(x) - _f64(t), param).astype(dtype), reduction)

    def backward_forward(xs, p):
        grad, x, t = xs
        reduction, param = p
        dtype = _dtype_of(x, t)
        shape = np.broadcast_shapes(np.shape(x), np.shape(t))
        local = (slope(_f64(x) - _f64(t), param) * _norm(reduction, shape)).astype(dtype)
        return np.asarray(grad, dtype) * local

    backward_op = op(backward_overload, save=save_inputs)(backward_forward)

    @loss_op.derivative
    def _(ctx, grad, xp):
        x, t = ctx.saved
        if xp is NumpyVocabulary:
            g = backward_forward((grad, x, t), ctx.params)
            return g, (backward_forward((grad, t, x), ctx.params) if ctx.needs[1] else None)
        return (O.call(backward_op, (grad, x, t), ctx.params),
                O.call(backward_op, (grad, t, x), ctx.params) if ctx.needs[1] else None)

    @backward_op.derivative
    def _(ctx, gg, xp):
        grad, x, t = ctx.saved
        reduction, param = ctx.params
        dtype = _dtype_of(x, t)
        shape = np.broadcast_shapes(np.shape(x), np.shape(t))
        norm = _norm(reduction, shape)
        diff = _f64(x) - _f64(t)
        first = (slope(diff, param) * norm).astype(dtype)
        second = (curvature(diff, param) * norm).astype(dtype)
        if xp is NumpyVocabulary:
            d_x = gg * np.asarray(grad, dtype) * second
            return gg * first, d_x, -d_x
        d_x = api.mul(api.mul(gg, grad), Tensor(second))
        return api.mul(gg, Tensor(first)), d_x, api.neg(d_x)

    return loss_op


def _smooth_l1_value(d, beta):
    z = np.abs(d)
    return np.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)


def _smooth_l1_slope(d, beta):
    return np.where(d < -beta, -1.0, np.where(d > beta, 1.0, d / beta))


def _smooth_l1_curvature(d, beta):
    # smooth_l1_loss_double_backward: zero on the kinks |d| == beta
    return np.where((d > -beta) & (d < beta), 1.0 / beta, 0.0)


def _huber_value(d, delta):
    z = np.abs(d)
    return np.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))


def _huber_slope(d, delta):
    return np.clip(d, -delta, delta)


def _huber_curvature(d, delta):
    return np.where((d > -delta) & (d < delta), 1.0, 0.0)


smooth_l1_loss_op = _difference_loss("smooth_l1_loss", "smooth_l1_loss_backward",
                                     _smooth_l1_value, _smooth_l1_slope, _smooth_l1_curvature)
huber_loss_op = _difference_loss("huber_loss", "huber_loss_backward", _huber_value,
                                 _huber_slope, _huber_curvature)


# ----- soft_margin_loss: log(1 + exp(-y x)) ---------------------------------------------------


def _soft_margin_slope(x, y):
    # d/dx log(1 + exp(-y x)) = -y exp(-y x) / (1 + exp(-y x)) = -y sigmoid(-y x)
    z = -y * x
    return -y * np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


# The target is not differentiable (derivatives.yaml lists self only): it rides in the
# params, (reduction, target), so the node has one edge as PyTorch's has.


@op("soft_margin_loss", save=save_inputs)
def soft_margin_loss_op(xs, p):
    (x,) = xs
    reduction, y = p
    dtype = _dtype_of(x, y)
    loss = np.log1p(np.exp(-_f64(y) * _f64(x))).astype(dtype)
    return _reduce(loss, reduction)


@op("soft_margin_loss_backward", save=save_inputs)
def soft_margin_loss_backward_op(xs, p):
    grad, x = xs
    reduction, y = p
    dtype = _dtype_of(x, y)
    shape = np.broadcast_shapes(np.shape(x), np.shape(y))
    local = (_soft_margin_slope(_f64(x), _f64(y)) * _norm(reduction, shape)).astype(dtype)
    return np.asarray(grad, dtype) * local


@soft_margin_loss_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    if xp is NumpyVocabulary:
        return (soft_margin_loss_backward_op.forward((grad, x), ctx.params),)
    return (O.call(soft_margin_loss_backward_op, (grad, x), ctx.params),)


@soft_margin_loss_backward_op.derivative
def _(ctx, gg, xp):
    grad, x = ctx.saved
    reduction, y = ctx.params
    dtype = _dtype_of(x, y)
    shape = np.broadcast_shapes(np.shape(x), np.shape(y))
    norm = _norm(reduction, shape)
    x64, y64 = _f64(x), _f64(y)
    s = -_soft_margin_slope(x64, y64) * y64  # sigmoid(-y x)
    first = (_soft_margin_slope(x64, y64) * norm).astype(dtype)
    second = (y64 * y64 * s * (1 - s) * norm).astype(dtype)
    if xp is NumpyVocabulary:
        return gg * first, gg * np.asarray(grad, dtype) * second
    return api.mul(gg, Tensor(first)), api.mul(api.mul(gg, grad), Tensor(second))


# ----- the scalar forms the composite losses record (AddBackward1, SubBackward1, ...) -------


def _scalar_like(x, value):
    return np.asarray(value, np.result_type(x))


@op("add.Scalar")
def add_scalar_op(xs, p):
    return xs[0] + _scalar_like(xs[0], p)


add_scalar_op.derivative(lambda ctx, grad, xp: (grad,))


@op("sub.Scalar")
def sub_scalar_op(xs, p):
    return xs[0] - _scalar_like(xs[0], p)


sub_scalar_op.derivative(lambda ctx, grad, xp: (grad,))


@op("clamp_min", save=lambda inputs, out, p, needs: (inputs[0],))
def clamp_min_op(xs, p):
    return np.maximum(xs[0], _scalar_like(xs[0], p))


@clamp_min_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    keep = xp.numpy(x) >= _scalar_like(xp.numpy(x), ctx.params)
    return (xp.where(keep, grad, xp.zeros_like(grad)),)


# at::norm(self, p, dim, keepdim), which pairwise_distance calls: linalg_vector_norm's
# numbers under its own node, NormBackward1
norm_dim_op = op("norm.ScalarOpt_dim", save=O.vector_norm.save)(O.vector_norm.forward)
norm_dim_op.derivative(O.vector_norm.backward)


def _wrapped(value, like):
    """C++'s `number - tensor`: the number as a 0-d tensor, an input with no edge."""
    return Tensor(np.asarray(value, like.array.dtype))


def _plus(x, value):
    return O.call(add_scalar_op, (x,), value)


def _minus(x, value):
    return O.call(sub_scalar_op, (x,), value)


def _clamp_min(x, value):
    return O.call(clamp_min_op, (x,), value)


# ----- the functions ------------------------------------------------------------------------


def _warn_target_size(input, target):
    if input.shape != target.shape:
        diagnostics.warn(
            f"Using a target size ({api.Size(target.shape)}) that is different to the input "
            f"size ({api.Size(input.shape)}). This will likely lead to incorrect results due "
            "to broadcasting. Please ensure they have the same size.")


def _broadcast_pair(a, b, both=False):
    """torch.broadcast_tensors: each tensor whose shape differs is expanded (ExpandBackward0);
    ATen's expand_outplace (`both`) expands both once the shapes differ."""
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise api.broadcast_error(a.shape, b.shape) from None
    differ = a.shape != b.shape
    if a.shape != shape or (both and differ):
        a = api.expand(a, *shape)
    if b.shape != shape or (both and differ):
        b = api.expand(b, *shape)
    return a, b


def _difference_call(entry, input, target, reduction, param):
    _warn_target_size(input, target)
    input, target = _broadcast_pair(input, target)
    return O.call(entry, (input, target), (reduction, float(param)))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _check_reduction(reduction)
    if beta < 0:
        raise runtime_error("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        _warn_target_size(input, target)
        input, target = _broadcast_pair(input, target)
        return api.l1_loss(input, target, reduction=reduction)
    return _difference_call(smooth_l1_loss_op, input, target, reduction, beta)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    _check_reduction(reduction)
    if delta <= 0:
        raise runtime_error("huber_loss does not support non-positive values for delta.")
    if weight is None:
        return _difference_call(huber_loss_op, input, target, reduction, delta)
    # torch.nn.functional.huber_loss with a weight: the unreduced loss times the weight
    if weight.shape != input.shape:
        raise value_error("Weights and input must have the same size.")
    weighted = api.mul(_difference_call(huber_loss_op, input, target, "none", delta), weight)
    return _reduced(weighted, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _check_reduction(reduction)
    if target.requires_grad:
        raise runtime_error(
            "The function 'soft_margin_loss' is not differentiable with respect to argument "
            "'target'. This input cannot have requires_grad True.")
    y = api.cast(target, input.dtype) if target.dtype is not input.dtype else target.array
    return O.call(soft_margin_loss_op, (input,), (reduction, y))


def _reduced(loss, reduction):
    if reduction == "mean":
        return api.mean(loss)
    if reduction == "sum":
        return api.sum(loss)
    return loss


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    # torch.nn.functional.kl_div: reduction_enum of "batchmean" is "sum", then / batch size
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise value_error(f"{reduction} is not a valid value for reduction")
    if reduction == "mean":
        diagnostics.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.")
    # aten::kl_div: log_target ? exp(target) * (target - input)
    #                          : xlogy(target, target) - target * input
    if log_target:
        loss = api.mul(api.exp(target), api.sub(target, input))
    else:
        loss = api.sub(_xlogy_self(target), api.mul(target, input))
    if reduction == "batchmean":
        total = api.sum(loss)
        return api.div(total, input.shape[0]) if input.ndim != 0 else total
    return _reduced(loss, reduction)


def _xlogy(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x == 0, 0, x * np.log(np.where(x == 0, 1, y)))
    return np.where(np.isnan(y), np.nan, out)


@op("xlogy.Tensor", save=save_inputs)
def xlogy_op(xs, p):
    x, y = xs
    return _xlogy(_f64(x), _f64(y)).astype(_dtype_of(x, y))


@xlogy_op.derivative
def _(ctx, grad, xp):
    # derivatives.yaml: self: grad * at::xlogy((self != 0), other); other: grad * self / other
    x, y = ctx.saved
    xa, ya = xp.numpy(x), xp.numpy(y)
    dtype = _dtype_of(xa, ya)
    d_x = _xlogy((xa != 0).astype(np.float64), _f64(ya)).astype(dtype)
    if xp is NumpyVocabulary:
        return (grad * d_x if ctx.needs[0] else None,
                grad * x / y if ctx.needs[1] else None)
    return (api.mul(grad, Tensor(d_x)) if ctx.needs[0] else None,
            api.div(api.mul(grad, x), y) if ctx.needs[1] else None)


def _xlogy_self(t):
    """xlogy(target, target): a constant unless the target requires grad (XlogyBackward0)."""
    if t.requires_grad:
        return O.call(xlogy_op, (t, t))
    values = t.array
    return Tensor(_xlogy(values, values).astype(values.dtype, copy=False))


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    _check_reduction(reduction)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise runtime_error(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {api.Size(input1.shape)}, input2: {api.Size(input2.shape)}, target: "
            f"{api.Size(target.shape)} ")
    # aten::margin_ranking_loss: (-target * (input1 - input2) + margin).clamp_min(0)
    loss = _clamp_min(_plus(api.mul(api.neg(target), api.sub(input1, input2)), margin), 0)
    return _reduced(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    _check_reduction(reduction)
    # aten::hinge_embedding_loss
    zeros = api.zeros_like(input)
    margin_clamp = _clamp_min(api.sub(_wrapped(margin, input), input), 0)
    output_margin = api.where(api.ne(target, 1), margin_clamp, zeros)
    output_self = api.where(api.ne(target, -1), input, zeros)
    return _reduced(api.add(output_margin, output_self), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    _check_reduction(reduction)
    # aten::poisson_nll_loss
    if log_input:
        loss = api.sub(api.exp(input), api.mul(target, input))
    else:
        loss = api.sub(input, api.mul(target, api.log(_plus(input, eps))))
    if full:
        t = target.array.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            stirling = t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t)
        stirling = np.where(t > 1, stirling, 0.0).astype(target.array.dtype)
        loss = api.add(loss, Tensor(stirling))
    return _reduced(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    _check_reduction(reduction)
    # aten::cosine_embedding_loss
    if target.ndim not in (0, 1):
        raise runtime_error("0D or 1D target tensor expected, multi-target not supported")
    if target.ndim == 1 and not (input1.ndim == 2 and input2.ndim == 2):
        raise runtime_error(
            "1D target tensor expects 2D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}.")
    if target.ndim == 0 and not (input1.ndim == 1 and input2.ndim == 1):
        raise runtime_error(
            "0D target tensor expects 1D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}.")
    dim = target.ndim
    epsilon = 1e-12
    prod_sum = api.sum(api.mul(input1, input2), dim)
    mag_square1 = _plus(api.sum(api.mul(input1, input1), dim), epsilon)
    mag_square2 = _plus(api.sum(api.mul(input2, input2), dim), epsilon)
    denom = api.sqrt(api.mul(mag_square1, mag_square2))
    cos = api.div(prod_sum, denom)
    zeros = api.zeros_like(cos)
    pos = api.sub(_wrapped(1, cos), cos)
    neg = _clamp_min(_minus(cos, margin), 0)
    output_pos = api.where(api.eq(target, 1), pos, zeros)
    output_neg = api.where(api.eq(target, -1), neg, zeros)
    return _reduced(api.add(output_pos, output_neg), reduction)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    # aten::cosine_similarity: each input over its (clamped) norm, then the sum of products
    x1, x2 = _broadcast_pair(x1, x2, both=True)
    d = dim + x1.ndim if dim < 0 else dim
    if not 0 <= d < max(x1.ndim, 1):
        raise api_index_error(dim, x1.ndim)
    norms = []
    for x in (x1, x2):
        n = api.clone(api.norm(x, 2, d, True))
        n.array = np.maximum(n.array, np.asarray(eps, n.array.dtype))  # clamp_min_ under no_grad
        norms.append(n)
    return api.sum(api.mul(api.div(x1, norms[0]), api.div(x2, norms[1])), d)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    # aten::pairwise_distance: norm(x1 - x2 + eps, p, innermost dim, keepdim)
    output_dim = max(x1.ndim, x2.ndim)
    innermost = output_dim - 1
    difference = _plus(api.sub(x1, x2), eps)
    if output_dim == 0:
        return O.call(norm_dim_op, (difference,), (float(p), None, keepdim))
    return O.call(norm_dim_op, (difference,), (float(p), (innermost,), keepdim))


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    # torch.nn.functional.normalize: input / input.norm(p, dim, keepdim=True).clamp_min(eps)
    denom = api.expand_as(_clamp_min(api.norm(input, p, dim, True), eps), input)
    return api.div(input, denom)


def api_index_error(dim, ndim):
    from gradcli.base.errors import index_error

    low, high = (-ndim, ndim - 1) if ndim else (-1, 0)
    return index_error(
        f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    # torch.nn.functional.gaussian_nll_loss (Python)
    if isinstance(var, (int, float)):
        var = api.full_like(input, float(var))
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = api.unsqueeze(var, -1)
        elif input.shape[:-1] == var.shape[:-1] and var.shape[-1] == 1:
            pass
        else:
            raise value_error("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise value_error(reduction + " is not valid")
    if (var.array < 0).any():
        raise value_error("var has negative entry/entries")
    var = api.clone(var)
    var.array = np.maximum(var.array, np.asarray(eps, var.array.dtype))  # clamp_ under no_grad
    loss = api.mul(api.add(api.log(var), api.div(api.pow(api.sub(input, target), 2), var)), 0.5)
    if full:
        loss = api.add(loss, 0.5 * math.log(2 * math.pi))
    return _reduced(loss, reduction)


FUNCTIONAL_LOSSES = {
    "cosine_embedding_loss": cosine_embedding_loss, "cosine_similarity": cosine_similarity,
    "pairwise_distance": pairwise_distance, "normalize": normalize,
    "gaussian_nll_loss": gaussian_nll_loss,
    "smooth_l1_loss": smooth_l1_loss, "huber_loss": huber_loss,
    "soft_margin_loss": soft_margin_loss, "kl_div": kl_div,
    "margin_ranking_loss": margin_ranking_loss, "hinge_embedding_loss": hinge_embedding_loss,
    "poisson_nll_loss": poisson_nll_loss,
}
TORCH_LOSSES = {
    "cosine_embedding_loss": cosine_embedding_loss, "cosine_similarity": cosine_similarity,
    "pairwise_distance": pairwise_distance,
    "kl_div": kl_div, "margin_ranking_loss": margin_ranking_loss,
    "hinge_embedding_loss": hinge_embedding_loss, "poisson_nll_loss": poisson_nll_loss,
}
