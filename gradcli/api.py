"""torch's Python surface on gradcli's engine: argument handling, dtype promotion,
PyTorch's lowering of each call to ATen overloads (which decides grad_fn names), and
PyTorch's error messages. The formulas themselves live in gradcli.ops.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from gradcli import dtypes, engine, hints
from gradcli import ops as O
from gradcli.autodiff import unbind
from gradcli.dtypes import DType
from gradcli.errors import (
    ProgramError,
    index_error,
    runtime_error,
    type_error,
    value_error,
)
from gradcli.tensor import GradMode, Tensor

call = O.call
call_number = O.call_number
Number = (bool, int, float)
_FLOATING = dtypes.FLOATING


def is_tensor(x) -> bool:
    return x.__class__ is Tensor


# ----- dims -----------------------------------------------------------------------------


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


# ----- dtype handling -------------------------------------------------------------------


SCALAR_OF_GRAD_TENSOR = (
    "Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
    "Consider using tensor.detach() first. (Triggered internally at "
    "/__w/pytorch/pytorch/torch/csrc/autograd/generated/python_variable_methods.cpp:822.)"
)


def _scalar_of(value):
    if value.requires_grad:
        from gradcli import diagnostics

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


# ----- creation -------------------------------------------------------------------------


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
    shapes = [_check_nested(item, dim + 1) for item in data]
    first = shapes[0]
    for item, shape in zip(data, shapes, strict=False):
        if isinstance(item, (list, tuple)) != isinstance(data[0], (list, tuple)) or (
            isinstance(item, (list, tuple)) and len(item) != len(data[0])
        ):
            got = len(item) if isinstance(item, (list, tuple)) else type(item).__name__
            if isinstance(item, (list, tuple)):
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
        _limits().check_literal_size(data)
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


def _limits():
    from gradcli import limits

    return limits


def _check_size(shape, dtype: DType, view: bool = False) -> None:
    """gradcli's size limits, checked from the shape before numpy allocates."""
    _limits().check_tensor_size(shape, dtype.itemsize, dtype.name, view)


def new_leaf(array: np.ndarray, dtype: DType, requires_grad: bool) -> Tensor:
    check_requires_grad(dtype, requires_grad)
    return Tensor(array, dtype, bool(requires_grad))


def tensor(data, *, dtype=None, device=None, requires_grad=False):
    _limits().check_literal_size(data)  # before _infer_dtype walks every element
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


def _factory(fill, name):
    def create(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
        shape = size_args(size, name)
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


def random_function(name: str):
    """rand, randn, ...: gradcli.random.functions, imported on the first call (it imports
    this module, and a program that draws nothing should not pay for its import)."""

    def delegate(*args, **kwargs):
        from gradcli.random import functions

        return getattr(functions, name)(*args, **kwargs)

    delegate.__name__ = name
    return delegate


manual_seed = random_function("manual_seed")
rand = random_function("rand")
randn = random_function("randn")
randint = random_function("randint")


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
rand_like = random_function("rand_like")
randn_like = random_function("randn_like")


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


# ----- binary arithmetic ----------------------------------------------------------------


def broadcast_error(a_shape, b_shape) -> ProgramError:
    ndim = builtins.max(len(a_shape), len(b_shape))
    for i in range(ndim - 1, -1, -1):
        offset = ndim - 1 - i
        sa = a_shape[len(a_shape) - 1 - offset] if offset < len(a_shape) else 1
        sb = b_shape[len(b_shape) - 1 - offset] if offset < len(b_shape) else 1
        if sa != sb and sa != 1 and sb != 1:
            return runtime_error(
                f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) "
                f"at non-singleton dimension {i}"
            )
    return runtime_error("shapes cannot be broadcast")


def operand(value, op_name: str):
    if is_tensor(value) or isinstance(value, Number):
        return value
    raise type_error(
        f"unsupported operand type(s) for {op_name}: 'Tensor' and '{type(value).__name__}'"
    )


def promote(a, b, floating=False):
    """(compute dtype, array-or-scalar a, array-or-scalar b) under torch's promotion."""
    tensors, scalars = [], []
    for x in (a, b):
        if is_tensor(x):
            tensors.append((x.dtype, x.array.ndim))
        else:
            scalars.append(x)
    dtype = dtypes.result_type(tensors, scalars)
    if floating and dtype.category != dtypes.FLOATING:
        dtype = dtypes.DEFAULT_FLOAT
    xa = cast(a, dtype) if is_tensor(a) else a
    xb = cast(b, dtype) if is_tensor(b) else b
    if xa.__class__ is bool and dtype.category != dtypes.BOOL:
        xa = int(xa)
    if xb.__class__ is bool and dtype.category != dtypes.BOOL:
        xb = int(xb)
    return dtype, xa, xb


def binary(entry, a, b, p=None, floating=False):
    if (a.__class__ is Tensor and b.__class__ is Tensor and a.dtype is b.dtype
            and (not floating or a.dtype.category == _FLOATING)):
        xa, xb = a.array, b.array  # one dtype: nothing to promote
    else:
        dtype, xa, xb = promote(a, b, floating)
    try:
        return call(entry, (a, b), p, (xa, xb))
    except ValueError:
        raise broadcast_error(np.shape(xa), np.shape(xb)) from None


# The arithmetic operators first try `floating tensor op Python float or int`, whose result
# keeps the tensor's dtype, so the general promotion is skipped (call_number). The check is
# written out in each (a call costs as much as the check) and is by class, not isinstance:
# a bool is an int whose promotion differs.
_PY_NUMBERS = frozenset((float, int))


def _check_alpha(alpha, dtype_source):
    return None if alpha == 1 else alpha


def add(input, other, *, alpha=1):
    if (other.__class__ in _PY_NUMBERS and input.__class__ is Tensor
            and input.dtype.category == _FLOATING and alpha == 1):
        return call_number(O.add, input, other)
    # torch.add(2, a) keeps the number first: next_functions ((None, 0), (a's node, 0)).
    return binary(O.add, operand(input, "+"), operand(other, "+"), _check_alpha(alpha, input))


def sub(input, other, *, alpha=1):
    if (other.__class__ in _PY_NUMBERS and input.__class__ is Tensor
            and input.dtype.category == _FLOATING and alpha == 1):
        return call_number(O.sub, input, other)
    if not is_tensor(input) and not is_tensor(other):
        raise type_error("sub(): argument 'input' (position 1) must be Tensor, not "
                         f"{type(input).__name__}")
    if is_tensor(input) and input.dtype is dtypes.bool_ and (
        (is_tensor(other) and other.dtype is dtypes.bool_) or isinstance(other, bool)
    ):
        raise runtime_error(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead."
        )
    return binary(O.sub, input, operand(other, "-"), _check_alpha(alpha, input))


