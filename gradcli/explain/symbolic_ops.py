"""Every recorded op on SymPy expressions: the forward table (route A differentiates what it
builds) and each op's local derivative rule (route B composes them along the graph).

Tensors are numpy object arrays of SymPy expressions, one per element, so broadcasting,
reshapes and indexing are numpy's own. Where PyTorch's derivative depends on which branch
the numbers took (relu, clamp, max, torch.where), the forward follows that branch element
by element and records the condition (`valid where x > 0`); at a tie it takes PyTorch's
convention: relu'(0) = 0, abs'(0) = 0 (sign), a tie of maximum/max shares the gradient
equally, as gradcli's engine does.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp


class Unsupported(Exception):
    """An op (or a form of one) with no symbolic rule here."""


def number(value):
    """A Python or numpy number as SymPy: 2.0 -> 2, 0.5 -> 1/2, 3.1 -> 31/10 (from the
    shortest repr of the value, so a float32 0.1 is 1/10, not 0.100000001490116)."""
    if isinstance(value, (bool, np.bool_)):
        return sp.Integer(int(value))
    if isinstance(value, (int, np.integer)):
        return sp.Integer(int(value))
    value = float(value) if not isinstance(value, np.floating) else value
    if math.isinf(value) or math.isnan(value):
        return {math.inf: sp.oo, -math.inf: -sp.oo}.get(value, sp.nan)
    if float(value).is_integer():
        return sp.Integer(int(value))
    text = repr(value) if not isinstance(value, np.floating) else str(value)
    exact = sp.Rational(text)
    return exact if exact.q <= 1000 else sp.Float(text, 6)


def numbers(array) -> np.ndarray:
    array = np.asarray(array)
    out = np.empty(array.shape, dtype=object)
    for index in np.ndindex(array.shape):
        out[index] = number(array[index])
    return out


def elementwise(fn, array: np.ndarray) -> np.ndarray:
    out = np.empty(array.shape, dtype=object)
    for index in np.ndindex(array.shape):
        out[index] = fn(array[index])
    return out


def _obj(array) -> np.ndarray:
    if isinstance(array, np.ndarray) and array.dtype == object:
        return array
    return np.asarray(array, dtype=object)


def _sum(array, axis=None, keepdims=False):
    if axis is None:
        total = sp.Add(*array.reshape(-1)) if array.size else sp.Integer(0)
        out = np.empty((), dtype=object)
        out[()] = total
        return out.reshape((1,) * array.ndim) if keepdims else out
    return _obj(np.sum(array, axis=axis, keepdims=keepdims))


def _axes(dims, ndim):
    if dims is None or dims == () or dims == []:
        return None
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    return tuple(d % ndim if ndim else 0 for d in dims)


class Context:
    """What a forward rule may read besides its symbolic inputs."""

    def __init__(self, step, numeric, output, source_text=""):
        self.step = step  # the captured Step
        self.numeric = numeric  # the inputs' values at the program's point (ndarray/number)
        self.output = output  # the output's value at the program's point
        self.source_text = source_text  # the expression's text, for notes
        self.conditions: list = []  # SymPy relationals the branch taken needs
        self.notes: list = []  # words for the reader


def _branch_elements(ctx, a, keep):
    """a[i] where keep[i], else 0; conditions recorded by the caller."""
    out = np.empty(a.shape, dtype=object)
    for index in np.ndindex(a.shape):
        out[index] = a[index] if keep[index] else sp.Integer(0)
    return out


def _relu(ctx, a):
    x = np.asarray(ctx.numeric[0])
    keep = np.broadcast_to(x > 0, a.shape)
    for index in np.ndindex(a.shape):
        # relu'(0) = 0 in PyTorch: the zero side owns the kink.
        ctx.conditions.append(a[index] > 0 if keep[index] else a[index] <= 0)
    return _branch_elements(ctx, a, keep)


def _clamp(ctx, a, low, high):
    x = np.broadcast_to(np.asarray(ctx.numeric[0]), a.shape)
    out = np.empty(a.shape, dtype=object)
    for index in np.ndindex(a.shape):
        v = x[index]
        if low is not None and v < low:
            out[index] = number(low)
            ctx.conditions.append(a[index] < number(low))
        elif high is not None and v > high:
            out[index] = number(high)
            ctx.conditions.append(a[index] > number(high))
        else:
            out[index] = a[index]
            if low is not None:
                ctx.conditions.append(a[index] >= number(low))
            if high is not None:
                ctx.conditions.append(a[index] <= number(high))
    return out


def _extremum_pair(ctx, a, b, larger: bool):
    shape = np.broadcast_shapes(a.shape, b.shape)
    a, b = np.broadcast_to(a, shape), np.broadcast_to(b, shape)
    x = np.broadcast_to(np.asarray(ctx.numeric[0]), shape)
    y = np.broadcast_to(np.asarray(ctx.numeric[1]), shape)
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        first = x[index] > y[index] if larger else x[index] < y[index]
        second = y[index] > x[index] if larger else y[index] < x[index]
        if first:
            out[index] = a[index]
            ctx.conditions.append(a[index] > b[index] if larger else a[index] < b[index])
        elif second:
            out[index] = b[index]
            ctx.conditions.append(b[index] > a[index] if larger else b[index] < a[index])
        else:
            # A tie: PyTorch gives each side half the gradient, the derivative of the mean.
            out[index] = (a[index] + b[index]) / 2
            ctx.conditions.append(sp.Eq(a[index], b[index]))
            ctx.notes.append("a tie: each side gets half the gradient")
    return out


def _extremum_all(ctx, a, larger: bool):
    x = np.asarray(ctx.numeric[0])
    best = x.max() if larger else x.min()
    tied = [index for index in np.ndindex(x.shape) if x[index] == best]
    picked = [a[index] for index in tied]
    value = sp.Add(*picked) / len(picked)
    for index in np.ndindex(x.shape):
        if index not in tied:
            ctx.conditions.append(a[index] < picked[0] if larger else a[index] > picked[0])
    for other in picked[1:]:
        ctx.conditions.append(sp.Eq(other, picked[0]))
    if len(picked) > 1:
        ctx.notes.append(f"a tie of {len(picked)} elements: they share the gradient equally")
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def _extremum_dim(ctx, a, larger: bool):
    dim, keepdim, _ = ctx.step.params
    x = np.asarray(ctx.numeric[0])
    if not x.ndim:
        return a
    dim %= x.ndim
    picks = np.argmax(x, axis=dim) if larger else np.argmin(x, axis=dim)
    values = np.take_along_axis(a, np.expand_dims(picks, dim), axis=dim)
    for index in np.ndindex(picks.shape):
        where = list(index)
        where.insert(dim, picks[index])
        chosen = a[tuple(where)]
        for k in range(x.shape[dim]):
            if k == picks[index]:
                continue
            other = list(index)
            other.insert(dim, k)
            other_value = a[tuple(other)]
            ctx.conditions.append(chosen >= other_value if larger else chosen <= other_value)
    return values if keepdim else np.squeeze(values, axis=dim)


def _where(ctx, a, b):
    condition = np.asarray(ctx.step.params)
    shape = np.broadcast_shapes(condition.shape, a.shape, b.shape)
    condition = np.broadcast_to(condition, shape)
    a, b = np.broadcast_to(a, shape), np.broadcast_to(b, shape)
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        out[index] = a[index] if condition[index] else b[index]
    text = where_condition(ctx.source_text)
    if text:
        ctx.notes.append(f"valid where {text} is {_truth(condition)}")
    else:
        ctx.notes.append(f"valid while torch.where's condition is {_truth(condition)}")
    return out


def _truth(condition) -> str:
    if condition.size == 1:
        return str(bool(condition.reshape(-1)[0]))
    return "[" + ", ".join(str(bool(c)) for c in condition.reshape(-1)) + "]"


def where_condition(text: str) -> str | None:
    """`x > 0` out of `torch.where(x > 0, x, -x)`."""
    start = text.find("where(")
    if start < 0:
        return None
    depth, begin = 0, start + len("where(")
    for i in range(begin, len(text)):
        char = text[i]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return None
            depth -= 1
        elif char == "," and depth == 0:
            return text[begin:i].strip() or None
    return None


def _mean(a, dims, keepdim):
    axes = _axes(dims, a.ndim)
    count = a.size if axes is None else math.prod(a.shape[d] for d in axes)
    total = _sum(a, axes, keepdim)
    return total / count if count else total


def _softmax(a, dim, log: bool):
    if not a.ndim:
        return _obj(np.array(sp.Integer(0) if log else sp.Integer(1)))
    dim %= a.ndim
    e = elementwise(sp.exp, a)
    total = _sum(e, (dim,), True)
    if log:
        return a - elementwise(sp.log, total)
    return e / total


def _reduce(loss, reduction):
    if reduction == "mean":
        return _sum(loss) / max(loss.size, 1)
    if reduction == "sum":
        return _sum(loss)
    return loss


def _nll(ctx, a):
    target, weight, reduction, ignore_index, _ = ctx.step.params
    batched = a.ndim == 2
    logp = a if batched else a.reshape((1,) + a.shape)
    target = np.asarray(target).reshape(-1)
    picked, weights = [], []
    for row, t in enumerate(target):
        if t == ignore_index:
            picked.append(sp.Integer(0))
            weights.append(0)
            continue
        w = 1 if weight is None else np.asarray(weight)[t]
        picked.append(-logp[row, t] * number(w))
        weights.append(w)
    picked_array = _obj(np.array(picked, dtype=object))
    if reduction == "none":
        return picked_array if batched else picked_array.reshape(())
    total = _sum(picked_array)
    if reduction == "sum":
        return total
    return total / number(sum(weights))


def _bce(ctx, a, t):
    reduction, weight = ctx.step.params
    loss = -(t * elementwise(sp.log, a) + (1 - t) * elementwise(sp.log, 1 - a))
    if weight is not None:
        loss = loss * numbers(weight)
    ctx.notes.append("PyTorch clamps each log at -100; the formula holds inside (0, 1)")
    return _reduce(loss, reduction)


def _norm(ctx, a):
    order, dims, keepdim = ctx.step.params
    axes = _axes(dims, a.ndim)
    if order == 2:
        return elementwise(sp.sqrt, _sum(a * a, axes, keepdim))
    if order == 1:
        return _sum(elementwise(sp.Abs, a), axes, keepdim)
    raise Unsupported(f"the {order}-norm")


def _matmul2(a, b):
    return _obj(np.dot(a, b)) if a.ndim and b.ndim else a * b


def _index(a, params):
    return _obj(a[params])


def _slice(a, params):
    dim, start, stop, step = params
    return a[(slice(None),) * dim + (slice(start, stop, step),)]


def _select(a, params):
    dim, index = params
    return _obj(a[(slice(None),) * dim + (index, Ellipsis)])


def _repeat(a, repeats):
    return _obj(np.tile(a.reshape((1,) * (len(repeats) - a.ndim) + a.shape), repeats))


def _sign(ctx, a):
    # Flat everywhere PyTorch defines it: the constant the numbers gave.
    ctx.notes.append("sign(·) is flat: its derivative is 0")
    return numbers(np.sign(np.asarray(ctx.numeric[0], dtype=np.float64)))


def _pow_tensor(ctx, a, b):
    ctx.notes.append("valid where the base is > 0 (the exponent's derivative has a log)")
    return a ** b


def _log_base(base):
    return lambda c, x: elementwise(lambda e: sp.log(e) / sp.log(base), x)


def _addmm(ctx, bias, m1, m2):
    beta, alpha = ctx.step.params if isinstance(ctx.step.params, tuple) else (1, 1)
    return number(beta) * bias + number(alpha) * _obj(np.dot(m1, m2))


UNARY = {
    "neg": lambda e: -e,
    "reciprocal": lambda e: 1 / e,
    "exp": sp.exp,
    "log": sp.log,
    "log1p": lambda e: sp.log(1 + e),
    "expm1": lambda e: sp.exp(e) - 1,
    "sqrt": sp.sqrt,
    "rsqrt": lambda e: 1 / sp.sqrt(e),
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "tanh": sp.tanh,
    "sigmoid": lambda e: 1 / (1 + sp.exp(-e)),
    "abs": sp.Abs,
}

_IDENTITY = ("clone", "alias", "_to_copy")


def forward(ctx: Context, args: list):
    """The output of one step as an object array, from its inputs' object arrays."""
    overload, p = ctx.step.overload, ctx.step.params
    a = args[0] if args else None
    if overload in UNARY:
        return elementwise(UNARY[overload], a)
    if overload in _IDENTITY:
        return a
    rule = FORWARD.get(overload)
    if rule is None:
        raise Unsupported(overload)
    return _obj(rule(ctx, *args) if overload not in _PARAMS_ONLY else rule(p, *args))


