"""THE op table: every differentiable ATen overload gradcli records, forward beside backward.

Each entry mirrors one `derivatives.yaml` entry of PyTorch 2.13:

    @op("mul.Tensor", save=...)        the overload; its grad_fn name is derived from it
    def mul(xs, p): ...                forward on numpy arrays: `xs` are the inputs (arrays,
                                       or Python scalars standing for PyTorch's wrapped
                                       numbers), `p` the non-tensor arguments
    @mul.derivative
    def _(ctx, grad, xp): ...          one gradient per input, PyTorch's formula

Vocabulary of the formulas:
  grad        the gradient flowing into this node (same shape as the result)
  ctx.saved   what `save` kept at forward time (inputs, or the result), unpacked
  ctx.params  the non-tensor arguments (dims, keepdim, exponents, ...)
  ctx.needs   which inputs want a gradient; a formula may skip the others (return None)
  ctx.shapes  the inputs' shapes
  xp          the array vocabulary (numpy now; differentiable tensors for create_graph)

Formulas never un-broadcast: the engine sums every input's gradient back to that
input's shape and casts it to that input's dtype, once, centrally.

Inputs are PyTorch's *differentiable* arguments only, in schema order: they are what
`grad_fn.next_functions` lists. A Python scalar in a Tensor slot (`a * 2`) is an input
with no edge, `(None, 0)`, exactly as PyTorch shows its wrapped numbers.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten.grad_fn_names import backward_name
from gradcli.autodiff import engine
from gradcli.autodiff.node import Node, accumulator_of
from gradcli.autodiff.saved import HookStack, SavedResult, pack_saved
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.autodiff.vocabulary import quiet_numpy
from gradcli.base import allocator
from gradcli.base.cascade_sum import torch_mean, torch_sum
from gradcli.base.fma import fma

allocator.tune()

# Ops whose forward is plain Python arithmetic: on 0-d inputs they run on numpy scalars,
# which give the same values and dtypes as 0-d arrays at a tenth of a ufunc call's cost.
_SCALAR_FORWARD = frozenset(
    ("add.Tensor", "sub.Tensor", "rsub.Scalar", "mul.Tensor", "div.Tensor", "div.Scalar", "neg")
)


class Op:
    __slots__ = ("overload", "backward_name", "forward", "backward", "save", "is_view",
                 "scalar_forward", "jvp")

    def __init__(self, overload, forward, save, is_view, name=None):
        self.overload = overload
        self.backward_name = name or backward_name(overload)
        self.forward = forward
        self.save = save
        self.backward = None
        self.jvp = None  # forward-mode rule, gradcli/aten/jvp_rules.py
        self.is_view = is_view
        self.scalar_forward = overload in _SCALAR_FORWARD

    def derivative(self, formula):
        self.backward = formula
        return formula

    def __repr__(self) -> str:
        return f"<op {self.overload}>"


OPS: dict[str, Op] = {}

# Told of every recorded node with its inputs and result (`eval --symbolic` and `quiz`
# rebuild the forward program from them: a node keeps only what its backward needs, so an
# added constant's value is otherwise lost); None, the default, costs one test per node.
RECORD_INPUTS = None


def op(overload: str, save=None, is_view=False, name=None):
    def register(forward) -> Op:
        entry = Op(overload, forward, save, is_view, name)
        OPS[overload] = entry
        return entry

    return register


_ndarray = np.ndarray
_asarray = np.asarray
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_NUMPY_SCALARS = frozenset((np.float32, np.float64, np.int64, np.int32, np.bool_))
_NO_EDGE = (None, 0)
_NEEDS_FIRST = (True, False)
_PACK_HOOKS = HookStack.stack  # saved_tensors_hooks in force (innermost last)
_META: dict = {}  # one shared (shape, dtype) tuple per distinct input description


def _meta(array, dtype):
    if not array.ndim:
        return dtype.scalar_meta
    key = (array.shape, dtype)
    meta = _META.get(key)
    if meta is None:
        meta = key
        if len(_META) < 4096:
            _META[key] = key
    return meta


def _as_scalars(arrays):
    """The inputs with 0-d arrays as numpy scalars, or None if an input has dimensions."""
    if len(arrays) == 2:
        a, b = arrays
        if a.__class__ is _ndarray:
            if a.ndim:
                return None
            a = a[()]
        if b.__class__ is _ndarray:
            if b.ndim:
                return None
            b = b[()]
        return (a, b)
    out = []
    for a in arrays:
        if a.__class__ is _ndarray:
            if a.ndim:
                return None
            a = a[()]
        out.append(a)
    return tuple(out)


class FORWARD_AD:  # noqa: N801 - a flag holder
    # True while some tensor has a forward-mode tangent (gradcli/torch/autograd/forward_mode.py).
    active = False


# Module-level copies of rare-feature flags, read on every op (a global is the cheapest
# read): set_flags() keeps them in step with FORWARD_AD.active and Function's outputs.
_forward_ad = False
_multi_output = False  # some custom Function made a node with several outputs
# vmap's tracer (gradcli/torch/func/batching.py) while it traces a function: told of every
# op call instead of running it. It rides on the `_forward_ad` test, so costs nothing else.
_call_hook = None


# Forward mode's propagation (gradcli.torch.autograd.forward_mode installs it when it is
# imported, which is before any tangent exists).
dual_call = None


def set_flags(forward_ad=None, multi_output=None) -> None:
    global _forward_ad, _multi_output
    if forward_ad is not None:
        FORWARD_AD.active = forward_ad
        _forward_ad = forward_ad or _call_hook is not None
    if multi_output is not None:
        _multi_output = engine.multi_output = multi_output


def set_call_hook(hook):
    """Send every op call to hook(entry, inputs, p, arrays) (None: run ops again); returns
    the hook it replaces."""
    global _call_hook, _forward_ad
    previous = _call_hook
    _call_hook = hook
    _forward_ad = hook is not None or FORWARD_AD.active
    return previous


def call_untraced(entry: Op, inputs: tuple, p=None, arrays=None) -> Tensor:
    """`call` past the call hook (the hook runs the op through this)."""
    global _forward_ad
    _forward_ad = FORWARD_AD.active
    try:
        return call(entry, inputs, p, arrays)
    finally:
        _forward_ad = _call_hook is not None or FORWARD_AD.active


def call(entry: Op, inputs: tuple, p=None, arrays=None) -> Tensor:
    """Run an op forward and, when grad mode is on and an input requires grad, record it."""
    if _forward_ad:
        if _call_hook is not None:
            return _call_hook(entry, inputs, p, arrays)
        return dual_call(entry, inputs, p, arrays, call)
    # The hot path of every program: loops here avoid comprehensions, which cost a
    # function call each.
    if arrays is None:
        arrays = []
        for x in inputs:
            arrays.append(x.array if x.__class__ is Tensor else x)
        arrays = tuple(arrays)
    if entry.scalar_forward:
        arrays = _as_scalars(arrays) or arrays
    out = entry.forward(arrays, p)
    if out.__class__ is not _ndarray:
        out = out.__array__() if out.__class__ in _NUMPY_SCALARS else _asarray(out)
    if GradMode.enabled:
        for x in inputs:
            if x.__class__ is Tensor and x.requires_grad:
                dt = out.dtype
                # Integer and bool outputs never require grad (argmax, .long(), comparisons).
                if dt is _F32 or dt is _F64 or dt.kind == "f":
                    return _record(entry, inputs, out, p)
                break
    result = Tensor(out)
    if entry.is_view:
        _share_base(result, inputs[0])
    return result


def _share_base(view: Tensor, base: Tensor) -> None:
    """A view shares its base's version counter, and names the tensor that owns the data."""
    view.version = base.version
    view.base = base.base if base.base is not None else base