def rsub(input, other, *, alpha=1):
    """`other - input` with a Python number `other` (PyTorch's rsub.Scalar)."""
    if is_tensor(other):
        return sub(other, input, alpha=alpha)
    dtype, x, scalar = promote(input, operand(other, "-"))
    return call(O.rsub_scalar, (input,), (scalar, alpha), (x,))


def mul(input, other):
    if (other.__class__ in _PY_NUMBERS and input.__class__ is Tensor
            and input.dtype.category == _FLOATING):
        return call_number(O.mul, input, other)
    return binary(O.mul, operand(input, "*"), operand(other, "*"))


def radd(input, other):
    """`2 + a` is a.__radd__(2): the tensor comes first."""
    return add(input, other)


def rmul(input, other):
    return mul(input, other)


def rdiv(input, other):
    """`2 / a` is a.reciprocal() * 2 in PyTorch."""
    return mul(reciprocal(input), other)


def div(input, other, *, rounding_mode=None):
    if rounding_mode is not None:
        if rounding_mode not in ("floor", "trunc"):
            raise runtime_error(
                "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                f"'{rounding_mode}'"
            )
        return binary(O.div_mode, operand(input, "/"), operand(other, "/"), rounding_mode)
    if (other.__class__ in _PY_NUMBERS and input.__class__ is Tensor
            and input.dtype.category == _FLOATING):
        return call_number(O.div, input, other)
    return binary(O.div, operand(input, "/"), operand(other, "/"), floating=True)


def _trunc_div(input, other):
    dtype, xa, xb = promote(input, other)
    return Tensor(np.trunc(np.asarray(xa / xb)).astype(dtype.numpy), dtype)


def floor_divide(input, other):
    if not is_tensor(input):
        input = tensor(input)
    if isinstance(other, Number):
        # A number divisor is not an input of PyTorch's placeholder node.
        dtype, x, scalar = promote(input, other)
        return call(O.floor_divide, (input,), scalar, (x,))
    return binary(O.floor_divide, input, other)


def remainder(input, other):
    if not is_tensor(input):
        return remainder(tensor(input), other)
    if isinstance(other, Number):
        dtype, x, scalar = promote(input, other)
        return call(O.remainder_scalar, (input,), scalar, (x,))
    return binary(O.remainder_tensor, input, other)


def pow(input, exponent):
    if not is_tensor(input):
        # `2 ** a` is pow.Scalar: the exponent is the tensor.
        dtype, base, x = promote(input, exponent)
        return call(O.pow_scalar, (exponent,), base, (x,))
    if isinstance(exponent, Number):
        dtype, x, e = promote(input, exponent)
        if dtype.category != dtypes.FLOATING and isinstance(e, int) and e < 0:
            raise runtime_error("Integers to negative integer powers are not allowed.")
        return call(O.pow_tensor_scalar, (input,), e, (x,))
    return binary(O.pow_tensor_tensor, input, exponent)


def square(input):
    # torch lowers x.square() to pow.Tensor_Scalar(x, 2).
    return pow(input, 2)


def neg(input):
    if input.dtype is dtypes.bool_:
        raise runtime_error(
            "Negation, the `-` operator, on a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return call(O.neg, (input,))


def positive(input):
    return input


def true_divide(input, other):
    return div(input, other)


def _float_unary(entry):
    def apply(input):
        if not is_tensor(input):
            raise type_error(
                f"{entry.overload}(): argument 'input' (position 1) must be Tensor, "
                f"not {type(input).__name__}"
            )
        dtype = float_dtype(input)
        with np.errstate(all="ignore"):
            return call(entry, (input,), None, (cast(input, dtype),))

    apply.__name__ = entry.overload
    return apply


exp = _float_unary(O.exp)
log = _float_unary(O.log)
log2 = _float_unary(O.log2)
log10 = _float_unary(O.log10)
log1p = _float_unary(O.log1p)
expm1 = _float_unary(O.expm1)
sqrt = _float_unary(O.sqrt)
rsqrt = _float_unary(O.rsqrt)
sin = _float_unary(O.sin)
cos = _float_unary(O.cos)
tan = _float_unary(O.tan)
tanh = _float_unary(O.tanh)
sigmoid = _float_unary(O.sigmoid)
reciprocal = _float_unary(O.reciprocal)


def relu(input):
    return call(O.relu, (input,))


def abs(input):
    return call(O.abs_, (input,))


def sign(input):
    return call(O.sign, (input,))


def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise runtime_error("torch.clamp: At least one of 'min' or 'max' must not be None")
    if is_tensor(min) or is_tensor(max):
        bounds = [b if b is None or is_tensor(b) else tensor(b) for b in (min, max)]
        arrays = (input.array,) + tuple(None if b is None else b.array for b in bounds)
        return call(O.clamp_tensor, (input, *bounds), None, arrays)
    dtype = input.dtype
    if dtype.category != dtypes.FLOATING and any(isinstance(v, float) for v in (min, max)):
        dtype = dtypes.DEFAULT_FLOAT
    return call(O.clamp, (input,), (min, max), (cast(input, dtype),))


clip = clamp


def maximum(input, other):
    return binary(O.maximum, input, other)


def minimum(input, other):
    return binary(O.minimum, input, other)


def where(condition, input=None, other=None):
    if input is None and other is None:
        return tuple(Tensor(i.astype(np.int64)) for i in np.nonzero(condition.array))
    dtype, xa, xb = promote(input, other)
    cond = condition.array.astype(bool)
    return call(O.where, (input, other), cond, (xa, xb))


# ----- comparisons and logic (not differentiable) ---------------------------------------


def _compare(fn):
    def compare(input, other):
        _, xa, xb = promote(input, other)
        try:
            return Tensor(np.asarray(fn(xa, xb)), dtypes.bool_)
        except ValueError:
            raise broadcast_error(np.shape(xa), np.shape(xb)) from None

    return compare


gt = _compare(np.greater)
ge = _compare(np.greater_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
eq = _compare(np.equal)
ne = _compare(np.not_equal)


def logical_not(input):
    return Tensor(np.logical_not(input.array), dtypes.bool_)


def bitwise_and(input, other):
    _, xa, xb = promote(input, other)
    return Tensor(np.asarray(xa & xb))


def bitwise_or(input, other):
    _, xa, xb = promote(input, other)
    return Tensor(np.asarray(xa | xb))


def invert(input):
    if input.dtype is dtypes.bool_:
        return logical_not(input)
    return Tensor(~input.array, input.dtype)


def isnan(input):
    return Tensor(np.isnan(input.array), dtypes.bool_)


def isinf(input):
    return Tensor(np.isinf(input.array), dtypes.bool_)


def isfinite(input):
    return Tensor(np.isfinite(input.array), dtypes.bool_)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.allclose(input.array, other.array, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other):
    return input.shape == other.shape and bool(np.array_equal(input.array, other.array))


def all_(input, dim=None, keepdim=False):
    return Tensor(np.asarray(np.all(input.array, axis=dim, keepdims=keepdim)), dtypes.bool_)


def any_(input, dim=None, keepdim=False):
    return Tensor(np.asarray(np.any(input.array, axis=dim, keepdims=keepdim)), dtypes.bool_)


# ----- matrix products ------------------------------------------------------------------


def _dtype_name(dtype: DType) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int"}.get(
        dtype.name, "Bool"
    )


def _c_type(dtype: DType) -> str:
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int"}.get(
        dtype.name, "bool"
    )