# Rules that take (params, *inputs) rather than (ctx, *inputs).
_PARAMS_ONLY = {"add.Tensor", "sub.Tensor", "rsub.Scalar", "div.Scalar", "pow.Tensor_Scalar",
                "pow.Scalar", "view", "_unsafe_view", "unsqueeze", "transpose.int", "permute",
                "expand", "repeat", "cat", "stack", "select.int", "slice.Tensor",
                "index.Tensor", "sum", "sum.dim_IntList", "mean", "mean.dim", "prod",
                "prod.dim_int", "logsumexp", "_softmax", "_log_softmax", "mse_loss"}

FORWARD = {
    "add.Tensor": lambda p, a, b: a + (b if p is None else number(p) * b),
    "sub.Tensor": lambda p, a, b: a - (b if p is None else number(p) * b),
    "rsub.Scalar": lambda p, a: number(p[0]) - number(p[1]) * a,
    "mul.Tensor": lambda c, a, b: a * b,
    "div.Tensor": lambda c, a, b: a / b,
    "div.Scalar": lambda p, a: a / number(p),
    "pow.Tensor_Scalar": lambda p, a: elementwise(lambda e: e ** number(p), a),
    "pow.Tensor_Tensor": _pow_tensor,
    "pow.Scalar": lambda p, a: elementwise(lambda e: number(p) ** e, a),
    "log2": _log_base(2),
    "log10": _log_base(10),
    "relu": _relu,
    "sign": _sign,
    "clamp": lambda c, a: _clamp(c, a, *c.step.params),
    "maximum": lambda c, a, b: _extremum_pair(c, a, b, True),
    "minimum": lambda c, a, b: _extremum_pair(c, a, b, False),
    "where.self": _where,
    "sum": lambda p, a: _sum(a),
    "sum.dim_IntList": lambda p, a: _sum(a, _axes(p[0], a.ndim), p[1]),
    "mean": lambda p, a: _mean(a, None, False),
    "mean.dim": lambda p, a: _mean(a, p[0], p[1]),
    "prod": lambda p, a: _obj(np.array(sp.Mul(*a.reshape(-1)), dtype=object)),
    "prod.dim_int": lambda p, a: _obj(np.prod(a, axis=p[0], keepdims=p[1])) if a.ndim else a,
    "max": lambda c, a: _extremum_all(c, a, True),
    "min": lambda c, a: _extremum_all(c, a, False),
    "max.dim": lambda c, a: _extremum_dim(c, a, True),
    "min.dim": lambda c, a: _extremum_dim(c, a, False),
    "linalg_vector_norm": _norm,
    "logsumexp": lambda p, a: elementwise(
        sp.log, _sum(elementwise(sp.exp, a), _axes(p[0], a.ndim), p[1])),
    "_softmax": lambda p, a: _softmax(a, p, False),
    "_log_softmax": lambda p, a: _softmax(a, p, True),
    "mse_loss": lambda p, a, b: _reduce((a - b) * (a - b), p),
    "binary_cross_entropy": _bce,
    "nll_loss_forward": _nll,
    "mm": lambda c, a, b: _matmul2(a, b),
    "mv": lambda c, a, b: _matmul2(a, b),
    "dot": lambda c, a, b: _obj(np.array(sp.Add(*(a * b)), dtype=object)),
    "bmm": lambda c, a, b: _obj(np.matmul(a, b)),
    "addmm": _addmm,
    "view": lambda p, a: a.reshape(p),
    "_unsafe_view": lambda p, a: a.reshape(p),
    "unsqueeze": lambda p, a: np.expand_dims(a, p),
    "squeeze": lambda c, a: a.reshape(c.step.shape),
    "squeeze.dim": lambda c, a: a.reshape(c.step.shape),
    "squeeze.dims": lambda c, a: a.reshape(c.step.shape),
    "squeeze_.dim": lambda c, a: a.reshape(c.step.shape),
    "transpose.int": lambda p, a: np.swapaxes(a, *p) if a.ndim else a,
    "t": lambda c, a: a.T,
    "permute": lambda p, a: np.transpose(a, p),
    "expand": lambda p, a: np.broadcast_to(a, p).copy(),
    "repeat": lambda p, a: _repeat(a, p),
    "cat": lambda p, *xs: np.concatenate(xs, axis=p),
    "stack": lambda p, *xs: np.stack(xs, axis=p),
    "select.int": lambda p, a: _select(a, p),
    "slice.Tensor": lambda p, a: _slice(a, p),
    "index.Tensor": lambda p, a: _index(a, p),
}


