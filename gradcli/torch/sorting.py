"""Sorting and selection: sort, argsort, msort, topk, kthvalue, median, mode, unique.

The values are differentiable: each selected element's gradient goes back to the position
it came from (value_selecting_reduction_backward), as PyTorch's formulas say. The indices
come back through the op's parameters (non-differentiable, like max.dim's).

Order of ties: PyTorch's CPU sort is stable; topk, kthvalue and median(dim) select with
std::nth_element/partial_sort, whose order among equal values is the library's; gradcli
takes them in index order (equal values give the same values, maybe other indices).
NaN counts as larger than every number, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from gradcli.aten.ops import Op, op, save_self_and_result
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.errors import ProgramError, index_error, runtime_error
from gradcli.torch import stl_order
from gradcli.torch._common import call, wrap_dim
from gradcli.torch.backward_ops import scatter
from gradcli.torch.pointwise_extra import _check_tensor
from gradcli.torch.reductions import ReturnTypes


def stable_order(x, axis, descending=False):
    """Indices that sort x along axis, ties in index order; NaN largest."""
    if x.dtype == np.bool_:
        x = x.astype(np.int8)
    if x.dtype.kind != "f":
        if not descending:
            return np.argsort(x, axis=axis, kind="stable")
        # reverse of the order of -x would reverse ties: sort the negation (int64 is safe
        # for what tensors hold here), stable
        return np.argsort(-x.astype(np.int64), axis=axis, kind="stable")
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")  # numpy puts NaN last already
    nan = np.isnan(x)
    key = np.where(nan, -np.inf, -x)
    # NaN first, then -x ascending; lexsort sorts by the last key first
    moved_key = np.moveaxis(key, axis, -1)
    moved_nan = np.moveaxis(~nan, axis, -1)
    order = np.lexsort((moved_key, moved_nan), axis=-1)
    return np.moveaxis(order, -1, axis)


def _select(x, dim, order):
    return np.take_along_axis(x, order, axis=dim)


def _selecting_op(overload):
    """An op returning values picked along p[0] by indices it computes (p[-1] receives
    them); backward puts grad back at those indices."""

    def register(pick):
        entry = op(overload)(lambda xs, p: _run_pick(pick, xs[0], p))

        @entry.derivative
        def _(ctx, grad, xp):
            dim, keepdim, out = ctx.params[0], ctx.params[1], ctx.params[-1]
            indices = out[0]
            if not ctx.shapes[0]:  # a 0-d input: its own single value
                return (xp.reshape(grad, ()),)
            if not keepdim:
                grad = xp.unsqueeze(grad, dim)
                indices = np.expand_dims(indices, dim)
            return (scatter(ctx.shapes[0], dim, indices, grad),)

        return entry

    return register


def _run_pick(pick, x, p):
    dim, keepdim, *rest, out = p
    if not x.ndim:
        out.append(np.zeros((), np.int64))
        return x.copy()
    values, indices = pick(x, dim, *rest)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    out.append(indices.astype(np.int64))
    return values




def _by_rows(x, dim, row_fn):
    """row_fn(list of (value, index) pairs) -> the picked pairs, for every slice along dim."""
    moved = np.moveaxis(x, dim, -1)
    n = moved.shape[-1]
    flat = moved.reshape(-1, n)
    picked = [row_fn([(v, i) for i, v in enumerate(row)]) for row in flat.tolist()]
    m = len(picked[0]) if picked else 0
    values = np.array([[v for v, _ in row] for row in picked], x.dtype).reshape(
        moved.shape[:-1] + (m,))
    indices = np.array([[i for _, i in row] for row in picked], np.int64).reshape(
        moved.shape[:-1] + (m,))
    return np.moveaxis(values, -1, dim), np.moveaxis(indices, -1, dim)


# Rows longer than this are not replayed step by step (Python loops over every element):
# their ties come in index order, which may name other indices than PyTorch's (the values
# are the same).
REPLAY_LIMIT = 1 << 15


def _too_long(x, dim) -> bool:
    return x.shape[dim] > REPLAY_LIMIT


def _has_ties(x, dim) -> bool:
    moved = np.sort(np.moveaxis(x, dim, -1), axis=-1)
    if x.dtype.kind == "f":
        nan = np.isnan(moved)
        if np.any(nan.sum(axis=-1) > 1):
            return True
    return bool(np.any(moved[..., 1:] == moved[..., :-1]))


def _sort_pick(x, dim, descending, stable):
    """std::stable_sort for stable=True; std::sort otherwise, which keeps ties in index
    order only up to 16 elements (insertion sort), beyond that in introsort's order."""
    if stable or x.shape[dim] <= 16 or _too_long(x, dim) or not _has_ties(x, dim):
        order = stable_order(x, dim, descending)
        return _select(x, dim, order), order
    comp = stl_order.larger_first if descending else stl_order.smaller_first

    def row_fn(pairs):
        stl_order.std_sort(pairs, 0, len(pairs), comp)
        return pairs

    return _by_rows(x, dim, row_fn)


