"""Shape functions beyond the core set: chunk/split (one multi-output node, SplitBackward0),
tensor_split/narrow/select (slices), flip/roll/rot90, tril/triu, diagonal, block_diag,
the stacks (hstack, vstack, ...), atleast_Nd, broadcast_to/broadcast_tensors, tile,
repeat_interleave, unflatten, unfold, cartesian_prod, tril_indices/triu_indices.

Each function records the nodes PyTorch 2.13 records for it: a composite (hstack is cat,
tile is repeat) goes through the ops it decomposes into; an op with its own
derivatives.yaml entry (flip, roll, tril, ...) is an `@op` here, its backward written so
that under create_graph it records the same op on the gradient.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import Op, op
from gradcli.autodiff.node import edge_to
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base import dtypes
from gradcli.base.errors import index_error, runtime_error, type_error
from gradcli.torch import creation, gathering
from gradcli.torch import shape as shapes
from gradcli.torch._common import call, is_tensor, size_args, type_name, wrap_dim, wrap_dims
from gradcli.torch.conversion import Size
from gradcli.torch.creation import _item
from gradcli.torch.inplace import _check_inplace, fill_
from gradcli.torch.unbind import UnbindNode


def same_op(entry: Op, grad, p):
    """`entry` applied to a gradient: recorded when the gradient is a tensor
    (create_graph=True), plain numpy otherwise."""
    if grad.__class__ is Tensor:
        return O.call(entry, (grad,), p)
    return entry.forward((grad,), p)


def _int_list(value, name, arg):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, (tuple, list)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    raise type_error(f"{name}(): argument '{arg}' must be tuple of ints, not {type_name(value)}")


# ----- flip, roll, rot90 -----------------------------------------------------------------


@op("flip")
def _flip(xs, p):
    return np.flip(xs[0], p).copy() if p else xs[0].copy()


_flip.derivative(lambda ctx, grad, xp: (same_op(_flip, grad, ctx.params),))


def flip(input, *dims):
    dims = _int_list(dims[0] if len(dims) == 1 else dims, "flip", "dims")
    return call(_flip, (input,), wrap_dims(dims, input.ndim))


def _flip_one(input, dim):
    if input.ndim < dim + 1:
        raise runtime_error(f"Input must be >= {dim + 1}-d.")
    return call(_flip, (input,), (dim,))


def fliplr(input):
    return _flip_one(input, 1)


def flipud(input):
    return _flip_one(input, 0)


@op("roll")
def _roll(xs, p):
    shifts, dims = p
    if not dims:
        return np.roll(xs[0].reshape(-1), shifts[0]).reshape(xs[0].shape)
    return np.roll(xs[0], shifts, dims)


# roll's gradient is the gradient rolled back
_roll.derivative(lambda ctx, grad, xp: (
    same_op(_roll, grad, (tuple(-s for s in ctx.params[0]), ctx.params[1])),))


def roll(input, shifts, dims=None):
    shifts = _int_list(shifts, "roll", "shifts")
    dims = () if dims is None else _int_list(dims, "roll", "dims")
    if not dims and len(shifts) == 1:  # no dims: roll the flattened tensor
        return call(_roll, (input,), (shifts, ()))
    if len(shifts) != len(dims):
        raise runtime_error(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                            f"dims:{len(dims)}")
    return call(_roll, (input,), (shifts, tuple(wrap_dim(d, input.ndim) for d in dims)))


@op("rot90")
def _rot90(xs, p):
    k, dims = p
    return np.rot90(xs[0], k, dims).copy()


_rot90.derivative(lambda ctx, grad, xp: (
    same_op(_rot90, grad, (-ctx.params[0], ctx.params[1])),))


def rot90(input, k=1, dims=(0, 1)):
    dims = _int_list(dims, "rot90", "dims")
    if len(dims) != 2:
        raise runtime_error(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise runtime_error(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = wrap_dim(dims[0], input.ndim), wrap_dim(dims[1], input.ndim)
    if d0 == d1:
        raise runtime_error(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    return call(_rot90, (input,), (k % 4, (d0, d1)))


# ----- tril, triu -----------------------------------------------------------------------


@op("tril")
def _tril(xs, p):
    return np.tril(xs[0], p)


@op("triu")
def _triu(xs, p):
    return np.triu(xs[0], p)


_tril.derivative(lambda ctx, grad, xp: (same_op(_tril, grad, ctx.params),))
_triu.derivative(lambda ctx, grad, xp: (same_op(_triu, grad, ctx.params),))


def _triangle(entry, name):
    def function(input, diagonal=0):
        if input.ndim < 2:
            raise runtime_error(f"{name}: input tensor must have at least 2 dimensions")
        return call(entry, (input,), int(diagonal))

    function.__name__ = name
    return function


tril = _triangle(_tril, "tril")
triu = _triangle(_triu, "triu")


def _triangle_indices(upper):
    def function(row, col, offset=0, *, dtype=None):
        rows, cols = np.triu_indices(row, offset, col) if upper else np.tril_indices(
            row, offset, col)
        dtype = dtype or dtypes.int64
        return Tensor(np.stack([rows, cols]).astype(dtype.numpy).reshape(2, -1), dtype)

    return function


tril_indices = _triangle_indices(False)
triu_indices = _triangle_indices(True)


# ----- diagonal, block_diag -------------------------------------------------------------


def _diagonal_index(shape, offset, dim1, dim2):
    """The index of input's diagonal: the diagonal's axis goes last, as in PyTorch."""
    n1, n2 = shape[dim1], shape[dim2]
    length = max(min(n1 + min(offset, 0), n2 - max(offset, 0)), 0)
    return np.arange(length) + max(-offset, 0), np.arange(length) + max(offset, 0)


@op("diagonal", is_view=True)
def _diagonal(xs, p):
    offset, dim1, dim2 = p
    x = xs[0]
    rows, cols = _diagonal_index(x.shape, offset, dim1, dim2)
    if not len(rows) or not x.flags.writeable:
        return np.diagonal(x, offset, dim1, dim2)
    # a writable strided view (numpy's diagonal is read-only), so that an in-place write
    # into it reaches the input, as in PyTorch
    moved = np.moveaxis(x, (dim1, dim2), (-2, -1))[..., rows[0]:, cols[0]:]
    strides = moved.strides[:-2] + (moved.strides[-2] + moved.strides[-1],)
    return np.lib.stride_tricks.as_strided(moved, moved.shape[:-2] + (len(rows),), strides)


@op("diagonal_backward")
def _diagonal_backward(xs, p):
    shape, offset, dim1, dim2 = p
    out = np.zeros(shape, xs[0].dtype)
    np.diagonal(out, offset, dim1, dim2).setflags(write=True)
    rows, cols = _diagonal_index(shape, offset, dim1, dim2)
    moved = np.moveaxis(out, (dim1, dim2), (-2, -1))
    moved[..., rows, cols] = xs[0]
    return out


_diagonal.derivative(lambda ctx, grad, xp: (
    same_op(_diagonal_backward, grad, (ctx.shapes[0],) + ctx.params),))
_diagonal_backward.derivative(lambda ctx, grad, xp: (
    same_op(_diagonal, grad, ctx.params[1:]),))


def diagonal(input, offset=0, dim1=0, dim2=1):
    d1, d2 = wrap_dim(dim1, input.ndim), wrap_dim(dim2, input.ndim)
    if d1 == d2:
        raise runtime_error(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return call(_diagonal, (input,), (int(offset), d1, d2))


@op("block_diag")
def _block_diag(xs, p):
    blocks = [b.reshape(s) for b, s in zip(xs, p, strict=True)]
    rows = sum(b.shape[0] for b in blocks)
    cols = sum(b.shape[1] for b in blocks)
    dtype = np.result_type(*blocks)
    out = np.zeros((rows, cols), dtype)
    r = c = 0
    for b in blocks:
        out[r:r + b.shape[0], c:c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return out


@_block_diag.derivative
def _(ctx, grad, xp):
    grads, r, c = [], 0, 0
    for original, (h, w) in zip(ctx.shapes, ctx.params, strict=True):
        block = xp.narrow(xp.narrow(grad, 0, r, h), 1, c, w)
        grads.append(xp.reshape(block, original))
        r, c = r + h, c + w
    return tuple(grads)


def block_diag(*tensors):
    for i, t in enumerate(tensors):
        if not is_tensor(t):
            raise type_error(f"expected Tensor as element {i} in argument 0, but got "
                             f"{type_name(t)}")
        if t.ndim > 2:
            raise runtime_error(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} "
                f"has {t.ndim} dimensions")
    if not tensors:
        return Tensor(np.zeros((1, 0), np.float32))
    as2d = tuple((1, 1) if t.ndim == 0 else (1, t.shape[0]) if t.ndim == 1 else t.shape
                 for t in tensors)
    return call(_block_diag, tuple(tensors), as2d)


# ----- split, chunk ---------------------------------------------------------------------

SPLIT = Op("split.Tensor", None, None, True)
SPLIT_WITH_SIZES = Op("split_with_sizes", None, None, True)


def _split_backward(ctx, grads, xp):
    """split_backward: the outputs' gradients concatenated along dim, zeros where none
    came."""
    node = ctx
    dim, sizes = node.params
    shape, dtype = node.inputs_meta[0]
    if not isinstance(grads, list):
        grads = [grads]
    parts = []
    for size, g in zip(sizes, grads, strict=False):
        part_shape = shape[:dim] + (size,) + shape[dim + 1:]
        if g is None:
            g = creation.zeros(part_shape, dtype=dtype) if any(
                x.__class__ is Tensor for x in grads if x is not None) else np.zeros(
                part_shape, dtype.numpy)
        parts.append(g)
    if any(p.__class__ is Tensor for p in parts):
        return (shapes.cat(parts, dim),)
    return (np.concatenate(parts, axis=dim),)


SPLIT.backward = _split_backward
SPLIT_WITH_SIZES.backward = _split_backward


def _split_views(input, dim, sizes, entry):
    recording = GradMode.enabled and input.requires_grad
    node = None
    if recording and sizes:
        node = UnbindNode(entry, (edge_to(input),), (), None, (dim, tuple(sizes)),
                          ((input.shape, input.dtype),), (True,))
        node.expect(len(sizes))
        O.set_flags(multi_output=True)
    tangent = None
    if O.FORWARD_AD.active:  # a dual level is open: each piece carries its slice of tangent
        from gradcli.torch.autograd import forward_mode

        tangent = forward_mode.tangent_of(input)
    out, start = [], 0
    lead = (slice(None),) * dim
    for i, size in enumerate(sizes):
        piece = lead + (slice(start, start + size),)
        result = Tensor(input.array[piece], input.dtype, recording, node)
        O._share_base(result, input)
        if node is not None:
            node.bind(i, result)
        if tangent is not None:
            forward_mode.set_tangent(result, tangent[piece])
        out.append(result)
        start += size
    return tuple(out)


def _at_least_1d(input, name):
    if input.ndim == 0:
        raise runtime_error(f"{name} expects at least a 1-dimensional tensor")


def split(input, split_size_or_sections, dim=0):
    _at_least_1d(input, "split")
    d = wrap_dim(dim, input.ndim)
    length = input.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise runtime_error(
                f"split_with_sizes expects split_sizes to sum exactly to {length} (input "
                f"tensor's size at dimension {d}), but got split_sizes={sizes}")
        if any(s < 0 for s in sizes):
            raise runtime_error(
                f"split_with_sizes expects split_sizes have only non-negative entries, but "
                f"got split_sizes={sizes}")
        return _split_views(input, d, sizes, SPLIT_WITH_SIZES)
    size = split_size_or_sections
    if not isinstance(size, int) or isinstance(size, bool):
        raise type_error(f"split_with_sizes(): argument 'split_sizes' (position 2) must be "
                         f"tuple of ints, not {type_name(size)}")
    if size < 0:
        raise runtime_error(f"split expects split_size be non-negative, but got split_size={size}")
    count = max(math.ceil(length / size), 1) if size else 1
    sizes = [size] * (count - 1) + [length - size * (count - 1)]
    return _split_views(input, d, sizes, SPLIT)


def chunk(input, chunks, dim=0):
    _at_least_1d(input, "chunk")
    if chunks <= 0:
        raise runtime_error("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = wrap_dim(dim, input.ndim)
    length = input.shape[d]
    size = (length + chunks - 1) // chunks
    if size == 0 and length == 0:
        # every chunk is empty: as many as asked
        return _split_views(input, d, [0] * chunks, SPLIT_WITH_SIZES)
    return split(input, max(size, 1), d)


def narrow(input, dim, start, length):
    if input.ndim == 0:
        raise runtime_error("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.ndim)
    size = input.shape[d]
    if is_tensor(start):
        start = int(start.array)
    if start < -size or start > size:
        raise index_error(f"start out of range (expected to be in range of [{-size}, {size}], "
                          f"but got {start})")
    start %= size if size else 1
    if length < 0 or start > size - length:
        raise runtime_error(f"start ({start}) + length ({length}) exceeds dimension size "
                            f"({size}).")
    return call(O.slice_, (input,), (d, start, start + length, 1))


def select(input, dim, index):
    if input.ndim == 0:
        raise index_error("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.ndim)
    size = input.shape[d]
    if index < -size or index >= size:
        raise index_error(f"select(): index {index} out of range for tensor of size "
                          f"{list(input.shape)} at dimension {d}")
    return call(O.select, (input,), (d, index % size))


def tensor_split(input, indices_or_sections, dim=0):
    _at_least_1d(input, "tensor_split")
    d = wrap_dim(dim, input.ndim)
    length = input.shape[d]
    if is_tensor(indices_or_sections):
        indices_or_sections = (int(indices_or_sections.array) if indices_or_sections.ndim == 0
                               else indices_or_sections.array.tolist())
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
        if sections <= 0:
            raise runtime_error(f"number of sections must be larger than 0, got {sections}")
        small, extra = divmod(length, sections)
        bounds, start = [], 0
        for i in range(sections):
            stop = start + small + (1 if i < extra else 0)
            bounds.append((start, stop))
            start = stop
    else:
        bounds, start = [], 0
        for index in list(indices_or_sections) + [length]:
            stop = min(max(index if index >= 0 else index + length, 0), length)
            bounds.append((start, max(stop, start)))
            start = stop
    return tuple(call(O.slice_, (input,), (d, min(a, length), min(b, length), 1))
                 for a, b in bounds)


# ----- stacks, atleast, broadcasting ---------------------------------------------------


def atleast_1d(*tensors):
    return _atleast(tensors, _one_d)


def atleast_2d(*tensors):
    return _atleast(tensors, _two_d)


def atleast_3d(*tensors):
    return _atleast(tensors, _three_d)


def _atleast(tensors, convert):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(convert(t) for t in tensors[0])
    if len(tensors) == 1:
        return convert(tensors[0])
    return tuple(convert(t) for t in tensors)


def _one_d(t):
    return shapes.reshape(t, (1,)) if t.ndim == 0 else t


def _two_d(t):
    if t.ndim == 0:
        return shapes.reshape(t, (1, 1))
    return shapes.unsqueeze(t, 0) if t.ndim == 1 else t


def _three_d(t):
    if t.ndim == 0:
        return shapes.reshape(t, (1, 1, 1))
    if t.ndim == 1:
        return shapes.unsqueeze(shapes.unsqueeze(t, 0), -1)
    return shapes.unsqueeze(t, -1) if t.ndim == 2 else t


def _tensor_list(tensors, name):
    if is_tensor(tensors) or not isinstance(tensors, (list, tuple)):
        raise type_error(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                         f"not {type_name(tensors)}")
    return list(tensors)


def hstack(tensors):
    tensors = [_one_d(t) for t in _tensor_list(tensors, "hstack")]
    if tensors and tensors[0].ndim == 1:
        return shapes.cat(tensors, 0)
    return shapes.cat(tensors, 1)


def vstack(tensors):
    return shapes.cat([_two_d(t) for t in _tensor_list(tensors, "vstack")], 0)


def dstack(tensors):
    return shapes.cat([_three_d(t) for t in _tensor_list(tensors, "dstack")], 2)


def column_stack(tensors):
    tensors = _tensor_list(tensors, "column_stack")
    columns = [shapes.reshape(t, (t.array.size, 1)) if t.ndim <= 1 else t for t in tensors]
    return shapes.cat(columns, 1)


def broadcast_to(input, size):
    return shapes.expand(input, tuple(size))


def broadcast_shapes(*sizes):
    """torch.broadcast_shapes: PyTorch's message names the first shape that does not fit
    what the shapes before it broadcast to."""
    result: list = []
    for position, size in enumerate(sizes):
        shape = tuple(size) if isinstance(size, (list, tuple)) else (size,)
        if len(shape) > len(result):
            result = [1] * (len(shape) - len(result)) + result
        for k in range(1, len(shape) + 1):
            n = shape[-k]
            if n != 1 and result[-k] != 1 and n != result[-k]:
                raise runtime_error(
                    f"Attempting to broadcast a dimension of length {n} at -{k}! Mismatching "
                    f"argument at index {position} had {shape}; but expected shape should be "
                    f"broadcastable to {result}")
            if n != 1:
                result[-k] = n
    return Size(tuple(result))


def broadcast_tensors(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    try:
        shape = np.broadcast_shapes(*[t.shape for t in tensors])
    except ValueError:
        from gradcli.torch.pointwise import broadcast_error

        raise broadcast_error(tensors[0].shape, tensors[1].shape) from None
    return tuple(shapes.expand(t, shape) for t in tensors)


def tile(input, *dims):
    dims = size_args(dims, "tile", arg="dims")
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + tuple(dims)
    return shapes.repeat(input, dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:  # torch.repeat_interleave(repeats): the indices repeated
        counts = input.array
        return Tensor(np.repeat(np.arange(len(counts)), counts).astype(np.int64))
    if is_tensor(repeats) and repeats.ndim > 0 and repeats.array.size > 1:
        counts = repeats.array
        source = shapes.flatten(input) if dim is None else input
        d = 0 if dim is None else wrap_dim(dim, input.ndim)
        if counts.shape[0] != source.shape[d]:
            raise runtime_error("repeats must have the same size as input along dim, but got "
                                f"repeats.size(0) = {counts.shape[0]} and input.size({d}) = "
                                f"{source.shape[d]}")
        index = Tensor(np.repeat(np.arange(len(counts)), counts).astype(np.int64))
        return gathering.index_select(source, d, index)
    count = int(repeats.array) if is_tensor(repeats) else repeats
    if count < 0:
        raise runtime_error("Repeats must be non-negative")
    # PyTorch: unsqueeze, expand, clone, then flatten the two dims (a view)
    source = shapes.flatten(input) if dim is None else input
    d = 0 if dim is None else wrap_dim(dim, max(input.ndim, 1))
    if source.ndim == 0:
        source = shapes.reshape(source, (1,))
    target = source.shape[:d + 1] + (count,) + source.shape[d + 1:]
    expanded = shapes.expand(shapes.unsqueeze(source, d + 1), target)
    copied = call(O.clone, (expanded,))
    return shapes.view(copied, source.shape[:d] + (source.shape[d] * count,)
                       + source.shape[d + 1:])


def unflatten(input, dim, sizes):
    d = wrap_dim(dim, input.ndim)
    sizes = tuple(sizes)
    if -1 in sizes:
        known = math.prod(s for s in sizes if s != -1)
        sizes = tuple(input.shape[d] // known if s == -1 else s for s in sizes)
    if math.prod(sizes) != input.shape[d]:
        raise runtime_error(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({input.shape[d]}) in the input tensor")
    return shapes.view(input, input.shape[:d] + sizes + input.shape[d + 1:])


@op("unfold", is_view=True)
def _unfold(xs, p):
    dim, size, step = p
    x = xs[0]
    if x.ndim == 0:
        return x.reshape(1)
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=dim)
    return windows[(slice(None),) * dim + (slice(None, None, step),)]


@op("unfold_backward")
def _unfold_backward(xs, p):
    shape, dim, size, step = p
    grad = xs[0]
    out = np.zeros(shape, grad.dtype)
    if not shape:
        return grad.reshape(())
    for w in range(grad.shape[dim]):
        window = np.moveaxis(np.take(grad, w, axis=dim), -1, dim)
        index = (slice(None),) * dim + (slice(w * step, w * step + size),)
        out[index] += window
    return out


_unfold.derivative(lambda ctx, grad, xp: (
    same_op(_unfold_backward, grad, (ctx.shapes[0],) + ctx.params),))
_unfold_backward.derivative(lambda ctx, grad, xp: (
    same_op(_unfold, grad, ctx.params[1:]),))


def unfold(input, dimension, size, step):
    d = wrap_dim(dimension, max(input.ndim, 1))
    length = input.shape[d] if input.ndim else 1
    if size > length:
        raise runtime_error(f"maximum size for tensor at dimension {d} is {length} but size is "
                            f"{size}")
    if step <= 0:
        raise runtime_error(f"step is {step} but must be > 0")
    return call(_unfold, (input,), (d, size, step))


def cartesian_prod(*tensors):
    for t in tensors:
        if t.ndim != 1:
            raise runtime_error("Expect a 1D vector, but got shape " + str(list(t.shape)))
    if len(tensors) == 1:
        return tensors[0]
    shape = tuple(t.shape[0] for t in tensors)
    columns = []
    for i, t in enumerate(tensors):
        spread = shapes.view(t, tuple(-1 if j == i else 1 for j in range(len(tensors))))
        columns.append(shapes.flatten(shapes.expand(spread, shape)))
    return shapes.stack(columns, 1)


def swapaxes(input, axis0, axis1):
    return shapes.transpose(input, axis0, axis1)


def fill_diagonal_(input, fill_value, wrap=False):
    """Tensor.fill_diagonal_: PyTorch fills a strided view of the diagonal, so a tensor
    with history gets CopySlices, as for `x.diagonal().fill_(v)`."""
    if input.ndim < 2:
        raise runtime_error("dimensions must larger than 1")
    value = _item(fill_value)
    rows, cols = input.shape[0], input.shape[1]
    if input.ndim == 2 and wrap and rows > cols + 1:
        # the diagonal starts again every cols + 1 rows: a flat strided write
        return _fill_flat(input, value, cols + 1)
    if input.ndim == 2:
        fill_(diagonal(input), value)
        return input
    _check_inplace(input)
    if not input.array.flags.writeable:
        input.array = input.array.copy()
    input.array[(np.arange(min(input.shape)),) * input.ndim] = value
    input.version[0] += 1
    return input


def _fill_flat(input, value, step):
    _check_inplace(input)
    if not input.array.flags.writeable:
        input.array = input.array.copy()
    input.array.reshape(-1)[::step] = value
    input.version[0] += 1
    return input


FUNCTIONS = {
    "atleast_1d": atleast_1d, "atleast_2d": atleast_2d, "atleast_3d": atleast_3d,
    "block_diag": block_diag, "broadcast_shapes": broadcast_shapes,
    "broadcast_tensors": broadcast_tensors, "broadcast_to": broadcast_to,
    "cartesian_prod": cartesian_prod, "chunk": chunk, "column_stack": column_stack,
    "diagonal": diagonal, "dstack": dstack, "flip": flip, "fliplr": fliplr, "flipud": flipud,
    "hstack": hstack, "narrow": narrow, "repeat_interleave": repeat_interleave, "roll": roll,
    "rot90": rot90, "row_stack": vstack, "select": select, "split": split,
    "swapaxes": swapaxes, "swapdims": swapaxes, "tensor_split": tensor_split, "tile": tile,
    "tril": tril, "tril_indices": tril_indices, "triu": triu, "triu_indices": triu_indices,
    "unflatten": unflatten, "vstack": vstack,
}
TENSOR_METHODS = {
    "broadcast_to": broadcast_to, "chunk": chunk, "diagonal": diagonal, "flip": flip,
    "fliplr": fliplr, "flipud": flipud, "narrow": narrow,
    "repeat_interleave": repeat_interleave, "roll": roll, "rot90": rot90, "select": select,
    "split": split, "swapaxes": swapaxes, "swapdims": swapaxes, "tensor_split": tensor_split,
    "tile": tile, "tril": tril, "triu": triu, "unflatten": unflatten, "unfold": unfold,
    "fill_diagonal_": fill_diagonal_,
}
