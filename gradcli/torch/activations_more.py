"""The activation functions beyond activations.py: F.elu, F.celu, F.selu, F.mish, F.hardtanh,
F.relu6, F.hardsigmoid, F.hardswish, F.logsigmoid, F.softsign, F.tanhshrink, F.softshrink,
F.hardshrink, F.threshold, F.prelu, F.softmin, F.glu (and torch.selu, torch.celu, ...).

Each one PyTorch 2.13 records as its own ATen node is an op here, with its backward as an
op too (`elu_backward`, ...), so create_graph=True gives PyTorch's EluBackwardBackward0.
The rest (softsign, tanhshrink, softmin) are PyTorch's compositions of existing ops.
Formulas follow derivatives.yaml and ATen's CPU kernels (Activation.cpp): the comparisons
at the kinks (`x <= 0`, `-3 < x < 3`, ...) are theirs. float32 values are computed in
float64 and rounded once.
"""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import Op, op, save_inputs, save_self
from gradcli.autodiff.tensor import Tensor
from gradcli.autodiff.vocabulary import NumpyVocabulary
from gradcli.base.errors import ProgramError, runtime_error, type_error
from gradcli.torch import activations as A
from gradcli.torch import functions as api
from gradcli.torch.nn_functions import _implicit_dim

# torch.nn.functional.selu's constants (ATen's SELU_ALPHA, SELU_SCALE)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _f64(x):
    return np.asarray(x.array if x.__class__ is Tensor else x, np.float64)


def _like(value, x):
    x = x.array if x.__class__ is Tensor else x
    return np.asarray(value).astype(np.result_type(x), copy=False)


def _times_slope(grad, slope, x):
    # ATen's kernels write a literal 0 where the slope is 0 (never -0.0 from grad * 0)
    return np.where(slope == 0, 0, grad * _like(slope, x)).astype(grad.dtype, copy=False)


def _pointwise_backward(overload, slope, curvature=None, name=None, registered=True):
    """The op `grad * f'(x)` (PyTorch's `<f>_backward(grad, self, ...)`), differentiable
    once more: d/dgrad is the same op on the new gradient, d/dx is grad * f''(x)
    (zero where `curvature` is None: f is piecewise linear)."""
    entry = Op(overload, None, save_inputs, False, name) if not registered else None

    def forward(xs, p):
        grad, x = xs
        return _times_slope(grad, slope(_f64(x), p), x)

    if entry is None:
        entry = op(overload, save=save_inputs, name=name)(forward)
    else:
        entry.forward = forward

    @entry.derivative
    def _(ctx, gg, xp):
        grad, x = ctx.saved
        numeric = xp is NumpyVocabulary
        if curvature is None:
            d_x = np.zeros_like(_like(_f64(x), x)) if numeric else api.zeros_like(x)
        else:
            second = _like(curvature(_f64(x), ctx.params), x)
            d_x = gg * grad * second if numeric else api.mul(api.mul(gg, grad), Tensor(second))
        if numeric:
            return _times_slope(gg, slope(_f64(x), ctx.params), x), d_x
        return O.call(entry, (gg, x), ctx.params), d_x

    return entry


def _pointwise(overload, value, backward_op, slope, params_of_backward=None):
    """The op y = f(x) whose gradient is `backward_op(grad, x)`."""
    to_backward = params_of_backward or (lambda p: p)

    @op(overload, save=save_self)
    def entry(xs, p):
        return _like(value(_f64(xs[0]), p), xs[0])

    @entry.derivative
    def _(ctx, grad, xp):
        (x,) = ctx.saved
        p = to_backward(ctx.params)
        if xp is NumpyVocabulary:
            return (_times_slope(grad, slope(_f64(x), p), x),)
        return (O.call(backward_op, (grad, x), p),)

    return entry


# ----- elu, celu, selu: one kernel, (alpha, scale, input_scale) ----------------------------


def _elu_value(x, p):
    alpha, scale, input_scale = p
    return np.where(x > 0, scale * x, scale * alpha * np.expm1(x * input_scale))


def _elu_slope(x, p):
    alpha, scale, input_scale = p
    return np.where(x > 0, scale, scale * alpha * input_scale * np.exp(x * input_scale))


def _elu_curvature(x, p):
    alpha, scale, input_scale = p
    # elu_double_backward masks with `self < 0`: zero at 0, where the first derivative
    # takes the negative branch
    return np.where(x < 0, scale * alpha * input_scale * input_scale * np.exp(x * input_scale),
                    0.0)


elu_backward_op = _pointwise_backward("elu_backward", _elu_slope, _elu_curvature)
elu_op = _pointwise("elu", _elu_value, elu_backward_op, _elu_slope)
# celu(x, alpha) is elu(x, alpha, 1, 1/alpha) with its own node; its backward is elu_backward