def call_number(entry: Op, t: Tensor, number, p=None) -> Tensor:
    """`call(entry, (t, number), p)` for an arithmetic op (not a view) on a floating tensor
    and a Python int or float: the result keeps t's dtype (a number never outranks a
    floating tensor), so promotion, dtype lookup and the per-input loops are skipped."""
    if _forward_ad:
        return call(entry, (t, number), p)
    x = t.array
    dtype = t.dtype
    if x.ndim:
        out = entry.forward((x, number), p)
        metas = None
    else:
        out = entry.forward((x[()], number) if entry.scalar_forward else (x, number), p)
        metas = dtype.scalar_number_metas
    if out.__class__ is not _ndarray:
        out = out.__array__() if out.__class__ in _NUMPY_SCALARS else _asarray(out)
    if not (t.requires_grad and GradMode.enabled):
        return Tensor(out, dtype)
    fn = t.grad_fn
    edge = ((fn, 0) if not (_multi_output and fn.multi_output) else fn.edge_of(t)) if (
        fn is not None) else (accumulator_of(t), 0)
    return _recorded(entry, (t, number), out, p, (edge, _NO_EDGE), _NEEDS_FIRST,
                     metas or (_meta(x, dtype), None), dtype)


def _record(entry: Op, inputs: tuple, out, p) -> Tensor:
    edges, needs, metas = [], [], []
    for x in inputs:
        if x.__class__ is Tensor:
            metas.append(_meta(x.array, x.dtype))
            if x.requires_grad:
                fn = x.grad_fn
                edges.append(((fn, 0) if not (_multi_output and fn.multi_output)
                              else fn.edge_of(x)) if fn is not None else (accumulator_of(x), 0))
                needs.append(True)
                continue
        else:
            metas.append(None)
        edges.append(_NO_EDGE)
        needs.append(False)
    return _recorded(entry, inputs, out, p, tuple(edges), tuple(needs), tuple(metas), None)


def _recorded(entry: Op, inputs, out, p, next_functions, needs, metas, dtype) -> Tensor:
    """The result of a recorded op: its node, what the node saved, and the output tensor."""
    saved = ()
    save = entry.save
    if save is not None:
        saved = save(inputs, out, p, needs)
    node = Node(entry, next_functions, saved, None, p, metas, needs)
    result = Tensor(out, dtype, True, node)
    if RECORD_INPUTS is not None:
        RECORD_INPUTS(node, inputs, result)
    if entry.is_view:
        _share_base(result, inputs[0])
    for s in saved:
        if s.__class__ is Tensor or s is out:
            _track_saved(node, saved, out, result)
            break
    if _PACK_HOOKS and saved:
        pack_saved(node, saved, out, result)
    return result


def _track_saved(node, saved, out, result) -> None:
    """Backward checks each saved tensor against in-place writes made after this op: keep
    the versions now. A saved output is wrapped so that it is checked the same way."""
    node.saved_versions = tuple([s.version[0] if s.__class__ is Tensor else None
                                 for s in saved])
    for s in saved:
        if s is out:
            node.saved = tuple([SavedResult(s, result) if s is out else s for s in saved])
            break


# ----- save helpers: PyTorch saves an input only if another input's formula uses it ----


def save_nothing(inputs, out, p, needs):
    return ()


def save_self(inputs, out, p, needs):
    return (inputs[0],)


def save_result(inputs, out, p, needs):
    return (out,)


def save_self_and_result(inputs, out, p, needs):
    return (inputs[0], out)


def save_crosswise(inputs, out, p, needs):
    """mul/dot/mm: self's gradient needs other, other's needs self."""
    return (inputs[1] if needs[0] else None, inputs[0] if needs[1] else None)


def save_inputs(inputs, out, p, needs):
    return tuple(inputs)


# ----- arithmetic --------------------------------------------------------------------


@op("add.Tensor")
def add(xs, p):
    a, b = xs
    if p is None:
        return a + b
    return _fused_alpha(a, b, p)


def _fused_alpha(a, b, alpha):
    """a + alpha * b: PyTorch's kernel computes it as one fused multiply-add in the result
    dtype (a Python number operand stays weak, as in numpy's promotion)."""
    dtype = np.result_type(a, b)
    if dtype.kind != "f":
        return a + alpha * b
    return fma(dtype.type(alpha), np.asarray(b, dtype), np.asarray(a, dtype))


@add.derivative
def _(ctx, grad, xp):
    alpha = ctx.params
    return grad, (grad if alpha is None else grad * alpha)


@op("sub.Tensor")
def sub(xs, p):
    a, b = xs
    if p is None:
        return a - b
    return _fused_alpha(a, b, -p)


@sub.derivative
def _(ctx, grad, xp):
    alpha = ctx.params
    return grad, (-grad if alpha is None else grad * -alpha)


@op("rsub.Scalar")
def rsub_scalar(xs, p):
    # rsub(self, other, alpha) = other - alpha * self; `2 - a` lowers to it.
    (a,) = xs
    other, alpha = p
    return other - a if alpha == 1 else other - alpha * a


@rsub_scalar.derivative
def _(ctx, grad, xp):
    alpha = ctx.params[1]
    return (-grad if alpha == 1 else grad * -alpha,)


@op("mul.Tensor", save=save_crosswise)
def mul(xs, p):
    return xs[0] * xs[1]


@mul.derivative
def _(ctx, grad, xp):
    other, self = ctx.saved
    return (
        grad * other if ctx.needs[0] else None,
        grad * self if ctx.needs[1] else None,
    )


def save_div(inputs, out, p, needs):
    return (inputs[0] if needs[1] else None, inputs[1])


@op("div.Tensor", save=save_div)
def div(xs, p):
    return xs[0] / xs[1]