sort_op = _selecting_op("sort")(_sort_pick)
sort_stable_op = _selecting_op("sort.stable")(_sort_pick)


def _topk_row(k, largest, sorted_):
    """PyTorch's topk_impl_loop: std::partial_sort when k * 64 <= n, else nth_element and
    a sort of the first k - 1."""
    comp = stl_order.larger_first if largest else stl_order.smaller_first

    def row_fn(pairs):
        n = len(pairs)
        if k == 0:
            return []
        if k * 64 <= n:  # (sorted or not)
            stl_order.partial_sort(pairs, 0, k, n, comp)
            return pairs[:k]
        stl_order.nth_element(pairs, 0, k - 1, n, comp)
        if sorted_:
            stl_order.std_sort(pairs, 0, k - 1, comp)
        return pairs[:k]

    return row_fn


def _topk_pick(x, dim, k, largest, sorted_):
    if _too_long(x, dim) or (sorted_ and not _has_ties(x, dim)):
        order = stable_order(x, dim, descending=largest)
        order = np.take(order, np.arange(k), axis=dim)
        return _select(x, dim, order), order
    return _by_rows(x, dim, _topk_row(k, largest, sorted_))


topk_op = _selecting_op("topk")(_topk_pick)


def _kth_pick(x, dim, k):
    if _too_long(x, dim) or not _has_ties(x, dim):
        order = np.take(stable_order(x, dim), [k - 1], axis=dim)
        return _select(x, dim, order), order

    def row_fn(pairs):
        stl_order.quick_select(pairs, k - 1, stl_order.greater_or_nan)
        return [pairs[k - 1]]

    return _by_rows(x, dim, row_fn)


kthvalue_op = _selecting_op("kthvalue")(_kth_pick)


