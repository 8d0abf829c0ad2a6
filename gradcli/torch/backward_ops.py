"""Ops that the backward formulas of scans and selections run, as PyTorch writes them:
flip (cumsum's gradient is flip(cumsum(flip(grad)))), scatter (sort/topk/kthvalue/median/
mode put grad back at the indices: zeros.scatter(dim, indices, grad)) and scatter_add
(cummax/cummin, whose indices repeat).

On numpy arrays they compute; on tensors (create_graph=True) they are recorded, with
PyTorch's names (FlipBackward0, ScatterBackward0, ScatterAddBackward0). They are not in
the op table: programs reach them only through those formulas.
"""

from __future__ import annotations

import numpy as np

from gradcli.aten.ops import Op
from gradcli.autodiff.tensor import Tensor
from gradcli.torch._common import call

FLIP = Op("flip", lambda xs, p: np.ascontiguousarray(np.flip(xs[0], p)), None, False)
FLIP.backward = lambda ctx, grad, xp: (flip(grad, ctx.params),)


def flip(x, dim):
    if x.__class__ is Tensor:
        return call(FLIP, (x,), dim)
    return np.flip(x, dim)


def _scatter_forward(xs, p):
    dim, indices, add = p
    out = np.zeros(np.shape(xs[0]), dtype=xs[1].dtype)
    if add:
        np.add.at(out, _grid(indices, dim), xs[1])
    else:
        np.put_along_axis(out, indices, xs[1], axis=dim)
    return out


def _scatter_backward(ctx, grad, xp):
    # the source's gradient: grad gathered at the indices (zeros, the target, gets none)
    dim, indices, _ = ctx.params
    return None, gather(grad, dim, indices)


SCATTER = Op("scatter.src", _scatter_forward, None, False)
SCATTER_ADD = Op("scatter_add", _scatter_forward, None, False)
SCATTER.backward = SCATTER_ADD.backward = _scatter_backward

GATHER = Op("gather", lambda xs, p: np.take_along_axis(xs[0], p[1], axis=p[0]), None, False)


def _gather_backward(ctx, grad, xp):
    dim, indices = ctx.params
    return (scatter(ctx.shapes[0], dim, indices, grad, add=True),)


GATHER.backward = _gather_backward


def gather(x, dim, indices):
    if x.__class__ is Tensor:
        return call(GATHER, (x,), (dim, indices))
    return np.take_along_axis(x, indices, axis=dim)


def _grid(indices, dim):
    grid = list(np.indices(indices.shape, sparse=True))
    grid[dim] = indices
    return tuple(grid)


def scatter(shape, dim, indices, src, add=False):
    """zeros(shape).scatter(dim, indices, src) (scatter_add with add=True)."""
    if src.__class__ is Tensor:
        zeros = Tensor(np.zeros(shape, src.dtype.numpy), src.dtype)
        return call(SCATTER_ADD if add else SCATTER, (zeros, src), (dim, indices, add))
    return _scatter_forward((np.zeros(shape), np.asarray(src)), (dim, indices, add))
