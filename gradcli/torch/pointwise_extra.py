"""Element-wise functions beyond the core set (torch.floor, torch.erf, torch.atan2,
torch.lerp, ...): their ATen overloads (forward on numpy beside PyTorch's derivatives.yaml
formula) and the argument handling, dtypes and messages of PyTorch 2.13.

Formulas use Python operators and the `xp` vocabulary only, so they also run over
differentiable tensors (create_graph=True).
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten.ops import Op, op, save_inputs, save_nothing, save_result, save_self
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.errors import ProgramError, runtime_error, type_error
from gradcli.torch import pointwise, special_math
from gradcli.torch._common import _c_type, _dtype_name, call, cast, float_dtype, is_tensor
from gradcli.torch.inplace import inplace
from gradcli.torch.pointwise import binary, broadcast_error, promote

TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
HALF_SQRT_PI = math.sqrt(math.pi) / 2
LN2 = math.log(2.0)


def not_implemented(kernel: str, dtype) -> ProgramError:
    return ProgramError("NotImplementedError",
                        f'"{kernel}" not implemented for \'{_dtype_name(dtype)}\'')


def _in_float64(fn):
    """fn computed in float64 and rounded once to the input's float dtype."""

    def forward(x):
        with np.errstate(all="ignore"):
            return np.asarray(fn(np.asarray(x, np.float64))).astype(x.dtype)

    return forward


def _unary(overload, forward, formula, save=save_self):
    entry = op(overload, save=save)(lambda xs, p: forward(xs[0]))
    entry.derivative(lambda ctx, grad, xp: (formula(grad, ctx.saved[0], xp),))
    return entry


def _zero_grad(ctx, grad, xp):
    return (grad * 0,)


# ----- the ops -------------------------------------------------------------------------

floor_op = op("floor", save=save_nothing)(lambda xs, p: np.floor(xs[0]))
ceil_op = op("ceil", save=save_nothing)(lambda xs, p: np.ceil(xs[0]))
trunc_op = op("trunc", save=save_nothing)(lambda xs, p: np.trunc(xs[0]))
round_op = op("round", save=save_nothing)(lambda xs, p: np.round(xs[0]))
sgn_op = op("sgn", save=save_nothing)(lambda xs, p: np.sign(xs[0]))


def _round_decimals(xs, p):
    # PyTorch's kernel: nearbyint(x * 10^d) / 10^d, or nearbyint(x / 10^-d) * 10^-d, in the
    # tensor's dtype (half-to-even, as nearbyint rounds).
    x = xs[0]
    ten_pow = x.dtype.type(10.0 ** abs(p))
    if p >= 0:
        return np.round(x * ten_pow) / ten_pow
    return np.round(x / ten_pow) * ten_pow


round_decimals_op = op("round.decimals", save=save_nothing)(_round_decimals)
for _entry in (floor_op, ceil_op, trunc_op, round_op, round_decimals_op, sgn_op):
    _entry.derivative(_zero_grad)

frac_op = op("frac", save=save_nothing)(lambda xs, p: xs[0] - np.trunc(xs[0]))
frac_op.derivative(lambda ctx, grad, xp: (grad,))

erf_op = _unary("erf", _in_float64(special_math.erf),
                lambda g, x, xp: g * TWO_OVER_SQRT_PI * xp.exp(-(x * x)))
erfc_op = _unary("erfc", _in_float64(special_math.erfc),
                 lambda g, x, xp: -g * TWO_OVER_SQRT_PI * xp.exp(-(x * x)))
erfinv_op = _unary("erfinv", _in_float64(special_math.erfinv),
                   lambda g, y, xp: g * HALF_SQRT_PI * xp.exp(y * y), save_result)
asin_op = _unary("asin", _in_float64(np.arcsin), lambda g, x, xp: g * (1 - x * x) ** -0.5)
acos_op = _unary("acos", _in_float64(np.arccos), lambda g, x, xp: -g * (1 - x * x) ** -0.5)
atan_op = _unary("atan", _in_float64(np.arctan), lambda g, x, xp: g / (x * x + 1))
sinh_op = _unary("sinh", _in_float64(np.sinh),
                 lambda g, x, xp: g * ((xp.exp(x) + xp.exp(-x)) * 0.5))
cosh_op = _unary("cosh", _in_float64(np.cosh),
                 lambda g, x, xp: g * ((xp.exp(x) - xp.exp(-x)) * 0.5))
