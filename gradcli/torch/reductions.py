"""Reductions: sum, mean, prod, max/min (values and indices), norms, var/std, cumulative ops.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten import ops as O
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.errors import (
    runtime_error,
)
from gradcli.torch._common import (
    _dtype_name,
    as_dtype,
    call,
    cast,
    float_dtype,
    is_tensor,
    wrap_dim,
    wrap_dims,
)
from gradcli.torch.conversion import to
from gradcli.torch.pointwise import maximum, minimum


def _reduction_dtype(input, dtype):
    dtype = as_dtype(dtype)
    if dtype is not None:
        return dtype
    # Integer and bool sums accumulate in int64.
    return input.dtype if input.dtype.category == dtypes.FLOATING else dtypes.int64


def sum(input, dim=None, keepdim=False, *, dtype=None):
    if dim is not None and not isinstance(dim, int) and len(dim) == 0:
        dim = tuple(range(input.ndim))  # dim=() reduces every dimension (PyTorch's legacy)
    out_dtype = _reduction_dtype(input, dtype)
    x = cast(input, out_dtype)
    if dim is None:
        return call(O.sum_all, (input,), None, (x,))
    dims = wrap_dims(dim, input.ndim)
    return call(O.sum_dims, (input,), (dims, keepdim, None), (x,))


def _check_float_reduction(input, name):
    if input.dtype.category != dtypes.FLOATING:
        raise runtime_error(
            f"{name}(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {_dtype_name(input.dtype)}"
        )


def mean(input, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        input = to(input, dtype)
    _check_float_reduction(input, "mean")
    if dim is not None and not isinstance(dim, int) and len(dim) == 0:
        dim = tuple(range(input.ndim))
    if dim is None:
        return call(O.mean_all, (input,))
    return call(O.mean_dims, (input,), (wrap_dims(dim, input.ndim), keepdim))


def prod(input, dim=None, keepdim=False, *, dtype=None):
    out_dtype = _reduction_dtype(input, dtype)
    x = cast(input, out_dtype)
    if dim is None:
        return call(O.prod_all, (input,), None, (x,))
    return call(O.prod_dim, (input,), (wrap_dim(dim, input.ndim), keepdim, None), (x,))


class ReturnTypes(tuple):
    """torch.return_types.max etc.: a named pair (values, indices)."""

    kind = "max"
    fields = ("values", "indices")  # aminmax's are ("min", "max")

    def __new__(cls, kind, values, indices, fields=None):
        self = super().__new__(cls, (values, indices))
        self.kind = kind
        if fields is not None:
            self.fields = fields
        return self

    def __repr__(self) -> str:
        first, second = self.fields
        return f"torch.return_types.{self.kind}(\n{first}={self[0]!r},\n{second}={self[1]!r})"

    __str__ = __repr__

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _extremum(entry_dim, entry_all, pair, name):
    def reduce(input, dim=None, keepdim=False):
        if is_tensor(dim):
            return pair(input, dim)
        if dim is None:
            if input.array.size == 0:
                raise runtime_error(
                    f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                    "Specify the reduction dim with the 'dim' argument."
                )
            return call(entry_all, (input,))
        d = wrap_dim(dim, input.ndim)
        indices_out = []
        values = call(entry_dim, (input,), (d if input.ndim else None, keepdim, indices_out))
        if not input.ndim:
            indices_out[0] = np.zeros((), np.int64)
        return ReturnTypes(name, values, Tensor(np.asarray(indices_out[0], dtype=np.int64)))

    return reduce


max = _extremum(O.max_dim, O.max_all, maximum, "max")


min = _extremum(O.min_dim, O.min_all, minimum, "min")


def _check_empty_extremum(input, dims, name):
    if dims is None and input.array.size == 0:
        raise runtime_error(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )


def amax(input, dim=(), keepdim=False):
    dims = wrap_dims(dim, input.ndim) if dim != () else None
    _check_empty_extremum(input, dims, "amax")
    return call(O.amax, (input,), (dims, keepdim))


def amin(input, dim=(), keepdim=False):
    dims = wrap_dims(dim, input.ndim) if dim != () else None
    _check_empty_extremum(input, dims, "amin")
    return call(O.amin, (input,), (dims, keepdim))


def argmax(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor(np.asarray(np.argmax(input.array), dtype=np.int64))
    d = wrap_dim(dim, input.ndim)
    return Tensor(np.asarray(np.argmax(input.array, axis=d, keepdims=keepdim), dtype=np.int64))


def argmin(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor(np.asarray(np.argmin(input.array), dtype=np.int64))
    d = wrap_dim(dim, input.ndim)
    return Tensor(np.asarray(np.argmin(input.array, axis=d, keepdims=keepdim), dtype=np.int64))


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    _check_float_reduction(input, "linalg.vector_norm")
    order = 2.0 if p in ("fro", None) else float(p)
    dims = wrap_dims(dim, input.ndim) if dim is not None else None
    return call(O.vector_norm, (input,), (order, dims, keepdim))


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased in (None, True) else 0


def _check_dof(input, dims, correction, name="var"):
    count = math.prod(input.shape[d] for d in dims) if dims is not None else input.array.size
    if count - correction <= 0:
        from gradcli.base import diagnostics

        diagnostics.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel). (Triggered internally at "
            "/__w/pytorch/pytorch/aten/src/ATen/native/ReduceOps.cpp:1861.)"
        )


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    _check_float_reduction(input, "var")
    dims = wrap_dims(dim, input.ndim) if dim is not None else None
    _check_dof(input, dims, _correction(unbiased, correction))
    return call(O.var, (input,), (dims, _correction(unbiased, correction), keepdim))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    _check_float_reduction(input, "std")
    dims = wrap_dims(dim, input.ndim) if dim is not None else None
    _check_dof(input, dims, _correction(unbiased, correction), "std")
    return call(O.std, (input,), (dims, _correction(unbiased, correction), keepdim))


def logsumexp(input, dim, keepdim=False):
    dtype = float_dtype(input)
    dims = wrap_dims(dim, input.ndim)
    return call(O.logsumexp, (input,), (dims, keepdim), (cast(input, dtype),))