def _shape_x(shape) -> str:
    return "x".join(str(s) for s in shape)


def mm(input, mat2):
    if input.ndim != 2:
        raise runtime_error("self must be a matrix")
    if mat2.ndim != 2:
        raise runtime_error("mat2 must be a matrix")
    if input.shape[1] != mat2.shape[0]:
        raise runtime_error(
            f"mat1 and mat2 shapes cannot be multiplied ({_shape_x(input.shape)} and "
            f"{_shape_x(mat2.shape)})"
        )
    if input.dtype is not mat2.dtype:
        raise runtime_error(
            # PyTorch names the dtypes by their C++ types here.
            f"expected m1 and m2 to have the same dtype, but got: "
            f"{_c_type(input.dtype)} != {_c_type(mat2.dtype)}"
        )
    return call(O.mm, (input, mat2))


def mv(input, vec):
    if input.ndim != 2 or vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        raise runtime_error(
            f"size mismatch, got input ({input.shape[0] if input.ndim else ''}), "
            f"mat ({_shape_x(input.shape)}), vec ({_shape_x(vec.shape)})"
        )
    if input.dtype is not vec.dtype:
        raise runtime_error(
            f"addmv input tensors must have the same dtype, but got "
            f"{_dtype_name(vec.dtype)}, {_dtype_name(input.dtype)}, and {_dtype_name(vec.dtype)}"
        )
    return call(O.mv, (input, vec))


def dot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise runtime_error(
            f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors"
        )
    if input.shape[0] != other.shape[0]:
        raise runtime_error(
            f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
            f"[{other.shape[0]}] to have the same number of elements, but got "
            f"{input.shape[0]} and {other.shape[0]} elements respectively"
        )
    if input.dtype is not other.dtype:
        raise runtime_error(
            f"dot : expected both vectors to have same dtype, but found "
            f"{_dtype_name(input.dtype)} and {_dtype_name(other.dtype)}"
        )
    return call(O.dot, (input, other))


def matmul(input, other):
    """PyTorch's matmul lowering by rank, which decides the grad_fn."""
    if not is_tensor(other) or not is_tensor(input):
        raise type_error(
            f"matmul(): argument 'other' (position 2) must be Tensor, not "
            f"{type(other).__name__ if is_tensor(input) else type(input).__name__}"
        )
    da, db = input.ndim, other.ndim
    if da == 0 or db == 0:
        raise runtime_error(
            f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D"
        )
    if da == 1 and db == 1:
        return dot(input, other)
    if da == 2 and db == 1:
        return mv(input, other)
    if da == 1 and db == 2:
        return call(O.squeeze_inplace_dim, (mm(unsqueeze(input, 0), other),), 0)
    if da == 2 and db == 2:
        return mm(input, other)
    if da >= 3 and db <= 2 and _should_fold(input, other):
        return _folded_matmul(input, other)
    if db >= 3 and da <= 2 and _should_fold(T_last(other), input):
        # PyTorch computes (B^T a^T)^T: fold the transposed batch, then transpose back.
        out = _folded_matmul(T_last(other), t(input) if da == 2 else input)
        return contiguous(transpose(out, -2, -1)) if da == 2 else out
    return _batched_matmul(input, other)


def T_last(x):
    return transpose(x, -2, -1)


def _should_fold(batched, small) -> bool:
    """PyTorch's should_fold: fold a batch into one mm/mv when the small operand needs a
    gradient, or when the batch can be viewed as a matrix without copying."""
    if batched.shape[-1] != 1 and small.requires_grad and GradMode.enabled:
        return True
    try:
        batched.array.reshape((-1, batched.shape[-1]), copy=False)
    except ValueError:
        return False
    return True


def _folded_matmul(batched, small):
    folded = reshape(batched, (-1, batched.shape[-1]))
    if small.ndim == 1:
        return call(O.unsafe_view, (mv(folded, small),), batched.shape[:-1])
    out = mm(folded, small)
    return call(O.unsafe_view, (out,), batched.shape[:-1] + (small.shape[-1],))


def _batched_matmul(input, other):
    a = unsqueeze(input, 0) if input.ndim == 1 else input
    b = unsqueeze(other, -1) if other.ndim == 1 else other
    if a.shape[-1] != b.shape[-2]:
        raise runtime_error(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{math.prod(b.shape[:-2]) if b.ndim > 2 else 1}, {a.shape[-1]}] but got: "
            f"[{math.prod(b.shape[:-2]) if b.ndim > 2 else 1}, {b.shape[-2]}]."
        )
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise broadcast_error(a.shape[:-2], b.shape[:-2]) from None
    n = math.prod(batch)
    a3 = reshape(expand(a, batch + a.shape[-2:]), (n,) + a.shape[-2:])
    b3 = reshape(expand(b, batch + b.shape[-2:]), (n,) + b.shape[-2:])
    out = call(O.bmm, (a3, b3))
    shape = batch + (a.shape[-2], b.shape[-1])
    result = call(O.unsafe_view, (out,), shape)
    if input.ndim == 1:
        result = squeeze(result, -2)
    if other.ndim == 1:
        result = squeeze(result, -1)
    return result


def outer(input, vec2):
    # torch.outer(a, b) is a.reshape(-1, 1) * b.
    return mul(reshape(input, (-1, 1)), vec2)


