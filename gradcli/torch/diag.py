"""torch.diag: a vector to a diagonal matrix (DiagEmbedBackward0) or a matrix to its
diagonal (a copy: DiagonalBackward0_copy), with `diagonal` selecting which one."""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import op
from gradcli.base.errors import runtime_error
from gradcli.torch._common import wrap_dim


def _positions(length: int, offset: int):
    rows = np.arange(length) + max(-offset, 0)
    cols = np.arange(length) + max(offset, 0)
    return rows, cols


@op("diag_embed")
def _diag_embed(xs, p):
    x = xs[0]
    if isinstance(p, tuple):  # torch.diag_embed(input, offset, dim1, dim2)
        return _embed_general(x, *p)
    n = x.shape[0] + abs(p)
    out = np.zeros((n, n), dtype=x.dtype)
    out[_positions(x.shape[0], p)] = x
    return out


def _embed_general(x, offset, dim1, dim2):
    """The last dim of x becomes the `offset` diagonal of two new dims at dim1, dim2."""
    length = x.shape[-1]
    n = length + abs(offset)
    out = np.zeros(x.shape[:-1] + (n, n), dtype=x.dtype)
    rows, cols = _positions(length, offset)
    out[..., rows, cols] = x
    ndim = x.ndim + 1
    rest = [d for d in range(ndim) if d not in (dim1, dim2)]
    order = [0] * ndim
    for source, target in enumerate(rest + [dim1, dim2]):
        order[target] = source
    return np.ascontiguousarray(np.transpose(out, order))


@_diag_embed.derivative
def _(ctx, grad, xp):
    p = ctx.params
    if isinstance(p, tuple):  # the same diagonal of the incoming gradient, moved last
        offset, dim1, dim2 = p
        length = ctx.shapes[0][-1]
        rows, cols = _positions(length, offset)
        index = tuple(slice(None) if d not in (dim1, dim2) else (rows if d == dim1 else cols)
                      for d in range(len(ctx.shapes[0]) + 1))
        picked = xp.gather_index(grad, index)
        # numpy puts the two advanced indices' axis first when they are not adjacent
        first = 0 if abs(dim1 - dim2) != 1 else min(dim1, dim2)
        return (xp.permute(picked, tuple([d for d in range(picked.ndim) if d != first])
                           + (first,)),)
    # the gradient is the same diagonal of the incoming gradient
    return (xp.gather_index(grad, _positions(ctx.shapes[0][0], p)),)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    ndim = input.ndim + 1
    d1, d2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if d1 == d2:
        raise runtime_error(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return O.call(_diag_embed, (input,), (int(offset), d1, d2))


def _diagonal_length(shape, offset: int) -> int:
    rows, cols = shape
    if offset >= 0:
        return max(min(rows, cols - offset), 0)
    return max(min(rows + offset, cols), 0)


@op("diagonal_copy", name="DiagonalBackward0_copy")
def _diagonal_copy(xs, p):
    x = xs[0]
    return np.array(x[_positions(_diagonal_length(x.shape, p), p)])


# the gradient goes back onto the diagonal of a zero matrix
_diagonal_copy.derivative(lambda ctx, grad, xp: (xp.index_add(
    ctx.shapes[0], _positions(_diagonal_length(ctx.shapes[0], ctx.params), ctx.params),
    grad),))


def diag(input, diagonal=0):
    if input.ndim == 1:
        return O.call(_diag_embed, (input,), int(diagonal))
    if input.ndim == 2:
        return O.call(_diagonal_copy, (input,), int(diagonal))
    raise runtime_error(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