@div.derivative
def _(ctx, grad, xp):
    self, other = ctx.saved
    return (
        grad / other if ctx.needs[0] else None,
        -grad * self / (other * other) if ctx.needs[1] else None,
    )


@op("div.Scalar")
def div_scalar(xs, p):
    return xs[0] / p


div_scalar.derivative(lambda ctx, grad, xp: (grad / ctx.params,))


# at::mul(Tensor, Scalar), which ATen's C++ calls with a number (MulBackward1); a program's
# `t * 2` wraps the number in a tensor instead and records mul.Tensor (MulBackward0)
@op("mul.Scalar")
def mul_scalar(xs, p):
    return xs[0] * p


mul_scalar.derivative(lambda ctx, grad, xp: (grad * ctx.params,))


@op("neg")
def neg(xs, p):
    return -xs[0]


@neg.derivative
def _(ctx, grad, xp):
    return (-grad,)


@op("reciprocal", save=save_result)
def reciprocal(xs, p):
    return 1 / xs[0]


@reciprocal.derivative
def _(ctx, grad, xp):
    (result,) = ctx.saved
    return (-grad * result * result,)


@op("pow.Tensor_Scalar", save=save_self)
def pow_tensor_scalar(xs, p):
    x = xs[0]
    # PyTorch's CPU kernel multiplies for these exponents (numpy calls powf, which can
    # round the other way in the last bit)
    if p == 3 and x.dtype.kind == "f":
        return x * x * x
    if p == -2 and x.dtype.kind == "f":
        return 1 / (x * x)
    return x ** p


@pow_tensor_scalar.derivative
def _(ctx, grad, xp):
    (self,) = ctx.saved
    exponent = ctx.params
    if exponent == 0:
        return (xp.zeros_like(self),)
    if exponent == 2 and self.__class__ is _ndarray:
        # self ** 1 is self: skip numpy's power loop and its temporary (same values). Not
        # with create_graph, whose graph must show PyTorch's PowBackward0 for self.pow(1).
        return (grad * (2 * self),)
    return (grad * (exponent * self ** (exponent - 1)),)


@op("pow.Tensor_Tensor", save=lambda inputs, out, p, needs: (inputs[0], inputs[1], out))
def pow_tensor_tensor(xs, p):
    return xs[0] ** xs[1]


@pow_tensor_tensor.derivative
def _(ctx, grad, xp):
    self, exponent, result = ctx.saved
    grad_self = grad_exponent = None
    if ctx.needs[0]:
        grad_self = xp.where(exponent == 0, 0.0, grad * exponent * self ** (exponent - 1))
    if ctx.needs[1]:
        # 0 ** e has derivative 0 in e where e >= 0 (PyTorch masks the log(0) there).
        undefined = (self == 0) & (exponent >= 0)
        grad_exponent = grad * xp.where(undefined, 0.0, result * xp.log(self))
    return grad_self, grad_exponent


@op("pow.Scalar", save=save_result)
def pow_scalar(xs, p):
    # `2 ** a`: the base is a Python number, the exponent the tensor.
    return p ** xs[0]


@pow_scalar.derivative
def _(ctx, grad, xp):
    (result,) = ctx.saved
    base = ctx.params
    if base == 0:
        return (xp.zeros_like(result),)
    return (grad * result * math.log(base),)


@op("floor_divide", name="NotImplemented")
def floor_divide(xs, p):
    # PyTorch records floor division with a placeholder node that fails in backward.
    return np.floor_divide(xs[0], xs[1] if len(xs) > 1 else p)


@op("div.Tensor_mode")
def div_mode(xs, p):
    quotient = np.true_divide(xs[0], xs[1])
    rounded = np.floor(quotient) if p == "floor" else np.trunc(quotient)
    both_scalars = np.isscalar(xs[0]) and np.isscalar(xs[1])
    kind = None if both_scalars else np.result_type(xs[0], xs[1])
    return rounded.astype(kind) if kind is not None and np.dtype(kind).kind in "iub" else rounded


# Rounded division is piecewise constant: its gradient is zero everywhere PyTorch defines it.
div_mode.derivative(lambda ctx, grad, xp: (xp.zeros_like(grad), xp.zeros_like(grad)))


@op("clamp.Tensor", save=save_inputs)
def clamp_tensor(xs, p):
    x, low, high = xs
    if low is not None:
        x = np.maximum(x, low)
    if high is not None:
        x = np.minimum(x, high)
    return x


@clamp_tensor.derivative
def _(ctx, grad, xp):
    self, low, high = ctx.saved
    inside = True
    if low is not None:
        inside = self >= low
    if high is not None:
        inside = inside & (self <= high)
    return (
        xp.where(inside, grad, 0.0),
        xp.where(self < low, grad, 0.0) if low is not None and ctx.needs[1] else None,
        xp.where(self > high, grad, 0.0) if high is not None and ctx.needs[2] else None,
    )


@floor_divide.derivative
def _(ctx, grad, xp):
    from gradcli.base.errors import runtime_error

    raise runtime_error("derivative for aten::floor_divide is not implemented")


@op("remainder.Scalar")
def remainder_scalar(xs, p):
    return np.remainder(xs[0], p)


@remainder_scalar.derivative
def _(ctx, grad, xp):
    return (grad,)


@op("remainder.Tensor", save=save_inputs)
def remainder_tensor(xs, p):
    return np.remainder(xs[0], xs[1])


@remainder_tensor.derivative
def _(ctx, grad, xp):
    self, other = ctx.saved
    return grad, -grad * xp.floor(self / other)


# ----- matrix products ---------------------------------------------------------------


@op("mm", save=save_crosswise)
def mm(xs, p):
    return xs[0] @ xs[1]


@mm.derivative
def _(ctx, grad, xp):
    mat2, self = ctx.saved
    return (
        grad @ xp.mT(mat2) if ctx.needs[0] else None,
        xp.mT(self) @ grad if ctx.needs[1] else None,
    )


@op("mv", save=save_crosswise)
def mv(xs, p):
    return xs[0] @ xs[1]


@mv.derivative
def _(ctx, grad, xp):
    vec, self = ctx.saved
    return (
        xp.outer(grad, vec) if ctx.needs[0] else None,
        xp.mT(self) @ grad if ctx.needs[1] else None,
    )


@op("dot", save=save_crosswise)
def dot(xs, p):
    return xs[0] @ xs[1]


@dot.derivative
def _(ctx, grad, xp):
    tensor, self = ctx.saved
    return (
        grad * tensor if ctx.needs[0] else None,
        grad * self if ctx.needs[1] else None,
    )


@op("bmm", save=save_crosswise)
def bmm(xs, p):
    return xs[0] @ xs[1]


