"""The vocabulary backward formulas are written in, over numpy arrays.

Formulas use Python operators plus these functions, so the same formula can later run
over differentiable tensors (create_graph=True) by swapping this namespace.
"""

from __future__ import annotations

import numpy as np

from gradcli.cascade_sum import torch_mean, torch_sum


class NumpyVocabulary:
    zeros_like = staticmethod(np.zeros_like)
    where = staticmethod(np.where)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    sign = staticmethod(np.sign)
    abs = staticmethod(np.abs)
    floor = staticmethod(np.floor)
    outer = staticmethod(np.outer)

    @staticmethod
    def numpy(x):
        return x

    @staticmethod
    def constant(array):
        return array

    @staticmethod
    def mT(x):
        return np.swapaxes(x, -1, -2)

    @staticmethod
    def expand(x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def unsqueeze(x, dim):
        return np.expand_dims(x, dim)

    @staticmethod
    def squeeze(x, dim):
        return np.squeeze(x, axis=dim)

    @staticmethod
    def reshape(x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def transpose(x, dim0, dim1):
        return np.swapaxes(x, dim0, dim1)

    @staticmethod
    def permute(x, dims):
        return np.transpose(x, dims)

    @staticmethod
    def sum(x, dims, keepdim):
        return torch_sum(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def mean(x, dims, keepdim):
        if not x.size:
            from gradcli.ops import quiet_numpy

            return quiet_numpy(np.mean, x, axis=dims, keepdims=keepdim)
        return torch_mean(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def clamp_min(x, low):
        return np.maximum(x, low)

    @staticmethod
    def sum_to(x, shape):
        return sum_to(x, shape)

    @staticmethod
    def narrow(x, dim, start, length):
        return x[(slice(None),) * dim + (slice(start, start + length),)]

    @staticmethod
    def select(x, dim, index):
        return x[(slice(None),) * dim + (index,)]

    @staticmethod
    def embed(shape, index, values):
        """Zeros of `shape` with `values` written at `index` (select/slice backward)."""
        out = np.zeros(shape, dtype=values.dtype)
        out[index] = values
        return out

    @staticmethod
    def index_add(shape, index, values):
        out = np.zeros(shape, dtype=values.dtype)
        np.add.at(out, index, values)
        return out

    @staticmethod
    def scatter(shape, dim, indices, values):
        out = np.zeros(shape, dtype=values.dtype)
        np.put_along_axis(out, indices, values, axis=dim)
        return out


def sum_to(grad, shape):
    """Undo broadcasting: sum over the leading dims and the dims where `shape` has 1."""
    if grad.shape == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and grad.shape[lead + i] != 1
    )
    if axes:
        grad = torch_sum(grad, axis=axes, keepdims=True)
    return grad.reshape(shape)


def _gather_index(x, index):
    return x[index]


def _put_index(x, index, values):
    out = np.array(x, copy=True)
    out[index] = values
    return out


NumpyVocabulary.gather_index = staticmethod(_gather_index)


def _tanh_backward(g, y):
    """g * (1 - y*y), in one temporary instead of three (same operations, same values)."""
    t = y * y
    if t.__class__ is not np.ndarray:  # 0-d: numpy scalars
        return g * (1 - t)
    np.subtract(1, t, out=t)
    if g.__class__ is np.ndarray and g.shape == t.shape and g.dtype == t.dtype:
        return np.multiply(g, t, out=t)
    return g * t


NumpyVocabulary.tanh_backward = staticmethod(_tanh_backward)
NumpyVocabulary.sigmoid_backward = staticmethod(lambda g, y: g * y * (1 - y))
NumpyVocabulary.threshold_backward = staticmethod(lambda g, y: g * (y > 0))
NumpyVocabulary.softmax_backward = staticmethod(
    lambda g, y, dim: y * (g - np.sum(g * y, axis=dim, keepdims=True))
)
NumpyVocabulary.log_softmax_backward = staticmethod(
    lambda g, y, dim: g - np.exp(y) * np.sum(g, axis=dim, keepdims=True)
)
NumpyVocabulary.put_index = staticmethod(_put_index)
NumpyVocabulary.gather_along = staticmethod(
    lambda x, dim, indices: np.take_along_axis(x, indices, axis=dim)
)


class TensorVocabulary:
    """The same vocabulary over differentiable tensors: backward formulas run through the
    engine's own ops, so the gradient has a graph (create_graph=True)."""

    @staticmethod
    def _api():
        from gradcli import api

        return api

    def __getattr__(self, name):  # pragma: no cover - every name is defined below
        raise AttributeError(name)


def _install_tensor_vocabulary():
    from gradcli import api
    from gradcli import ops as O
    from gradcli.tensor import Tensor

    def as_tensor(x):
        return x if isinstance(x, Tensor) else Tensor(np.asarray(x))

    def sum_dims(x, dims, keepdim):
        if dims is None:
            return api.sum(x) if not keepdim else api.sum(x, tuple(range(x.ndim)), True)
        return api.sum(x, dims, keepdim)

    def mean_dims(x, dims, keepdim):
        if dims is None:
            return api.mean(x) if not keepdim else api.mean(x, tuple(range(x.ndim)), True)
        return api.mean(x, dims, keepdim)

    def sum_to_shape(x, shape):
        shape = tuple(shape)
        if x.shape == shape:
            return x
        lead = x.ndim - len(shape)
        if lead:
            x = api.sum(x, tuple(range(lead)))
        axes = tuple(i for i, s in enumerate(shape) if s == 1 and x.shape[i] != 1)
        if axes:
            x = api.sum(x, axes, True)
        return x if x.shape == shape else api.reshape(x, shape)

    def embed(shape, index, values):
        entry = O.select_backward if any(isinstance(i, int) for i in index) else O.slice_backward
        return O.call(entry, (values,), (tuple(shape), index))

    def where(condition, a, b):
        cond = condition if isinstance(condition, Tensor) else Tensor(np.asarray(condition, bool))
        return api.where(cond, a, b)

    vocabulary = {
        "zeros_like": lambda x: api.zeros_like(as_tensor(x)),
        "where": where,
        "exp": api.exp,
        "log": api.log,
        "log1p": api.log1p,
        "sin": api.sin,
        "cos": api.cos,
        "sign": api.sign,
        "abs": api.abs,
        "floor": lambda x: Tensor(np.floor(as_tensor(x).array)),
        "outer": api.outer,
        "numpy": lambda x: x.array if isinstance(x, Tensor) else np.asarray(x),
        "constant": lambda array: Tensor(np.asarray(array)),
        "mT": lambda x: api.transpose(x, -2, -1),
        "expand": lambda x, shape: api.expand(x, tuple(shape)),
        "unsqueeze": api.unsqueeze,
        "squeeze": lambda x, dim: api.squeeze(x, dim),
        "reshape": lambda x, shape: api.reshape(x, tuple(shape)),
        "transpose": api.transpose,
        "permute": lambda x, dims: api.permute(x, tuple(dims)),
        "sum": sum_dims,
        "mean": mean_dims,
        "clamp_min": lambda x, low: api.clamp(x, min=low),
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
        "put_index": lambda x, index, values: api.add(
            api.mul(x, Tensor(_mask_outside(x.shape, index, x.array.dtype))),
            O.call(O.index_put_zeros, (values,), (tuple(x.shape), index)),
        ),
    }
    for name, fn in vocabulary.items():
        setattr(TensorVocabulary, name, staticmethod(fn))


def _mask_outside(shape, index, dtype):
    mask = np.ones(shape, dtype=dtype)
    mask[index] = 0
    return mask
