"""The shape, indexing and linear-algebra functions of reshaping, gathering and matrices,
the factories from a tensor (new_zeros, type_as, ...) and `numpy()`, gathered into the
tables gradcli.sandbox.scope (torch.X, torch.linalg.X) and gradcli.sandbox.attributes
(Tensor.X) read."""

from __future__ import annotations

import numpy as np

from gradcli.base import diagnostics
from gradcli.torch import creation, diag, gathering, matrices, ndarray, pointwise, reshaping
from gradcli.torch._common import as_dtype, check_requires_grad, is_tensor, size_args
from gradcli.torch.conversion import to
from gradcli.torch.inplace import inplace

NEW_TENSOR_WARNING = (
    "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
    "or sourceTensor.detach().clone().requires_grad_(True), rather than "
    "tensor.new_tensor(sourceTensor).")
TENSOR_COPY_WARNING = (
    "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
    "or sourceTensor.detach().clone().requires_grad_(True), rather than "
    "torch.tensor(sourceTensor).")


def _new(fill, name):
    def create(self, *size, dtype=None, device=None, requires_grad=False, **_):
        shape = size_args(size, name)
        dtype = as_dtype(dtype, name) or self.dtype
        check_requires_grad(dtype, requires_grad)
        creation._check_size(shape, dtype)
        return creation.new_leaf(fill(shape, dtype), dtype, requires_grad)

    create.__name__ = name
    return create


new_zeros = _new(lambda shape, dtype: np.zeros(shape, dtype.numpy), "new_zeros")
new_ones = _new(lambda shape, dtype: np.ones(shape, dtype.numpy), "new_ones")
new_empty = _new(lambda shape, dtype: np.zeros(shape, dtype.numpy), "new_empty")


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    shape = size_args((size,), "new_full")
    dtype = as_dtype(dtype, "new_full") or self.dtype
    check_requires_grad(dtype, requires_grad)
    creation._check_size(shape, dtype)
    return creation.new_leaf(np.full(shape, creation._item(fill_value), dtype.numpy), dtype,
                             requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    if is_tensor(data):
        diagnostics.warn(NEW_TENSOR_WARNING)
        data = data.array
    elif data.__class__ is ndarray.ndarray:
        data = data._value
    dtype = as_dtype(dtype, "new_tensor") or self.dtype
    check_requires_grad(dtype, requires_grad)
    array = np.array(data).astype(dtype.numpy) if isinstance(data, np.ndarray) else (
        creation.tensor(data, dtype=dtype).array)
    return creation.new_leaf(array, dtype, requires_grad)


def type_as(self, other):
    gathering.need_tensor(other, "type_as", "other", 1)
    return to(self, other.dtype)


def empty_like(input, *, dtype=None, requires_grad=False, **_):
    return creation.zeros_like(input, dtype=dtype, requires_grad=requires_grad)


def numpy_aware_tensor(torch_tensor):
    """torch.tensor, also of a numpy array (a copy); `torch_tensor` is the table's own."""

    def tensor(data, *, dtype=None, device=None, requires_grad=False, **kwargs):
        if data.__class__ is ndarray.ndarray:
            data = ndarray.from_numpy(data)
            dtype = as_dtype(dtype, "tensor") or data.dtype
            check_requires_grad(dtype, requires_grad)
            return creation.new_leaf(data.array.astype(dtype.numpy), dtype, requires_grad)
        return torch_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad,
                            **kwargs)

    return tensor


def as_tensor(data, dtype=None, device=None):
    """torch.as_tensor: a tensor as it is, a numpy array's memory shared, else a copy."""
    dtype = as_dtype(dtype, "as_tensor")
    if is_tensor(data):
        return data if dtype is None or dtype is data.dtype else to(data, dtype)
    if data.__class__ is ndarray.ndarray:
        source = ndarray.from_numpy(data)
        return source if dtype is None or dtype is source.dtype else to(source, dtype)
    return creation.tensor(data, dtype=dtype)


def where(condition, input=None, other=None):
    """torch.where(condition) is nonzero(condition, as_tuple=True)."""
    if input is None and other is None:
        return gathering.where_condition(condition)
    return pointwise.where(condition, input, other)


def _tensor_numpy(self, *, force=False):
    return ndarray.numpy(self, force=force)


FUNCTIONS = {
    **reshaping.FUNCTIONS,
    **gathering.FUNCTIONS,
    **matrices.FUNCTIONS,
    "as_tensor": as_tensor,
    "diag_embed": diag.diag_embed,
    "empty_like": empty_like,
    "from_numpy": ndarray.from_numpy,
    "where": where,
}


def functions(existing: dict) -> dict:
    """The torch.X entries to add to `existing` (scope's table), torch.tensor wrapped."""
    return {**FUNCTIONS, "tensor": numpy_aware_tensor(existing["tensor"])}

TENSOR_METHODS = {
    **reshaping.TENSOR_METHODS,
    **gathering.TENSOR_METHODS,
    **matrices.TENSOR_METHODS,
    "diag_embed": diag.diag_embed,
    "new_empty": new_empty,
    "new_full": new_full,
    "new_ones": new_ones,
    "new_tensor": new_tensor,
    "new_zeros": new_zeros,
    "numpy": _tensor_numpy,
    "tril_": lambda self, diagonal=0: _inplace(self, reshaping.tril, diagonal),
    "triu_": lambda self, diagonal=0: _inplace(self, reshaping.triu, diagonal),
    "type_as": type_as,
}
LINALG = dict(matrices.LINALG)


def _inplace(target, function, *args):
    return inplace(target, lambda s: function(s, *args))

