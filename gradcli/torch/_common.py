"""What every torch function shares: dims, sizes, dtypes and promotion, Python-number
conversion, and the op-table entry points (`call`, `call_number`).
"""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O
from gradcli.autodiff import tensor as tensor_module
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.dtypes import DType
from gradcli.base.errors import (
    index_error,
    runtime_error,
    type_error,
)

call = O.call


call_number = O.call_number


Number = (bool, int, float)


_FLOATING = dtypes.FLOATING


def is_tensor(x) -> bool:
    return x.__class__ is Tensor


def wrap_dim(dim, ndim: int) -> int:
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise type_error(f"dim must be an int, not {type(dim).__name__}")
    low, high = (-ndim, ndim - 1) if ndim else (-1, 0)
    if dim < low or dim > high:
        raise index_error(
            f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})"
        )
    return dim % ndim if ndim else 0


def wrap_dims(dims, ndim: int):
    """A dim or tuple of dims → sorted tuple of non-negative dims; None stays None."""
    if dims is None:
        return None
    if isinstance(dims, int):
        dims = (dims,)
    wrapped = []
    for d in dims:
        w = wrap_dim(d, ndim)
        if w in wrapped:
            raise runtime_error(f"dim {w} appears multiple times in the list of dims")
        wrapped.append(w)
    return tuple(wrapped) if ndim else ()


def size_args(sizes, name="size", allow_infer=False, arg="size"):
    """`zeros(2, 3)`, `zeros((2, 3))` and `zeros([2, 3])` all mean shape (2, 3).

    A non-integer size gets the message of PyTorch's argument parser, which depends on
    how the sizes came: one non-sequence argument, the first element of a sequence, or a
    later one (then the parser says it "failed to unpack" the sequence)."""
    one_sequence = len(sizes) == 1 and isinstance(sizes[0], (tuple, list))
    if one_sequence:
        sizes = tuple(sizes[0])
    shape = []
    for position, s in enumerate(sizes):
        if is_tensor(s) and s.array.ndim == 0 and s.dtype.category == dtypes.INTEGRAL:
            s = int(s.array)
        if not isinstance(s, int) or isinstance(s, bool):
            kind = type_name(s)
            if len(sizes) == 1 and not one_sequence:
                raise type_error(
                    f"{name}(): argument '{arg}' (position 1) must be tuple of ints, not {kind}")
            if position == 0:
                raise type_error(
                    f"{name}(): argument '{arg}' (position 1) must be tuple of ints, but found "
                    f"element of type {kind} at pos 0")
            raise type_error(
                f"{name}(): argument '{arg}' failed to unpack the object at pos {position + 1} "
                f'with error "type must be tuple of ints,but got {kind}"')
        if s < 0 and not (allow_infer and s == -1):
            if allow_infer:  # view and reshape
                raise runtime_error(
                    f"invalid shape dimension {s} at index {position} of shape {list(sizes)}")
            raise runtime_error(
                f"Trying to create tensor with negative dimension {s}: {list(sizes)}"
            )
        shape.append(s)
    return tuple(shape)


def type_name(value) -> str:
    if is_tensor(value):
        return "Tensor"
    return type(value).__name__


SCALAR_OF_GRAD_TENSOR = (
    "Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
    "Consider using tensor.detach() first. (Triggered internally at "
    "/__w/pytorch/pytorch/torch/csrc/autograd/generated/python_variable_methods.cpp:822.)"
)


def _scalar_of(value):
    if value.requires_grad:
        from gradcli.base import diagnostics

        diagnostics.warn(SCALAR_OF_GRAD_TENSOR, once_per_process=True)
    return item(value)


def python_float(value=0.0):
    return float(_scalar_of(value)) if is_tensor(value) else float(value)


def python_int(value=0, *base):
    return int(_scalar_of(value)) if is_tensor(value) else int(value, *base)


def python_bool(value=False):
    if is_tensor(value) and value.requires_grad and value.array.size == 1:
        _scalar_of(value)
    return bool(value)


def as_dtype(value, fn: str | None = None) -> DType | None:
    """dtype= arguments: torch dtypes, or Python's float/int/bool (float64/int64/bool)."""
    if value is dtypes.float32 and dtypes.FORCE_FLOAT64:
        return dtypes.float64
    if value is None or isinstance(value, DType):
        return value
    if value is float or value is python_float:
        return dtypes.float64
    if value is int or value is python_int:
        return dtypes.int64
    if value is bool or value is python_bool:
        return dtypes.bool_
    where = f"{fn}(): argument 'dtype'" if fn else "dtype"
    raise type_error(f"{where} must be torch.dtype, not {type(value).__name__}")


def cast(t: Tensor, dtype: DType) -> np.ndarray:
    return t.array if t.dtype is dtype else t.array.astype(dtype.numpy)


def float_dtype(t: Tensor) -> DType:
    """Float functions compute integers in the default dtype (exp(int64) -> float32)."""
    return t.dtype if t.dtype.category == dtypes.FLOATING else dtypes.DEFAULT_FLOAT


def check_requires_grad(dtype: DType, flag: bool, constructor: bool = True) -> None:
    if flag and not dtype.is_floating_point:
        raise runtime_error(
            "Only Tensors of floating point and complex dtype can require gradients"
            if constructor
            else "only Tensors of floating point dtype can require gradients"
        )


def _dtype_name(dtype: DType) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int"}.get(
        dtype.name, "Bool"
    )


def _c_type(dtype: DType) -> str:
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int"}.get(
        dtype.name, "bool"
    )


def _read(kind, *tensors):
    """Tell vmap's tracer that a Python value is computed from these tensors' data."""
    if tensor_module.READ_HOOK is not None:
        for t in tensors:
            tensor_module.READ_HOOK(t, kind)


def item(input):
    _read("item", input)
    if input.array.size != 1:
        raise runtime_error(
            f"a Tensor with {input.array.size} elements cannot be converted to Scalar"
        )
    return input.array.reshape(()).item()
