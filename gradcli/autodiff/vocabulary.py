"""The vocabulary backward formulas are written in, over numpy arrays.

Formulas use Python operators plus these functions, so the same formula can later run
over differentiable tensors (create_graph=True) by swapping this namespace.
"""

from __future__ import annotations

import warnings

import numpy as np

from gradcli.base.cascade_sum import torch_mean, torch_sum


def quiet_numpy(function, *args, **kwargs):
    """function(*args, **kwargs) without numpy's RuntimeWarnings ("Mean of empty slice",
    "Degrees of freedom <= 0 for slice"): PyTorch gives nan there, with its own
    UserWarning where it has one (api raises those), and numpy's must not reach stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return function(*args, **kwargs)


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
