"""Indexing functions beyond `x[...]`: gather/scatter/scatter_add, index_select and the
index_add_/index_fill_/index_copy_ family, masked_fill/masked_select/masked_scatter_,
take/put_, and the index-valued ones (nonzero, argwhere, one-argument where, isin,
searchsorted, bucketize).

Each differentiable one is an `@op` with derivatives.yaml's formula; a formula written over
numpy runs again through this module's own functions when the gradient is a tensor
(create_graph=True), so the double-backward graph has PyTorch's nodes.
"""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import op, save_nothing
from gradcli.autodiff.tensor import Tensor
from gradcli.base import diagnostics, dtypes
from gradcli.base.errors import index_error, runtime_error, type_error
from gradcli.torch._common import _c_type, _dtype_name, _read, call, is_tensor, type_name, wrap_dim
from gradcli.torch.creation import _item
from gradcli.torch.inplace import inplace


def _is_graph(grad) -> bool:
    return grad.__class__ is Tensor


def _index_grid(index: np.ndarray, dim: int):
    """The full numpy index of each element of `index` along `dim` (scatter's and gather's
    addressing: every other coordinate is the element's own)."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def need_tensor(value, function, arg, position):
    """PyTorch's argument parser on a non-tensor in a Tensor slot (`position` counts the
    method's self as PyTorch does: torch.gather(x, 1, [0]) is position 3, x.gather(1, [0])
    position 2; gradcli reports the method's numbering)."""
    if not is_tensor(value):
        raise type_error(f"{function}(): argument '{arg}' (position {position}) must be Tensor, "
                         f"not {type_name(value)}")
    return value


def _check_index_tensor(index, name):
    need_tensor(index, name, "index", 2)
    if index.dtype not in (dtypes.int64, dtypes.int32):
        raise runtime_error(f"{name}(): Expected dtype int32/int64 for index")
    return index.array.astype(np.int64)


def _check_gather_shapes(input, dim, index, name, src=None):
    """gather/scatter's rules: same number of dimensions; along every other dim the index
    is no larger than self (and src); every index in range."""
    ndim = max(input.ndim, 1)
    if max(index.ndim, 1) != ndim:
        raise runtime_error("Index tensor must have the same number of dimensions as "
                            f"{'input' if name == 'gather' else 'self'} tensor")
    if src is not None and max(src.ndim, 1) != ndim:
        wrap_dim(index.ndim - 1, max(src.ndim, 1))  # PyTorch's own message: dim out of range
    for d in range(index.ndim):
        if d != dim and index.shape[d] > input.shape[d]:
            raise runtime_error(
                f"Size does not match at dimension {d} expected index "
                f"{list(index.shape)} to be no larger than self {list(input.shape)} apart from "
                f"dimension {dim}")
        if src is not None and index.shape[d] > src.shape[d]:
            raise runtime_error(
                f"Expected index {list(index.shape)} to be no larger than self "
                f"{list(input.shape)} apart from dimension {dim} and to be no larger size "
                f"than src {list(src.shape)}")
    size = input.shape[dim] if input.ndim else 1
    arr = index.array
    bad = (arr < 0) | (arr >= size)
    if arr.size and bad.any():
        raise runtime_error(f"index {int(arr[bad].flat[0])} is out of bounds for dimension "
                            f"{dim} with size {size}")


def _region(array, index_shape, dim):
    """`array` cut down to index's extent in every dim but `dim`."""
    return array[tuple(slice(0, n) if d != dim else slice(None)
                       for d, n in enumerate(index_shape))]


# ----- gather, scatter, scatter_add -----------------------------------------------------


def _gather_array(x, dim, index):
    if x.ndim == 0:
        return x[index] if index.ndim else x.copy()
    return x[_index_grid(index, dim)]


def _scatter_add_array(shape, dtype, dim, index, values, base=None):
    out = np.zeros(shape, dtype) if base is None else base.copy()
    if index.size:
        if not shape:
            np.add.at(out.reshape(1), index.reshape(-1), values.reshape(-1))
        else:
            np.add.at(out, _index_grid(index, dim), _region(values, index.shape, dim))
    return out


