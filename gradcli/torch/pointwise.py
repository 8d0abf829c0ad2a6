"""Element-wise arithmetic, math functions, comparisons and logic, with PyTorch's type
promotion and its lowering to ATen overloads (which names each grad_fn).
"""

from __future__ import annotations

import builtins

import numpy as np

from gradcli.aten import ops as O
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.errors import (
    ProgramError,
    runtime_error,
    type_error,
)
from gradcli.torch._common import (
    _FLOATING,
    Number,
    _read,
    call,
    call_number,
    cast,
    float_dtype,
    is_tensor,
)
from gradcli.torch.creation import tensor


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
    if input.dtype is dtypes.bool_:  # the signs of bools are themselves
        return Tensor(input.array.copy(), dtypes.bool_)
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


def _compare(fn):
    # While vmap traces a function (O.set_call_hook) a comparison is an op like any other.
    traced = O.Op(fn.__name__, lambda xs, p: np.asarray(fn(xs[0], xs[1])), None, False,
                  fn.__name__)

    def compare(input, other):
        _, xa, xb = promote(input, other)
        try:
            if O._call_hook is not None:
                return O.call(traced, (input, other), None, (xa, xb))
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
    _read("allclose", input, other)
    return bool(np.allclose(input.array, other.array, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other):
    _read("equal", input, other)
    return input.shape == other.shape and bool(np.array_equal(input.array, other.array))


def all_(input, dim=None, keepdim=False):
    if O._call_hook is not None:
        return O.call(_ALL, (input,), (dim, keepdim))
    return Tensor(np.asarray(np.all(input.array, axis=dim, keepdims=keepdim)), dtypes.bool_)


def any_(input, dim=None, keepdim=False):
    if O._call_hook is not None:
        return O.call(_ANY, (input,), (dim, keepdim))
    return Tensor(np.asarray(np.any(input.array, axis=dim, keepdims=keepdim)), dtypes.bool_)


# all/any as vmap's tracer sees them (the same values, as ops; see _compare).
_ALL = O.Op("all", lambda xs, p: np.asarray(np.all(xs[0], axis=p[0], keepdims=p[1])), None,
            False, "all")
_ANY = O.Op("any", lambda xs, p: np.asarray(np.any(xs[0], axis=p[0], keepdims=p[1])), None,
            False, "any")
