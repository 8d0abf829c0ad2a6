"""Reductions beyond the core set: nansum, nanmean, count_nonzero, std_mean, var_mean,
aminmax, diff, trace, trapezoid/trapz.

std_mean, var_mean and aminmax return two tensors from one node (StdMeanBackward0 and
the others have an output per result, as unbind's node has one per slice): the node keeps
one gradient slot per output and runs once with both.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import Op, op, restore_dims, save_self
from gradcli.autodiff.node import edge_to
from gradcli.autodiff.saved import SavedResult
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base import diagnostics, dtypes
from gradcli.base.cascade_sum import torch_sum
from gradcli.base.errors import index_error, runtime_error
from gradcli.torch import creation
from gradcli.torch import pointwise as P
from gradcli.torch import shape as shapes
from gradcli.torch._common import _dtype_name, as_dtype, call, cast, wrap_dim, wrap_dims
from gradcli.torch.pointwise_extra import _check_tensor, logical_xor
from gradcli.torch.reductions import ReturnTypes, _correction, sum
from gradcli.torch.unbind import UnbindNode

# ----- nansum / nanmean ------------------------------------------------------------------


@op("nansum", save=save_self)
def nansum_op(xs, p):
    dims, keepdim = p
    x = xs[0]
    if x.dtype.kind == "f":
        x = np.where(np.isnan(x), x.dtype.type(0), x)
    return torch_sum(x, axis=dims, keepdims=keepdim)


@nansum_op.derivative
def _(ctx, grad, xp):
    (self,) = ctx.saved
    dims, keepdim = ctx.params
    grad = xp.expand(restore_dims(grad, dims, keepdim, xp), ctx.shapes[0])
    return (xp.where(np.isnan(xp.numpy(self)), 0.0, grad),)


def _dims(input, dim):
    if dim is None or (not isinstance(dim, int) and len(dim) == 0):
        return None
    return wrap_dims(dim, input.ndim)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    _check_tensor("nansum", input)
    out_dtype = as_dtype(dtype) or (input.dtype if input.dtype.category == dtypes.FLOATING
                                    else dtypes.int64)
    return call(nansum_op, (input,), (_dims(input, dim), bool(keepdim)),
                (cast(input, out_dtype),))


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    _check_tensor("nanmean", input)
    if input.dtype.category != dtypes.FLOATING:
        raise runtime_error("nanmean(): expected input to have floating point or complex "
                            f"dtype but got {_dtype_name(input.dtype)}")
    # PyTorch: nansum(self, dim) / (number of non-nan elements): a division by a tensor
    dims = _dims(input, dim)
    count = np.sum(~np.isnan(input.array), axis=dims, keepdims=bool(keepdim))
    return P.div(nansum(input, dim, keepdim, dtype=dtype), Tensor(np.asarray(count, np.int64)))


def count_nonzero(input, dim=None):
    _check_tensor("count_nonzero", input)
    dims = None if dim is None else wrap_dims(dim, input.ndim)
    return Tensor(np.asarray(np.count_nonzero(input.array, axis=dims), np.int64), dtypes.int64)


# ----- one node, two outputs -------------------------------------------------------------


def _two_outputs(entry: Op, input: Tensor, first, second, params, saves=(True, True)):
    """(first, second) as outputs 0 and 1 of one recorded node of `entry`. The node saves
    the input and the outputs `saves` names (an in-place write to a saved output makes
    backward fail, as in PyTorch)."""
    dtype = input.dtype
    if not (GradMode.enabled and input.requires_grad and dtype.category == dtypes.FLOATING):
        return Tensor(first, dtype), Tensor(second, dtype)
    node = UnbindNode(entry, (edge_to(input),), (), None, params, ((input.shape, dtype),),
                      (True,))
    node.expect(2)
    O.set_flags(multi_output=True)
    outputs = (Tensor(first, dtype, True, node), Tensor(second, dtype, True, node))
    for slot, output in enumerate(outputs):
        node.bind(slot, output)
    node.saved = (input,) + tuple(SavedResult(array, output, slot) if keep else array
                                  for slot, (array, output, keep) in enumerate(
                                      zip((first, second), outputs, saves, strict=True)))
    node.saved_versions = (input.version[0], None, None)
    return outputs


def _array(value):
    return value.array if value.__class__ is Tensor else value


def _slots(grads):
    if not isinstance(grads, list):  # a hook or a root handed one gradient
        return [grads, None]
    return grads


def _var_grad(grad, self, dims, correction, keepdim, xp):
    n = math.prod(self.shape[d] for d in dims) if dims is not None else self.size
    centred = self - xp.mean(self, dims, True)
    return restore_dims(grad, dims, keepdim, xp) * 2 * centred / (n - correction)


def _mean_grad(grad, self, dims, keepdim, xp):
    n = math.prod(self.shape[d] for d in dims) if dims is not None else self.size
    return xp.expand(restore_dims(grad, dims, keepdim, xp) / n, self.shape)


def _moments_backward(take_root):
    def backward(ctx, grads, xp):
        first_grad, mean_grad = _slots(grads)
        self, first, _ = ctx.saved
        dims, correction, keepdim = ctx.params
        total = None
        if first_grad is not None:
            if take_root:  # d std = d var / (2 std); 0 where std is 0
                std = restore_dims(xp.constant(_array(first)), dims, keepdim, xp)
                g = restore_dims(first_grad, dims, keepdim, xp)
                total = xp.where(xp.numpy(std) == 0, 0.0, _var_grad(
                    g, self, dims, correction, True, xp) / (std * 2))
            else:
                total = _var_grad(first_grad, self, dims, correction, keepdim, xp)
        if mean_grad is not None:
            part = _mean_grad(mean_grad, self, dims, keepdim, xp)
            total = part if total is None else total + part
        return (total,)

    return backward


STD_MEAN = Op("std_mean.correction", None, None, False)
VAR_MEAN = Op("var_mean.correction", None, None, False)
STD_MEAN.backward = _moments_backward(True)
VAR_MEAN.backward = _moments_backward(False)


def _moments(input, dim, unbiased, keepdim, correction, name):
    _check_tensor(name, input)
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if input.dtype.category != dtypes.FLOATING:
        raise runtime_error(f"{name} only support floating point and complex dtypes")
    dims = _dims(input, dim)
    c = _correction(unbiased, correction)
    count = math.prod(input.shape[d] for d in dims) if dims is not None else input.array.size
    if count - c <= 0:
        diagnostics.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than "
            "the reduction factor (input numel divided by output numel). (Triggered "
            "internally at /__w/pytorch/pytorch/aten/src/ATen/native/ReduceOps.cpp:1861.)")
    x = input.array
    with np.errstate(all="ignore"):
        mean = O.mean_dims.forward((x,), (dims, bool(keepdim))) if dims is not None else (
            np.asarray(O.mean_all.forward((x,), None)))
        var = O.var.forward((x,), (dims, c, bool(keepdim)))
        first = np.sqrt(var) if name == "std_mean" else var
    entry = STD_MEAN if name == "std_mean" else VAR_MEAN
    if dims is None and keepdim:
        mean = np.reshape(mean, (1,) * x.ndim)
    # std_mean saves its std (result0); var_mean neither result
    return _two_outputs(entry, input, np.asarray(first, x.dtype), np.asarray(mean, x.dtype),
                        (dims, c, bool(keepdim)), (name == "std_mean", False))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _moments(input, dim, unbiased, keepdim, correction, "std_mean")


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _moments(input, dim, unbiased, keepdim, correction, "var_mean")


# ----- aminmax -------------------------------------------------------------------------


def _aminmax_backward(ctx, grads, xp):
    # each of min and max: the gradient shared evenly by the elements equal to it
    self, low, high = ctx.saved
    dims, keepdim = ctx.params
    total = None
    for grad, value in zip(_slots(grads), (low, high), strict=True):
        if grad is None:
            continue
        mask = xp.numpy(self) == _restore_array(_array(value), dims, keepdim)
        count = np.sum(mask, axis=dims, keepdims=True)
        part = xp.where(mask, restore_dims(grad, dims, keepdim, xp) / xp.constant(
            count.astype(xp.numpy(self).dtype)), 0.0)
        total = part if total is None else total + part
    return (total,)


def _restore_array(value, dims, keepdim):
    if keepdim or dims is None:
        return value
    return np.expand_dims(value, dims)


AMINMAX = Op("aminmax", None, None, False)
AMINMAX.backward = _aminmax_backward


def aminmax(input, *, dim=None, keepdim=False):
    _check_tensor("aminmax", input)
    x = input.array
    if dim is None:
        if not x.size:
            raise runtime_error("aminmax(): cannot compute aminmax over an empty dimension as "
                                "the operation has no identity.")
        dims = None
        low, high = np.min(x, keepdims=bool(keepdim)), np.max(x, keepdims=bool(keepdim))
    else:
        d = wrap_dim(dim, input.ndim)
        dims = (d,) if input.ndim else None
        if input.ndim and not x.shape[d]:
            raise runtime_error("aminmax(): cannot compute aminmax over an empty dimension as "
                                "the operation has no identity.")
        low = np.min(x, axis=dims, keepdims=bool(keepdim))
        high = np.max(x, axis=dims, keepdims=bool(keepdim))
    if x.dtype.kind == "f" and np.isnan(x).any():  # a NaN is both the min and the max
        nan = np.isnan(x).any(axis=dims, keepdims=bool(keepdim))
        low, high = np.where(nan, np.nan, low), np.where(nan, np.nan, high)
    low, high = _two_outputs(AMINMAX, input, np.asarray(low, x.dtype),
                             np.asarray(high, x.dtype), (dims, bool(keepdim)))
    return ReturnTypes("aminmax", low, high, ("min", "max"))


# ----- diff, trace, trapezoid ------------------------------------------------------------


def _narrow(input, dim, start, length):
    return call(O.slice_, (input,), (dim, start, start + length, 1))


def diff(input, n=1, dim=-1, prepend=None, append=None):
    _check_tensor("diff", input)
    if input.ndim == 0:
        raise runtime_error("diff expects input to be at least one-dimensional")
    if n < 0:
        raise runtime_error(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, input.ndim)
    if prepend is not None or append is not None:
        parts = [t if t.__class__ is Tensor else creation.tensor(t) for t in (prepend, input,
                 append) if t is not None]
        input = shapes.cat(parts, d)
    for _ in range(n):
        length = input.shape[d]
        if length == 0:
            break
        later, earlier = _narrow(input, d, 1, length - 1), _narrow(input, d, 0, length - 1)
        input = (logical_xor(later, earlier) if input.dtype is dtypes.bool_
                 else P.sub(later, earlier))
    return input


@op("trace")
def trace_op(xs, p):
    x = xs[0]
    k = min(x.shape)
    return torch_sum(np.ascontiguousarray(x[np.arange(k), np.arange(k)]))


# the gradient goes onto the diagonal of a zero matrix
trace_op.derivative(lambda ctx, grad, xp: (xp.index_add(
    ctx.shapes[0], (np.arange(min(ctx.shapes[0])), np.arange(min(ctx.shapes[0]))),
    xp.expand(grad, (min(ctx.shapes[0]),))),))


def trace(input):
    _check_tensor("trace", input)
    if input.ndim != 2:
        raise runtime_error("trace: expected a matrix, but got tensor with dim "
                            f"{input.ndim}")
    out_dtype = input.dtype if input.dtype.category == dtypes.FLOATING else dtypes.int64
    return call(trace_op, (input,), None, (cast(input, out_dtype),))


# mul.Scalar (MulBackward1): PyTorch's own C++ code multiplies by a double this way, where a
# program's `x * 0.5` is mul.Tensor with a wrapped number.
mul_scalar = op("mul.Scalar")(lambda xs, p: xs[0] * xs[0].dtype.type(p)
                              if isinstance(xs[0], np.ndarray) else xs[0] * p)
mul_scalar.derivative(lambda ctx, grad, xp: (grad * ctx.params,))


def _times(t, number):
    """t * number as PyTorch's C++ writes it (mul.Scalar): an integer tensor times a float
    is computed in the default float dtype."""
    array = t.array
    if t.dtype.category != dtypes.FLOATING and isinstance(number, float):
        array = cast(t, dtypes.DEFAULT_FLOAT)
    return call(mul_scalar, (t,), number, (array,))


def trapezoid(y, x=None, *, dx=None, dim=-1):
    _check_tensor("trapezoid", y)
    if y.ndim == 0:
        raise index_error("Dimension out of range (expected to be in range of [-1, 0], but "
                          f"got {dim})")
    d = wrap_dim(dim, y.ndim)
    n = y.shape[d]
    if x is not None and x.__class__ is Tensor:
        if n == 0:
            return sum(y, d) * 0
        spacing = diff(x, dim=-1) if x.ndim == 1 else diff(x, dim=dim)
        if x.ndim == 1 and y.ndim != 1:
            shape = [1] * y.ndim
            shape[d] = spacing.shape[0]
            spacing = shapes.view(spacing, tuple(shape))
        total = sum(P.mul(spacing, P.add(_narrow(y, d, 1, n - 1), _narrow(y, d, 0, n - 1))), d)
        return call(O.div_scalar, (total,), 2.0)
    step = 1.0 if dx is None and x is None else float(dx if dx is not None else x)
    if n == 0:
        return _times(sum(y, d), 0.0)
    ends = P.add(O.call(O.select, (y,), (d, 0)), O.call(O.select, (y,), (d, n - 1)))
    inner = P.sub(sum(y, d), _times(ends, 0.5))
    return _times(inner, step)


def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


FUNCTIONS = {"nansum": nansum, "nanmean": nanmean, "count_nonzero": count_nonzero,
             "std_mean": std_mean, "var_mean": var_mean, "aminmax": aminmax, "diff": diff,
             "trace": trace, "trapezoid": trapezoid, "trapz": trapz}
TENSOR_METHODS = {name: FUNCTIONS[name] for name in (
    "nansum", "nanmean", "count_nonzero", "aminmax", "diff", "trace")}