@bmm.derivative
def _(ctx, grad, xp):
    mat2, self = ctx.saved
    return (
        grad @ xp.mT(mat2) if ctx.needs[0] else None,
        xp.mT(self) @ grad if ctx.needs[1] else None,
    )


def save_addmm(inputs, out, p, needs):
    return (None, inputs[2] if needs[1] else None, inputs[1] if needs[2] else None)


@op("addmm", save=save_addmm)
def addmm(xs, p):
    bias, mat1, mat2 = xs
    if p is not None:  # torch.addmm's beta and alpha: beta * bias + alpha * (mat1 @ mat2)
        beta, alpha = p
        product = mat1 @ mat2
        return ((bias * beta if beta else 0 * product) + product * alpha).astype(product.dtype)
    return bias + mat1 @ mat2


@addmm.derivative
def _(ctx, grad, xp):
    _, mat2, mat1 = ctx.saved
    beta, alpha = ctx.params if ctx.params is not None else (1, 1)
    scaled = grad if alpha == 1 else grad * alpha
    return (
        grad if beta == 1 else grad * beta,
        scaled @ xp.mT(mat2) if ctx.needs[1] else None,
        xp.mT(mat1) @ scaled if ctx.needs[2] else None,
    )


# ----- element-wise functions --------------------------------------------------------


def correctly_rounded(fn, simd=False):
    """numpy's float32 transcendental functions can be an ulp off PyTorch's (exp(6) prints
    806.8575 instead of 806.8576): compute float32 in float64 and round once.

    simd: numpy has a vectorised float32 kernel for fn, used from NATIVE_FLOAT32_FROM
    elements on (see there); for the others the float64 detour costs little extra."""

    def apply(x):
        if x.dtype == np.float32:
            if x.size >= NATIVE_FLOAT32_FROM:
                if simd:
                    return fn(x)
                if isinstance(fn, np.ufunc):
                    # The ufunc casts a buffer-sized block at a time: the same values, with no
                    # float64 copy of the whole tensor (three times its size) ever alive.
                    out = np.empty(x.shape, np.float32)
                    return fn(x, out=out, dtype=np.float64, casting="same_kind")
            return fn(x.astype(np.float64)).astype(np.float32)
        return fn(x)

    return apply


# From this many elements (a 256 x 256 tensor) exp, log, sin, cos, tanh, sigmoid and rsqrt
# run natively in float32. There the float64 detour costs 5-7x the function itself (sin of
# 10**6 elements: 15 ms instead of 2 ms), as numpy's float64 versions are scalar libm calls
# and its float32 ones SIMD; no numpy-only way to round correctly is cheaper, since a
# table-and-polynomial evaluation takes some twenty array passes, as dear as libm. What
# exactness would buy is small at this size: PyTorch computes such tensors with vectorised
# Sleef kernels (within 1 ulp, not correctly rounded either), softmax here already uses the
# native exp, and they print summarised. Measured against the correctly rounded values,
# numpy's float32 results are at most 1 ulp off for sin, cos and tanh, 2 for exp and 3-4 for
# log. Float64 tensors, and functions without a float32 SIMD kernel (log1p, expm1, tan, ...),
# always take the exact route.
NATIVE_FLOAT32_FROM = 1 << 16


def unary(overload, forward, formula, save=save_self):
    """Register a one-input element-wise op whose formula needs only `grad` and one saved value."""
    entry = op(overload, save=save)(lambda xs, p: forward(xs[0]))
    entry.derivative(lambda ctx, grad, xp: (formula(grad, ctx.saved[0], xp),))
    return entry


LN2, LN10 = math.log(2.0), math.log(10.0)

exp = unary(
    "exp", correctly_rounded(np.exp, simd=True), lambda g, result, xp: g * result, save_result
)
log = unary("log", correctly_rounded(np.log, simd=True), lambda g, x, xp: g / x)
log2 = unary("log2", correctly_rounded(np.log2), lambda g, x, xp: g / (x * LN2))
log10 = unary("log10", correctly_rounded(np.log10), lambda g, x, xp: g / (x * LN10))
log1p = unary("log1p", correctly_rounded(np.log1p), lambda g, x, xp: g / (x + 1))
expm1 = unary(
    "expm1", correctly_rounded(np.expm1), lambda g, result, xp: g * (result + 1), save_result
)
sqrt = unary("sqrt", np.sqrt, lambda g, result, xp: g / (2 * result), save_result)
rsqrt = unary(
    "rsqrt", correctly_rounded(lambda x: 1 / np.sqrt(x), simd=True),
    lambda g, r, xp: -0.5 * g * r * r * r, save_result,
)
sin = unary("sin", correctly_rounded(np.sin, simd=True), lambda g, x, xp: g * xp.cos(x))
cos = unary("cos", correctly_rounded(np.cos, simd=True), lambda g, x, xp: -g * xp.sin(x))
tan = unary(
    "tan", correctly_rounded(np.tan), lambda g, result, xp: g * (1 + result * result), save_result
)
tanh = unary(
    "tanh", correctly_rounded(np.tanh, simd=True),
    lambda g, result, xp: xp.tanh_backward(g, result), save_result,
)
abs_ = unary("abs", np.abs, lambda g, x, xp: g * xp.sign(x))
sign = op("sign")(lambda xs, p: np.sign(xs[0]))
sign.derivative(lambda ctx, grad, xp: (xp.zeros_like(grad),))


def _sigmoid(x):
    # Split by sign so exp never overflows: sigmoid(x) = exp(x) / (1 + exp(x)) for x < 0.
    out = np.empty_like(x)
    positive = x >= 0
    np.divide(1, 1 + np.exp(-x, where=positive, out=np.zeros_like(x)), out=out, where=positive)
    e = np.exp(x, where=~positive, out=np.zeros_like(x))
    np.divide(e, 1 + e, out=out, where=~positive)
    return out


sigmoid = unary(
    "sigmoid", correctly_rounded(_sigmoid, simd=True),
    lambda g, y, xp: xp.sigmoid_backward(g, y), save_result,
)
# threshold_backward(grad, result, 0): the gradient passes where the output is positive.
relu = unary(
    "relu", lambda x: np.maximum(x, 0), lambda g, y, xp: xp.threshold_backward(g, y), save_result
)


@op("clamp", save=save_self)
def clamp(xs, p):
    low, high = p
    x = xs[0]
    if low is not None:
        x = np.maximum(x, low)
    if high is not None:
        x = np.minimum(x, high)
    return x


@clamp.derivative
def _(ctx, grad, xp):
    (self,) = ctx.saved
    low, high = ctx.params
    inside = True
    if low is not None:
        inside = self >= low
    if high is not None:
        inside = inside & (self <= high)
    return (xp.where(inside, grad, 0.0),)