@op("gather")
def _gather(xs, p):
    dim, index = p
    return _gather_array(xs[0], dim, index)


@_gather.derivative
def _(ctx, grad, xp):
    dim, index = ctx.params
    shape = ctx.shapes[0]
    if _is_graph(grad):
        # gather_backward: zeros.scatter_add(dim, index, grad), recorded
        zeros = Tensor(np.zeros(shape, grad.dtype.numpy))
        return (O.call(_scatter_add, (zeros, grad), (dim, index)),)
    return (_scatter_add_array(shape, grad.dtype, dim, index, grad),)


def gather(input, dim, index, *, sparse_grad=False):
    arr = _check_index_tensor(index, "gather")
    d = wrap_dim(dim, max(input.ndim, 1))
    _check_gather_shapes(input, d, index, "gather")
    return call(_gather, (input,), (d, arr))


def _scatter_array(x, dim, index, values):
    out = x.copy()
    if index.size:
        if not x.shape:
            out.reshape(1)[index.reshape(-1)] = np.reshape(values, -1)[: index.size]
        else:
            out[_index_grid(index, dim)] = values if np.ndim(values) == 0 else _region(
                values, index.shape, dim)
    return out


def _zero_at(grad, dim, index):
    """grad.scatter(dim, index, 0): self's gradient in scatter and index_copy_."""
    if _is_graph(grad):
        return scatter(grad, dim, Tensor(index), 0.0)
    return _scatter_array(grad, dim, index, 0)


@op("scatter.src")
def _scatter_src(xs, p):
    dim, index = p
    x, src = xs
    return _scatter_array(x, dim, index, src.astype(x.dtype))


@_scatter_src.derivative
def _(ctx, grad, xp):
    dim, index = ctx.params
    source = None
    if ctx.needs[1]:
        source = (gather(grad, dim, Tensor(index)) if _is_graph(grad)
                  else _gather_array(grad, dim, index))
    return (_zero_at(grad, dim, index) if ctx.needs[0] else None, source)


@op("scatter.value")
def _scatter_value(xs, p):
    dim, index, value = p
    return _scatter_array(xs[0], dim, index, value)


_scatter_value.derivative(lambda ctx, grad, xp: (_zero_at(grad, *ctx.params[:2]),))


@op("scatter_add")
def _scatter_add(xs, p):
    dim, index = p
    x, src = xs
    return _scatter_add_array(x.shape, x.dtype, dim, index, src.astype(x.dtype), x)


@_scatter_add.derivative
def _(ctx, grad, xp):
    dim, index = ctx.params
    source = None
    if ctx.needs[1]:
        source = (gather(grad, dim, Tensor(index)) if _is_graph(grad)
                  else _gather_array(grad, dim, index))
    return (grad, source)


# scatter with reduce=: PyTorch has no derivative for it (NotImplemented)
@op("scatter.reduce", name="NotImplemented", save=save_nothing)
def _scatter_reduce(xs, p):
    dim, index, reduce = p
    x, src = xs
    out = x.copy()
    grid = _index_grid(index, dim)
    values = _region(src, index.shape, dim).astype(x.dtype) if np.ndim(src) else src
    (np.add if reduce == "add" else np.multiply).at(out, grid, values)
    return out


@_scatter_reduce.derivative
def _(ctx, grad, xp):
    raise runtime_error("derivative for aten::scatter_ is not implemented")


SCATTER_REDUCE_WARNING = (
    "The reduce argument of torch.scatter with Tensor src is deprecated and will be removed "
    "in a future PyTorch release. Use torch.scatter_reduce instead for more reduction "
    "options. (Triggered internally at "
    "/__w/pytorch/pytorch/aten/src/ATen/native/TensorAdvancedIndexing.cpp:225.)")


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    if src is None:
        src = value
    arr = _check_index_tensor(index, "scatter")
    d = wrap_dim(dim, max(input.ndim, 1))
    if reduce is not None and is_tensor(src):
        diagnostics.warn(SCATTER_REDUCE_WARNING, once_per_process=True)
    if reduce is not None and reduce not in ("add", "multiply"):
        raise runtime_error("reduce argument must be either add or multiply.")
    if src is None:
        need_tensor(src, "scatter", "src", 3)
    if is_tensor(src):
        if src.dtype is not input.dtype:
            raise runtime_error("scatter(): Expected self.dtype to be equal to src.dtype")
        _check_gather_shapes(input, d, index, "scatter", src)
        if reduce is not None:
            return call(_scatter_reduce, (input, src), (d, arr, reduce))
        return call(_scatter_src, (input, src), (d, arr))
    _check_gather_shapes(input, d, index, "scatter")
    if reduce is not None:
        return call(_scatter_reduce, (input, _item(src)), (d, arr, reduce))
    return call(_scatter_value, (input,), (d, arr, _item(src)))