def _median_pick(x, dim):
    n = x.shape[dim]
    order = stable_order(x, dim)
    if x.dtype.kind == "f":
        # a NaN in the slice makes it the median (PyTorch), at its first position
        nan = np.isnan(x)
        has_nan = np.any(nan, axis=dim, keepdims=True)
        first_nan = np.argmax(nan, axis=dim).reshape(has_nan.shape)
        middle = np.take(order, [(n - 1) // 2], axis=dim)
        picked = np.where(has_nan, first_nan, middle)
        return _select(x, dim, picked), picked
    picked = np.take(order, [(n - 1) // 2], axis=dim)
    return _select(x, dim, picked), picked


median_dim_op = _selecting_op("median.dim")(_median_pick)


def _mode_row(pairs):
    """The most frequent value (the smallest among equally frequent ones), with the index
    the last of its run has after PyTorch's std::sort of (value, index) pairs by value."""
    stl_order.std_sort(pairs, 0, len(pairs), stl_order.value_less)
    return _last_of_longest_run(pairs)


def _mode_pick(x, dim):
    if _too_long(x, dim):  # index order among ties (see REPLAY_LIMIT)
        return _by_rows(x, dim, _stable_mode_row)
    return _by_rows(x, dim, _mode_row)


def _stable_mode_row(pairs):
    pairs.sort(key=lambda pair: (pair[0] != pair[0], pair[0] if pair[0] == pair[0] else 0))
    return _last_of_longest_run(pairs)


def _last_of_longest_run(pairs):
    """[the last pair of the first longest run of equal values] in sorted (value, index)
    pairs: mode's value and index."""
    best, best_count, count = None, 0, 0
    for i, pair in enumerate(pairs):
        count += 1
        if i == len(pairs) - 1 or pair[0] != pairs[i + 1][0]:
            if count > best_count:
                best, best_count = pair, count
            count = 0
    return [best]


mode_op = _selecting_op("mode")(_mode_pick)


@op("median", save=save_self_and_result)
def median_all_op(xs, p):
    x = xs[0].reshape(-1)
    if x.dtype.kind == "f" and np.isnan(x).any():
        return np.asarray(np.nan, x.dtype)
    return np.sort(x, kind="stable")[(x.size - 1) // 2]


@median_all_op.derivative
def _(ctx, grad, xp):
    # evenly_distribute_backward: ties share the gradient
    self, result = ctx.saved
    mask = self == result
    return (xp.where(mask, grad / max(int(xp.numpy(mask).sum()), 1), 0.0),)


def _not_implemented_op(overload):
    """unique's node: recorded, but its backward raises (PyTorch has no formula). Not in
    the op table, whose entries all differentiate."""
    entry = Op(overload, lambda xs, p: xs[0], None, False)

    def backward(ctx, grad, xp):
        raise ProgramError("NotImplementedError",
                           f"the derivative for '{overload}' is not implemented.")

    entry.backward = backward
    return entry


unique2_op = _not_implemented_op("_unique2")
unique_dim_op = _not_implemented_op("unique_dim")


# ----- the torch functions -------------------------------------------------------------


def _pick(entry, name, input, dim, keepdim, *extra):
    indices_out = []
    values = call(entry, (input,), (dim, keepdim, *extra, indices_out))
    return ReturnTypes(name, values, Tensor(indices_out[0], dtypes.int64))


def _check_sortable(input, name):
    _check_tensor(name, input)


def sort(input, dim=-1, descending=False, stable=None):
    _check_sortable(input, "sort")
    d = wrap_dim(dim, input.ndim)
    entry = sort_op if stable is None else sort_stable_op
    return _pick(entry, "sort", input, d, True, bool(descending), bool(stable))


def argsort(input, dim=-1, descending=False, stable=False):
    _check_tensor("argsort", input)
    d = wrap_dim(dim, input.ndim)
    if not input.ndim:
        return Tensor(np.zeros((), np.int64), dtypes.int64)
    _, order = _sort_pick(input.array, d, bool(descending), bool(stable))
    return Tensor(order.astype(np.int64), dtypes.int64)


def msort(input):
    _check_tensor("msort", input)
    return sort(input, 0).values


def _check_k(input, dim, k, name):
    size = input.shape[dim] if input.ndim else 1
    if name == "topk":
        if k < 0 or k > size:
            raise runtime_error("selected index k out of range")
    elif k < 1 or k > size:
        raise runtime_error(f"kthvalue(): selected number k out of range for dimension {dim}")


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - torch's argument name
    _check_tensor("topk", input)
    d = wrap_dim(dim, input.ndim)
    _check_k(input, d, k, "topk")
    return _pick(topk_op, "topk", input, d, True, int(k), bool(largest), bool(sorted))


def kthvalue(input, k, dim=-1, keepdim=False):
    _check_tensor("kthvalue", input)
    d = wrap_dim(dim, input.ndim)
    _check_k(input, d, k, "kthvalue")
    return _pick(kthvalue_op, "kthvalue", input, d, bool(keepdim), int(k))


def _check_not_empty(input, dim, name):
    if input.ndim and input.shape[dim] == 0:
        raise index_error(f"{name}(): Expected reduction dim {dim} to have non-zero size.")


def median(input, dim=None, keepdim=False):
    _check_tensor("median", input)
    if dim is None:
        if not input.array.size:
            return Tensor(np.asarray(np.nan, input.dtype.numpy), input.dtype)
        return call(median_all_op, (input,))
    d = wrap_dim(dim, input.ndim)
    _check_not_empty(input, d, "median")
    return _pick(median_dim_op, "median", input, d, bool(keepdim))


def mode(input, dim=-1, keepdim=False):
    _check_tensor("mode", input)
    d = wrap_dim(dim, input.ndim)
    _check_not_empty(input, d, "mode")
    return _pick(mode_op, "mode", input, d, bool(keepdim))


def unique(input, sorted=True, return_inverse=False, return_counts=False,  # noqa: A002
           dim=None):
    _check_tensor("unique", input)
    x = input.array
    if dim is None:
        values, inverse, counts = np.unique(x.reshape(-1), return_inverse=True,
                                            return_counts=True)
        inverse = inverse.reshape(x.shape)
        entry = unique2_op
    else:
        d = wrap_dim(dim, input.ndim)
        moved = np.moveaxis(x, d, 0)
        if moved.shape[0] == 0:  # nothing along dim: an empty result of the same shape
            values, inverse, counts = x, np.zeros(0, np.int64), np.zeros(0, np.int64)
        else:
            flat = moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:], dtype=np.int64)))
            rows, inverse, counts = np.unique(flat, axis=0, return_inverse=True,
                                              return_counts=True)
            values = np.moveaxis(rows.reshape((-1,) + moved.shape[1:]), 0, d)
            inverse = inverse.reshape(-1)
        entry = unique_dim_op
    result = call(entry, (input,), None, (np.ascontiguousarray(values, x.dtype),))
    extra = []
    if return_inverse:
        extra.append(Tensor(inverse.astype(np.int64), dtypes.int64))
    if return_counts:
        extra.append(Tensor(counts.astype(np.int64), dtypes.int64))
    return (result, *extra) if extra else result


FUNCTIONS = {"sort": sort, "argsort": argsort, "msort": msort, "topk": topk,
             "kthvalue": kthvalue, "median": median, "mode": mode, "unique": unique}
TENSOR_METHODS = dict(FUNCTIONS)
