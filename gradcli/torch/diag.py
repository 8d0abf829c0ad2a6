"""torch.diag: a vector to a diagonal matrix (DiagEmbedBackward0) or a matrix to its
diagonal (a copy: DiagonalBackward0_copy), with `diagonal` selecting which one."""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import op
from gradcli.base.errors import runtime_error


def _positions(length: int, offset: int):
    rows = np.arange(length) + max(-offset, 0)
    cols = np.arange(length) + max(offset, 0)
    return rows, cols


@op("diag_embed")
def _diag_embed(xs, p):
    x = xs[0]
    n = x.shape[0] + abs(p)
    out = np.zeros((n, n), dtype=x.dtype)
    out[_positions(x.shape[0], p)] = x
    return out


# the gradient is the same diagonal of the incoming gradient
_diag_embed.derivative(
    lambda ctx, grad, xp: (xp.gather_index(grad, _positions(ctx.shapes[0][0], ctx.params)),))


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