@op("maximum", save=save_inputs)
def maximum(xs, p):
    return np.maximum(xs[0], xs[1])


@maximum.derivative
def _(ctx, grad, xp):
    # Ties split the gradient evenly between the two inputs.
    self, other = ctx.saved
    half = xp.where(self == other, grad / 2, grad)
    return xp.where(self < other, 0.0, half), xp.where(self > other, 0.0, half)


@op("minimum", save=save_inputs)
def minimum(xs, p):
    return np.minimum(xs[0], xs[1])


@minimum.derivative
def _(ctx, grad, xp):
    self, other = ctx.saved
    half = xp.where(self == other, grad / 2, grad)
    return xp.where(self > other, 0.0, half), xp.where(self < other, 0.0, half)


@op("where.self", save=lambda inputs, out, p, needs: ())
def where(xs, p):
    return np.where(p, xs[0], xs[1])


@where.derivative
def _(ctx, grad, xp):
    condition = ctx.params
    return xp.where(condition, grad, 0.0), xp.where(condition, 0.0, grad)


# ----- reductions --------------------------------------------------------------------


def restore_dims(grad, dims, keepdim, xp):
    """Put back the reduced dimensions (as size 1) so grad broadcasts against the input."""
    if keepdim or dims is None:
        return grad
    for d in sorted(dims):
        grad = xp.unsqueeze(grad, d)
    return grad


@op("sum")
def sum_all(xs, p):
    return torch_sum(xs[0], dtype=p)


@sum_all.derivative
def _(ctx, grad, xp):
    return (xp.expand(grad, ctx.shapes[0]),)


@op("sum.dim_IntList")
def sum_dims(xs, p):
    dims, keepdim, dtype = p
    return torch_sum(xs[0], axis=dims, keepdims=keepdim, dtype=dtype)


@sum_dims.derivative
def _(ctx, grad, xp):
    dims, keepdim, _ = ctx.params
    return (xp.expand(restore_dims(grad, dims, keepdim, xp), ctx.shapes[0]),)


@op("mean")
def mean_all(xs, p):
    if not xs[0].size:
        return quiet_numpy(np.mean, xs[0], dtype=xs[0].dtype)
    return torch_mean(xs[0])


@mean_all.derivative
def _(ctx, grad, xp):
    shape = ctx.shapes[0]
    return (xp.expand(grad / max(math.prod(shape), 1), shape),)


@op("mean.dim")
def mean_dims(xs, p):
    dims, keepdim = p
    if not xs[0].size:
        return quiet_numpy(np.mean, xs[0], axis=dims, keepdims=keepdim, dtype=xs[0].dtype)
    return torch_mean(xs[0], axis=dims, keepdims=keepdim)


@mean_dims.derivative
def _(ctx, grad, xp):
    dims, keepdim = ctx.params
    shape = ctx.shapes[0]
    count = math.prod(shape[d] for d in dims) if dims is not None else math.prod(shape)
    return (xp.expand(restore_dims(grad, dims, keepdim, xp) / count, shape),)


def _product_of_others(x, axis):
    """d prod / d x_i = product of every other element: exclusive cumprod from both sides,
    which stays exact when some elements are zero."""
    ones = np.ones_like(np.take(x, [0], axis=axis))
    shifted = np.concatenate([ones, np.take(x, range(x.shape[axis] - 1), axis)], axis)
    before = np.cumprod(shifted, axis)
    flipped = np.flip(x, axis)
    after = np.cumprod(
        np.concatenate([ones, np.take(flipped, range(x.shape[axis] - 1), axis)], axis), axis
    )
    return before * np.flip(after, axis)


@op("prod", save=save_self_and_result)
def prod_all(xs, p):
    return np.prod(xs[0], dtype=p)


@prod_all.derivative
def _(ctx, grad, xp):
    self, result = ctx.saved
    array = xp.numpy(self)
    if array.size and np.all(array != 0):
        # Without zeros, d prod / d x_i = prod / x_i (differentiable, for create_graph).
        return (grad * result / self,)
    if array.size == 0:
        return (xp.zeros_like(self),)
    others = _product_of_others(array.reshape(-1), 0).reshape(ctx.shapes[0])
    return (grad * xp.constant(others),)


@op("prod.dim_int", save=save_self_and_result)
def prod_dim(xs, p):
    dim, keepdim, dtype = p
    return np.prod(xs[0], axis=dim, keepdims=keepdim, dtype=dtype)


@prod_dim.derivative
def _(ctx, grad, xp):
    self, result = ctx.saved
    dim, keepdim, _ = ctx.params
    array = xp.numpy(self)
    if array.ndim == 0 or array.shape[dim] == 0:
        return (xp.expand(grad, ctx.shapes[0]) * 0,)
    grad = restore_dims(grad, (dim,), keepdim, xp)
    if np.all(array != 0):
        return (grad * restore_dims(result, (dim,), keepdim, xp) / self,)
    return (grad * xp.constant(_product_of_others(array, dim)),)


def _select_along(x, dim, keepdim, pick):
    indices = pick(x, axis=dim, keepdims=True)
    values = np.take_along_axis(x, indices, axis=dim)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return values, indices


@op("max.dim")
def max_dim(xs, p):
    # The indices are returned through p's side channel by the API layer (non-differentiable).
    dim, keepdim, out_indices = p
    values, indices = _select_along(xs[0], dim, keepdim, np.argmax)
    out_indices.append(indices)
    return values


@op("min.dim")
def min_dim(xs, p):
    dim, keepdim, out_indices = p
    values, indices = _select_along(xs[0], dim, keepdim, np.argmin)
    out_indices.append(indices)
    return values


def _value_selecting_backward(ctx, grad, xp):
    """Only the element that was selected receives the gradient."""
    dim, keepdim, out_indices = ctx.params
    indices = out_indices[0]
    if not keepdim:
        grad = xp.unsqueeze(grad, dim)
        indices = np.expand_dims(indices, dim)
    return (xp.scatter(ctx.shapes[0], dim, indices, grad),)


max_dim.derivative(_value_selecting_backward)
min_dim.derivative(_value_selecting_backward)


def _evenly_distribute_backward(ctx, grad, xp):
    """max()/min() over everything: ties share the gradient equally."""
    self, result = ctx.saved
    mask = self == result
    return (xp.where(mask, grad / max(int(xp.numpy(mask).sum()), 1), 0.0),)


max_all = op("max", save=save_self_and_result)(lambda xs, p: np.max(xs[0]))
min_all = op("min", save=save_self_and_result)(lambda xs, p: np.min(xs[0]))
max_all.derivative(_evenly_distribute_backward)
min_all.derivative(_evenly_distribute_backward)