def _size(t, d):
    return t.shape[d] if t.ndim else 1


def scatter_add(input, dim, index, src):
    arr = _check_index_tensor(index, "scatter_add")
    d = wrap_dim(dim, max(input.ndim, 1))
    need_tensor(src, "scatter_add", "src", 3)
    if src.dtype is not input.dtype:
        raise runtime_error("scatter(): Expected self.dtype to be equal to src.dtype")
    _check_gather_shapes(input, d, index, "scatter", src)
    return call(_scatter_add, (input, src), (d, arr))


def scatter_(input, dim, index, src=None, *, value=None, reduce=None):
    return inplace(input, lambda s: scatter(s, dim, index, src, value=value, reduce=reduce))


def scatter_add_(input, dim, index, src):
    return inplace(input, lambda s: scatter_add(s, dim, index, src))


# ----- index_select and the index_*_ family --------------------------------------------


def _check_index_vector(index, name, input, dim):
    """index_select/index_add_/index_fill_/index_copy_'s index: a vector of int64 (int32
    too for some), in range; each function words its refusals its own way."""
    need_tensor(index, name.rstrip("_"), "index", 2)
    if index.dtype not in (dtypes.int64, dtypes.int32) or (
            name in ("index_fill_", "index_copy_") and index.dtype is not dtypes.int64):
        if name == "index_select":
            raise runtime_error("index_select(): Expected dtype int32 or int64 for index")
        if name == "index_add_":
            raise runtime_error("index_add_(): Expected dtype int32/int64 for index but got: "
                                f"{_dtype_name(index.dtype)}")
        if name == "index_fill_":
            raise index_error("index_fill_(): Expected dtype int64 for index.")
        raise runtime_error(f"{name}(): Expected a long tensor for index, but got "
                            f"{_dtype_name(index.dtype)}")
    if index.ndim > 1:
        raise index_error(f"{name}(): Index is supposed to be a vector")
    arr = index.array.reshape(-1).astype(np.int64)
    size = _size(input, dim)
    bad = (arr < 0) | (arr >= size)
    if arr.size and bad.any():
        if name == "index_select":
            raise index_error("index out of range in self")
        message = (f"index {int(arr[bad][0])} is out of bounds for dimension {dim} with size "
                   f"{size}")
        if name == "index_add_":
            raise runtime_error(message)
        raise index_error(f"index_copy_(): {message}" if name == "index_copy_" else message)
    return arr


def _moved(array, dim):
    return np.moveaxis(array, dim, 0) if array.ndim else array.reshape(1)


@op("index_select")
def _index_select(xs, p):
    dim, index = p
    x = xs[0]
    return np.take(x, index, axis=dim) if x.ndim else x.reshape(1)[index].reshape(
        () if index.ndim == 0 else (-1,))


def _index_add_array(base, dim, index, values, alpha=1):
    out = base.copy()
    values = values * alpha if alpha != 1 else values
    np.add.at(_moved(out, dim), index, _moved(np.asarray(values, out.dtype), dim))
    return out


@_index_select.derivative
def _(ctx, grad, xp):
    dim, index = ctx.params
    shape = ctx.shapes[0]
    if _is_graph(grad):
        from gradcli.torch.creation import zeros

        return (index_add(zeros(shape, dtype=grad.dtype), dim, Tensor(index), grad),)
    return (_index_add_array(np.zeros(shape, grad.dtype), dim, index, grad),)


def index_select(input, dim, index):
    d = wrap_dim(dim, max(input.ndim, 1))
    return call(_index_select, (input,), (d, _check_index_vector(index, "index_select",
                                                                  input, d)))


