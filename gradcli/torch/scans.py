"""Cumulative operations along a dimension: cumsum, cumprod, cummax, cummin, logcumsumexp
(ops beside PyTorch's formulas, then the torch functions with their dtypes and messages).

PyTorch's CPU kernels accumulate float32 in double and round each output once; so do these.
"""

from __future__ import annotations

import numpy as np

from gradcli.aten.ops import op, save_nothing, save_self_and_result
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.torch._common import as_dtype, call, cast, wrap_dim
from gradcli.torch.backward_ops import flip, scatter
from gradcli.torch.inplace import inplace
from gradcli.torch.pointwise_extra import _check_tensor, not_implemented
from gradcli.torch.reductions import ReturnTypes


def _accumulate(fn, x, dim):
    if x.dtype.kind == "f":
        return fn(x.astype(np.float64), axis=dim).astype(x.dtype)
    return fn(x, axis=dim)


def _axis(x, dim):
    """numpy's axis for a dim of a tensor that may be 0-d (which scans as one element)."""
    return dim if np.ndim(x) else None


# ----- cumsum: its gradient is the reversed cumulative sum of grad ---------------------


@op("cumsum", save=save_nothing)
def cumsum_op(xs, p):
    x = xs[0]
    if not x.ndim:
        return x.copy()
    return _accumulate(np.cumsum, x, p)


def reverse_cumsum(grad, dim, xp):
    """sum_{j >= k} grad_j along dim: PyTorch's flip(cumsum(flip(grad))), recorded over
    tensors (create_graph)."""
    if grad.__class__ is Tensor:
        if not grad.ndim:
            return grad
        return flip(call(cumsum_op, (flip(grad, dim),), dim), dim)
    g = np.asarray(grad)
    if not g.ndim:
        return g
    return np.flip(_accumulate(np.cumsum, np.flip(g, dim), dim), dim)


cumsum_op.derivative(lambda ctx, grad, xp: (reverse_cumsum(grad, ctx.params, xp),))


# ----- cumprod -------------------------------------------------------------------------


@op("cumprod", save=save_self_and_result)
def cumprod_op(xs, p):
    x = xs[0]
    if not x.ndim:
        return x.copy()
    return _accumulate(np.cumprod, x, p)


def _cumprod_grad_with_zeros(x, grad, dim):
    """d out_j / d x_k = prod_{i <= j, i != k} x_i (j >= k), summed against grad: exact when
    some x_i are zero, where result / x is not (O(n^2) along dim)."""
    x = np.moveaxis(x, dim, -1)
    g = np.moveaxis(grad, dim, -1)
    n = x.shape[-1]
    out = np.zeros_like(x)
    for k in range(n):
        prefix = np.prod(x[..., :k], axis=-1)
        running = prefix
        total = g[..., k] * running
        for j in range(k + 1, n):
            running = running * x[..., j]
            total = total + g[..., j] * running
        out[..., k] = total
    return np.moveaxis(out, -1, dim)


@cumprod_op.derivative
def _(ctx, grad, xp):
    self, result = ctx.saved
    dim = ctx.params
    array = xp.numpy(self)
    if not array.ndim:
        return (grad,)
    if np.all(array != 0):
        # without zeros: d/dx_k = sum_{j >= k} grad_j * out_j / x_k
        return (reverse_cumsum(grad * result, dim, xp) / self,)
    return (xp.constant(_cumprod_grad_with_zeros(
        array.astype(np.float64), np.asarray(xp.numpy(grad), np.float64), dim).astype(
            array.dtype)),)


# ----- cummax / cummin: the gradient goes to the index each output came from ------------