def _extremum_dims_backward(ctx, grad, xp):
    """amax/amin: the gradient is shared equally among the tied extremal elements."""
    self, result = ctx.saved
    dims, keepdim = ctx.params
    mask = self == restore_dims(result, dims, keepdim, xp)
    count = xp.sum(mask, dims, True)
    return (xp.where(mask, restore_dims(grad, dims, keepdim, xp) / count, 0.0),)


amax = op("amax", save=save_self_and_result)(
    lambda xs, p: np.max(xs[0], axis=p[0], keepdims=p[1])
)
amin = op("amin", save=save_self_and_result)(
    lambda xs, p: np.min(xs[0], axis=p[0], keepdims=p[1])
)
amax.derivative(_extremum_dims_backward)
amin.derivative(_extremum_dims_backward)


@op("linalg_vector_norm", save=save_self_and_result)
def vector_norm(xs, p):
    order, dims, keepdim = p
    x = np.abs(xs[0])
    if order == math.inf:
        return np.max(x, axis=dims, keepdims=keepdim)
    if order == -math.inf:
        return np.min(x, axis=dims, keepdims=keepdim)
    if order == 0:
        return np.sum(x != 0, axis=dims, keepdims=keepdim).astype(x.dtype)
    if order == 1:
        return np.sum(x, axis=dims, keepdims=keepdim)
    if order == 2:
        return np.sqrt(np.sum(x * x, axis=dims, keepdims=keepdim))
    return np.sum(x**order, axis=dims, keepdims=keepdim) ** (1.0 / order)


@vector_norm.derivative
def _(ctx, grad, xp):
    self, result = ctx.saved
    order, dims, keepdim = ctx.params
    grad = restore_dims(grad, dims, keepdim, xp)
    norm = restore_dims(result, dims, keepdim, xp)
    if order == 0:
        return (xp.zeros_like(self),)
    if order == 1:
        return (grad * xp.sign(self),)
    if order == 2:
        return (xp.where(norm == 0, 0.0, grad * self / norm),)
    if order in (math.inf, -math.inf):
        mask = xp.abs(self) == norm
        count = xp.sum(mask, dims, True)
        return (xp.where(mask, grad * xp.sign(self) / count, 0.0),)
    scaled = self * xp.abs(self) ** (order - 2) / norm ** (order - 1)
    return (xp.where(norm == 0, 0.0, grad * scaled),)


def _count(shape, dims):
    return math.prod(shape[d] for d in dims) if dims is not None else math.prod(shape)


@op("var.correction", save=save_self)
def var(xs, p):
    dims, correction, keepdim = p
    return quiet_numpy(np.var, xs[0], axis=dims, ddof=correction, keepdims=keepdim)


@var.derivative
def _(ctx, grad, xp):
    (self,) = ctx.saved
    dims, correction, keepdim = ctx.params
    n = _count(ctx.shapes[0], dims)
    centred = self - xp.mean(self, dims, True)
    return (restore_dims(grad, dims, keepdim, xp) * 2 * centred / (n - correction),)


@op("std.correction", save=save_self_and_result)
def std(xs, p):
    dims, correction, keepdim = p
    return quiet_numpy(np.std, xs[0], axis=dims, ddof=correction, keepdims=keepdim)


@std.derivative
def _(ctx, grad, xp):
    self, result = ctx.saved
    dims, correction, keepdim = ctx.params
    n = _count(ctx.shapes[0], dims)
    centred = self - xp.mean(self, dims, True)
    result = restore_dims(result, dims, keepdim, xp)
    grad = restore_dims(grad, dims, keepdim, xp)
    return (xp.where(result == 0, 0.0, grad * centred / (result * (n - correction))),)


@op("logsumexp", save=save_self_and_result)
def logsumexp(xs, p):
    dims, keepdim = p
    x = xs[0]
    peak = np.max(x, axis=dims, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)
    out = np.log(np.sum(np.exp(x - peak), axis=dims, keepdims=True)) + peak
    return out if keepdim else np.squeeze(out, axis=dims)


@logsumexp.derivative
def _(ctx, grad, xp):
    self, result = ctx.saved
    dims, keepdim = ctx.params
    result = restore_dims(result, dims, keepdim, xp)
    return (restore_dims(grad, dims, keepdim, xp) * xp.exp(self - result),)


# ----- shape and indexing (views share storage with their input, as in PyTorch) -------


@op("view", is_view=True)
def view(xs, p):
    return xs[0].reshape(p, copy=False)


@view.derivative
def _(ctx, grad, xp):
    return (xp.reshape(grad, ctx.shapes[0]),)


@op("_reshape_alias", is_view=True)
def reshape_alias(xs, p):
    # reshape() of a non-contiguous input whose strides allow a view (PyTorch 2.13).
    return xs[0].reshape(p, copy=False)


reshape_alias.derivative(lambda ctx, grad, xp: (xp.reshape(grad, ctx.shapes[0]),))


@op("_unsafe_view")
def unsafe_view(xs, p):
    return xs[0].reshape(p)


unsafe_view.derivative(lambda ctx, grad, xp: (xp.reshape(grad, ctx.shapes[0]),))


@op("clone")
def clone(xs, p):
    return xs[0].copy()


clone.derivative(lambda ctx, grad, xp: (grad,))


@op("alias", is_view=True)
def alias(xs, p):
    return xs[0].view()


alias.derivative(lambda ctx, grad, xp: (grad,))


@op("_to_copy")
def to_copy(xs, p):
    return xs[0].astype(p)


to_copy.derivative(lambda ctx, grad, xp: (grad,))


@op("unsqueeze", is_view=True)
def unsqueeze(xs, p):
    return np.expand_dims(xs[0], p)


unsqueeze.derivative(lambda ctx, grad, xp: (xp.squeeze(grad, ctx.params),))


def _squeeze_backward(ctx, grad, xp):
    return (xp.reshape(grad, ctx.shapes[0]),)


squeeze_all = op("squeeze", is_view=True)(lambda xs, p: np.squeeze(xs[0]))
squeeze_dim = op("squeeze.dim", is_view=True)(lambda xs, p: np.squeeze(xs[0], axis=p))
squeeze_dims = op("squeeze.dims", is_view=True)(lambda xs, p: np.squeeze(xs[0], axis=p))
# matmul(vector, matrix) squeezes its result in place: squeeze_.dim is SqueezeBackward4.
squeeze_inplace_dim = op("squeeze_.dim")(lambda xs, p: np.squeeze(xs[0], axis=p))
for _entry in (squeeze_all, squeeze_dim, squeeze_dims, squeeze_inplace_dim):
    _entry.derivative(_squeeze_backward)


@op("transpose.int", is_view=True)
def transpose(xs, p):
    return np.swapaxes(xs[0], *p) if xs[0].ndim else xs[0].view()