def _celu_value(x, alpha):
    return _elu_value(x, (alpha, 1.0, 1.0 / alpha))


def _celu_params(alpha):
    return (alpha, 1.0, 1.0 / alpha)


celu_op = _pointwise("celu", _celu_value, elu_backward_op, _elu_slope, _celu_params)
# The in-place forms have their own derivatives.yaml entries (EluBackward1, CeluBackward1,
# ThresholdBackward1); PyTorch's formulas read the result, which gives the same numbers.
elu_inplace_op = _pointwise("elu_", _elu_value, elu_backward_op, _elu_slope)
celu_inplace_op = _pointwise("celu_", _celu_value, elu_backward_op, _elu_slope, _celu_params)


# ----- hardtanh (relu6), softshrink, hardshrink, threshold: piecewise linear ---------------


def _hardtanh_slope(x, p):
    low, high = p
    return ((x > low) & (x < high)).astype(np.float64)


hardtanh_backward_op = _pointwise_backward("hardtanh_backward", _hardtanh_slope)
hardtanh_op = _pointwise("hardtanh", lambda x, p: np.clip(x, p[0], p[1]), hardtanh_backward_op,
                         _hardtanh_slope)


def _softshrink_value(x, lambd):
    # the kernel's middle branch is x * 0: -0.0 for negative x
    return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, x * 0))


def _shrink_slope(x, lambd):
    return ((x < -lambd) | (x > lambd)).astype(np.float64)


softshrink_backward_op = _pointwise_backward("softshrink_backward", _shrink_slope)
softshrink_op = _pointwise("softshrink", _softshrink_value, softshrink_backward_op, _shrink_slope)
hardshrink_backward_op = _pointwise_backward("hardshrink_backward", _shrink_slope)
hardshrink_op = _pointwise("hardshrink",
                           lambda x, lambd: np.where(_shrink_slope(x, lambd) > 0, x, 0.0),
                           hardshrink_backward_op, _shrink_slope)


def _threshold_slope(x, p):
    return (x > p[0]).astype(np.float64)


# relu's threshold_backward (ops.py) knows only threshold 0: this one carries the threshold,
# under the same overload (hence the same name, ThresholdBackwardBackward0), unregistered.
threshold_backward_op = _pointwise_backward("threshold_backward", _threshold_slope,
                                            registered=False)
threshold_op = _pointwise("threshold", lambda x, p: np.where(x > p[0], x, p[1]),
                          threshold_backward_op, _threshold_slope)
threshold_inplace_op = _pointwise("threshold_", lambda x, p: np.where(x > p[0], x, p[1]),
                                  threshold_backward_op, _threshold_slope)


# ----- hardsigmoid, hardswish ----------------------------------------------------------


def _hardsigmoid_slope(x, p):
    return np.where((x > -3) & (x < 3), 1.0 / 6.0, 0.0)


@op("hardsigmoid_backward", save=save_inputs, name="NotImplemented")
def hardsigmoid_backward_op(xs, p):
    grad, x = xs
    return grad * _like(_hardsigmoid_slope(_f64(x), p), x)


@hardsigmoid_backward_op.derivative
def _(ctx, grad, xp):
    # derivatives.yaml has no entry for hardsigmoid_backward: PyTorch records NotImplemented
    raise runtime_error("derivative for aten::hardsigmoid_backward is not implemented")


hardsigmoid_op = _pointwise("hardsigmoid", lambda x, p: np.clip(x + 3, 0, 6) / 6,
                            hardsigmoid_backward_op, _hardsigmoid_slope)


def _hardswish_slope(x, p):
    # hardswish_backward's kernel: 0 for x <= -3, x / 3 + 0.5 for x < 3, else 1
    return np.where(x <= -3, 0.0, np.where(x < 3, x / 3 + 0.5, 1.0))


def _hardswish_curvature(x, p):
    return np.where((x > -3) & (x < 3), 1.0 / 3.0, 0.0)


hardswish_backward_op = _pointwise_backward("hardswish_backward", _hardswish_slope,
                                            _hardswish_curvature)
hardswish_op = _pointwise("hardswish", lambda x, p: x * np.clip(x + 3, 0, 6) / 6,
                          hardswish_backward_op, _hardswish_slope)


# ----- logsigmoid ------------------------------------------------------------------------


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _log_sigmoid_slope(x, p):
    return _sigmoid(-x)  # 1 - sigmoid(x)


def _log_sigmoid_curvature(x, p):
    s = _sigmoid(x)
    return -s * (1 - s)