@op("index_add")
def _index_add(xs, p):
    dim, index, alpha = p
    return _index_add_array(xs[0], dim, index, xs[1], alpha)


@_index_add.derivative
def _(ctx, grad, xp):
    dim, index, alpha = ctx.params
    source = None
    if ctx.needs[1]:
        source = (index_select(grad, dim, Tensor(index)) if _is_graph(grad)
                  else np.take(grad, index, axis=dim))
        if alpha != 1:
            source = source * alpha
    return (grad, source)


def index_add(input, dim, index, source, *, alpha=1):
    d = wrap_dim(dim, max(input.ndim, 1))
    arr = _check_index_vector(index, "index_add_", input, d)
    if source.dtype is not input.dtype:
        raise runtime_error(f"index_add_(): self ({_dtype_name(input.dtype)}) and source "
                            f"({_dtype_name(source.dtype)}) must have the same scalar type")
    return call(_index_add, (input, source), (d, arr, alpha))


@op("index_fill.int_Scalar")
def _index_fill(xs, p):
    dim, index, value = p
    out = xs[0].copy()
    _moved(out, dim)[index] = value
    return out


_index_fill.derivative(lambda ctx, grad, xp: (
    index_fill(grad, ctx.params[0], Tensor(ctx.params[1]), 0) if _is_graph(grad)
    else _index_fill.forward((grad,), ctx.params[:2] + (0,)),))


def index_fill(input, dim, index, value):
    d = wrap_dim(dim, max(input.ndim, 1))
    arr = _check_index_vector(index, "index_fill_", input, d)
    return call(_index_fill, (input,), (d, arr, _item(value)))


@op("index_copy")
def _index_copy(xs, p):
    dim, index = p
    out = xs[0].copy()
    _moved(out, dim)[index] = _moved(xs[1].astype(out.dtype), dim)
    return out


@_index_copy.derivative
def _(ctx, grad, xp):
    dim, index = ctx.params
    own = source = None
    if ctx.needs[0]:
        own = (index_fill(grad, dim, Tensor(index), 0) if _is_graph(grad)
               else _index_fill.forward((grad,), (dim, index, 0)))
    if ctx.needs[1]:
        source = (index_select(grad, dim, Tensor(index)) if _is_graph(grad)
                  else np.take(grad, index, axis=dim))
    return (own, source)


def index_copy(input, dim, index, source):
    d = wrap_dim(dim, max(input.ndim, 1))
    arr = _check_index_vector(index, "index_copy_", input, d)
    return call(_index_copy, (input, source), (d, arr))


def index_add_(input, dim, index, source, *, alpha=1):
    return inplace(input, lambda s: index_add(s, dim, index, source, alpha=alpha))


def index_fill_(input, dim, index, value):
    return inplace(input, lambda s: index_fill(s, dim, index, value))


def index_copy_(input, dim, index, source):
    return inplace(input, lambda s: index_copy(s, dim, index, source))


# ----- masks ------------------------------------------------------------------------------


def _check_mask(mask, name):
    need_tensor(mask, name, "mask", 1)
    if mask.dtype is not dtypes.bool_:
        if name == "masked_select":
            raise runtime_error("masked_select: expected BoolTensor for mask")
        # masked_fill names the mask's C++ type, masked_scatter its scalar type
        kind = _c_type(mask.dtype) if name == "masked_fill" else _dtype_name(mask.dtype)
        raise runtime_error(f"{name}_ only supports boolean masks, but got mask with dtype "
                            f"{kind}")
    return mask.array


@op("masked_fill.Scalar")
def _masked_fill(xs, p):
    mask, value = p
    x = xs[0]
    return np.where(mask, np.asarray(value).astype(x.dtype), x)


_masked_fill.derivative(lambda ctx, grad, xp: (xp.where(ctx.params[0], 0, grad),))


def masked_fill(input, mask, value):
    arr = _check_mask(mask, "masked_fill")
    if is_tensor(value):
        value = _item(value)  # only a one-element tensor converts
    try:
        np.broadcast_shapes(input.shape, arr.shape)
    except ValueError:
        from gradcli.torch.pointwise import broadcast_error

        raise broadcast_error(input.shape, arr.shape) from None
    return call(_masked_fill, (input,), (arr, value))


