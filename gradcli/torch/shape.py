"""Views and shape functions: view/reshape, transpose/permute, squeeze/unsqueeze, expand,
cat/stack, split/chunk, flatten, repeat, flip.
"""

from __future__ import annotations

import math

from gradcli.aten import ops as O
from gradcli.base import dtypes
from gradcli.base.dtypes import DType
from gradcli.base.errors import (
    runtime_error,
    type_error,
    value_error,
)
from gradcli.torch._common import call, cast, is_tensor, size_args, type_name, wrap_dim, wrap_dims
from gradcli.torch.conversion import clone
from gradcli.torch.creation import _check_size


def _infer_shape(shape, numel):
    shape = list(shape)
    if shape.count(-1) > 1:
        raise runtime_error("only one dimension can be inferred")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or numel % known:
            raise runtime_error(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[shape.index(-1)] = numel // known
    if math.prod(shape) != numel:
        raise runtime_error(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def view(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], DType):
        raise runtime_error("view(dtype) is not supported")
    shape = _infer_shape(size_args(shape, "view", True) if shape else (), input.array.size)
    try:
        input.array.reshape(shape, copy=False)
    except ValueError:
        raise runtime_error(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        ) from None
    return call(O.view, (input,), shape)


def reshape(input, *shape):
    shape = _infer_shape(size_args(shape, "reshape", True, "shape"), input.array.size)
    try:
        input.array.reshape(shape, copy=False)
    except ValueError:
        # Not expressible as a view: PyTorch copies, then _unsafe_view.
        return call(O.unsafe_view, (clone(input),), shape)
    if not input.array.flags.c_contiguous:
        # PyTorch records a view of a non-contiguous input as _reshape_alias.
        return call(O.reshape_alias, (input,), shape)
    return call(O.view, (input,), shape)


def flatten(input, start_dim=0, end_dim=-1):
    if input.ndim == 0:
        return reshape(input, (1,))
    start, end = wrap_dim(start_dim, input.ndim), wrap_dim(end_dim, input.ndim)
    if start > end:
        raise runtime_error("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    merged = math.prod(input.shape[start : end + 1])
    shape = input.shape[:start] + (merged,) + input.shape[end + 1 :]
    return reshape(input, shape)


def squeeze(input, dim=None):
    if dim is None:
        return call(O.squeeze_all, (input,))
    if isinstance(dim, (tuple, list)):
        dims = tuple(d for d in wrap_dims(dim, input.ndim) if input.shape[d] == 1)
        return call(O.squeeze_dims, (input,), dims)
    d = wrap_dim(dim, input.ndim)
    # Squeezing a dimension that is not 1 is still a (no-op) view in PyTorch.
    return call(O.squeeze_dim, (input,), d if input.ndim and input.shape[d] == 1 else ())


def unsqueeze(input, dim):
    d = wrap_dim(dim, input.ndim + 1)
    return call(O.unsqueeze, (input,), d)


def transpose(input, dim0, dim1):
    if input.ndim == 0:
        wrap_dim(dim0, 0), wrap_dim(dim1, 0)
        return call(O.transpose, (input,), (0, 0))
    return call(O.transpose, (input,), (wrap_dim(dim0, input.ndim), wrap_dim(dim1, input.ndim)))


def permute(input, *dims):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != input.ndim:
        raise runtime_error(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            "length of the desired ordering of dimensions i.e. input.dim() = "
            f"{input.ndim} is not equal to len(dims) = {len(dims)}"
        )
    wrapped = tuple(wrap_dim(d, input.ndim) for d in dims)
    if len(set(wrapped)) != len(wrapped):
        raise runtime_error("permute(): duplicate dims are not allowed.")
    return call(O.permute, (input,), wrapped)


def t(input):
    if input.ndim > 2:
        raise runtime_error(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return call(O.t, (input,))


def T(input):
    """`x.T`: permute reversing all dims (PyTorch warns unless the tensor is 2-D)."""
    return call(O.permute, (input,), tuple(range(input.ndim - 1, -1, -1)))


def expand(input, *sizes):
    sizes = size_args(sizes, "expand") if not any(s == -1 for s in _flat(sizes)) else tuple(
        _flat(sizes)
    )
    if len(sizes) < input.ndim:
        raise runtime_error(
            f"expand(torch.FloatTensor{{[{', '.join(map(str, input.shape))}]}}, "
            f"size=[{', '.join(map(str, sizes))}]): "
            "the number of sizes provided ("
            f"{len(sizes)}) must be greater or equal to the number of dimensions in the tensor "
            f"({input.ndim})"
        )
    lead = len(sizes) - input.ndim
    target = []
    for i, size in enumerate(sizes):
        if i < lead:
            target.append(size)
            continue
        existing = input.shape[i - lead]
        if size == -1:
            size = existing
        elif existing != 1 and existing != size:
            raise runtime_error(
                f"The expanded size of the tensor ({size}) must match the existing size "
                f"({existing}) at non-singleton dimension {i}.  Target sizes: "
                f"[{', '.join(map(str, sizes))}].  "
                f"Tensor sizes: [{', '.join(map(str, input.shape))}]"
            )
        target.append(size)
    _check_size(target, input.dtype, view=True)
    return call(O.expand, (input,), tuple(target))


def _flat(sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        return tuple(sizes[0])
    return tuple(sizes)


def expand_as(input, other):
    return expand(input, other.shape)


def repeat(input, *repeats):
    repeats = size_args(repeats, "repeat", arg="repeats")
    if len(repeats) < input.ndim:
        raise runtime_error(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    padded = (1,) * (len(repeats) - input.ndim) + tuple(input.shape)
    _check_size([n * r for n, r in zip(padded, repeats, strict=True)], input.dtype)
    return call(O.repeat, (input,), repeats)


def _check_sequence(tensors, name):
    if is_tensor(tensors) or not isinstance(tensors, (list, tuple)):
        raise type_error(
            f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
            f"{type_name(tensors)}"
        )
    if not tensors:
        # torch.cat checks in Python (torch/functional.py), torch.stack in ATen
        if name == "cat":
            raise value_error("torch.cat(): expected a non-empty list of Tensors")
        raise runtime_error(f"{name} expects a non-empty TensorList")
    for i, item in enumerate(tensors):
        if not is_tensor(item):
            raise type_error(
                f"expected Tensor as element {i} in argument 0, but got {type_name(item)}"
            )
    return list(tensors)


def _promote_all(tensors):
    dtype = tensors[0].dtype
    for x in tensors[1:]:
        dtype = dtypes.promote_pair(dtype, x.dtype)
    return dtype


def cat(tensors, dim=0):
    tensors = _check_sequence(tensors, "cat")
    dtype = _promote_all(tensors)
    reference = next((x for x in tensors if x.shape != (0,)), tensors[0])
    if reference.ndim == 0:
        raise runtime_error("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, reference.ndim)
    for i, x in enumerate(tensors):
        if x.shape == (0,):
            continue
        if x.ndim != reference.ndim:
            raise runtime_error(
                f"Tensors must have same number of dimensions: got {reference.ndim} and {x.ndim}"
            )
        for axis in range(x.ndim):
            if axis != d and x.shape[axis] != reference.shape[axis]:
                raise runtime_error(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{reference.shape[axis]} but got size {x.shape[axis]} for tensor number {i} "
                    "in the list."
                )
    arrays = tuple(cast(x, dtype) for x in tensors if x.shape != (0,) or reference is x)
    kept = tuple(x for x in tensors if x.shape != (0,) or reference is x)
    return call(O.cat, kept, d, arrays)


def stack(tensors, dim=0):
    tensors = _check_sequence(tensors, "stack")
    for i, x in enumerate(tensors[1:], 1):
        if x.shape != tensors[0].shape:
            raise runtime_error(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} "
                f"at entry 0 and {list(x.shape)} at entry {i}"
            )
    dtype = _promote_all(tensors)
    d = wrap_dim(dim, tensors[0].ndim + 1)
    return call(O.stack, tuple(tensors), d, tuple(cast(x, dtype) for x in tensors))