asinh_op = _unary("asinh", _in_float64(np.arcsinh), lambda g, x, xp: g * (x * x + 1) ** -0.5)
acosh_op = _unary("acosh", _in_float64(np.arccosh), lambda g, x, xp: g * (x * x - 1) ** -0.5)
atanh_op = _unary("atanh", _in_float64(np.arctanh), lambda g, x, xp: g / (1 - x * x))
exp2_op = _unary("exp2", _in_float64(np.exp2), lambda g, y, xp: g * y * LN2, save_result)


def _digamma_of(x, xp):
    return xp.constant(special_math.digamma(xp.numpy(x)).astype(xp.numpy(x).dtype))


def _trigamma_of(x, xp):
    return xp.constant(special_math.trigamma(xp.numpy(x)).astype(xp.numpy(x).dtype))


# The formulas need psi and psi' at the saved input; under create_graph their own
# derivatives (polygamma of higher order) are not recorded: known limitation.
lgamma_op = _unary("lgamma", _in_float64(special_math.lgamma),
                   lambda g, x, xp: g * _digamma_of(x, xp))
digamma_op = _unary("digamma", _in_float64(special_math.digamma),
                    lambda g, x, xp: g * _trigamma_of(x, xp))


@op("logit", save=save_self)
def logit_op(xs, p):
    x = xs[0]
    with np.errstate(all="ignore"):
        if p is not None:
            x = np.clip(x, x.dtype.type(p), x.dtype.type(1 - p))
        return _in_float64(lambda v: np.log(v / (1 - v)))(x)


@logit_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    eps = ctx.params
    inner = grad / (x * (1 - x))
    if eps is None:  # outside [0, 1] the derivative is nan
        return (xp.where((x < 0) | (x > 1), math.nan, inner),)
    return (xp.where((x < eps) | (x > 1 - eps), 0.0, inner),)


@op("nan_to_num", save=save_self)
def nan_to_num_op(xs, p):
    nan, posinf, neginf = p
    x = xs[0]
    info = np.finfo(x.dtype)
    return np.nan_to_num(x, nan=nan, posinf=info.max if posinf is None else posinf,
                         neginf=info.min if neginf is None else neginf)


nan_to_num_op.derivative(lambda ctx, grad, xp: (
    xp.where(np.isfinite(xp.numpy(ctx.saved[0])), grad, 0.0),))


@op("atan2", save=save_inputs)
def atan2_op(xs, p):
    return _in_float64(lambda a: np.arctan2(a, np.asarray(xs[1], np.float64)))(xs[0])


@atan2_op.derivative
def _(ctx, grad, xp):
    self, other = ctx.saved
    denominator = self * self + other * other
    return grad * other / denominator, grad * -self / denominator


@op("hypot", save=lambda inputs, out, p, needs: (inputs[0], inputs[1], out))
def hypot_op(xs, p):
    return np.hypot(xs[0], xs[1])


@hypot_op.derivative
def _(ctx, grad, xp):
    self, other, result = ctx.saved
    return grad * self / result, grad * other / result


@op("logaddexp", save=save_inputs)
def logaddexp_op(xs, p):
    return _in_float64(lambda a: np.logaddexp(a, np.asarray(xs[1], np.float64)))(xs[0])


@logaddexp_op.derivative
def _(ctx, grad, xp):
    self, other = ctx.saved
    return grad / (1 + xp.exp(other - self)), grad / (1 + xp.exp(self - other))


@op("logaddexp2", save=save_inputs)
def logaddexp2_op(xs, p):
    return _in_float64(lambda a: np.logaddexp2(a, np.asarray(xs[1], np.float64)))(xs[0])


@logaddexp2_op.derivative
def _(ctx, grad, xp):
    self, other = ctx.saved
    return (grad / (1 + xp.exp((other - self) * LN2)),
            grad / (1 + xp.exp((self - other) * LN2)))


def _xlogy(x, y):
    # 0 * log(y) is 0 (even for y = 0), but nan stays nan
    with np.errstate(all="ignore"):
        out = np.where(x == 0, 0.0, np.asarray(x, np.float64) * np.log(np.asarray(y, np.float64)))
        return np.where(np.isnan(y), np.nan, out)


def _xlogy_forward(xs, p):
    dtype = next(x.dtype for x in xs if isinstance(x, np.ndarray))
    return np.asarray(_xlogy(xs[0], xs[1])).astype(dtype)


xlogy_op = op("xlogy.Tensor", save=save_inputs)(_xlogy_forward)
xlogy_self_scalar_op = op("xlogy.Scalar_Self", save=save_inputs)(_xlogy_forward)
xlogy_other_scalar_op = op("xlogy.Scalar_Other", save=save_inputs)(_xlogy_forward)