def _cum_extremum(x, dim, better):
    """Running extremum and where it was found: a later equal value takes over (PyTorch's
    `>=`), and a nan, once met, stays."""
    if not x.ndim:
        return x.copy(), np.zeros((), np.int64)
    moved = np.moveaxis(x, dim, -1)
    values = np.empty_like(moved)
    indices = np.empty(moved.shape, np.int64)
    best = moved[..., 0].copy()
    where = np.zeros(best.shape, np.int64)
    for k in range(moved.shape[-1]):
        current = moved[..., k]
        with np.errstate(invalid="ignore"):
            take = better(current, best)
        if moved.dtype.kind == "f":
            take = (take | np.isnan(current)) & ~np.isnan(best) if k else np.ones_like(take)
        take = take | (k == 0)
        best = np.where(take, current, best)
        where = np.where(take, k, where)
        values[..., k] = best
        indices[..., k] = where
    return np.moveaxis(values, -1, dim), np.moveaxis(indices, -1, dim)


def _cum_extremum_op(overload, better):
    @op(overload, save=save_nothing)
    def entry(xs, p):
        dim, out_indices = p
        values, indices = _cum_extremum(xs[0], dim, better)
        out_indices.append(indices)
        return values

    @entry.derivative
    def _(ctx, grad, xp):
        dim, out_indices = ctx.params
        indices = out_indices[0]
        if not indices.ndim:
            return (grad,)
        return (scatter(ctx.shapes[0], dim, indices, grad, add=True),)

    return entry


cummax_op = _cum_extremum_op("cummax", np.greater_equal)
cummin_op = _cum_extremum_op("cummin", np.less_equal)


# ----- logcumsumexp --------------------------------------------------------------------


@op("logcumsumexp", save=save_self_and_result)
def logcumsumexp_op(xs, p):
    x = xs[0]
    if not x.ndim:
        return x.copy()
    with np.errstate(all="ignore"):
        return np.logaddexp.accumulate(x.astype(np.float64), axis=p).astype(x.dtype)


@logcumsumexp_op.derivative
def _(ctx, grad, xp):
    self, result = ctx.saved
    dim = ctx.params
    if not xp.numpy(self).ndim:
        return (grad,)
    # d out_j / d x_k = exp(x_k - out_j) for j >= k
    return (xp.exp(self) * reverse_cumsum(grad * xp.exp(-result), dim, xp),)


# ----- the torch functions -------------------------------------------------------------


def _scan_dtype(input, dtype):
    dtype = as_dtype(dtype)
    if dtype is not None:
        return dtype
    # integer and bool scans accumulate in int64
    return input.dtype if input.dtype.category == dtypes.FLOATING else dtypes.int64


def cumsum(input, dim, *, dtype=None):
    _check_tensor("cumsum", input)
    d = wrap_dim(dim, input.ndim)
    return call(cumsum_op, (input,), d, (cast(input, _scan_dtype(input, dtype)),))


def cumprod(input, dim, *, dtype=None):
    _check_tensor("cumprod", input)
    d = wrap_dim(dim, input.ndim)
    return call(cumprod_op, (input,), d, (cast(input, _scan_dtype(input, dtype)),))


def _cum_extremum_function(entry, name):
    def apply(input, dim):
        _check_tensor(name, input)
        d = wrap_dim(dim, input.ndim)
        indices_out = []
        values = call(entry, (input,), (d, indices_out))
        return ReturnTypes(name, values, Tensor(indices_out[0], dtypes.int64))

    apply.__name__ = name
    return apply


cummax = _cum_extremum_function(cummax_op, "cummax")
cummin = _cum_extremum_function(cummin_op, "cummin")


def logcumsumexp(input, dim):
    _check_tensor("logcumsumexp", input)
    if input.dtype.category != dtypes.FLOATING:
        raise not_implemented("logcumsumexp_out_cpu", input.dtype)
    return call(logcumsumexp_op, (input,), wrap_dim(dim, input.ndim))


FUNCTIONS = {"cumsum": cumsum, "cumprod": cumprod, "cummax": cummax, "cummin": cummin,
             "logcumsumexp": logcumsumexp}
TENSOR_METHODS = dict(FUNCTIONS)
TENSOR_METHODS["cumsum_"] = lambda self, dim, *, dtype=None: inplace(
    self, lambda s: cumsum(s, dim, dtype=dtype))
TENSOR_METHODS["cumprod_"] = lambda self, dim, *, dtype=None: inplace(
    self, lambda s: cumprod(s, dim, dtype=dtype))