def masked_fill_(input, mask, value):
    return inplace(input, lambda s: masked_fill(s, mask, value))


@op("masked_select")
def _masked_select(xs, p):
    x = xs[0]
    shape = np.broadcast_shapes(x.shape, p.shape)
    return np.broadcast_to(x, shape)[np.broadcast_to(p, shape)]


@_masked_select.derivative
def _(ctx, grad, xp):
    mask = ctx.params
    shape = np.broadcast_shapes(ctx.shapes[0], mask.shape)
    full_mask = np.broadcast_to(mask, shape)
    if _is_graph(grad):
        from gradcli.torch.creation import zeros

        return (masked_scatter(zeros(shape, dtype=grad.dtype), Tensor(full_mask.copy()),
                               grad),)
    out = np.zeros(shape, grad.dtype)
    out[full_mask] = grad
    return (out,)


def masked_select(input, mask):
    arr = _check_mask(mask, "masked_select")
    _read("masked_select", mask)
    return call(_masked_select, (input,), arr)


@op("masked_scatter")
def _masked_scatter(xs, p):
    x, source = xs
    mask = np.broadcast_to(p, x.shape)
    out = x.copy()
    count = int(mask.sum())
    out[mask] = source.reshape(-1)[:count].astype(x.dtype)
    return out


@_masked_scatter.derivative
def _(ctx, grad, xp):
    mask = np.broadcast_to(ctx.params, ctx.shapes[0])
    own = source = None
    if ctx.needs[0]:
        own = xp.where(mask, 0, grad)
    if ctx.needs[1]:
        size = int(np.prod(ctx.shapes[1]))
        picked = masked_select(grad, Tensor(mask.copy())) if _is_graph(grad) else grad[mask]
        count = int(mask.sum())
        if _is_graph(grad):
            from gradcli.torch import shape as shapes
            from gradcli.torch.creation import zeros

            padded = shapes.cat([picked, zeros((size - count,), dtype=grad.dtype)])
            source = shapes.reshape(padded, ctx.shapes[1])
        else:
            flat = np.zeros(size, grad.dtype)
            flat[:count] = picked
            source = flat.reshape(ctx.shapes[1])
    return (own, source)


def masked_scatter(input, mask, source):
    arr = _check_mask(mask, "masked_scatter")
    if int(np.broadcast_to(arr, input.shape).sum()) > source.array.size:
        raise runtime_error("Number of elements of source < number of ones in mask")
    return call(_masked_scatter, (input, source), arr)


def masked_scatter_(input, mask, source):
    return inplace(input, lambda s: masked_scatter(s, mask, source))


# ----- take, put_ -----------------------------------------------------------------------


def _check_flat_index(input, index, name):
    need_tensor(index, name.rstrip("_"), "index", 1)
    if index.dtype is not dtypes.int64:
        raise runtime_error(f"{name}(): Expected a long tensor for index, but got "
                            f"{_dtype_name(index.dtype)}")
    arr = index.array
    size = input.array.size
    bad = (arr < -size) | (arr >= size)
    if arr.size and bad.any():
        raise index_error(f"out of range: tried to access index {int(arr[bad].flat[0])} on a "
                          f"tensor of {size} elements.")
    return arr % max(size, 1)


@op("take")
def _take(xs, p):
    return xs[0].reshape(-1)[p]


@_take.derivative
def _(ctx, grad, xp):
    shape = ctx.shapes[0]
    if _is_graph(grad):
        from gradcli.torch.creation import zeros

        return (put(zeros(shape, dtype=grad.dtype), Tensor(ctx.params), grad, True),)
    out = np.zeros(int(np.prod(shape)), grad.dtype)
    np.add.at(out, ctx.params, grad)
    return (out.reshape(shape),)


def take(input, index):
    return call(_take, (input,), _check_flat_index(input, index, "take"))


@op("put")
def _put(xs, p):
    index, accumulate = p
    out = xs[0].copy()
    flat = out.reshape(-1)
    values = xs[1].reshape(-1).astype(out.dtype)
    if accumulate:
        np.add.at(flat, index.reshape(-1), values)
    else:
        flat[index.reshape(-1)] = values
    return out