transpose.derivative(
    lambda ctx, grad, xp: (xp.transpose(grad, *ctx.params) if grad.ndim else grad,)
)


@op("t", is_view=True)
def t(xs, p):
    return xs[0].T


t.derivative(lambda ctx, grad, xp: (xp.mT(grad) if grad.ndim == 2 else grad,))


@op("permute", is_view=True)
def permute(xs, p):
    return np.transpose(xs[0], p)


@permute.derivative
def _(ctx, grad, xp):
    return (xp.permute(grad, tuple(np.argsort(ctx.params))),)


@op("expand", is_view=True)
def expand(xs, p):
    return np.broadcast_to(xs[0], p)


expand.derivative(lambda ctx, grad, xp: (xp.sum_to(grad, ctx.shapes[0]),))


@op("repeat")
def repeat(xs, p):
    x = xs[0]
    return np.tile(x.reshape((1,) * (len(p) - x.ndim) + x.shape), p)


@repeat.derivative
def _(ctx, grad, xp):
    # Split every dimension into (repeat, size) and sum over the repeat axes.
    repeats = ctx.params
    shape = (1,) * (len(repeats) - len(ctx.shapes[0])) + tuple(ctx.shapes[0])
    split = []
    for r, s in zip(repeats, shape, strict=False):
        split += [r, s]
    summed = xp.sum(xp.reshape(grad, tuple(split)), tuple(range(0, 2 * len(shape), 2)), False)
    return (xp.reshape(summed, ctx.shapes[0]),)


@op("cat")
def cat(xs, p):
    return np.concatenate(xs, axis=p)


@cat.derivative
def _(ctx, grad, xp):
    dim = ctx.params
    grads, start = [], 0
    for shape in ctx.shapes:
        if len(shape) == 1 and shape[0] == 0 and grad.ndim != 1:
            grads.append(None)  # legacy: empty 1-d tensors are skipped by cat
            continue
        grads.append(xp.narrow(grad, dim, start, shape[dim]))
        start += shape[dim]
    return tuple(grads)


@op("stack")
def stack(xs, p):
    return np.stack(xs, axis=p)


@stack.derivative
def _(ctx, grad, xp):
    return tuple(xp.select(grad, ctx.params, i) for i in range(len(ctx.shapes)))


@op("select.int", is_view=True)
def select(xs, p):
    dim, index = p
    # The trailing Ellipsis keeps a 0-d result a view (numpy would return a scalar copy).
    return xs[0][(slice(None),) * dim + (index, Ellipsis)]


@select.derivative
def _(ctx, grad, xp):
    dim, index = ctx.params
    return (xp.embed(ctx.shapes[0], (slice(None),) * dim + (index,), grad),)


@op("slice.Tensor", is_view=True)
def slice_(xs, p):
    dim, start, stop, step = p
    return xs[0][(slice(None),) * dim + (slice(start, stop, step),)]


@slice_.derivative
def _(ctx, grad, xp):
    dim, start, stop, step = ctx.params
    return (xp.embed(ctx.shapes[0], (slice(None),) * dim + (slice(start, stop, step),), grad),)


@op("index.Tensor")
def index(xs, p):
    return xs[0][p]


@index.derivative
def _(ctx, grad, xp):
    # index_put with accumulate=True: repeated indices add up.
    return (xp.index_add(ctx.shapes[0], ctx.params, grad),)


# ----- neural-network functions ------------------------------------------------------


def _softmax_forward(x, dim):
    shifted = x - np.max(x, axis=dim, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=dim, keepdims=True)


@op("_softmax", save=save_result)
def softmax(xs, p):
    x = xs[0]
    return _softmax_forward(x, p) if x.ndim else np.ones_like(x)


@softmax.derivative
def _(ctx, grad, xp):
    (result,) = ctx.saved
    return (xp.softmax_backward(grad, result, ctx.params if grad.ndim else None),)


@op("_log_softmax", save=save_result)
def log_softmax(xs, p):
    x = xs[0]
    if not x.ndim:
        return np.zeros_like(x)
    shifted = x - np.max(x, axis=p, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=p, keepdims=True))


@log_softmax.derivative
def _(ctx, grad, xp):
    (result,) = ctx.saved
    return (xp.log_softmax_backward(grad, result, ctx.params if grad.ndim else None),)


def _reduce(loss, reduction):
    if reduction == "mean":
        return quiet_numpy(torch_mean, loss)
    if reduction == "sum":
        return torch_sum(loss)
    return loss


def _reduction_scale(grad, reduction, shape, xp):
    """Broadcast the gradient of a reduced loss back over the elements it reduced."""
    if reduction == "mean":
        return xp.expand(grad, shape) / max(math.prod(shape), 1)
    if reduction == "sum":
        return xp.expand(grad, shape)
    return grad


@op("mse_loss", save=save_inputs)
def mse_loss(xs, p):
    diff = xs[0] - xs[1]
    return _reduce(diff * diff, p)


@mse_loss.derivative
def _(ctx, grad, xp):
    self, target = ctx.saved
    shape = np.broadcast_shapes(ctx.shapes[0], ctx.shapes[1])
    g = 2 * _reduction_scale(grad, ctx.params, shape, xp) * (self - target)
    return g, -g


@op("binary_cross_entropy", save=save_inputs)
def binary_cross_entropy(xs, p):
    x, target = xs
    reduction, weight = p
    # PyTorch clamps each log at -100 so that log(0) gives a finite loss.
    loss = -(target * np.maximum(np.log(x), -100) + (1 - target) * np.maximum(np.log1p(-x), -100))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


@binary_cross_entropy.derivative
def _(ctx, grad, xp):
    self, target = ctx.saved
    reduction, weight = ctx.params
    g = _reduction_scale(grad, reduction, ctx.shapes[0], xp)
    if weight is not None:
        g = g * weight
    eps = 1e-12
    grad_self = g * (self - target) / xp.clamp_min((1 - self) * self, eps)
    grad_target = g * (xp.log1p(-self) - xp.log(self)) if ctx.needs[1] else None
    return grad_self, grad_target


@op("nll_loss_forward")
def nll_loss(xs, p):
    x = xs[0]
    target, weight, reduction, ignore_index, total_weight_out = p
    batched = x.ndim == 2
    logp = x if batched else x[None]
    tgt = target if batched else target[None]
    keep = tgt != ignore_index
    safe = np.where(keep, tgt, 0)
    w = weight[safe] if weight is not None else np.ones(safe.shape, x.dtype)
    w = np.where(keep, w, 0).astype(x.dtype)
    picked = -np.take_along_axis(logp, safe[:, None], axis=1)[:, 0] * w
    total_weight = w.sum(dtype=x.dtype)
    total_weight_out.append(total_weight)
    if reduction == "none":
        return picked if batched else picked[0]
    if reduction == "sum":
        return picked.sum(dtype=x.dtype)
    return picked.sum(dtype=x.dtype) / total_weight


