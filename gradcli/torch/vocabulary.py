"""The backward formulas' vocabulary over differentiable tensors (create_graph=True): the
same names as gradcli.autodiff.vocabulary.NumpyVocabulary, run through torch's functions so
the gradient has a graph. Built here and handed to the engine at import."""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O
from gradcli.autodiff import engine
from gradcli.autodiff.tensor import Tensor
from gradcli.torch import (
    conversion,
    creation,
    linalg,
    pointwise,
    reductions,
)
from gradcli.torch import (
    shape as shapes,
)


class TensorVocabulary:
    """The same vocabulary over differentiable tensors: backward formulas run through the
    engine's own ops, so the gradient has a graph (create_graph=True)."""

    def __getattr__(self, name):  # pragma: no cover - every name is defined below
        raise AttributeError(name)


def _install():
    def as_tensor(x):
        return x if isinstance(x, Tensor) else Tensor(np.asarray(x))

    def sum_dims(x, dims, keepdim):
        if dims is None:
            everything = tuple(range(x.ndim))
            return reductions.sum(x, everything, True) if keepdim else reductions.sum(x)
        return reductions.sum(x, dims, keepdim)

    def mean_dims(x, dims, keepdim):
        if dims is None:
            everything = tuple(range(x.ndim))
            return reductions.mean(x, everything, True) if keepdim else reductions.mean(x)
        return reductions.mean(x, dims, keepdim)

    def sum_to_shape(x, shape):
        shape = tuple(shape)
        if x.shape == shape:
            return x
        lead = x.ndim - len(shape)
        if lead:
            x = reductions.sum(x, tuple(range(lead)))
        axes = tuple(i for i, s in enumerate(shape) if s == 1 and x.shape[i] != 1)
        if axes:
            x = reductions.sum(x, axes, True)
        return x if x.shape == shape else shapes.reshape(x, shape)

    def embed(shape, index, values):
        entry = O.select_backward if any(isinstance(i, int) for i in index) else O.slice_backward
        return O.call(entry, (values,), (tuple(shape), index))

    def where(condition, a, b):
        cond = condition if isinstance(condition, Tensor) else Tensor(np.asarray(condition, bool))
        return pointwise.where(cond, a, b)

    vocabulary = {
        "zeros_like": lambda x: creation.zeros_like(as_tensor(x)),
        "where": where,
        "exp": pointwise.exp,
        "log": pointwise.log,
        "log1p": pointwise.log1p,
        "sin": pointwise.sin,
        "cos": pointwise.cos,
        "sign": pointwise.sign,
        "abs": pointwise.abs,
        "floor": lambda x: Tensor(np.floor(as_tensor(x).array)),
        "outer": linalg.outer,
        "numpy": lambda x: x.array if isinstance(x, Tensor) else np.asarray(x),
        "constant": lambda array: Tensor(np.asarray(array)),
        "mT": lambda x: shapes.transpose(x, -2, -1),
        "expand": lambda x, shape: shapes.expand(x, tuple(shape)),
        "unsqueeze": shapes.unsqueeze,
        "squeeze": lambda x, dim: shapes.squeeze(x, dim),
        "reshape": lambda x, shape: shapes.reshape(x, tuple(shape)),
        "transpose": shapes.transpose,
        "permute": lambda x, dims: shapes.permute(x, tuple(dims)),
        "sum": sum_dims,
        "mean": mean_dims,
        "clamp_min": lambda x, low: pointwise.clamp(x, min=low),
        "sum_to": sum_to_shape,
        "narrow": lambda x, dim, start, length: O.call(
            O.slice_, (x,), (dim, start, start + length, 1)
        ),
        "select": lambda x, dim, index: O.call(O.select, (x,), (dim, index)),
        "embed": embed,
        "index_add": lambda shape, index, values: O.call(
            O.index_put_zeros, (values,), (tuple(shape), index)
        ),
        "scatter": lambda shape, dim, indices, values: O.call(
            O.value_selecting_reduction_backward, (values,), (tuple(shape), dim, indices)
        ),
        "gather_index": lambda x, index: O.call(O.index, (x,), index),
        "gather_along": lambda x, dim, indices: Tensor(
            np.take_along_axis(x.array, indices, axis=dim)
        ),
        "tanh_backward": lambda g, y: O.call(O.tanh_backward, (g, y)),
        "sigmoid_backward": lambda g, y: O.call(O.sigmoid_backward, (g, y)),
        "threshold_backward": lambda g, y: O.call(O.threshold_backward, (g, y)),
        "softmax_backward": lambda g, y, dim: O.call(O.softmax_backward_data, (g, y), dim),
        "log_softmax_backward": lambda g, y, dim: O.call(
            O.log_softmax_backward_data, (g, y), dim
        ),
        "put_index": lambda x, index, values: pointwise.add(
            pointwise.mul(x, Tensor(_mask_outside(x.shape, index, x.array.dtype))),
            O.call(O.index_put_zeros, (values,), (tuple(x.shape), index)),
        ),
    }
    # what the engine itself does on tensor gradients under create_graph
    vocabulary["add"] = pointwise.add
    vocabulary["to_dtype"] = conversion.to
    # PyTorch copies a leaf's first gradient into a fresh buffer: CopyBackwards
    vocabulary["copy_into"] = lambda target, grad: O.call(O.copy, (target, grad))
    for name, fn in vocabulary.items():
        setattr(TensorVocabulary, name, staticmethod(fn))


def _mask_outside(shape, index, dtype):
    mask = np.ones(shape, dtype=dtype)
    mask[index] = 0
    return mask


_install()
engine.use_tensor_vocabulary(TensorVocabulary)