def linear(input, weight, bias=None):
    if input.ndim >= 1 and weight.ndim == 2 and input.shape[-1] != weight.shape[1]:
        # PyTorch reports the folded matrices it multiplies: input (rows x in) and weight.t()
        rows = math.prod(input.shape[:-1])
        raise runtime_error(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
            f"{weight.shape[1]}x{weight.shape[0]})")
    if input.ndim != 2 and bias is not None and input.ndim >= 1:
        # PyTorch folds other ranks into a matrix, runs addmm, and views the result back.
        folded = reshape(input, (-1, input.shape[-1]))
        out = linear(folded, weight, bias)
        return view(out, input.shape[:-1] + (weight.shape[0],))
    if input.ndim == 2 and bias is not None:
        return call(O.addmm, (bias, input, t(weight)), None, (
            cast(bias, input.dtype), input.array, weight.array.T))
    out = matmul(input, t(weight))
    if bias is not None:
        out = add(out, bias)
    return out


# ----- reductions -----------------------------------------------------------------------


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

    def __new__(cls, kind, values, indices):
        self = super().__new__(cls, (values, indices))
        self.kind = kind
        return self

    def __repr__(self) -> str:
        return f"torch.return_types.{self.kind}(\nvalues={self[0]!r},\nindices={self[1]!r})"

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
        from gradcli import diagnostics

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


# ----- shape ------------------------------------------------------------------------------


