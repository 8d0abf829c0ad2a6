"""Forward-mode rules: each op's Jacobian-vector product, PyTorch's formulas.

A rule is `rule(xs, ts, out, p) -> tangent`: `xs` the primal inputs (arrays or Python
numbers, as the op's forward got them), `ts` their tangents (arrays, or None for an input
without one), `out` the primal result, `p` the op's parameters. They are attached to the
op table's entries here (`OPS[...].jvp`), beside the `.derivative` formulas of
gradcli/aten/ops.py; an op without one falls back to the double-vjp identity
(gradcli/torch/autograd/forward_mode.py).
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten.ops import OPS


def _zeros_like_inputs(xs, ts):
    return [np.zeros(np.shape(x), np.result_type(x)) if t is None else t
            for x, t in zip(xs, ts, strict=True)]


def linear(xs, ts, out, p, *, op):
    """An op linear in its tensor inputs (views, sums, cat...): the op applied to tangents."""
    filled = []
    for x, t in zip(xs, ts, strict=True):
        if isinstance(x, np.ndarray) or np.ndim(x):
            filled.append(np.zeros(np.shape(x), out.dtype) if t is None else t)
        else:
            filled.append(0 * x if t is None else t)  # a number input (rsub's, add's alpha)
    return np.asarray(op.forward(tuple(filled), p))


def _rule(name):
    def attach(fn):
        OPS[name].jvp = fn
        return fn

    return attach


for _name in ("sum", "sum.dim_IntList", "mean", "mean.dim", "view", "_unsafe_view", "clone",
              "alias", "_to_copy", "unsqueeze", "transpose.int", "t", "permute", "expand",
              "repeat", "cat", "stack", "select.int", "slice.Tensor", "neg"):
    if _name in OPS:
        OPS[_name].jvp = (lambda op: lambda xs, ts, out, p: linear(xs, ts, out, p, op=op))(
            OPS[_name])


def _t(ts, i):
    return ts[i] if i < len(ts) else None


@_rule("add.Tensor")
def _(xs, ts, out, p):
    a, b = _t(ts, 0), _t(ts, 1)
    alpha = 1 if p is None else p
    total = 0 if a is None else a
    return total + (0 if b is None else alpha * b)


@_rule("sub.Tensor")
def _(xs, ts, out, p):
    a, b = _t(ts, 0), _t(ts, 1)
    alpha = 1 if p is None else p
    return (0 if a is None else a) - (0 if b is None else alpha * b)


@_rule("rsub.Scalar")
def _(xs, ts, out, p):
    return -p[1] * ts[0]


@_rule("mul.Tensor")
def _(xs, ts, out, p):
    (a, b), (ta, tb) = xs, ts
    result = 0
    if ta is not None:
        result = ta * b
    if tb is not None:
        result = result + a * tb
    return result


@_rule("div.Tensor")
def _(xs, ts, out, p):
    (a, b), (ta, tb) = xs, ts
    result = 0
    if ta is not None:
        result = ta / b
    if tb is not None:
        result = result - tb * a / (b * b)
    return result


@_rule("div.Scalar")
def _(xs, ts, out, p):
    return ts[0] / p


@_rule("mul.Scalar")
def _(xs, ts, out, p):
    return ts[0] * p


@_rule("reciprocal")
def _(xs, ts, out, p):
    return -ts[0] * out * out


@_rule("pow.Tensor_Scalar")
def _(xs, ts, out, p):
    if p == 0:
        return np.zeros_like(out)
    return ts[0] * (p * xs[0] ** (p - 1))


@_rule("pow.Tensor_Tensor")
def _(xs, ts, out, p):
    (a, b), (ta, tb) = xs, ts
    result = 0
    if ta is not None:
        result = np.where(b == 0, 0.0, ta * b * a ** (b - 1))
    if tb is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            result = result + np.where((a == 0) & (b >= 0), 0.0, tb * out * np.log(a))
    return result


@_rule("pow.Scalar")
def _(xs, ts, out, p):
    return ts[0] * out * (math.log(p) if p > 0 else 0.0)


_UNARY = {
    "exp": lambda x, t, y: t * y,
    "log": lambda x, t, y: t / x,
    "log2": lambda x, t, y: t / (x * math.log(2.0)),
    "log10": lambda x, t, y: t / (x * math.log(10.0)),
    "log1p": lambda x, t, y: t / (x + 1),
    "expm1": lambda x, t, y: t * (y + 1),
    "sqrt": lambda x, t, y: t / (2 * y),
    "rsqrt": lambda x, t, y: -0.5 * t * y * y * y,
    "sin": lambda x, t, y: t * np.cos(x),
    "cos": lambda x, t, y: -t * np.sin(x),
    "tan": lambda x, t, y: t * (1 + y * y),
    "tanh": lambda x, t, y: t * (1 - y * y),
    "sigmoid": lambda x, t, y: t * (1 - y) * y,
    "relu": lambda x, t, y: np.where(y > 0, t, 0.0),
    "abs": lambda x, t, y: t * np.sign(x),
    "sign": lambda x, t, y: np.zeros_like(y),
}
for _name, _formula in _UNARY.items():
    OPS[_name].jvp = (lambda f: lambda xs, ts, out, p: f(xs[0], ts[0], out))(_formula)


@_rule("clamp")
def _(xs, ts, out, p):
    low, high = p
    inside = np.ones(np.shape(xs[0]), bool)
    if low is not None:
        inside &= xs[0] >= low
    if high is not None:
        inside &= xs[0] <= high
    return np.where(inside, ts[0], 0.0)


@_rule("maximum")
def _(xs, ts, out, p):
    (a, b), (ta, tb) = xs, _zeros_like_inputs(xs, ts)
    return np.where(a == b, (ta + tb) / 2, np.where(a > b, ta, tb))


@_rule("minimum")
def _(xs, ts, out, p):
    (a, b), (ta, tb) = xs, _zeros_like_inputs(xs, ts)
    return np.where(a == b, (ta + tb) / 2, np.where(a < b, ta, tb))


def _bilinear(op_name):
    op = OPS[op_name]

    def rule(xs, ts, out, p):
        (a, b), (ta, tb) = xs, ts
        result = 0
        if ta is not None:
            result = op.forward((ta, b), p)
        if tb is not None:
            result = result + op.forward((a, tb), p)
        return result

    op.jvp = rule


for _name in ("mm", "mv", "dot", "bmm"):
    _bilinear(_name)


@_rule("addmm")
def _(xs, ts, out, p):
    (_, m1, m2), (tb, t1, t2) = xs, ts
    beta, alpha = p if p is not None else (1, 1)  # torch.addmm's beta and alpha
    result = np.zeros_like(out) if tb is None else np.broadcast_to(tb * beta, out.shape)
    if t1 is not None:
        result = result + (t1 @ m2) * alpha
    if t2 is not None:
        result = result + (m1 @ t2) * alpha
    return result


@_rule("_softmax")
def _(xs, ts, out, p):
    dim = p if not isinstance(p, tuple) else p[0]
    if not out.ndim:
        return np.zeros_like(out)
    return out * (ts[0] - np.sum(out * ts[0], axis=dim, keepdims=True))


@_rule("_log_softmax")
def _(xs, ts, out, p):
    dim = p if not isinstance(p, tuple) else p[0]
    if not out.ndim:
        return np.zeros_like(out)
    return ts[0] - np.sum(np.exp(out) * ts[0], axis=dim, keepdims=True)
