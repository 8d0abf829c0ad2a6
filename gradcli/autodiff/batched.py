"""One backward pass for a batch of cotangents (PyTorch's `is_grads_batched`).

jacrev, and autograd.functional.jacobian/hessian with vectorize=True, want the vjp of
one output with every basis vector. PyTorch vmaps the backward pass over the stacked
cotangents; here the gradient flowing through the graph simply carries the batch in its
dimension 0: gradient arrays are (N,) + the tensor's shape. Most formulas of the op
table need nothing more, since numpy broadcasts them over a leading dimension (a product
with a saved input, mm's and bmm's matmuls); the others have a rule below that shifts
their dimensions by one. A node without a rule runs its own formula once per batch
entry, so the values are always those of N separate passes.

Only the plain case is batched: gradients as numpy arrays (not create_graph), no hook on
a node of the graph, no trace observer, no custom Function with several outputs.
`batched_vjp` returns None otherwise and the caller runs one pass per cotangent.
"""

from __future__ import annotations

import heapq

import numpy as np

from gradcli.autodiff import engine, hooks
from gradcli.autodiff.node import AccumulateGrad, accumulator_of
from gradcli.autodiff.saved import unpack_saved
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.autodiff.vocabulary import NumpyVocabulary


def batched_vjp(output, inputs, cotangents):
    """The gradients of `output` w.r.t. each of `inputs` for every cotangent row of
    `cotangents` ((N,) + output.shape), as arrays (N,) + input.shape or None for an input
    the output does not depend on; None when the pass cannot be batched."""
    if engine.Observer.active is not None:
        return None
    root = engine.root_node(output)
    if root is None:
        return None
    targets = {}
    for k, x in enumerate(inputs):
        node = x.grad_fn if x.grad_fn is not None else accumulator_of(x)
        targets.setdefault(node, []).append(k)
    dependencies = engine._dependencies([root])
    for node in (root, *dependencies):
        # Hooks see one gradient, not a batch of them; a custom Function with several
        # outputs keeps one gradient slot per output.
        if node.multi_output or (hooks.State.active and hooks.has_hooks(node)):
            return None
    needed = engine._needed(engine._parents([root]), targets)
    size = cotangents.shape[0]
    captured: dict = {}
    buffers = {root: cotangents}
    ready = [(-root.sequence_nr, 0, root)]
    order = 1
    previous_mode = GradMode.enabled
    GradMode.enabled = False
    try:
        while ready:
            node = heapq.heappop(ready)[2]
            grad = buffers.pop(node, None)
            if node not in needed:
                continue
            if grad is not None and node in targets:
                captured[node] = grad
            if node.__class__ is AccumulateGrad:
                continue
            grads = _node_backward(node, grad, size) if grad is not None else ()
            for i, (child, _) in enumerate(node.next_functions):
                if child is None:
                    continue
                child_grad = grads[i] if grads else None
                if child_grad is not None:
                    child_grad = _conform(child_grad, node.inputs_meta[i], size)
                    previous = buffers.get(child)
                    buffers[child] = child_grad if previous is None else previous + child_grad
                remaining = dependencies[child] - 1
                dependencies[child] = remaining
                if remaining == 0:
                    heapq.heappush(ready, (-child.sequence_nr, order, child))
                    order += 1
    finally:
        GradMode.enabled = previous_mode
    results = [None] * len(inputs)
    for node, positions in targets.items():
        value = captured.get(node)
        for k in positions:
            results[k] = value
    return results


def _node_backward(node, grad, size):
    if node.saved and node.saved_versions is not None:
        ctx = engine.BackwardContext(node, unpack_saved(node, False))
    else:
        ctx = node
    if node.released:
        raise engine._freed(node)
    op = node.op
    rule = RULES.get(getattr(op, "overload", None))
    if rule is not None:
        result = rule(op, ctx, grad)
        if result is not None:
            return result
    return _per_entry(node, ctx, grad, size)


def _per_entry(node, ctx, grad, size):
    """The node's own formula once per batch entry, stacked: always right."""
    rows = [node.op.backward(ctx, grad[n], NumpyVocabulary) for n in range(size)]
    out = []
    for i in range(len(node.next_functions)):
        column = [r[i] if r is not None and i < len(r) else None for r in rows]
        if all(c is None for c in column):
            out.append(None)
            continue
        meta = node.inputs_meta[i]
        shape, dtype = meta
        out.append(np.stack([np.zeros(shape, dtype.numpy) if c is None else
                             engine._conform(_array(c), meta, NumpyVocabulary)
                             for c in column]))
    return tuple(out)


def _array(value):
    return value.array if value.__class__ is Tensor else np.asarray(value)


def _conform(grad, meta, size):
    """engine._conform for a batched gradient: sum an entry back to the input's shape and
    cast it. A formula may return an unbatched array (zeros_like(self)): it has at most
    the input's dimensions, where a batched one always has more."""
    shape, dtype = meta
    grad = np.asarray(grad)
    if grad.ndim <= len(shape):
        grad = np.broadcast_to(engine.sum_to(grad, shape) if grad.shape != shape else grad,
                               (size,) + tuple(shape))
    elif grad.shape[1:] != tuple(shape):
        lead = grad.ndim - 1 - len(shape)
        axes = tuple(range(1, 1 + lead)) + tuple(
            1 + lead + i for i, s in enumerate(shape)
            if s == 1 and grad.shape[1 + lead + i] != 1)
        if axes:
            grad = np.sum(grad, axis=axes, keepdims=True)
        grad = grad.reshape((size,) + tuple(shape))
    if grad.dtype != dtype.numpy:
        grad = grad.astype(dtype.numpy)
    return grad


# ----- rules: formulas that need the batch dimension named ------------------------------