def _infer_shape(shape, numel):
    shape = list(shape)
    if shape.count(-1) > 1:
        raise runtime_error("only one dimension can be inferred")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or numel % known:
            raise runtime_error(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[shape.index(-1)] = numel // known
    if math.prod(shape) != numel:
        raise runtime_error(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def view(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], DType):
        raise runtime_error("view(dtype) is not supported")
    shape = _infer_shape(size_args(shape, "view", True) if shape else (), input.array.size)
    try:
        input.array.reshape(shape, copy=False)
    except ValueError:
        raise runtime_error(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        ) from None
    return call(O.view, (input,), shape)


def reshape(input, *shape):
    shape = _infer_shape(size_args(shape, "reshape", True, "shape"), input.array.size)
    try:
        input.array.reshape(shape, copy=False)
    except ValueError:
        # Not expressible as a view: PyTorch copies, then _unsafe_view.
        return call(O.unsafe_view, (clone(input),), shape)
    if not input.array.flags.c_contiguous:
        # PyTorch records a view of a non-contiguous input as _reshape_alias.
        return call(O.reshape_alias, (input,), shape)
    return call(O.view, (input,), shape)


def flatten(input, start_dim=0, end_dim=-1):
    if input.ndim == 0:
        return reshape(input, (1,))
    start, end = wrap_dim(start_dim, input.ndim), wrap_dim(end_dim, input.ndim)
    if start > end:
        raise runtime_error("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    merged = math.prod(input.shape[start : end + 1])
    shape = input.shape[:start] + (merged,) + input.shape[end + 1 :]
    return reshape(input, shape)


def squeeze(input, dim=None):
    if dim is None:
        return call(O.squeeze_all, (input,))
    if isinstance(dim, (tuple, list)):
        dims = tuple(d for d in wrap_dims(dim, input.ndim) if input.shape[d] == 1)
        return call(O.squeeze_dims, (input,), dims)
    d = wrap_dim(dim, input.ndim)
    # Squeezing a dimension that is not 1 is still a (no-op) view in PyTorch.
    return call(O.squeeze_dim, (input,), d if input.ndim and input.shape[d] == 1 else ())


def unsqueeze(input, dim):
    d = wrap_dim(dim, input.ndim + 1)
    return call(O.unsqueeze, (input,), d)


def transpose(input, dim0, dim1):
    if input.ndim == 0:
        wrap_dim(dim0, 0), wrap_dim(dim1, 0)
        return call(O.transpose, (input,), (0, 0))
    return call(O.transpose, (input,), (wrap_dim(dim0, input.ndim), wrap_dim(dim1, input.ndim)))


def permute(input, *dims):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != input.ndim:
        raise runtime_error(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            "length of the desired ordering of dimensions i.e. input.dim() = "
            f"{input.ndim} is not equal to len(dims) = {len(dims)}"
        )
    wrapped = tuple(wrap_dim(d, input.ndim) for d in dims)
    if len(set(wrapped)) != len(wrapped):
        raise runtime_error("permute(): duplicate dims are not allowed.")
    return call(O.permute, (input,), wrapped)


def t(input):
    if input.ndim > 2:
        raise runtime_error(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return call(O.t, (input,))


def T(input):
    """`x.T`: permute reversing all dims (PyTorch warns unless the tensor is 2-D)."""
    return call(O.permute, (input,), tuple(range(input.ndim - 1, -1, -1)))


def expand(input, *sizes):
    sizes = size_args(sizes, "expand") if not any(s == -1 for s in _flat(sizes)) else tuple(
        _flat(sizes)
    )
    if len(sizes) < input.ndim:
        raise runtime_error(
            f"expand(torch.FloatTensor{{[{', '.join(map(str, input.shape))}]}}, "
            f"size=[{', '.join(map(str, sizes))}]): "
            "the number of sizes provided ("
            f"{len(sizes)}) must be greater or equal to the number of dimensions in the tensor "
            f"({input.ndim})"
        )
    lead = len(sizes) - input.ndim
    target = []
    for i, size in enumerate(sizes):
        if i < lead:
            target.append(size)
            continue
        existing = input.shape[i - lead]
        if size == -1:
            size = existing
        elif existing != 1 and existing != size:
            raise runtime_error(
                f"The expanded size of the tensor ({size}) must match the existing size "
                f"({existing}) at non-singleton dimension {i}.  Target sizes: "
                f"[{', '.join(map(str, sizes))}].  "
                f"Tensor sizes: [{', '.join(map(str, input.shape))}]"
            )
        target.append(size)
    _check_size(target, input.dtype, view=True)
    return call(O.expand, (input,), tuple(target))


def _flat(sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        return tuple(sizes[0])
    return tuple(sizes)


def expand_as(input, other):
    return expand(input, other.shape)


def repeat(input, *repeats):
    repeats = size_args(repeats, "repeat", arg="repeats")
    if len(repeats) < input.ndim:
        raise runtime_error(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    padded = (1,) * (len(repeats) - input.ndim) + tuple(input.shape)
    _check_size([n * r for n, r in zip(padded, repeats, strict=True)], input.dtype)
    return call(O.repeat, (input,), repeats)


def _check_sequence(tensors, name):
    if is_tensor(tensors) or not isinstance(tensors, (list, tuple)):
        raise type_error(
            f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
            f"{type_name(tensors)}"
        )
    if not tensors:
        # torch.cat checks in Python (torch/functional.py), torch.stack in ATen
        if name == "cat":
            raise value_error("torch.cat(): expected a non-empty list of Tensors")
        raise runtime_error(f"{name} expects a non-empty TensorList")
    for i, item in enumerate(tensors):
        if not is_tensor(item):
            raise type_error(
                f"expected Tensor as element {i} in argument 0, but got {type_name(item)}"
            )
    return list(tensors)


def _promote_all(tensors):
    dtype = tensors[0].dtype
    for x in tensors[1:]:
        dtype = dtypes.promote_pair(dtype, x.dtype)
    return dtype


def cat(tensors, dim=0):
    tensors = _check_sequence(tensors, "cat")
    dtype = _promote_all(tensors)
    reference = next((x for x in tensors if x.shape != (0,)), tensors[0])
    if reference.ndim == 0:
        raise runtime_error("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, reference.ndim)
    for i, x in enumerate(tensors):
        if x.shape == (0,):
            continue
        if x.ndim != reference.ndim:
            raise runtime_error(
                f"Tensors must have same number of dimensions: got {reference.ndim} and {x.ndim}"
            )
        for axis in range(x.ndim):
            if axis != d and x.shape[axis] != reference.shape[axis]:
                raise runtime_error(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{reference.shape[axis]} but got size {x.shape[axis]} for tensor number {i} "
                    "in the list."
                )
    arrays = tuple(cast(x, dtype) for x in tensors if x.shape != (0,) or reference is x)
    kept = tuple(x for x in tensors if x.shape != (0,) or reference is x)
    return call(O.cat, kept, d, arrays)


def stack(tensors, dim=0):
    tensors = _check_sequence(tensors, "stack")
    for i, x in enumerate(tensors[1:], 1):
        if x.shape != tensors[0].shape:
            raise runtime_error(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} "
                f"at entry 0 and {list(x.shape)} at entry {i}"
            )
    dtype = _promote_all(tensors)
    d = wrap_dim(dim, tensors[0].ndim + 1)
    return call(O.stack, tuple(tensors), d, tuple(cast(x, dtype) for x in tensors))


# ----- conversions and autograd-facing methods -------------------------------------------


def clone(input):
    return call(O.clone, (input,))


def contiguous(input):
    if input.array.flags.c_contiguous:
        return input
    return clone(input)


def detach(input):
    out = Tensor(input.array, input.dtype)
    out.version = input.version
    return out


def data_of(input):
    """`.data`: the same storage, but a fresh version counter (unlike detach())."""
    return Tensor(input.array, input.dtype)


def to(input, *args, dtype=None, copy=False, device=None, **ignored):
    for arg in (*args, device):
        if isinstance(arg, str) and arg.startswith("cuda"):
            raise ProgramError("AssertionError", "Torch not compiled with CUDA enabled")
    for arg in args:
        if isinstance(arg, DType) or any(
            arg is kind for kind in (float, int, bool, python_float, python_int, python_bool)
        ):
            dtype = arg
    dtype = as_dtype(dtype)
    if dtype is None or dtype is input.dtype:
        return clone(input) if copy else input
    return call(O.to_copy, (input,), dtype.numpy)


def double(input):
    return to(input, dtypes.float64)


def float_(input):
    return to(input, dtypes.float32)


def long(input):
    return to(input, dtypes.int64)


def int_(input):
    return to(input, dtypes.int32)


def bool_(input):
    return to(input, dtypes.bool_)


def item(input):
    if input.array.size != 1:
        raise runtime_error(
            f"a Tensor with {input.array.size} elements cannot be converted to Scalar"
        )
    return input.array.reshape(()).item()


def tolist(input):
    return input.array.tolist()


def size(input, dim=None):
    if dim is None:
        return Size(input.shape)
    return input.shape[wrap_dim(dim, input.ndim)]


def dim(input):
    return input.ndim


def numel(input):
    return input.array.size


def requires_grad_(input, requires_grad=True):
    if input.grad_fn is not None and not requires_grad:
        raise runtime_error(
            "you can only change requires_grad flags of leaf variables. If you want to use a "
            "computed variable in a subgraph that doesn't require differentiation use "
            "var_no_grad = var.detach()."
        )
    check_requires_grad(input.dtype, requires_grad, constructor=False)
    input.requires_grad = bool(requires_grad)
    return input


def set_requires_grad(input, value):
    if input.grad_fn is not None:
        if value:
            return
        raise runtime_error(
            "you can only change requires_grad flags of leaf variables. If you want to use a "
            "computed variable in a subgraph that doesn't require differentiation use "
            "var_no_grad = var.detach()."
        )
    if not isinstance(value, bool):
        raise runtime_error("requires_grad must be a bool")
    if value and not input.dtype.is_floating_point:
        raise runtime_error(
            "only Tensors of floating point and complex dtype can require gradients")
    input.requires_grad = value


def retain_grad(input):
    if not input.requires_grad:
        raise runtime_error("can't retain_grad on Tensor that has requires_grad=False")
    if input.grad_fn is None or input.retains_grad:
        return None
    import weakref

    input.retains_grad = True
    input.grad_fn.retained = weakref.ref(input)
    return None


CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using "
    "autograd.grad when creating the graph to avoid this. If you have to use this function, "
    "make sure to reset the .grad fields of your parameters to None after use to break the "
    "cycle and avoid the leak. (Triggered internally at "
    "/__w/pytorch/pytorch/torch/csrc/autograd/engine.cpp:1307.)"
)


def _as_gradient(gradient):
    if gradient is None or is_tensor(gradient):
        return gradient
    if isinstance(gradient, Number):
        # PyTorch treats a non-tensor gradient as a sequence of tensors.
        raise type_error(f"'{type(gradient).__name__}' object is not iterable")
    raise type_error(
        f"gradients can be either Tensors or None, but got {type(gradient).__name__}")


def backward(input, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    if create_graph:
        from gradcli import diagnostics

        diagnostics.warn(CREATE_GRAPH_WARNING)
    if inputs is not None and is_tensor(inputs):
        inputs = [inputs]
    engine.backward(input, _as_gradient(gradient), retain_graph, bool(create_graph), inputs)


def autograd_grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
                  only_inputs=True, allow_unused=None, is_grads_batched=False,
                  materialize_grads=False):
    if is_tensor(grad_outputs) or grad_outputs is None:
        grad_outputs = _as_gradient(grad_outputs)
    else:
        grad_outputs = [_as_gradient(g) for g in grad_outputs]
    result = engine.grad(outputs, inputs, grad_outputs, retain_graph, bool(create_graph),
                         bool(allow_unused) or bool(materialize_grads))
    if materialize_grads:
        targets = [inputs] if is_tensor(inputs) else list(inputs)
        result = tuple(zeros_like(t) if g is None else g
                       for g, t in zip(result, targets, strict=False))
    return result


class Size(tuple):
    """torch.Size: a tuple of ints that prints as `torch.Size([2, 3])`."""

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def __getitem__(self, index):
        # torch.Size slices to a torch.Size, as PyTorch's does.
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def numel(self) -> int:
        return math.prod(self)


# ----- indexing ---------------------------------------------------------------------------


def getitem(input, index):
    """PyTorch's indexing: basic indices become select/slice/unsqueeze ops one at a time;
    tensors, lists and masks become one index.Tensor (IndexBackward0)."""
    lone_slice = isinstance(index, slice)
    if not isinstance(index, tuple):
        index = (index,)
    advanced = any(
        is_tensor(i) or isinstance(i, list) for i in index
    )
    if advanced:
        return _advanced_index(input, index)
    result = input
    dims_used = builtins.sum(1 for i in index if i is not None and i is not Ellipsis)
    if dims_used > input.ndim:
        raise index_error(f"too many indices for tensor of dimension {input.ndim}")
    dim = 0
    source_dim = 0  # the dimension of `input` an index refers to (for messages)
    ellipsis_seen = False
    for i in index:
        if i is Ellipsis:
            if ellipsis_seen:
                raise index_error("an index can only have a single ellipsis ('...')")
            ellipsis_seen = True
            dim += input.ndim - dims_used
            source_dim += input.ndim - dims_used
        elif i is None:
            result = call(O.unsqueeze, (result,), dim)
            dim += 1
        elif isinstance(i, bool):
            result = call(O.unsqueeze, (result,), dim)
            if not i:
                result = call(O.slice_, (result,), (dim, 0, 0, 1))
            dim += 1
        elif isinstance(i, int):
            size_ = result.shape[dim]
            if i < -size_ or i >= size_:
                raise index_error(
                    f"index {i} is out of bounds for dimension {source_dim} with size {size_}"
                )
            result = call(O.select, (result,), (dim, i % size_))
            source_dim += 1
        elif isinstance(i, slice):
            start, stop, step = i.start, i.stop, i.step
            for bound in (start, stop, step):
                if bound is not None and not isinstance(bound, int):
                    raise type_error(
                        "slice indices must be integers or None or have an __index__ method"
                    )
            if step is not None and step <= 0:
                raise value_error("step must be greater than zero")
            length = result.shape[dim]
            begin, end, stride = slice(start, stop, step).indices(length)
            end = builtins.max(end, begin)
            # A full `:` inside a tuple index is skipped; a lone `x[:]` still slices.
            if lone_slice or not (begin == 0 and end == length and stride == 1):
                result = call(O.slice_, (result,), (dim, begin, end, stride))
            dim += 1
            source_dim += 1
        else:
            raise index_error(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                "are valid indices (got " + type(i).__name__ + ")"
            )
    if result is input:
        return call(O.alias, (input,))
    return result


def _index_array(i, size_, dim):
    if is_tensor(i):
        if i.dtype is dtypes.bool_:
            return i.array
        if i.dtype.category != dtypes.INTEGRAL:
            raise index_error(
                "tensors used as indices must be long, int, byte or bool tensors"
            )
        arr = i.array
    else:
        arr = np.asarray(i)
        if arr.dtype == np.bool_:
            return arr
        if arr.dtype.kind not in "iu":
            if arr.size == 0:
                arr = arr.astype(np.int64)
            else:
                raise index_error(
                    "tensors used as indices must be long, int, byte or bool tensors"
                )
    bad = (arr < -size_) | (arr >= size_)
    if bad.any():
        raise index_error(
            f"index {int(arr[bad].flat[0])} is out of bounds for dimension {dim} with size {size_}"
        )
    return arr


def _advanced_index(input, index):
    converted = []
    dim = 0
    dims_used = builtins.sum(
        (i.ndim if is_tensor(i) and i.dtype is dtypes.bool_ else 1)
        for i in index
        if i is not None and i is not Ellipsis
    )
    if dims_used > input.ndim:
        raise index_error(f"too many indices for tensor of dimension {input.ndim}")
    for i in index:
        if i is Ellipsis:
            converted.append(Ellipsis)
            dim += input.ndim - dims_used
        elif i is None:
            converted.append(None)
        elif isinstance(i, slice):
            converted.append(i)
            dim += 1
        elif isinstance(i, int) and not isinstance(i, bool):
            size_ = input.shape[dim]
            if i < -size_ or i >= size_:
                raise index_error(
                    f"index {i} is out of bounds for dimension {dim} with size {size_}"
                )
            converted.append(i)
            dim += 1
        else:
            arr = _index_array(i, input.shape[dim], dim)
            if arr.dtype == np.bool_:
                mask_shape = input.shape[dim : dim + arr.ndim]
                if arr.shape != mask_shape:
                    bad = next(k for k in range(arr.ndim) if arr.shape[k] != mask_shape[k])
                    raise index_error(
                        f"The shape of the mask [{', '.join(map(str, arr.shape))}] at index "
                        f"{bad} does not match the shape of the indexed tensor "
                        f"[{', '.join(map(str, input.shape))}] at index {dim + bad}"
                    )
                dim += arr.ndim
            else:
                dim += 1
            converted.append(arr)
    key = tuple(converted)
    try:
        return call(O.index, (input,), key)
    except IndexError as exc:
        raise index_error(str(exc)) from None


# ----- neural-network functions ----------------------------------------------------------


def _implicit_dim(name, input):
    from gradcli import diagnostics

    diagnostics.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument."
    )
    return 0 if input.ndim in (0, 1, 3) else 1


def torch_softmax(input, dim, dtype=None):
    return softmax(input, dim, dtype)


def torch_log_softmax(input, dim, dtype=None):
    return log_softmax(input, dim, dtype)


def softmax(input, dim=None, dtype=None, **ignored):
    if dtype is not None:
        input = to(input, dtype)
    if dim is None:
        dim = _implicit_dim("softmax", input)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    d = wrap_dim(dim, input.ndim)
    return call(O.softmax, (input,), d, (cast(input, float_dtype(input)),))


def log_softmax(input, dim=None, dtype=None, **ignored):
    if dtype is not None:
        input = to(input, dtype)
    if dim is None:
        dim = _implicit_dim("log_softmax", input)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    d = wrap_dim(dim, input.ndim)
    return call(O.log_softmax, (input,), d, (cast(input, float_dtype(input)),))


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise value_error(f"{reduction} is not a valid value for reduction")
    return reduction


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _check_reduction(reduction)
    if input.shape != target.shape:
        import warnings

        warnings.warn(
            f"Using a target size ({Size(target.shape)}) that is different to the input size "
            f"({Size(input.shape)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=2,
        )
    return binary(O.mse_loss, input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _check_reduction(reduction)
    loss = abs(sub(input, target))
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    _check_reduction(reduction)
    if input.shape != target.shape:
        raise value_error(
            f"Using a target size ({Size(target.shape)}) that is different to the input size "
            f"({Size(input.shape)}) is deprecated. Please ensure they have the same size."
        )
    x = input.array
    if ((x < 0) | (x > 1)).any():
        raise runtime_error("all elements of input should be between 0 and 1")
    w = weight.array if weight is not None else None
    return call(O.binary_cross_entropy, (input, target), (reduction, w))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    _check_reduction(reduction)
    if input.ndim == 0:
        raise value_error("Expected 1 or more dimensions (got 0)")
    if input.ndim > 2:
        raise ProgramError(
            "NotImplementedError",
            "nll_loss of an input with more than 2 dimensions is not supported yet in gradcli",
        )
    batch = input.shape[0] if input.ndim == 2 else None
    if batch is not None and target.shape != (batch,):
        raise value_error(
            f"Expected input batch_size ({batch}) to match target batch_size "
            f"({target.shape[0] if target.ndim else 0})."
        )
    if target.dtype is dtypes.int32:
        raise runtime_error("expected target dtype to be Long or Byte, but got Int")
    if target.dtype.category != dtypes.INTEGRAL:
        raise runtime_error(
            f"expected target dtype to be Long or Byte, but got {_dtype_name(target.dtype)}")
    classes = input.shape[-1]
    t_arr = target.array
    bad = (t_arr != ignore_index) & ((t_arr < 0) | (t_arr >= classes))
    if bad.any():
        raise index_error(f"Target {int(t_arr[bad].flat[0])} is out of bounds.")
    w = weight.array if weight is not None else None
    return call(O.nll_loss, (input,), (t_arr, w, reduction, ignore_index, []))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    class_dim = 0 if input.ndim == 1 else 1
    if target.dtype.is_floating_point and target.shape == input.shape:
        # Class probabilities: -(log_softmax * target) summed over classes.
        _check_reduction(reduction)
        logp = log_softmax(input, class_dim)
        if reduction == "none":
            return neg(sum(mul(logp, target), class_dim))
        total = neg(sum(mul(logp, target)))
        if reduction == "sum":
            return total
        batch = input.shape[0] if input.ndim > 1 else 1
        return call(O.div_scalar, (total,), batch)
    return nll_loss(
        log_softmax(input, class_dim), target, weight, ignore_index=ignore_index,
        reduction=reduction,
    )


def no_grad_enabled() -> bool:
    return GradMode.enabled


# ----- in-place operations ------------------------------------------------------------------

LEAF_INPLACE_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation."


def _check_inplace(target: Tensor) -> None:
    if not GradMode.enabled:
        return
    if target.requires_grad and target.grad_fn is None:
        raise runtime_error(LEAF_INPLACE_MESSAGE)
    unbind.check_inplace(target)  # an output of unbind (a multi-output view)
    base = target.base
    if base is not None and base.requires_grad and base.grad_fn is None and target.requires_grad:
        raise runtime_error(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )


def _write_into(target: Tensor, result: Tensor) -> None:
    """Store an out-of-place result in `target`: PyTorch's in-place semantics."""
    if result.dtype is not target.dtype and not _can_cast(result.dtype, target.dtype):
        raise runtime_error(
            f"result type {_dtype_name(result.dtype)} can't be cast to the desired output type "
            f"{_dtype_name(target.dtype)}"
        )
    if result.shape != target.shape:
        try:
            shape = np.broadcast_shapes(result.shape, target.shape)
        except ValueError:
            shape = None
        if shape != target.shape:
            raise runtime_error(
                f"output with shape [{', '.join(map(str, target.shape))}] doesn't match the "
                f"broadcast shape [{', '.join(map(str, shape or result.shape))}]"
            )
    if not target.array.flags.writeable:
        target.array = target.array.copy()
    np.copyto(target.array, result.array, casting="unsafe")
    target.version[0] += 1
    hints.mark_inplace(target)
    if result.grad_fn is not None and target.base is not None:
        _rebase_view(target, result.grad_fn)
    elif result.grad_fn is not None:
        # The tensor's history is rebased onto the in-place op's node.
        target.grad_fn = result.grad_fn
        target.requires_grad = True
        target.grad_fn.retained = None
        if target.retains_grad:
            import weakref

            target.grad_fn.retained = weakref.ref(target)


def _view_region(view: np.ndarray, base: np.ndarray) -> np.ndarray:
    """The flat indices in `base` of each element of `view` (a numpy view into it)."""
    if not base.flags.c_contiguous:
        raise ProgramError(
            "NotImplementedError", "in-place writes through views of this tensor are not supported"
        )
    itemsize = base.itemsize
    offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // itemsize
    flat = np.arange(base.size, dtype=np.int64)
    strides = tuple(stride // itemsize * flat.itemsize for stride in view.strides)
    return np.lib.stride_tricks.as_strided(flat[offset:], view.shape, strides).copy()


def _rebase_view(view: Tensor, inner) -> None:
    """An in-place op on a view rewrites its base: the base's grad_fn becomes CopySlices,
    and the view reads its values back out of the base (AsStridedBackward0)."""
    from gradcli.engine import run_node_backward
    from gradcli.node import Node, edge_to

    base = view.base
    region = _view_region(view.array, base.array)
    copy_slices = Node(
        O.CopySlicesOp,
        (edge_to(base),) + inner.next_functions[1:],
        (),
        (),
        (region, inner, run_node_backward),
        ((base.shape, base.dtype),) + inner.inputs_meta[1:],
    )
    base.grad_fn = copy_slices
    base.requires_grad = True
    view.grad_fn = Node(O.as_strided, ((copy_slices, 0),), (), (), region,
                        ((base.shape, base.dtype),))
    view.requires_grad = True


def _can_cast(source: DType, target: DType) -> bool:
    return source.category <= target.category


def inplace(target: Tensor, compute, *args) -> Tensor:
    """`target op= value` / `target.op_(value)`: compute out of place, then write back.

    The op reads a snapshot of the target that carries its history, so a recorded node
    saves the values from before the write, as PyTorch's in-place formulas do."""
    if not is_tensor(target):
        raise type_error("in-place operations need a tensor")
    _check_inplace(target)
    snapshot = Tensor(target.array.copy(), target.dtype, target.requires_grad, target.grad_fn)
    snapshot.accumulator = target.accumulator
    if target.grad_fn is None and target.requires_grad:
        snapshot.grad_fn = None
    if O._forward_ad:  # a dual level is active: tangents go through in-place ops too
        from gradcli.autodiff.forward import copy_tangent

        copy_tangent(target, snapshot)
        result = compute(snapshot, *args)
        _write_into(target, result)
        copy_tangent(result, target)
        return target
    result = compute(snapshot, *args)
    _write_into(target, result)
    return target


def add_(input, other, *, alpha=1):
    return inplace(input, lambda s, o: add(s, o, alpha=alpha), other)


def sub_(input, other, *, alpha=1):
    return inplace(input, lambda s, o: sub(s, o, alpha=alpha), other)


def mul_(input, other):
    return inplace(input, mul, other)


def div_(input, other, *, rounding_mode=None):
    return inplace(input, lambda s, o: div(s, o, rounding_mode=rounding_mode), other)


def clamp_(input, min=None, max=None):
    return inplace(input, lambda s: clamp(s, min, max))


def zero_(input):
    return inplace(input, lambda s: call(O.zero, (s,)))


def fill_(input, value):
    value = _item(value)
    return inplace(input, lambda s: call(O.fill, (s,), value))


def copy_(input, src):
    if not is_tensor(src):
        src = tensor(src)
    try:
        np.broadcast_shapes(src.shape, input.shape)
    except ValueError:
        raise broadcast_error(input.shape, src.shape) from None
    return inplace(input, lambda s, o: call(O.copy, (s, o), None, (s.array, o.array)), src)


def set_grad(input, value):
    if value is not None:
        if not is_tensor(value):
            raise type_error("assigned grad expected to be a Tensor or None but got grad of "
                             f"type {type(value).__name__}")
        if value.dtype is not input.dtype:
            raise runtime_error(
                f"attempting to assign a gradient with dtype '{_c_type(value.dtype)}' to a tensor "
                f"with grad_dtype '{_dtype_name(input.dtype)}'. The gradient must match the "
                "tensor's grad_dtype (defaults to the tensor's dtype). You can set the tensor's "
                "grad_dtype attribute with a specific dtype, or None to allow any dtype. Set "
                "grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may "
                "break downstream systems that assume they match."
            )
        if value.shape != input.shape:
            raise runtime_error(
                f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of "
                f"size '{list(input.shape)}'. Please ensure that the gradient and the tensor are "
                "the same size"
            )
    input.grad = value


def set_data(input, value):
    if not is_tensor(value):
        raise type_error(f"Variable data has to be a tensor, but got {type(value).__name__}")
    input.array = value.array
    input.dtype = value.dtype


def setitem(target: Tensor, index, value) -> None:
    """`t[index] = value`: an in-place write (CopySlices in PyTorch)."""
    _check_inplace(target)
    needs_graph = GradMode.enabled and (
        target.requires_grad or (is_tensor(value) and value.requires_grad))
    if needs_graph and _is_basic_index(index):
        # PyTorch: basic indexing gives a view, and the write is copy_ into that view
        # (CopySlices around CopyBackwards).
        copy_(getitem(target, index), value)
        return
    if is_tensor(value) and value.requires_grad and GradMode.enabled:
        raise ProgramError(
            "NotImplementedError",
            "assigning a tensor that requires grad into a slice is not supported yet in gradcli",
        )
    if target.requires_grad and GradMode.enabled:
        raise ProgramError(
            "NotImplementedError",
            "indexed assignment into a tensor with history is not supported yet in gradcli",
        )
    key = _numpy_key(target, index)
    source = value.array if is_tensor(value) else value
    if not target.array.flags.writeable:
        target.array = target.array.copy()
    try:
        region_shape = target.array[key].shape
    except IndexError as exc:
        raise index_error(str(exc)) from None
    if is_tensor(value) and value.ndim > len(region_shape):
        raise runtime_error(
            f"expand(torch.{_dtype_name(value.dtype)}Tensor"
            f"{{[{', '.join(map(str, value.shape))}]}}, "
            f"size=[{', '.join(map(str, region_shape))}]): the number of sizes provided "
            f"({len(region_shape)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({value.ndim})"
        )
    try:
        target.array[key] = source
    except ValueError:
        raise broadcast_error(region_shape, np.shape(source)) from None
    target.version[0] += 1


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice)) and not isinstance(i, bool) or i is None
               or i is Ellipsis for i in items)


def _numpy_key(target, index):
    if not isinstance(index, tuple):
        index = (index,)
    key = []
    for i in index:
        if is_tensor(i):
            key.append(i.array)
        elif isinstance(i, list):
            key.append(np.asarray(i))
        else:
            key.append(i)
    return tuple(key)


# ----- Python operators on tensors (the engine's own API; backward formulas use them) -----


def _reflected(fn):
    return lambda self, other: fn(other, self)


Tensor.__add__ = add
Tensor.__radd__ = radd
Tensor.__sub__ = sub
Tensor.__rsub__ = rsub
Tensor.__mul__ = mul
Tensor.__rmul__ = rmul
Tensor.__truediv__ = div
Tensor.__rtruediv__ = rdiv
Tensor.__pow__ = pow
Tensor.__rpow__ = _reflected(pow)
Tensor.__matmul__ = matmul
Tensor.__neg__ = neg
Tensor.__pos__ = positive
Tensor.__abs__ = abs
Tensor.__invert__ = invert
Tensor.__and__ = bitwise_and
Tensor.__rand__ = _reflected(bitwise_and)
Tensor.__or__ = bitwise_or
Tensor.__ror__ = _reflected(bitwise_or)
Tensor.__lt__ = lt
Tensor.__le__ = le
Tensor.__gt__ = gt
Tensor.__ge__ = ge
Tensor.__eq__ = eq
Tensor.__ne__ = ne
Tensor.__getitem__ = getitem
Tensor.__hash__ = lambda self: id(self)
Tensor.__float__ = lambda self: float(item(self))
Tensor.__int__ = lambda self: int(item(self))
Tensor.sum = sum
Tensor.mean = mean
Tensor.exp = exp
Tensor.log = log
Tensor.tanh = tanh
Tensor.backward = backward