def _xlogy_self_grad(grad, self, other, xp):
    # xlogy(grad, other), zero where self == 0 and other <= 0 (derivatives.yaml)
    x = np.asarray(xp.numpy(self))
    y = np.asarray(xp.numpy(other)) if not isinstance(other, (int, float)) else other
    zero = ((x == 0) & (np.asarray(y) <= 0)) | (np.asarray(xp.numpy(grad)) == 0)
    with np.errstate(all="ignore"):
        log_other = xp.log(other) if not isinstance(other, (int, float)) else (
            math.log(other) if other > 0 else (-math.inf if other == 0 else math.nan))
        return xp.where(zero, 0.0, grad * log_other)


@xlogy_op.derivative
def _(ctx, grad, xp):
    self, other = ctx.saved
    return (_xlogy_self_grad(grad, self, other, xp) if ctx.needs[0] else None,
            grad * self / other if ctx.needs[1] else None)


xlogy_self_scalar_op.derivative(
    lambda ctx, grad, xp: (None, grad * ctx.saved[0] / ctx.saved[1]))
xlogy_other_scalar_op.derivative(
    lambda ctx, grad, xp: (_xlogy_self_grad(grad, ctx.saved[0], ctx.saved[1], xp), None))


fmod_scalar_op = op("fmod.Scalar")(lambda xs, p: np.fmod(xs[0], p))
fmod_scalar_op.derivative(lambda ctx, grad, xp: (grad,))
fmod_tensor_op = op("fmod.Tensor", save=save_inputs)(lambda xs, p: np.fmod(xs[0], xs[1]))


@fmod_tensor_op.derivative
def _(ctx, grad, xp):
    self, other = ctx.saved
    quotient = xp.constant(np.trunc(xp.numpy(self) / xp.numpy(other)))
    return grad, -grad * quotient


clamp_min_op = op("clamp_min", save=save_self)(lambda xs, p: np.maximum(xs[0], p))
clamp_min_op.derivative(
    lambda ctx, grad, xp: (xp.where(ctx.saved[0] >= ctx.params, grad, 0.0),))
clamp_max_op = op("clamp_max", save=save_self)(lambda xs, p: np.minimum(xs[0], p))
clamp_max_op.derivative(
    lambda ctx, grad, xp: (xp.where(ctx.saved[0] <= ctx.params, grad, 0.0),))
clamp_min_tensor_op = op("clamp_min.Tensor", save=save_inputs)(
    lambda xs, p: np.maximum(xs[0], xs[1]))
clamp_min_tensor_op.derivative(lambda ctx, grad, xp: (
    xp.where(ctx.saved[0] >= ctx.saved[1], grad, 0.0),
    xp.where(ctx.saved[0] < ctx.saved[1], grad, 0.0)))
clamp_max_tensor_op = op("clamp_max.Tensor", save=save_inputs)(
    lambda xs, p: np.minimum(xs[0], xs[1]))
clamp_max_tensor_op.derivative(lambda ctx, grad, xp: (
    xp.where(ctx.saved[0] <= ctx.saved[1], grad, 0.0),
    xp.where(ctx.saved[0] > ctx.saved[1], grad, 0.0)))


def _lerp(start, end, weight):
    # PyTorch's kernel: start + w * (end - start) for |w| < 0.5, else end - (end - start) *
    # (1 - w), which is exact at w = 1.
    diff = end - start
    return np.where(np.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))


lerp_scalar_op = op("lerp.Scalar")(lambda xs, p: np.asarray(_lerp(xs[0], xs[1], p),
                                                              np.result_type(xs[0], xs[1])))
lerp_scalar_op.derivative(lambda ctx, grad, xp: (grad * (1 - ctx.params), grad * ctx.params))
lerp_tensor_op = op("lerp.Tensor", save=save_inputs)(lambda xs, p: _lerp(*xs))


@lerp_tensor_op.derivative
def _(ctx, grad, xp):
    start, end, weight = ctx.saved
    return grad * (1 - weight), grad * weight, grad * (end - start)


@op("addcmul", save=save_inputs)
def addcmul_op(xs, p):
    self, t1, t2 = xs
    return self + p * t1 * t2 if p != 1 else self + t1 * t2


@addcmul_op.derivative
def _(ctx, grad, xp):
    _, t1, t2 = ctx.saved
    value = ctx.params
    return grad, grad * t2 * value, grad * t1 * value