# ----- route B: each op's local rule, composed backward ---------------------------------


def sum_to(grad: np.ndarray, shape) -> np.ndarray:
    """Sum a broadcast gradient back to an input's shape (the engine's un-broadcasting)."""
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead:
        grad = _obj(np.sum(grad, axis=tuple(range(lead))))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if axes:
        grad = _obj(np.sum(grad, axis=axes, keepdims=True))
    return grad.reshape(shape)


# Element-wise local partials: (x, o) -> ∂o/∂x, PyTorch's formulas (from the saved result
# where PyTorch saves the result), as gradcli.explain.tracer.RULES states them in words.
LOCAL_UNARY = {
    "neg": lambda x, o: sp.Integer(-1),
    "reciprocal": lambda x, o: -o * o,
    "exp": lambda x, o: o,
    "log": lambda x, o: 1 / x,
    "log2": lambda x, o: 1 / (x * sp.log(2)),
    "log10": lambda x, o: 1 / (x * sp.log(10)),
    "log1p": lambda x, o: 1 / (1 + x),
    "expm1": lambda x, o: o + 1,
    "sqrt": lambda x, o: 1 / (2 * o),
    "rsqrt": lambda x, o: -o ** 3 / 2,
    "sin": lambda x, o: sp.cos(x),
    "cos": lambda x, o: -sp.sin(x),
    "tan": lambda x, o: 1 + o * o,
    "tanh": lambda x, o: 1 - o * o,
    "sigmoid": lambda x, o: o * (1 - o),
    "abs": lambda x, o: sp.sign(x),
    "sign": lambda x, o: sp.Integer(0),
}


