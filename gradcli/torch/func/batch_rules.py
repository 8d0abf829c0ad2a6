"""Batching rules: each op of the table on arrays that carry vmap's batch in dimension 0.

A rule takes the op, its operands as (value, batched) pairs (a batched array has the
batch in dimension 0 and one entry's shape after it; an unbatched value is what one
entry sees), the op's parameters and the result one entry gave (its shape and dtype
are the target), and returns the whole batch's result, or None for "no rule here" (vmap
then runs its per-entry loop). Like functorch's batching rules, most are the op itself
with dimensions shifted by one; element-wise ops only need their operands lined up so
that numpy's right-aligned broadcasting sees the batch as the leftmost dimension.
"""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O

RULES: dict = {}


def rule(*overloads):
    def register(fn):
        for name in overloads:
            RULES[name] = fn
        return fn

    return register


def _aligned(value, batched, ndim):
    """A batched array with size-1 dimensions after the batch, so that its entry shape
    broadcasts against an `ndim`-dimensional result as it did for one entry."""
    if not batched:
        return value
    missing = ndim - (value.ndim - 1)
    if missing <= 0:
        return value
    return value.reshape((value.shape[0],) + (1,) * missing + value.shape[1:])


def _batch_size(operands):
    for value, batched in operands:
        if batched:
            return value.shape[0]
    raise AssertionError("a batching rule runs only with a batched operand")


def _shift(dim, ndim):
    """Entry dimension `dim` (maybe negative) of an ndim-dimensional entry, batched."""
    return (dim % ndim) + 1 if ndim else 1


# ----- element-wise ops: the forward on lined-up operands -------------------------------

# numpy's float32 kernels switch to the native SIMD path from this many elements
# (ops.NATIVE_FLOAT32_FROM); run no more entries at once than keeps each call on the path
# a single entry takes, so the values are those of the per-entry loop to the bit.
_NATIVE = O.NATIVE_FLOAT32_FROM


@rule("add.Tensor", "sub.Tensor", "rsub.Scalar", "mul.Tensor", "div.Tensor", "div.Scalar",
      "neg", "reciprocal", "pow.Tensor_Scalar", "pow.Tensor_Tensor", "pow.Scalar",
      "remainder.Scalar", "remainder.Tensor", "clamp", "clamp.Tensor", "maximum", "minimum",
      "exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan",
      "tanh", "abs", "sign", "sigmoid", "relu", "clone", "_to_copy", "tanh_backward",
      "sigmoid_backward", "threshold_backward",
      # comparisons, as api._compare names them while vmap traces
      "greater", "greater_equal", "less", "less_equal", "equal", "not_equal")