log_sigmoid_backward_op = _pointwise_backward("log_sigmoid_backward", _log_sigmoid_slope,
                                              _log_sigmoid_curvature)
# the overload is log_sigmoid_forward (it also returns a buffer): LogSigmoidBackward0
log_sigmoid_op = _pointwise("log_sigmoid_forward",
                            lambda x, p: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))),
                            log_sigmoid_backward_op, _log_sigmoid_slope)


# ----- mish: first-order kernel, create_graph through differentiable ops ------------------


def _mish_slope(x):
    sp = np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))
    t = np.tanh(sp)
    return t + x * _sigmoid(x) * (1 - t * t)


@op("mish", save=save_self)
def mish_op(xs, p):
    x = _f64(xs[0])
    sp = np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))
    return _like(x * np.tanh(sp), xs[0])


@mish_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    if xp is NumpyVocabulary:
        return (grad * _like(_mish_slope(_f64(x)), x),)
    # infinitely_differentiable_mish_backward:
    # grad * (tanh(softplus(x)) + x * sigmoid(x) * (1 - tanh(softplus(x))^2))
    t = api.tanh(A.softplus(x))
    inner = api.add(t, api.mul(api.mul(x, api.sigmoid(x)), api.rsub(api.mul(t, t), 1)))
    return (api.mul(grad, inner),)


# ----- prelu: _prelu_kernel(self, weight), weight broadcast over dim 1 ----------------------


@op("_prelu_kernel", save=save_inputs)
def prelu_kernel_op(xs, p):
    x, w = xs
    return np.where(x > 0, x, w * x).astype(np.result_type(x, w), copy=False)


@prelu_kernel_op.derivative
def _(ctx, grad, xp):
    x, w = ctx.saved
    if xp is not NumpyVocabulary:
        raise ProgramError("NotImplementedError",
                           "gradcli cannot differentiate prelu's backward (create_graph=True)")
    positive = x > 0
    return (np.where(positive, grad, w * grad) if ctx.needs[0] else None,
            np.where(positive, 0, x * grad).astype(grad.dtype, copy=False)
            if ctx.needs[1] else None)


# ----- glu: a * sigmoid(b), the halves of dim -------------------------------------------


@op("glu", save=save_self)
def glu_op(xs, p):
    a, b = np.split(_f64(xs[0]), 2, axis=p)
    return _like(a * _sigmoid(b), xs[0])


@op("glu_backward", save=save_inputs)
def glu_backward_op(xs, p):
    grad, x = xs
    a, b = np.split(_f64(x), 2, axis=p)
    s = _sigmoid(b)
    g = _f64(grad)
    return _like(np.concatenate([g * s, g * a * s * (1 - s)], axis=p), x)


@glu_op.derivative
def _(ctx, grad, xp):
    (x,) = ctx.saved
    if xp is NumpyVocabulary:
        return (glu_backward_op.forward((grad, x), ctx.params),)
    return (O.call(glu_backward_op, (grad, x), ctx.params),)


@glu_backward_op.derivative
def _(ctx, gg, xp):
    # glu_double_backward: with s = sigmoid(b), grad_in = [g s, g a s (1 - s)]
    grad, x = ctx.saved
    dim = ctx.params
    a, b = np.split(_f64(x), 2, axis=dim)
    g = _f64(grad)
    gga, ggb = np.split(_f64(gg), 2, axis=dim)
    s = _sigmoid(b)
    ds = s * (1 - s)
    d_grad = gga * s + ggb * a * ds
    d_a = ggb * g * ds
    d_b = gga * g * ds + ggb * g * a * ds * (1 - 2 * s)
    d_x = np.concatenate([d_a, d_b], axis=dim)
    if xp is NumpyVocabulary:
        return _like(d_grad, grad), _like(d_x, x)
    return Tensor(_like(d_grad, grad)), Tensor(_like(d_x, x))


# ----- the functions ------------------------------------------------------------------


def _tensor_input(name, input):
    if input.__class__ is not Tensor:
        raise type_error(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                         f"{type(input).__name__}")
    return input


def _in_dtype(input, value):
    """A bound as the kernel compares it: cast to the input's dtype (0.4 -> 0.4000000059604645
    for float32), so `x > threshold` decides as PyTorch's does."""
    if input.dtype.name == "float32":
        return float(np.float32(value))
    return float(value)


def _apply(name, entry, input, params, inplace=False, inplace_entry=None):
    _tensor_input(name, input)
    if inplace:
        entry = inplace_entry or entry
        return api.inplace(input, lambda s: O.call(entry, (s,), params))
    return O.call(entry, (input,), params)