@nll_loss.derivative
def _(ctx, grad, xp):
    target, weight, reduction, ignore_index, total_weight_out = ctx.params
    shape = ctx.shapes[0]
    batched = len(shape) == 2
    tgt = target if batched else target[None]
    keep = tgt != ignore_index
    safe = np.where(keep, tgt, 0)
    w = weight[safe] if weight is not None else np.ones(safe.shape)
    w = np.where(keep, w, 0)
    if reduction == "mean":
        w = w / total_weight_out[0]
    rows = np.arange(len(safe))
    if reduction == "none":
        per_row = -xp.reshape(grad, (len(safe),)) * xp.constant(w)
    else:
        per_row = -xp.expand(grad, (len(safe),)) * xp.constant(w)
    full_shape = shape if batched else (1,) + tuple(shape)
    result = xp.index_add(full_shape, (rows, safe), per_row)
    return (result if batched else xp.reshape(result, shape),)


# ----- ops that only appear in backward graphs (create_graph=True) or in-place writes ---


def _embed_forward(xs, p):
    shape, index = p
    out = np.zeros(shape, dtype=xs[0].dtype)
    out[index] = xs[0]
    return out


def _embed_backward(ctx, grad, xp):
    shape, index = ctx.params
    return (xp.gather_index(grad, index),)


select_backward = op("select_backward")(_embed_forward)
slice_backward = op("slice_backward")(_embed_forward)
select_backward.derivative(_embed_backward)
slice_backward.derivative(_embed_backward)


@op("index_put")
def index_put_zeros(xs, p):
    # index_put_(zeros, indices, values, accumulate=True): IndexBackward0's formula.
    shape, index = p
    out = np.zeros(shape, dtype=xs[0].dtype)
    np.add.at(out, index, xs[0])
    return out


index_put_zeros.derivative(lambda ctx, grad, xp: (xp.gather_index(grad, ctx.params[1]),))


@op("value_selecting_reduction_backward", name="ValueSelectingReductionBackwardBackward0")
def value_selecting_reduction_backward(xs, p):
    shape, dim, indices = p
    out = np.zeros(shape, dtype=xs[0].dtype)
    np.put_along_axis(out, indices, xs[0], axis=dim)
    return out


@value_selecting_reduction_backward.derivative
def _(ctx, grad, xp):
    shape, dim, indices = ctx.params
    return (xp.gather_along(grad, dim, indices),)


@op("copy_", name="CopyBackwards")
def copy(xs, p):
    # copy_(self, src): self is overwritten, so only src receives a gradient.
    return np.broadcast_to(xs[1], xs[0].shape).astype(xs[0].dtype)


copy.derivative(lambda ctx, grad, xp: (xp.zeros_like(grad), grad))


@op("fill_.Scalar")
def fill(xs, p):
    return np.full_like(xs[0], p)


fill.derivative(lambda ctx, grad, xp: (xp.zeros_like(grad),))


@op("zero_")
def zero(xs, p):
    return np.zeros_like(xs[0])


zero.derivative(lambda ctx, grad, xp: (xp.zeros_like(grad),))


@op("as_strided", is_view=True)
def as_strided(xs, p):
    # The view of a base that an in-place op rewrote: p is the flat index of its elements.
    return xs[0].reshape(-1)[p]


@as_strided.derivative
def _(ctx, grad, xp):
    flat_shape = (int(np.prod(ctx.shapes[0])),)
    return (xp.reshape(xp.index_add(flat_shape, (ctx.params,), grad), ctx.shapes[0]),)


class CopySlicesOp:
    """PyTorch's CopySlices: an in-place op on a view, seen from the view's base.

    The base's gradient passes through unchanged outside the view; inside it, the
    in-place op's own backward runs on that slice and its input-0 gradient is put back."""

    overload = "CopySlices"
    backward_name = "CopySlices"
    is_view = False
    save = None

    @staticmethod
    def backward(ctx, grad, xp):
        region, inner_node, inner_backward = ctx.params
        flat = xp.reshape(grad, (-1,))
        grad_view = xp.gather_index(flat, (region,))
        inner = inner_backward(inner_node, grad_view, xp)
        first = inner[0] if inner[0] is not None else xp.zeros_like(grad_view)
        if first.shape != region.shape:
            first = xp.sum_to(first, region.shape)
        rebuilt = xp.put_index(flat, (region,), first)
        return (xp.reshape(rebuilt, ctx.shapes[0]),) + tuple(inner[1:])


# ----- PyTorch's named backward ops: what a create_graph gradient's grad_fn is called -----


def _softmax_grad(go, y, dim):
    return y * (go - np.sum(go * y, axis=dim, keepdims=True))


def _log_softmax_grad(go, y, dim):
    return go - np.exp(y) * np.sum(go, axis=dim, keepdims=True)


@op("tanh_backward", save=save_inputs)
def tanh_backward(xs, p):
    go, y = xs
    return go * (1 - y * y)


@tanh_backward.derivative
def _(ctx, grad, xp):
    go, y = ctx.saved
    return xp.tanh_backward(grad, y), -2 * y * grad * go


@op("sigmoid_backward", save=save_inputs)
def sigmoid_backward(xs, p):
    go, y = xs
    return go * y * (1 - y)


@sigmoid_backward.derivative
def _(ctx, grad, xp):
    go, y = ctx.saved
    return xp.sigmoid_backward(grad, y), grad * go * (1 - 2 * y)


@op("threshold_backward", save=lambda inputs, out, p, needs: (inputs[1],))
def threshold_backward(xs, p):
    go, y = xs
    return go * (y > 0)


@threshold_backward.derivative
def _(ctx, grad, xp):
    (y,) = ctx.saved
    return xp.threshold_backward(grad, y), xp.zeros_like(grad)


@op("_softmax_backward_data", save=save_inputs)
def softmax_backward_data(xs, p):
    return _softmax_grad(xs[0], xs[1], p)


@softmax_backward_data.derivative
def _(ctx, grad, xp):
    go, y = ctx.saved
    dim = ctx.params
    s = xp.sum(go * y, dim, True)
    return (
        xp.softmax_backward(grad, y, dim),
        grad * go - grad * s - go * xp.sum(grad * y, dim, True),
    )


@op("_log_softmax_backward_data", save=save_inputs)
def log_softmax_backward_data(xs, p):
    return _log_softmax_grad(xs[0], xs[1], p)


@log_softmax_backward_data.derivative
def _(ctx, grad, xp):
    go, y = ctx.saved
    dim = ctx.params
    e = xp.exp(y)
    return grad - xp.sum(grad * e, dim, True), -grad * e * xp.sum(go, dim, True)
