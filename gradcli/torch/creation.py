"""torch's creation functions: tensor, zeros/ones/full/arange/linspace/eye/..., the *_like
family and the size checks they share.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from gradcli.autodiff.tensor import Tensor
from gradcli.base import budget, dtypes
from gradcli.base.dtypes import DType
from gradcli.base.errors import (
    runtime_error,
    type_error,
    value_error,
)
from gradcli.torch._common import Number, as_dtype, check_requires_grad, is_tensor, item, size_args


def _infer_dtype(data) -> DType:
    category = dtypes.BOOL
    seen_any = False
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif is_tensor(item):
            seen_any = True
            category = builtins.max(category, item.dtype.category)
            if item.dtype is dtypes.float64:
                return dtypes.float64 if category == dtypes.FLOATING else dtypes.float64
        elif isinstance(item, bool):
            seen_any = True
        elif isinstance(item, int):
            seen_any = True
            category = builtins.max(category, dtypes.INTEGRAL)
        elif isinstance(item, float):
            seen_any = True
            category = dtypes.FLOATING
        else:
            raise type_error(f"new(): invalid data type '{type(item).__name__}'")
    if not seen_any:
        return dtypes.DEFAULT_FLOAT
    return {dtypes.BOOL: dtypes.bool_, dtypes.INTEGRAL: dtypes.int64}.get(
        category, dtypes.DEFAULT_FLOAT
    )


def _check_nested(data, dim=0):
    """PyTorch's ValueError for ragged nested lists."""
    if not isinstance(data, (list, tuple)):
        return ()
    if not data:
        return (0,)
    shapes = [_check_nested(element, dim + 1) for element in data]
    first = shapes[0]
    for element, shape in zip(data, shapes, strict=False):
        if isinstance(element, (list, tuple)) != isinstance(data[0], (list, tuple)) or (
            isinstance(element, (list, tuple)) and len(element) != len(data[0])
        ):
            got = len(element) if isinstance(element, (list, tuple)) else type(element).__name__
            if isinstance(element, (list, tuple)):
                raise value_error(
                    f"expected sequence of length {len(data[0])} at dim {dim + 1} (got {got})"
                )
            raise type_error("not a sequence")
        if shape != first:
            raise value_error(
                f"expected sequence of length {first[0]} at dim {dim + 2} (got {shape[0]})")
    return (len(data),) + first


def _to_array(data, dtype: DType) -> np.ndarray:
    if is_tensor(data):
        return data.array.astype(dtype.numpy, copy=True)
    if isinstance(data, (list, tuple)):
        budget.check_literal_size(data)
        _check_nested(data)
        flat = _flatten_tensors(data)
        return np.array(flat, dtype=dtype.numpy)
    if isinstance(data, Number):
        return np.array(data, dtype=dtype.numpy)
    raise type_error(f"new(): invalid data type '{type(data).__name__}'")


def _flatten_tensors(data):
    if is_tensor(data):
        if data.array.ndim:
            raise value_error("only one element tensors can be converted to Python scalars")
        return data.array.item()
    if isinstance(data, (list, tuple)):
        return [_flatten_tensors(item) for item in data]
    return data


def _check_size(shape, dtype: DType, view: bool = False) -> None:
    """gradcli's size limits, checked from the shape before numpy allocates."""
    budget.check_tensor_size(shape, dtype.itemsize, dtype.name, view)


def new_leaf(array: np.ndarray, dtype: DType, requires_grad: bool) -> Tensor:
    check_requires_grad(dtype, requires_grad)
    return Tensor(array, dtype, bool(requires_grad))


def tensor(data, *, dtype=None, device=None, requires_grad=False):
    budget.check_literal_size(data)  # before _infer_dtype walks every element
    dtype = as_dtype(dtype, "tensor") or _infer_dtype(data)
    return new_leaf(_to_array(data, dtype), dtype, requires_grad)


def legacy_constructor(dtype: DType):
    """torch.Tensor / FloatTensor / DoubleTensor: sizes or data; storage zero-filled."""

    def construct(*args):
        if len(args) == 1 and isinstance(args[0], (list, tuple)) or (
            len(args) == 1 and is_tensor(args[0])
        ):
            return Tensor(_to_array(args[0], dtype), dtype)
        shape = size_args(args)
        _check_size(shape, dtype)
        return Tensor(np.zeros(shape, dtype=dtype.numpy), dtype)

    return construct