@op("addcdiv", save=save_inputs)
def addcdiv_op(xs, p):
    self, t1, t2 = xs
    return self + p * (t1 / t2) if p != 1 else self + t1 / t2


@addcdiv_op.derivative
def _(ctx, grad, xp):
    _, t1, t2 = ctx.saved
    value = ctx.params
    return grad, grad * value / t2, -grad * value * t1 / (t2 * t2)


# ----- the torch functions -------------------------------------------------------------


def _check_tensor(name, value, position=1, arg="input"):
    if not is_tensor(value):
        raise type_error(f"{name}(): argument '{arg}' (position {position}) must be Tensor, "
                         f"not {type(value).__name__}")


def _rounding(entry, kernel):
    """floor/ceil/trunc/round: integers come back as they are (a copy), bools are refused."""

    def apply(input):
        _check_tensor(entry.overload, input)
        if input.dtype is dtypes.bool_:
            raise not_implemented(kernel, input.dtype)
        if input.dtype.category != dtypes.FLOATING:
            return Tensor(input.array.copy(), input.dtype)
        return call(entry, (input,))

    apply.__name__ = entry.overload
    return apply


floor = _rounding(floor_op, "floor_vml_cpu")
ceil = _rounding(ceil_op, "ceil_vml_cpu")
trunc = _rounding(trunc_op, "trunc_vml_cpu")
_round_plain = _rounding(round_op, "round_vml_cpu")


def round(input, *, decimals=0):  # noqa: A001 - torch.round
    if decimals == 0:
        return _round_plain(input)
    _check_tensor("round", input)
    if input.dtype.category != dtypes.FLOATING:
        raise not_implemented("round_cpu", input.dtype)
    return call(round_decimals_op, (input,), int(decimals))


def frac(input):
    _check_tensor("frac", input)
    if input.dtype.category != dtypes.FLOATING:
        raise not_implemented("frac_cpu", input.dtype)
    return call(frac_op, (input,))


def sgn(input):
    _check_tensor("sgn", input)
    if input.dtype is dtypes.bool_:
        return Tensor(input.array.copy(), dtypes.bool_)
    return call(sgn_op, (input,))


def _float_unary(entry):
    def apply(input):
        _check_tensor(entry.overload, input)
        return call(entry, (input,), None, (cast(input, float_dtype(input)),))

    apply.__name__ = entry.overload
    return apply


erf = _float_unary(erf_op)
erfc = _float_unary(erfc_op)
erfinv = _float_unary(erfinv_op)
lgamma = _float_unary(lgamma_op)
digamma = _float_unary(digamma_op)
asin = _float_unary(asin_op)
acos = _float_unary(acos_op)
atan = _float_unary(atan_op)
sinh = _float_unary(sinh_op)
cosh = _float_unary(cosh_op)
asinh = _float_unary(asinh_op)
acosh = _float_unary(acosh_op)
atanh = _float_unary(atanh_op)
exp2 = _float_unary(exp2_op)


def logit(input, eps=None):
    _check_tensor("logit", input)
    return call(logit_op, (input,), None if eps is None else float(eps),
                (cast(input, float_dtype(input)),))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    _check_tensor("nan_to_num", input)
    if input.dtype.category != dtypes.FLOATING:
        return Tensor(input.array.copy(), input.dtype)
    return call(nan_to_num_op, (input,), (nan, posinf, neginf))


def _float_binary(entry, kernel=None):
    """atan2/hypot/logaddexp: two tensors; hypot and logaddexp refuse integers."""
    name = entry.overload

    def apply(input, other):
        _check_tensor(name, input)
        _check_tensor(name, other, 2, "other")
        if kernel is not None:
            dtype, _, _ = promote(input, other)
            if dtype.category != dtypes.FLOATING:
                raise not_implemented(kernel, dtype)
        return binary(entry, input, other, floating=True)

    apply.__name__ = name
    return apply


atan2 = _float_binary(atan2_op)
hypot = _float_binary(hypot_op, "hypot_cpu")
logaddexp = _float_binary(logaddexp_op, "logaddexp_cpu")
logaddexp2 = _float_binary(logaddexp2_op, "logaddexp2_cpu")