def elu(input, alpha=1.0, inplace=False):
    return _apply("elu", elu_op, input, (float(alpha), 1.0, 1.0), inplace, elu_inplace_op)


def selu(input, inplace=False):
    return _apply("selu", elu_op, input, (SELU_ALPHA, SELU_SCALE, 1.0), inplace, elu_inplace_op)


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise runtime_error("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _apply("celu", celu_op, input, float(alpha), inplace, celu_inplace_op)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise value_error_("min_val cannot be greater than max_val")
    _tensor_input("hardtanh", input)
    bounds = (_in_dtype(input, min_val), _in_dtype(input, max_val))
    return _apply("hardtanh", hardtanh_op, input, bounds, inplace)


def relu6(input, inplace=False):
    return _apply("relu6", hardtanh_op, input, (0.0, 6.0), inplace)


def hardsigmoid(input, inplace=False):
    return _apply("hardsigmoid", hardsigmoid_op, input, None, inplace)


def hardswish(input, inplace=False):
    return _apply("hardswish", hardswish_op, input, None, inplace)


def logsigmoid(input):
    return _apply("log_sigmoid", log_sigmoid_op, input, None)


def mish(input, inplace=False):
    return _apply("mish", mish_op, input, None, inplace)


def softshrink(input, lambd=0.5):
    _tensor_input("softshrink", input)
    if lambd < 0:
        # ATen's check, with C++'s stream formatting of floats (6 significant digits)
        kind, top = ("Double", "1.79769e+308") if input.dtype.name == "float64" else \
            ("Float", "3.40282e+38")
        raise runtime_error(f"lambda must be in range [0, {top}] for input dtype {kind}, "
                            f"but found {float(lambd):g}")
    return _apply("softshrink", softshrink_op, input, _in_dtype(input, lambd))


def hardshrink(input, lambd=0.5):
    _tensor_input("hardshrink", input)
    return _apply("hardshrink", hardshrink_op, input, _in_dtype(input, lambd))


def threshold(input, threshold, value, inplace=False):
    _tensor_input("threshold", input)
    return _apply("threshold", threshold_op, input,
                  (_in_dtype(input, threshold), _in_dtype(input, value)), inplace,
                  threshold_inplace_op)


def softsign(input):
    # torch.nn.functional.softsign: input / (input.abs() + 1)
    return api.div(input, api.add(api.abs(input), 1))


def tanhshrink(input):
    # torch.nn.functional.tanhshrink: input - input.tanh()
    return api.sub(input, api.tanh(input))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _implicit_dim("softmin", input)
    if dtype is not None:
        return api.softmax(api.neg(api.to(input, dtype)), dim)
    return api.softmax(api.neg(input), dim)


def prelu(input, weight):
    _tensor_input("prelu", input)
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.ndim > 1:
        raise runtime_error(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    if api.numel(weight) != 1:
        if input.ndim == 0:
            raise runtime_error("Not allow zero-dim input tensor.")
        if api.numel(weight) != channels:
            raise runtime_error(
                "Mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {api.numel(weight)} and channel size = {channels}.")
        # aten::prelu views the weight as [C, 1, ...] to broadcast over dim 1
        weight = api.reshape(weight, (channels,) + (1,) * (input.ndim - 2))
    return O.call(prelu_kernel_op, (input, weight))


def glu(input, dim=-1):
    _tensor_input("glu", input)
    if input.ndim == 0:
        raise runtime_error("glu does not support scalars because halving size must be even")
    d = dim + input.ndim if dim < 0 else dim
    if input.shape[d] % 2:
        raise runtime_error(
            f"Halving dimension must be even, but dimension {d} is size {input.shape[d]}")
    return O.call(glu_op, (input,), d)


def value_error_(message):
    from gradcli.base.errors import value_error

    return value_error(message)


FUNCTIONAL_MORE = {
    "elu": elu, "celu": celu, "selu": selu, "mish": mish, "hardtanh": hardtanh, "relu6": relu6,
    "hardsigmoid": hardsigmoid, "hardswish": hardswish, "logsigmoid": logsigmoid,
    "softsign": softsign, "tanhshrink": tanhshrink, "softshrink": softshrink,
    "hardshrink": hardshrink, "threshold": threshold, "prelu": prelu, "softmin": softmin,
    "glu": glu,
}
# what PyTorch also offers as torch.<name>
TORCH_MORE = {
    "selu": selu, "celu": celu, "prelu": prelu, "threshold": threshold, "hardshrink": hardshrink,
    "selu_": lambda input: selu(input, inplace=True),
    "celu_": lambda input, alpha=1.0: celu(input, alpha, inplace=True),
    "threshold_": lambda input, threshold_, value: threshold(input, threshold_, value, True),
}