@_put.derivative
def _(ctx, grad, xp):
    index, accumulate = ctx.params
    own = source = None
    if ctx.needs[0]:
        if accumulate:
            own = grad
        elif _is_graph(grad):
            own = put(grad, Tensor(index), Tensor(np.zeros(index.shape, grad.dtype.numpy)))
        else:
            own = grad.copy()
            own.reshape(-1)[index.reshape(-1)] = 0
    if ctx.needs[1]:
        source = (take(grad, Tensor(index)) if _is_graph(grad)
                  else grad.reshape(-1)[index])
    return (own, source)


def put(input, index, source, accumulate=False):
    arr = _check_flat_index(input, index, "put_")
    if source.array.size != arr.size:
        raise index_error(f"put_(): Expected source and index to have the same number of "
                            f"elements, but got source.numel() = {source.array.size}, "
                            f"index.numel() = {arr.size}")
    return call(_put, (input, source), (arr, bool(accumulate)))


def put_(input, index, source, accumulate=False):
    return inplace(input, lambda s: put(s, index, source, accumulate))


# ----- index-valued functions: no gradient ---------------------------------------------


def nonzero(input, *, as_tuple=False):
    _read("nonzero", input)
    found = np.nonzero(input.array) if input.ndim else np.nonzero(input.array.reshape(1))
    if as_tuple:
        return tuple(Tensor(i.astype(np.int64)) for i in found)
    return Tensor(np.stack(found, axis=1).astype(np.int64).reshape(-1, input.ndim))


def argwhere(input):
    return nonzero(input)


def where_condition(condition):
    return nonzero(condition, as_tuple=True)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    a = elements.array if is_tensor(elements) else np.asarray(elements)
    b = test_elements.array if is_tensor(test_elements) else np.asarray(test_elements)
    return Tensor(np.isin(a, b, invert=invert))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    if side is not None:
        if side not in ("left", "right"):
            raise runtime_error(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                                f"got {side}")
        right = side == "right"
    seq = sorted_sequence.array
    values = input.array if is_tensor(input) else np.asarray(input)
    how = "right" if right else "left"
    if seq.ndim <= 1:
        out = np.searchsorted(seq, values, side=how)
    else:
        if seq.shape[:-1] != values.shape[:-1]:
            raise runtime_error(
                "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                "dimensions of boundaries tensor and input value tensor must match, but we got "
                f"boundaries tensor {list(seq.shape)} and input value tensor "
                f"{list(values.shape)}")
        flat_seq = seq.reshape(-1, seq.shape[-1])
        flat_values = values.reshape(-1, values.shape[-1])
        out = np.stack([np.searchsorted(s, v, side=how) for s, v in zip(
            flat_seq, flat_values, strict=True)]).reshape(values.shape)
    return Tensor(np.asarray(out).astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    if boundaries.ndim != 1:
        raise runtime_error(f"boundaries tensor must be 1 dimension, but got dim("
                            f"{boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


FUNCTIONS = {
    "argwhere": argwhere, "bucketize": bucketize, "gather": gather,
    "index_add": index_add, "index_copy": index_copy, "index_fill": index_fill,
    "index_select": index_select, "isin": isin, "masked_fill": masked_fill,
    "masked_scatter": masked_scatter, "masked_select": masked_select, "nonzero": nonzero,
    "put": put, "scatter": scatter, "scatter_add": scatter_add, "searchsorted": searchsorted,
    "take": take,
}
TENSOR_METHODS = dict(FUNCTIONS)
del TENSOR_METHODS["bucketize"], TENSOR_METHODS["searchsorted"], TENSOR_METHODS["isin"]
TENSOR_METHODS.update({
    "bucketize": lambda self, boundaries, **kw: bucketize(self, boundaries, **kw),
    "index_add_": index_add_, "index_copy_": index_copy_, "index_fill_": index_fill_,
    "masked_fill_": masked_fill_, "masked_scatter_": masked_scatter_, "put_": put_,
    "scatter_": scatter_, "scatter_add_": scatter_add_,
})