def xlogy(input, other):
    if not is_tensor(input) and not is_tensor(other):
        raise type_error(
            f"xlogy() received an invalid combination of arguments - got "
            f"({type(input).__name__}, {type(other).__name__}), but expected one of:\n"
            " * (Tensor input, Tensor other, *, Tensor out = None)\n"
            " * (Number self, Tensor other, *, Tensor out = None)\n"
            " * (Tensor input, Number other, *, Tensor out = None)\n")
    if not is_tensor(input):
        dtype, x, y = promote(input, other, floating=True)
        return call(xlogy_self_scalar_op, (input, other), None, (x, y))
    if not is_tensor(other):
        dtype, x, y = promote(input, other, floating=True)
        return call(xlogy_other_scalar_op, (input, other), None, (x, y))
    return binary(xlogy_op, input, other, floating=True)


def fmod(input, other):
    _check_tensor("fmod", input)
    dtype, x, y = promote(input, other)
    if dtype is dtypes.bool_:
        raise not_implemented("fmod_cpu", dtype)
    if not is_tensor(other):
        if dtype.category != dtypes.FLOATING and y == 0:
            raise runtime_error("ZeroDivisionError")
        return call(fmod_scalar_op, (input,), y, (x,))
    if dtype.category != dtypes.FLOATING and np.any(y == 0):
        raise runtime_error("ZeroDivisionError")
    return binary(fmod_tensor_op, input, other)


def clamp_min(input, min):  # noqa: A002 - torch's argument name
    _check_tensor("clamp_min", input)
    if is_tensor(min):
        return binary(clamp_min_tensor_op, input, min)
    dtype, x, low = promote(input, min)
    return call(clamp_min_op, (input,), low, (x,))


def clamp_max(input, max):  # noqa: A002 - torch's argument name
    _check_tensor("clamp_max", input)
    if is_tensor(max):
        return binary(clamp_max_tensor_op, input, max)
    dtype, x, high = promote(input, max)
    return call(clamp_max_op, (input,), high, (x,))


def _check_broadcast(*tensors):
    """PyTorch's message for the first operand that does not broadcast with the ones
    before it."""
    shape = tensors[0].shape
    for t in tensors[1:]:
        try:
            shape = np.broadcast_shapes(shape, t.shape)
        except ValueError:
            raise broadcast_error(shape, t.shape) from None


def lerp(input, end, weight):
    _check_tensor("lerp", input)
    _check_tensor("lerp", end, 2, "end")
    if input.dtype is not end.dtype:
        raise runtime_error(f"expected dtype {_c_type(input.dtype)} for `end` but "
                            f"got dtype {_c_type(end.dtype)}")
    if input.dtype.category != dtypes.FLOATING:
        raise not_implemented("lerp_kernel_scalar" if not is_tensor(weight)
                              else "lerp_kernel_tensor", input.dtype)
    _check_broadcast(input, end, *([weight] if is_tensor(weight) else []))
    if is_tensor(weight):
        if weight.dtype is not input.dtype:
            raise runtime_error(f"expected dtype {_c_type(input.dtype)} for "
                                f"`weight` but got dtype {_c_type(weight.dtype)}")
        return call(lerp_tensor_op, (input, end, weight))
    return call(lerp_scalar_op, (input, end), float(weight))


def _addc(entry):
    name = entry.overload

    def apply(input, tensor1, tensor2, *, value=1):
        for position, (arg, t) in enumerate((("input", input), ("tensor1", tensor1),
                                             ("tensor2", tensor2)), 1):
            _check_tensor(name, t, position, arg)
        dtype = input.dtype
        for t in (tensor1, tensor2):
            dtype, _, _ = promote(Tensor(np.zeros((), dtype.numpy), dtype), t)
        if name == "addcdiv" and dtype.category != dtypes.FLOATING:
            raise runtime_error(
                "Integer division with addcdiv is no longer supported, and in a future  "
                "release addcdiv will perform a true division of tensor1 and tensor2. The "
                "historic addcdiv behavior can be implemented as (input + value * "
                "torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
                "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv "
                "behavior is just the latter implementation: (input + value * tensor1 / "
                "tensor2), for all dtypes.")
        _check_broadcast(input, tensor1, tensor2)
        arrays = tuple(cast(t, dtype) for t in (input, tensor1, tensor2))
        return call(entry, (input, tensor1, tensor2), value, arrays)

    apply.__name__ = name
    return apply


addcmul = _addc(addcmul_op)
addcdiv = _addc(addcdiv_op)


# ----- no gradient: tests and logic ----------------------------------------------------


def isposinf(input):
    _check_tensor("isposinf", input)
    return Tensor(np.isposinf(input.array), dtypes.bool_)


def isneginf(input):
    _check_tensor("isneginf", input)
    return Tensor(np.isneginf(input.array), dtypes.bool_)