def local_backward(step, grad, args, out, numeric):
    """The gradients a step sends to its inputs (object arrays, summed to each input's
    shape), from the gradient it receives; None for an op without a rule here (the caller
    then differentiates the op alone)."""
    overload, p = step.overload, step.params
    if overload in LOCAL_UNARY:
        rule = LOCAL_UNARY[overload]
        x = args[0]
        local = np.empty(out.shape, dtype=object)
        for index in np.ndindex(out.shape):
            local[index] = rule(x[index] if x.shape else x[()], out[index])
        return [grad * local]
    if overload in _IDENTITY:
        return [grad]
    if overload == "add.Tensor":
        return [grad, grad if p is None else grad * number(p)]
    if overload == "sub.Tensor":
        return [grad, -grad if p is None else -grad * number(p)]
    if overload == "rsub.Scalar":
        return [-grad * number(p[1])]
    if overload == "mul.Tensor":
        return [grad * args[1], grad * args[0]]
    if overload == "div.Tensor":
        return [grad / args[1], -grad * args[0] / (args[1] * args[1])]
    if overload == "div.Scalar":
        return [grad / number(p)]
    if overload == "pow.Tensor_Scalar":
        n = number(p)
        return [grad * elementwise(lambda e: n * e ** (n - 1), args[0])]
    if overload == "pow.Scalar":
        return [grad * out * sp.log(number(p))]
    if overload == "relu":
        # threshold_backward: the gradient passes where the output is positive.
        keep = np.asarray(numeric[0]) > 0
        return [_branch_elements(None, grad, np.broadcast_to(keep, grad.shape))]
    if overload == "sum":
        return [np.broadcast_to(grad, step.node.inputs_meta[0][0]).copy()]
    if overload in ("mean", "mean.dim", "sum.dim_IntList"):
        shape = tuple(step.node.inputs_meta[0][0])
        dims = p[0] if overload != "mean" else None
        keepdim = p[1] if overload != "mean" else False
        axes = _axes(dims, len(shape))
        g = grad
        if not keepdim and axes is not None:
            for d in sorted(axes):
                g = np.expand_dims(g, d)
        g = np.broadcast_to(g, shape).copy()
        if overload != "sum.dim_IntList":
            count = math.prod(shape) if axes is None else math.prod(shape[d] for d in axes)
            g = g / max(count, 1)
        return [g]
    if overload == "mm":
        return [_obj(np.dot(grad, args[1].T)), _obj(np.dot(args[0].T, grad))]
    if overload == "mv":
        return [_obj(np.outer(grad, args[1])), _obj(np.dot(args[0].T, grad))]
    if overload == "dot":
        return [grad[()] * args[1], grad[()] * args[0]]
    if overload in ("view", "_unsafe_view", "squeeze", "squeeze.dim", "squeeze.dims",
                    "squeeze_.dim", "unsqueeze"):
        return [grad.reshape(step.node.inputs_meta[0][0])]
    if overload == "t":
        return [grad.T]
    if overload == "transpose.int":
        return [np.swapaxes(grad, *p) if grad.ndim else grad]
    if overload == "expand":
        return [sum_to(grad, step.node.inputs_meta[0][0])]
    if overload == "_softmax":
        if not out.ndim:
            return [grad * 0]
        dim = p % out.ndim
        return [out * (grad - _sum(grad * out, (dim,), True))]
    if overload == "_log_softmax":
        if not out.ndim:
            return [grad * 0]
        dim = p % out.ndim
        return [grad - elementwise(sp.exp, out) * _sum(grad, (dim,), True)]
    if overload == "mse_loss":
        shape = np.broadcast_shapes(args[0].shape, args[1].shape)
        g = np.broadcast_to(grad, shape) if p != "none" else grad
        if p == "mean":
            g = g / max(math.prod(shape), 1)
        g = 2 * g * (args[0] - args[1])
        return [g, -g]
    return None