def size_keyword(positional, size, name):
    """`zeros(size=(2, 3))`: PyTorch's parser accepts the sizes as the keyword `size`."""
    if size is None:
        return positional
    if positional:
        raise type_error(f"{name}() got multiple values for argument 'size'")
    if not isinstance(size, (tuple, list)):
        raise type_error(
            f"{name}(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    return (tuple(size),)


def _factory(fill, name):
    def create(*sizes, out=None, dtype=None, layout=None, device=None, requires_grad=False,
               size=None):
        shape = size_args(size_keyword(sizes, size, name), name)
        dtype = as_dtype(dtype, name) or dtypes.DEFAULT_FLOAT
        _check_size(shape, dtype)
        return new_leaf(fill(shape, dtype), dtype, requires_grad)

    return create


zeros = _factory(lambda shape, dtype: np.zeros(shape, dtype.numpy), "zeros")


ones = _factory(lambda shape, dtype: np.ones(shape, dtype.numpy), "ones")


empty = _factory(lambda shape, dtype: np.zeros(shape, dtype.numpy), "empty")


class Random:
    """The global generator's seed at the start of every run (interpreter, session):
    gradcli.random holds PyTorch's CPU generator; numpy.random is imported on first draw."""

    @staticmethod
    def seed(seed: int) -> None:
        from gradcli.random.generator import seed_global

        seed_global(seed)


def full(size, fill_value, *, dtype=None, requires_grad=False):
    dtype = as_dtype(dtype, "full") or _infer_dtype(fill_value)
    shape = size_args((size,), "full")
    _check_size(shape, dtype)
    return new_leaf(np.full(shape, fill_value, dtype.numpy), dtype, requires_grad)


def _like(fill):
    def create(input, *, dtype=None, requires_grad=False):
        dtype = as_dtype(dtype) or input.dtype
        _check_size(input.shape, dtype)
        return new_leaf(fill(input.shape, dtype), dtype, requires_grad)

    return create


zeros_like = _like(lambda shape, dtype: np.zeros(shape, dtype.numpy))


ones_like = _like(lambda shape, dtype: np.ones(shape, dtype.numpy))






def full_like(input, fill_value, *, dtype=None, requires_grad=False):
    dtype = as_dtype(dtype) or input.dtype
    _check_size(input.shape, dtype)
    return new_leaf(np.full(input.shape, fill_value, dtype.numpy), dtype, requires_grad)


def arange(*args, start=None, end=None, step=None, dtype=None, requires_grad=False):
    values = [_item(a) for a in args]
    if len(values) == 1:
        values = [0, values[0]]
    begin, stop, stride = (values + [None, None, None])[:3]
    begin = start if start is not None else (begin if begin is not None else 0)
    stop = end if end is not None else stop
    stride = step if step is not None else (stride if stride is not None else 1)
    if stop is None:
        raise type_error("arange() missing required argument 'end'")
    if stride == 0:
        raise runtime_error("step must be nonzero")
    if (stop - begin) * stride < 0:
        raise runtime_error("upper bound and lower bound inconsistent with step sign")
    integral = all(isinstance(v, int) for v in (begin, stop, stride))
    dtype = as_dtype(dtype, "arange") or (dtypes.int64 if integral else dtypes.DEFAULT_FLOAT)
    count = builtins.max(math.ceil((stop - begin) / stride), 0)
    _check_size((count,), dtypes.float64)  # computed in float64 first
    array = (begin + stride * np.arange(count, dtype=np.float64)).astype(dtype.numpy)
    return new_leaf(array, dtype, requires_grad)


def linspace(start, end, steps, *, dtype=None, requires_grad=False):
    dtype = as_dtype(dtype, "linspace") or dtypes.DEFAULT_FLOAT
    if steps < 0:
        raise runtime_error("number of steps must be non-negative")
    if isinstance(steps, int):
        _check_size((steps,), dtypes.float64)  # computed in float64 first
    start, end = _item(start), _item(end)
    if dtype.numpy.kind == "f":
        from gradcli.torch.linspace import linspace_values

        return new_leaf(linspace_values(start, end, steps, dtype.numpy), dtype, requires_grad)
    if steps == 1:
        array = np.array([start], dtype=np.float64)
    else:
        # PyTorch fills the first half from start and the second half back from end.
        step = (end - start) / (steps - 1)
        i = np.arange(steps, dtype=np.float64)
        half = steps // 2
        array = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    return new_leaf(array.astype(dtype.numpy), dtype, requires_grad)


def eye(n, m=None, *, dtype=None, requires_grad=False):
    dtype = as_dtype(dtype, "eye") or dtypes.DEFAULT_FLOAT
    if isinstance(n, int) and (m is None or isinstance(m, int)):
        _check_size((builtins.max(n, 0), builtins.max(n if m is None else m, 0)), dtype)
    return new_leaf(np.eye(n, n if m is None else m, dtype=dtype.numpy), dtype, requires_grad)


def _item(value):
    if is_tensor(value):
        return item(value)
    return value