def heaviside(input, values):
    _check_tensor("heaviside", input)
    _check_tensor("heaviside", values, 2, "values")
    if input.dtype is not values.dtype:
        raise runtime_error(
            "heaviside is not yet implemented for tensors with different dtypes.")
    x = input.array
    out = np.where(x == 0, values.array, (x > 0).astype(x.dtype))
    # PyTorch records a NotImplemented node, whose backward raises
    return call(_heaviside_op, (input, values), None, (np.asarray(out, x.dtype), None))


def _logical(fn, name):
    def apply(input, other):
        _check_tensor(name, input)
        _check_tensor(name, other, 2, "other")
        try:
            return Tensor(np.asarray(fn(input.array.astype(bool), other.array.astype(bool))),
                          dtypes.bool_)
        except ValueError:
            raise broadcast_error(input.shape, other.shape) from None

    apply.__name__ = name
    return apply


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")

_heaviside_op = op("heaviside", name="NotImplemented")(lambda xs, p: xs[0])


@_heaviside_op.derivative
def _(ctx, grad, xp):
    raise runtime_error("derivative for aten::heaviside is not implemented")


# ----- the tables: torch.X, Tensor.X, Tensor.X_ ------------------------------------------

FUNCTIONS = {
    "floor": floor, "ceil": ceil, "trunc": trunc, "fix": trunc, "round": round, "frac": frac,
    "sgn": sgn, "erf": erf, "erfc": erfc, "erfinv": erfinv, "lgamma": lgamma,
    "digamma": digamma, "asin": asin, "arcsin": asin, "acos": acos, "arccos": acos,
    "atan": atan, "arctan": atan, "sinh": sinh, "cosh": cosh, "asinh": asinh,
    "arcsinh": asinh, "acosh": acosh, "arccosh": acosh, "atanh": atanh, "arctanh": atanh,
    "exp2": exp2, "logit": logit, "nan_to_num": nan_to_num, "atan2": atan2,
    "arctan2": atan2, "hypot": hypot, "logaddexp": logaddexp, "logaddexp2": logaddexp2,
    "xlogy": xlogy, "fmod": fmod, "clamp_min": clamp_min, "clamp_max": clamp_max,
    "lerp": lerp, "addcmul": addcmul, "addcdiv": addcdiv, "isposinf": isposinf,
    "isneginf": isneginf, "heaviside": heaviside, "logical_and": logical_and,
    "logical_or": logical_or, "logical_xor": logical_xor,
}

TENSOR_METHODS = dict(FUNCTIONS)


def _inplace_method(fn):
    return lambda self, *args, **kwargs: inplace(
        self, lambda s, *a: fn(s, *a, **kwargs), *args)


def _inplace_without_derivative(name, forward_entry):
    """asinh_, acosh_, atanh_: derivatives.yaml's not_implemented("inplace version of
    asinh"): the call is recorded (AsinhBackward1), its backward raises."""
    entry = Op(name + "_", forward_entry.forward, None, False)

    def backward(ctx, grad, xp):
        raise ProgramError("NotImplementedError", "the derivative for 'inplace version "
                           f"of {name}' is not implemented.")

    entry.backward = backward

    def compute(s):
        return call(entry, (s,), None, (cast(s, float_dtype(s)),))

    return lambda self: inplace(self, compute)


for _name in ("floor ceil trunc fix round frac sgn erf erfc erfinv lgamma digamma asin arcsin "
              "acos arccos atan arctan sinh cosh asinh arcsinh acosh arccosh atanh arctanh "
              "exp2 logit nan_to_num atan2 arctan2 hypot logaddexp xlogy fmod clamp_min "
              "clamp_max lerp addcmul addcdiv heaviside").split():
    TENSOR_METHODS[_name + "_"] = _inplace_method(FUNCTIONS[_name])
# Tensor methods of functions the core set has only as torch.X
TENSOR_METHODS.update({
    "isinf": pointwise.isinf, "isfinite": pointwise.isfinite,
    "sign_": _inplace_method(pointwise.sign), "square_": _inplace_method(pointwise.square),
})
for _name, _base, _entry in (("asinh", "asinh", asinh_op), ("arcsinh", "asinh", asinh_op),
                             ("acosh", "acosh", acosh_op), ("arccosh", "acosh", acosh_op),
                             ("atanh", "atanh", atanh_op), ("arctanh", "atanh", atanh_op)):
    TENSOR_METHODS[_name + "_"] = _inplace_without_derivative(_base, _entry)