def elementwise(entry, operands, p, out):
    ndim = out.ndim
    values = [_aligned(v, b, ndim) for v, b in operands]
    size = _batch_size(operands)
    per_entry = max(out.size, 1)
    if size * per_entry < _NATIVE or per_entry >= _NATIVE:
        return entry.forward(tuple(values), p)
    step = max(1, (_NATIVE - 1) // per_entry)
    chunks = []
    for start in range(0, size, step):
        part = tuple(v[start:start + step] if b else v
                     for v, (_, b) in zip(values, operands, strict=True))
        chunks.append(np.asarray(entry.forward(part, p)))
    return np.concatenate(chunks)


@rule("alias")
def alias(entry, operands, p, out):
    return operands[0][0].view()


# ----- matrix products ------------------------------------------------------------------


@rule("mm", "bmm")
def mm(entry, operands, p, out):
    # numpy's matmul broadcasts leading dimensions: a batch on either side is a stack.
    (a, _), (b, _) = operands
    return np.matmul(a, b)


@rule("mv")
def mv(entry, operands, p, out):
    (matrix, batched_matrix), (vector, batched_vector) = operands
    if batched_matrix and batched_vector:
        return np.matmul(matrix, vector[..., None])[..., 0]
    if batched_matrix:
        return np.matmul(matrix, vector)
    return np.matmul(vector, matrix.T)  # each row v: (A v)^T = v^T A^T


@rule("dot")
def dot(entry, operands, p, out):
    (a, batched_a), (b, batched_b) = operands
    if batched_a and batched_b:
        return np.matmul(a[:, None, :], b[:, :, None])[:, 0, 0]
    return np.matmul(a, b) if batched_a else np.matmul(b, a)


@rule("addmm")
def addmm(entry, operands, p, out):
    (bias, batched_bias), (m1, _), (m2, _) = operands
    if p is not None:  # torch.addmm's beta and alpha
        beta, alpha = p
        return _aligned(bias, batched_bias, 2) * beta + np.matmul(m1, m2) * alpha
    return _aligned(bias, batched_bias, 2) + np.matmul(m1, m2)


# ----- reductions -----------------------------------------------------------------------


def _entry_axes(dims, ndim):
    if dims is None:
        return tuple(range(1, ndim + 1))
    if isinstance(dims, int):
        dims = (dims,)
    return tuple(_shift(d, ndim) for d in dims)


@rule("sum")
def sum_all(entry, operands, p, out):
    (x, _), = operands
    return np.sum(x, axis=tuple(range(1, x.ndim)), dtype=p)


@rule("sum.dim_IntList")
def sum_dims(entry, operands, p, out):
    (x, _), = operands
    dims, keepdim, dtype = p
    return np.sum(x, axis=_entry_axes(dims, x.ndim - 1), keepdims=keepdim, dtype=dtype)


@rule("mean")
def mean_all(entry, operands, p, out):
    (x, _), = operands
    if not x[0].size:
        return None
    return np.mean(x, axis=tuple(range(1, x.ndim)), dtype=x.dtype)


@rule("mean.dim")
def mean_dims(entry, operands, p, out):
    (x, _), = operands
    if not x[0].size:
        return None
    dims, keepdim = p
    return np.mean(x, axis=_entry_axes(dims, x.ndim - 1), keepdims=keepdim, dtype=x.dtype)


@rule("all", "any")
def all_any(entry, operands, p, out):
    (x, _), = operands
    dim, keepdim = p
    return entry.forward((x,), (_entry_axes(dim, x.ndim - 1), keepdim))


@rule("_softmax", "_log_softmax")
def softmax(entry, operands, p, out):
    (x, _), = operands
    if x.ndim == 1:
        return None
    return entry.forward((x,), _shift(p, x.ndim - 1))


# ----- shape ops ------------------------------------------------------------------------


@rule("view", "_reshape_alias", "_unsafe_view", "squeeze", "squeeze.dim", "squeeze.dims",
      "squeeze_.dim", "unsqueeze")
def reshape(entry, operands, p, out):
    # Each of these keeps an entry's elements in order: the result's shape says it all.
    (x, _), = operands
    return x.reshape((x.shape[0],) + out.shape)


@rule("transpose.int")
def transpose(entry, operands, p, out):
    (x, _), = operands
    ndim = x.ndim - 1
    if not ndim:
        return x.view()
    return np.swapaxes(x, _shift(p[0], ndim), _shift(p[1], ndim))


@rule("t")
def t(entry, operands, p, out):
    (x, _), = operands
    return np.swapaxes(x, 1, 2) if x.ndim == 3 else x.view()


@rule("permute")
def permute(entry, operands, p, out):
    (x, _), = operands
    ndim = x.ndim - 1
    return np.transpose(x, (0,) + tuple(_shift(d, ndim) for d in p))


@rule("expand")
def expand(entry, operands, p, out):
    (x, batched), = operands
    return np.broadcast_to(_aligned(x, batched, out.ndim), (x.shape[0],) + out.shape)


@rule("select.int")
def select(entry, operands, p, out):
    (x, _), = operands
    dim, index = p
    return x[(slice(None),) * _shift(dim, x.ndim - 1) + (index, Ellipsis)]


@rule("slice.Tensor")
def slice_(entry, operands, p, out):
    (x, _), = operands
    dim, start, stop, step = p
    return x[(slice(None),) * _shift(dim, x.ndim - 1) + (slice(start, stop, step),)]


def _every_entry(operands):
    size = _batch_size(operands)
    return [v if b else np.broadcast_to(v, (size,) + np.shape(v)) for v, b in operands]


@rule("stack")
def stack(entry, operands, p, out):
    return np.stack(_every_entry(operands), axis=_shift(p, out.ndim))


@rule("cat")
def cat(entry, operands, p, out):
    values = _every_entry(operands)
    if any(v.ndim != out.ndim + 1 for v in values):
        return None  # the legacy empty 1-d operand: leave it to the loop
    return np.concatenate(values, axis=_shift(p, out.ndim))