RULES: dict = {}


def rule(*overloads):
    def register(fn):
        for name in overloads:
            RULES[name] = fn
        return fn

    return register


def _as_is(op, ctx, grad):
    # Element-wise formulas and matmuls broadcast over the leading batch dimension.
    return op.backward(ctx, grad, NumpyVocabulary)


for _name in ("add.Tensor", "sub.Tensor", "rsub.Scalar", "mul.Tensor", "div.Tensor",
              "div.Scalar", "neg", "reciprocal", "pow.Tensor_Scalar", "pow.Tensor_Tensor",
              "pow.Scalar", "div.Tensor_mode", "clamp.Tensor", "remainder.Scalar",
              "remainder.Tensor", "mm", "bmm", "addmm", "exp", "log", "log2", "log10", "log1p",
              "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "abs", "sign", "sigmoid",
              "relu", "clamp", "maximum", "minimum", "where.self", "clone", "alias",
              "_to_copy", "tanh_backward", "sigmoid_backward",
              "threshold_backward"):
    RULES[_name] = _as_is
# expand's formula is sum_to(grad, input shape): _conform does that sum, batched.
RULES["expand"] = lambda op, ctx, grad: (grad,)


def _shapes(ctx):
    return ctx.shapes if hasattr(ctx, "shapes") else [m[0] for m in ctx.inputs_meta]


def _shift(dim, ndim):
    return (dim % ndim) + 1 if ndim else 1


@rule("mv")
def mv(op, ctx, grad):
    vec, self = ctx.saved
    return (grad[:, :, None] * vec if ctx.needs[0] else None,
            grad @ self if ctx.needs[1] else None)


@rule("dot")
def dot(op, ctx, grad):
    tensor, self = ctx.saved
    return (grad[:, None] * tensor if ctx.needs[0] else None,
            grad[:, None] * self if ctx.needs[1] else None)


def _spread(grad, shape):
    """A batch of per-entry scalars, broadcast to (N,) + shape."""
    return np.broadcast_to(grad.reshape((grad.shape[0],) + (1,) * len(shape)),
                           (grad.shape[0],) + tuple(shape))


@rule("sum")
def sum_all(op, ctx, grad):
    return (_spread(grad, _shapes(ctx)[0]),)


@rule("mean")
def mean_all(op, ctx, grad):
    shape = _shapes(ctx)[0]
    return (_spread(grad / max(int(np.prod(shape)), 1), shape),)


def _restored(grad, dims, keepdim, ndim):
    if keepdim or dims is None:
        return grad.reshape((grad.shape[0],) + (1,) * ndim) if dims is None else grad
    for d in sorted(d % ndim for d in ((dims,) if isinstance(dims, int) else dims)):
        grad = np.expand_dims(grad, d + 1)
    return grad


@rule("sum.dim_IntList")
def sum_dims(op, ctx, grad):
    dims, keepdim, _ = ctx.params
    shape = _shapes(ctx)[0]
    if not shape:
        return None
    return (np.broadcast_to(_restored(grad, dims, keepdim, len(shape)),
                            (grad.shape[0],) + tuple(shape)),)


@rule("mean.dim")
def mean_dims(op, ctx, grad):
    dims, keepdim = ctx.params
    shape = _shapes(ctx)[0]
    if not shape:
        return None
    axes = range(len(shape)) if dims is None else (
        (dims,) if isinstance(dims, int) else dims)
    count = int(np.prod([shape[d] for d in axes])) if shape else 1
    return (np.broadcast_to(_restored(grad / max(count, 1), dims, keepdim, len(shape)),
                            (grad.shape[0],) + tuple(shape)),)


@rule("view", "_reshape_alias", "_unsafe_view", "squeeze", "squeeze.dim", "squeeze.dims",
      "squeeze_.dim", "unsqueeze")
def reshape(op, ctx, grad):
    return (grad.reshape((grad.shape[0],) + tuple(_shapes(ctx)[0])),)


@rule("transpose.int")
def transpose(op, ctx, grad):
    ndim = grad.ndim - 1
    if not ndim:
        return (grad,)
    d0, d1 = ctx.params
    return (np.swapaxes(grad, _shift(d0, ndim), _shift(d1, ndim)),)


@rule("t")
def t(op, ctx, grad):
    return (np.swapaxes(grad, 1, 2) if grad.ndim == 3 else grad,)


@rule("permute")
def permute(op, ctx, grad):
    ndim = grad.ndim - 1
    inverse = np.argsort([d % ndim for d in ctx.params])
    return (np.transpose(grad, (0,) + tuple(int(d) + 1 for d in inverse)),)


@rule("select.int", "slice.Tensor")
def select(op, ctx, grad):
    shape = tuple(_shapes(ctx)[0])
    if op.overload == "select.int":
        dim, index = ctx.params
        where = (index,)
    else:
        dim, start, stop, step = ctx.params
        where = (slice(start, stop, step),)
    out = np.zeros((grad.shape[0],) + shape, grad.dtype)
    out[(slice(None),) * _shift(dim, len(shape)) + where] = grad
    return (out,)


@rule("stack")
def stack(op, ctx, grad):
    axis = _shift(ctx.params, grad.ndim - 1)
    return tuple(np.take(grad, i, axis=axis) for i in range(len(_shapes(ctx))))


@rule("_softmax", "_log_softmax")
def softmax(op, ctx, grad):
    ndim = grad.ndim - 1
    if not ndim:
        return None
    (result,) = ctx.saved
    dim = _shift(ctx.params, ndim)
    if op.overload == "_softmax":
        return (result * (grad - np.sum(grad * result, axis=dim, keepdims=True)),)
    return (grad - np.exp(result) * np.sum(grad, axis=dim, keepdims=True),)
