"""Indexing: basic and advanced `x[...]`, index_select, gather, masked_select, where.
"""

from __future__ import annotations

import builtins

import numpy as np

from gradcli.aten import ops as O
from gradcli.base import dtypes
from gradcli.base.errors import (
    index_error,
    type_error,
    value_error,
)
from gradcli.torch._common import call, is_tensor


def getitem(input, index):
    """PyTorch's indexing: basic indices become select/slice/unsqueeze ops one at a time;
    tensors, lists and masks become one index.Tensor (IndexBackward0)."""
    lone_slice = isinstance(index, slice)
    if not isinstance(index, tuple):
        index = (index,)
    advanced = any(
        is_tensor(i) or isinstance(i, list) for i in index
    )
    if advanced:
        return _advanced_index(input, index)
    result = input
    dims_used = builtins.sum(1 for i in index if i is not None and i is not Ellipsis)
    if dims_used > input.ndim:
        raise index_error(f"too many indices for tensor of dimension {input.ndim}")
    dim = 0
    source_dim = 0  # the dimension of `input` an index refers to (for messages)
    ellipsis_seen = False
    for i in index:
        if i is Ellipsis:
            if ellipsis_seen:
                raise index_error("an index can only have a single ellipsis ('...')")
            ellipsis_seen = True
            dim += input.ndim - dims_used
            source_dim += input.ndim - dims_used
        elif i is None:
            result = call(O.unsqueeze, (result,), dim)
            dim += 1
        elif isinstance(i, bool):
            result = call(O.unsqueeze, (result,), dim)
            if not i:
                result = call(O.slice_, (result,), (dim, 0, 0, 1))
            dim += 1
        elif isinstance(i, int):
            size_ = result.shape[dim]
            if i < -size_ or i >= size_:
                raise index_error(
                    f"index {i} is out of bounds for dimension {source_dim} with size {size_}"
                )
            result = call(O.select, (result,), (dim, i % size_))
            source_dim += 1
        elif isinstance(i, slice):
            start, stop, step = i.start, i.stop, i.step
            for bound in (start, stop, step):
                if bound is not None and not isinstance(bound, int):
                    raise type_error(
                        "slice indices must be integers or None or have an __index__ method"
                    )
            if step is not None and step <= 0:
                raise value_error("step must be greater than zero")
            length = result.shape[dim]
            begin, end, stride = slice(start, stop, step).indices(length)
            end = builtins.max(end, begin)
            # A full `:` inside a tuple index is skipped; a lone `x[:]` still slices.
            if lone_slice or not (begin == 0 and end == length and stride == 1):
                result = call(O.slice_, (result,), (dim, begin, end, stride))
            dim += 1
            source_dim += 1
        else:
            raise index_error(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                "are valid indices (got " + type(i).__name__ + ")"
            )
    if result is input:
        return call(O.alias, (input,))
    return result


def _index_array(i, size_, dim):
    if is_tensor(i):
        if i.dtype is dtypes.bool_:
            return i.array
        if i.dtype.category != dtypes.INTEGRAL:
            raise index_error(
                "tensors used as indices must be long, int, byte or bool tensors"
            )
        arr = i.array
    else:
        arr = np.asarray(i)
        if arr.dtype == np.bool_:
            return arr
        if arr.dtype.kind not in "iu":
            if arr.size == 0:
                arr = arr.astype(np.int64)
            else:
                raise index_error(
                    "tensors used as indices must be long, int, byte or bool tensors"
                )
    bad = (arr < -size_) | (arr >= size_)
    if bad.any():
        raise index_error(
            f"index {int(arr[bad].flat[0])} is out of bounds for dimension {dim} with size {size_}"
        )
    return arr


def _advanced_index(input, index):
    converted = []
    dim = 0
    dims_used = builtins.sum(
        (i.ndim if is_tensor(i) and i.dtype is dtypes.bool_ else 1)
        for i in index
        if i is not None and i is not Ellipsis
    )
    if dims_used > input.ndim:
        raise index_error(f"too many indices for tensor of dimension {input.ndim}")
    for i in index:
        if i is Ellipsis:
            converted.append(Ellipsis)
            dim += input.ndim - dims_used
        elif i is None:
            converted.append(None)
        elif isinstance(i, slice):
            converted.append(i)
            dim += 1
        elif isinstance(i, int) and not isinstance(i, bool):
            size_ = input.shape[dim]
            if i < -size_ or i >= size_:
                raise index_error(
                    f"index {i} is out of bounds for dimension {dim} with size {size_}"
                )
            converted.append(i)
            dim += 1
        else:
            arr = _index_array(i, input.shape[dim], dim)
            if arr.dtype == np.bool_:
                mask_shape = input.shape[dim : dim + arr.ndim]
                if arr.shape != mask_shape:
                    bad = next(k for k in range(arr.ndim) if arr.shape[k] != mask_shape[k])
                    raise index_error(
                        f"The shape of the mask [{', '.join(map(str, arr.shape))}] at index "
                        f"{bad} does not match the shape of the indexed tensor "
                        f"[{', '.join(map(str, input.shape))}] at index {dim + bad}"
                    )
                dim += arr.ndim
            else:
                dim += 1
            converted.append(arr)
    key = tuple(converted)
    try:
        return call(O.index, (input,), key)
    except IndexError as exc:
        raise index_error(str(exc)) from None
