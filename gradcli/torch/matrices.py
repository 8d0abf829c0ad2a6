"""Linear algebra beyond matmul: einsum and tensordot (decomposed into permute, reshape,
bmm/mm and mul as PyTorch decomposes them), kron, inner, cross, bmm, addmm/addmv/baddbmm
with beta and alpha, det, inverse, linalg.solve, linalg.matrix_norm, cdist, dist.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import op, save_inputs, save_self_and_result
from gradcli.autodiff.tensor import Tensor
from gradcli.base import diagnostics
from gradcli.base.errors import ProgramError, runtime_error, type_error
from gradcli.torch import reductions, reshaping
from gradcli.torch import shape as shapes
from gradcli.torch._common import _dtype_name, call, is_tensor, type_name, wrap_dim
from gradcli.torch.linalg import mm
from gradcli.torch.pointwise import mul

# ----- einsum -----------------------------------------------------------------------------


def _parse_einsum(equation: str, count: int):
    equation = equation.replace(" ", "")
    if "->" in equation:
        lhs, out = equation.split("->", 1)
        explicit = True
    else:
        lhs, out, explicit = equation, None, False
    terms = lhs.split(",")
    if len(terms) > count:
        raise runtime_error("einsum(): fewer operands were provided than specified in the "
                            "equation")
    if len(terms) < count:
        raise runtime_error("einsum(): more operands were provided than specified in the "
                            "equation")
    for term in terms + ([out] if explicit else []):
        for ch in term:
            if not ch.isalpha():
                raise runtime_error(
                    f"einsum(): invalid subscript given at index {equation.index(ch)} in the "
                    "equation string, subscripts must be in [a-zA-Z]")
    if not explicit:
        seen = "".join(terms)
        out = "".join(sorted(ch for ch in set(seen) if seen.count(ch) == 1))
    else:
        for ch in out:
            if out.count(ch) > 1:
                raise runtime_error(f"einsum(): output subscript {ch} appears more than once "
                                    "in the output")
            if not any(ch in t for t in terms):
                raise runtime_error(f"einsum(): output subscript {ch} does not appear in the "
                                    "equation for any input operand")
    return terms, out


def _take_diagonals(x, labels):
    """Repeated labels in one operand (`ii`): their diagonal (a view), moved last."""
    labels = list(labels)
    while True:
        repeated = next((ch for ch in labels if labels.count(ch) > 1), None)
        if repeated is None:
            return x, labels
        first = labels.index(repeated)
        second = labels.index(repeated, first + 1)
        x = reshaping.diagonal(x, 0, first, second)
        labels = [ch for i, ch in enumerate(labels) if i not in (first, second)] + [repeated]


def _permuted(x, labels, order):
    perm = tuple(labels.index(ch) for ch in order)
    if perm == tuple(range(len(perm))):
        return x
    return shapes.permute(x, perm)


def _sum_out(x, labels, keep):
    drop = tuple(i for i, ch in enumerate(labels) if ch not in keep)
    if not drop:
        return x, labels
    return reductions.sum(x, drop), [ch for ch in labels if ch in keep]


def _contract_pair(a, la, b, lb, needed):
    """PyTorch's sumproduct_pair: labels in both and needed later are batch dims, labels in
    both and not needed are summed by one bmm; with nothing to sum, a broadcast mul."""
    batch = [ch for ch in la if ch in lb and ch in needed]
    summed = [ch for ch in la if ch in lb and ch not in needed]
    left = [ch for ch in la if ch not in lb]
    right = [ch for ch in lb if ch not in la]
    size = {**dict(zip(la, a.shape, strict=True)), **dict(zip(lb, b.shape, strict=True))}
    if not summed:
        order = batch + left + right
        a2 = _permuted(a, la, batch + left)
        b2 = _permuted(b, lb, batch + right)
        a2 = shapes.reshape(a2, tuple(size[c] for c in batch + left) + (1,) * len(right)) if (
            right) else a2
        b2 = shapes.reshape(b2, tuple(size[c] for c in batch) + (1,) * len(left) + tuple(
            size[c] for c in right)) if left else b2
        return mul(a2, b2), order
    n_batch = math.prod(size[c] for c in batch)
    n_left = math.prod(size[c] for c in left)
    n_right = math.prod(size[c] for c in right)
    n_sum = math.prod(size[c] for c in summed)
    a3 = shapes.reshape(_permuted(a, la, batch + left + summed), (n_batch, n_left, n_sum))
    b3 = shapes.reshape(_permuted(b, lb, batch + summed + right), (n_batch, n_sum, n_right))
    out = call(O.bmm, (a3, b3))
    order = batch + left + right
    return shapes.reshape(out, tuple(size[c] for c in order)), order


def einsum(equation, *operands):
    if not isinstance(equation, str):
        raise type_error(f"einsum(): argument 'equation' (position 1) must be str, not "
                         f"{type_name(equation)}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, x in enumerate(operands):
        if not is_tensor(x):
            raise type_error(f"einsum(): argument 'operands' must be tuple of Tensors, not "
                             f"{type_name(x)}" if i == 0 else
                             f"expected Tensor as element {i} in argument 1, but got "
                             f"{type_name(x)}")
    if "..." in equation:
        raise runtime_error("einsum(): ellipsis ('...') is not supported by gradcli yet")
    terms, out = _parse_einsum(equation, len(operands))
    sizes: dict = {}
    prepared = []
    for i, (x, term) in enumerate(zip(operands, terms, strict=True)):
        if len(term) != x.ndim:
            raise runtime_error(f"einsum(): the number of subscripts in the equation "
                                f"({len(term)}) does not match the number of dimensions "
                                f"({x.ndim}) for operand {i} and no ellipsis was given")
        for ch, n in zip(term, x.shape, strict=True):
            if ch in sizes and sizes[ch] != n and n != 1 and sizes[ch] != 1:
                raise runtime_error(
                    f"einsum(): subscript {ch} has size {n} for operand {i} which does not "
                    f"broadcast with previously seen size {sizes[ch]}")
            sizes[ch] = max(sizes.get(ch, n), n)
        prepared.append(_take_diagonals(x, term))
    result, labels = prepared[0]
    for k in range(1, len(prepared)):
        later = set(out) | {ch for _, lb in prepared[k + 1:] for ch in lb}
        b, lb = prepared[k]
        result, labels = _sum_out(result, labels, later | set(lb))
        b, lb = _sum_out(b, lb, later | set(labels))
        result, labels = _contract_pair(result, labels, b, lb, later)
    result, labels = _sum_out(result, labels, set(out))
    return _permuted(result, labels, list(out))


# ----- tensordot, inner, kron -----------------------------------------------------------


def tensordot(a, b, dims=2):
    if isinstance(dims, int):
        dims_a = list(range(a.ndim - dims, a.ndim))
        dims_b = list(range(dims))
    else:
        dims_a, dims_b = (list(d) if isinstance(d, (list, tuple)) else [d] for d in dims)
    if len(dims_a) != len(dims_b):
        raise runtime_error("both dimension lists should have same length")
    dims_a = [wrap_dim(d, a.ndim) for d in dims_a]
    dims_b = [wrap_dim(d, b.ndim) for d in dims_b]
    for da, db in zip(dims_a, dims_b, strict=True):
        if a.shape[da] != b.shape[db]:
            raise runtime_error(
                f"contracted dimensions need to match, but first has size {a.shape[da]} in "
                f"dim {da} and second has size {b.shape[db]} in dim {db}")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    k = math.prod(a.shape[d] for d in dims_a)
    left = shapes.reshape(shapes.permute(a, tuple(free_a + dims_a)),
                          (math.prod(a.shape[d] for d in free_a), k))
    right = shapes.reshape(shapes.permute(b, tuple(dims_b + free_b)),
                           (k, math.prod(b.shape[d] for d in free_b)))
    product = mm(left, right)
    return shapes.reshape(product, tuple(a.shape[d] for d in free_a)
                          + tuple(b.shape[d] for d in free_b))


def inner(input, other):
    if input.ndim == 0 or other.ndim == 0:
        return mul(input, other)
    if input.shape[-1] != other.shape[-1]:
        raise runtime_error(
            f"inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def kron(input, other):
    ndim = max(input.ndim, other.ndim)
    a_shape = (1,) * (ndim - input.ndim) + input.shape
    b_shape = (1,) * (ndim - other.ndim) + other.shape
    a = shapes.reshape(input, tuple(s for n in a_shape for s in (n, 1)))
    b = shapes.reshape(other, tuple(s for n in b_shape for s in (1, n)))
    product = mul(a, b)
    return call(O.unsafe_view, (product,), tuple(x * y for x, y in zip(
        a_shape, b_shape, strict=True)))


# ----- cross --------------------------------------------------------------------------


@op("linalg_cross", save=save_inputs)
def _cross(xs, p):
    a, b = np.broadcast_arrays(*xs)
    return np.cross(a, b, axis=p).astype(np.result_type(*xs))


@_cross.derivative
def _(ctx, grad, xp):
    a, b = ctx.saved
    dim = ctx.params
    return (cross(b, grad, dim) if ctx.needs[0] and grad.__class__ is Tensor else
            np.cross(np.broadcast_to(b, grad.shape), grad, axis=dim) if ctx.needs[0] else None,
            cross(grad, a, dim) if ctx.needs[1] and grad.__class__ is Tensor else
            np.cross(grad, np.broadcast_to(a, grad.shape), axis=dim) if ctx.needs[1] else None)


CROSS_DIM_WARNING = (
    "Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the "
    "dim explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to "
    "agree with that of linalg.cross in a future release. (Triggered internally at "
    "/__w/pytorch/pytorch/aten/src/ATen/native/Cross.cpp:63.)")


def cross(input, other, dim=None):
    if dim is None:
        diagnostics.warn(CROSS_DIM_WARNING, once_per_process=True)
        try:
            shape = np.broadcast_shapes(input.shape, other.shape)
        except ValueError:
            shape = input.shape
        dim = next((i for i, n in enumerate(shape) if n == 3), -1)
    return linalg_cross(input, other, dim=dim)


def linalg_cross(input, other, *, dim=-1):
    if input.ndim != other.ndim:
        raise runtime_error("linalg.cross: inputs must have the same number of dimensions.")
    d = wrap_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise runtime_error(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got "
            f"{input.shape[d]} and {other.shape[d]}")
    return call(_cross, (input, other), d)


# ----- bmm and the add*mm family --------------------------------------------------------


def bmm(input, mat2):
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.ndim != 3:
            raise runtime_error(f"{name} must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise runtime_error(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, "
            f"{mat2.shape[1]}].")
    if input.dtype is not mat2.dtype:
        raise runtime_error(f"expected scalar type {_torch_dtype(input)} but found "
                            f"{_torch_dtype(mat2)}")
    return call(O.bmm, (input, mat2))


def _torch_dtype(t):
    return _dtype_name(t.dtype)


def _scaled_sum(bias, product, beta, alpha):
    out = product if alpha == 1 else alpha * product
    if beta == 0:
        return np.broadcast_to(np.zeros((), out.dtype), out.shape) + out
    return (bias if beta == 1 else beta * bias) + out


def _product_op(overload, contract, left_grad, right_grad):
    """addmm/addmv/baddbmm: beta * input + alpha * (mat1 @ mat2). (addmm is the op
    table's own, nn.Linear's, with beta and alpha as its parameters.)"""

    entry = op(overload, save=save_inputs)(
        lambda xs, p: _scaled_sum(xs[0], contract(xs[1], xs[2]), *p).astype(xs[1].dtype))

    @entry.derivative
    def _(ctx, grad, xp):
        bias, m1, m2 = ctx.saved
        beta, alpha = ctx.params
        return (
            (grad if beta == 1 else grad * beta) if ctx.needs[0] else None,
            left_grad(grad, m2, xp) * alpha if ctx.needs[1] else None,
            right_grad(grad, m1, xp) * alpha if ctx.needs[2] else None,
        )

    return entry


_addmv = _product_op("addmv", lambda a, v: a @ v,
                     lambda g, v, xp: xp.outer(g, v), lambda g, m, xp: xp.mT(m) @ g)
_baddbmm = _product_op("baddbmm", lambda a, b: a @ b,
                       lambda g, m2, xp: g @ xp.mT(m2), lambda g, m1, xp: xp.mT(m1) @ g)


def _number(value, name):
    if is_tensor(value):
        return value.array.item()
    if not isinstance(value, (int, float)):
        raise type_error(f"{name}(): argument '{name}' must be Number, not {type_name(value)}")
    return value


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    product = mm(mat1, mat2)  # the shape and dtype checks
    try:
        np.broadcast_shapes(input.shape, product.shape)
    except ValueError:
        raise runtime_error(
            f"The expanded size of the tensor ({product.shape[-1]}) must match the existing "
            f"size ({input.shape[-1]}) at non-singleton dimension {input.ndim - 1}.  Target "
            f"sizes: {list(product.shape)}.  Tensor sizes: {list(input.shape)}") from None
    scales = (_number(beta, "beta"), _number(alpha, "alpha"))
    return call(O.addmm, (input, mat1, mat2), None if scales == (1, 1) else scales)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    from gradcli.torch.linalg import mv

    mv(mat, vec)
    return call(_addmv, (input, mat, vec), (_number(beta, "beta"), _number(alpha, "alpha")))


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    bmm(batch1, batch2)
    return call(_baddbmm, (input, batch1, batch2),
                (_number(beta, "beta"), _number(alpha, "alpha")))


# ----- trace, det, inverse, solve --------------------------------------------------------


def _at_least_2d(input, name):
    if input.ndim < 2:
        raise runtime_error(f"{name}: The input tensor A must have at least 2 dimensions.")


def _check_square(input, name):
    _at_least_2d(input, name)
    if input.shape[-1] != input.shape[-2]:
        raise runtime_error(f"{name}: A must be batches of square matrices, but they are "
                            f"{input.shape[-2]} by {input.shape[-1]} matrices")
    if not input.dtype.is_floating_point:
        raise runtime_error(f"{name}: Expected a floating point or complex tensor as input. "
                            f"Got {_torch_dtype(input)}")


@op("_linalg_det", save=save_self_and_result)
def _det(xs, p):
    a = xs[0]
    flat = a.reshape((-1,) + a.shape[-2:])
    dets = np.array([_lu_det(m) for m in flat], a.dtype)
    return dets.reshape(a.shape[:-2])


def _lu_det(m):
    """det as PyTorch computes it: LAPACK's LU with partial pivoting (of the transpose, as
    LAPACK reads a row-major matrix), in the input's precision, det = sign * prod(diag U)."""
    u = m.T.copy()
    n = u.shape[0]
    sign = 1
    for k in range(n):
        pivot = k + int(np.argmax(np.abs(u[k:, k])))
        if pivot != k:
            u[[k, pivot]] = u[[pivot, k]]
            sign = -sign
        if u[k, k] != 0:
            u[k + 1:, k] *= u.dtype.type(1) / u[k, k]
            u[k + 1:, k + 1:] -= np.outer(u[k + 1:, k], u[k, k + 1:])
    product = u.dtype.type(sign)
    for value in np.diagonal(u):
        product = product * value
    return product


@_det.derivative
def _(ctx, grad, xp):
    a, det = ctx.saved
    # d det(A) = tr(adj(A) dA): the gradient is grad * adj(A)^T (det(A) A^-T if invertible)
    if grad.__class__ is Tensor and np.all(xp.numpy(det) != 0):
        # create_graph: through recorded ops, so the gradient is differentiable again
        # (PyTorch solves A^T X = grad·det·I: LinalgSolveExBackward0)
        scale = shapes.unsqueeze(shapes.unsqueeze(mul(grad, det), -1), -1)
        n = a.shape[-1]
        identity = Tensor(np.eye(n, dtype=a.dtype.numpy))
        return (call(_solve, (shapes.transpose(a, -2, -1), mul(scale, identity)), False),)
    return (xp.unsqueeze(xp.unsqueeze(grad, -1), -1) * xp.constant(_cofactors(xp.numpy(a))),)


def _cofactors(a):
    """adj(A)^T for each matrix of a batch, through the inverse where A is invertible and
    minor by minor where it is not."""
    flat = a.reshape((-1,) + a.shape[-2:]).astype(np.float64)
    out = np.empty_like(flat)
    n = a.shape[-1]
    for k, m in enumerate(flat):
        d = np.linalg.det(m)
        if d != 0:
            out[k] = d * np.linalg.inv(m).T
            continue
        for i in range(n):
            for j in range(n):
                minor = np.delete(np.delete(m, i, 0), j, 1)
                out[k, i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return out.reshape(a.shape).astype(a.dtype)


def det(input):
    _check_square(input, "linalg.det")
    return call(_det, (input,))


@op("linalg_inv_ex", save=lambda inputs, out, p, needs: (out,))
def _inverse(xs, p):
    return np.linalg.inv(xs[0]).astype(xs[0].dtype)


@_inverse.derivative
def _(ctx, grad, xp):
    (inverse_,) = ctx.saved
    # d(A^-1) = -A^-1 dA A^-1: the gradient is -A^-T grad A^-T
    return (-(xp.mT(inverse_) @ grad @ xp.mT(inverse_)),)


def inverse(input):
    _check_square(input, "linalg.inv")
    _check_invertible(input, "linalg.inv")
    return call(_inverse, (input,))


def _check_invertible(a, name):
    arrays = a.array.reshape((-1,) + a.shape[-2:])
    for m in arrays:
        if m.size and np.linalg.matrix_rank(m.astype(np.float64)) < m.shape[0]:
            lu_zero = _first_zero_pivot(m)
            # torch.linalg.LinAlgError, a RuntimeError subclass
            raise ProgramError(
                "_LinAlgError",
                f"{name}: The diagonal element {lu_zero} is zero, the inversion could not be "
                "completed because the input matrix is singular.")


def _first_zero_pivot(m):
    """LU with partial pivoting (LAPACK's getrf): the 1-based index of the first zero on
    U's diagonal."""
    u = m.astype(np.float64).T.copy()
    n = u.shape[0]
    for k in range(n):
        pivot = k + int(np.argmax(np.abs(u[k:, k])))
        if u[pivot, k] == 0:
            return k + 1
        u[[k, pivot]] = u[[pivot, k]]
        u[k + 1:, k:] -= np.outer(u[k + 1:, k] / u[k, k], u[k, k:])
    return n


@op("_linalg_solve_ex", save=lambda inputs, out, p, needs: (inputs[0], out))
def _solve(xs, p):
    a, b = xs
    if p:  # b is a vector (or a batch of them)
        return np.linalg.solve(a, b[..., None])[..., 0].astype(a.dtype)
    return np.linalg.solve(a, b).astype(a.dtype)


@_solve.derivative
def _(ctx, grad, xp):
    a, x = ctx.saved
    vector = ctx.params
    if grad.__class__ is Tensor:
        # create_graph: gB = solve(A^T, grad), gA = -gB X^T, through recorded ops
        a_t = shapes.transpose(a, -2, -1)
        if vector:  # PyTorch solves for a one-column matrix and squeezes it (SqueezeBackward1)
            gb = shapes.squeeze(call(_solve, (a_t, shapes.unsqueeze(grad, -1)), False), -1)
        else:
            gb = call(_solve, (a_t, grad), False)
        if vector:
            ga = mul(shapes.unsqueeze(gb, -1), shapes.unsqueeze(x, -2))
        else:
            ga = gb @ shapes.transpose(x, -2, -1)
        return (-ga if ctx.needs[0] else None, gb if ctx.needs[1] else None)
    a_t = xp.numpy(a).swapaxes(-1, -2)
    g = xp.numpy(grad)
    gb = np.linalg.solve(a_t, g[..., None])[..., 0] if vector else np.linalg.solve(a_t, g)
    xv = xp.numpy(x)
    ga = -(gb[..., :, None] * xv[..., None, :]) if vector else -(gb @ xv.swapaxes(-1, -2))
    return (xp.constant(ga.astype(g.dtype)) if ctx.needs[0] else None,
            xp.constant(gb.astype(g.dtype)) if ctx.needs[1] else None)


def solve(A, B, *, left=True):
    _check_square(A, "linalg.solve")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if B.shape[-1 if vector else -2] != A.shape[-1]:
        raise runtime_error(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({_shape_x(A.shape)} and {_shape_x(B.shape + (1,) if vector else B.shape)})")
    _check_invertible(A, "linalg.solve")
    return call(_solve, (A, B), vector)


def _shape_x(shape):
    return "x".join(map(str, shape))


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    _at_least_2d(A, "linalg.matrix_norm")
    if ord != "fro":
        raise runtime_error(f"linalg.matrix_norm: ord={ord!r} is not supported by gradcli yet")
    dims = tuple(sorted(wrap_dim(d, A.ndim) for d in dim))
    return call(O.vector_norm, (A,), (2, dims, keepdim))


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.vector_norm: the ord-norm over `dim` (all elements when None)."""
    if not x.dtype.is_floating_point:
        raise runtime_error("linalg.vector_norm: Expected a floating point or complex tensor "
                            f"as input. Got {_dtype_name(x.dtype)}")
    if isinstance(dim, int):
        dim = (dim,)
    dims = tuple(sorted(wrap_dim(d, x.ndim) for d in dim)) if dim is not None else None
    return call(O.vector_norm, (x,), (float(ord), dims, keepdim))


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm (torch/linalg's dispatch): a vector norm over one dim or, with
    neither ord nor dim, over all elements; a matrix norm over two dims or a 2-D input."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim)
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim)
    if ord is None:
        return vector_norm(A, 2, None, keepdim)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim)
    raise runtime_error("linalg.norm: If dim is not specified but ord is, the input must be "
                        f"1D or 2D. Got {A.ndim}D.")


# ----- cdist, dist ------------------------------------------------------------------------


def _p_norm(diff, p, axis):
    magnitude = np.abs(diff)
    if p == 0:
        return np.sum(magnitude != 0, axis=axis).astype(diff.dtype)
    if p == math.inf:
        return np.max(magnitude, axis=axis) if magnitude.size else np.zeros(
            magnitude.shape[:-1], diff.dtype)
    if p == 1:
        return np.sum(magnitude, axis=axis)
    if p == 2:
        return np.sqrt(np.sum(magnitude * magnitude, axis=axis))
    return np.sum(magnitude ** p, axis=axis) ** (1.0 / p)


def _p_norm_grad(diff, norm, p):
    """d||diff||_p / d diff."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == 0:
            return np.zeros_like(diff)
        if p == 1:
            return np.sign(diff)
        if p == math.inf:
            return np.sign(diff) * (np.abs(diff) == norm)
        scaled = diff * np.abs(diff) ** (p - 2) / norm ** (p - 1)
    return np.where(norm == 0, 0, scaled)


@op("_cdist_forward", name="CdistBackward0", save=save_inputs)
def _cdist(xs, p):
    a, b = xs
    diff = a[..., :, None, :] - b[..., None, :, :]
    return _p_norm(diff, p, -1).astype(a.dtype)


def _first_order_only(grad, name):
    if grad.__class__ is Tensor:
        raise ProgramError("NotImplementedError", f"gradcli cannot differentiate {name}'s "
                           "backward (create_graph=True)")


@_cdist.derivative
def _(ctx, grad, xp):
    _first_order_only(grad, "cdist")
    a, b = (xp.numpy(s) for s in ctx.saved)
    g = xp.numpy(grad)
    diff = a[..., :, None, :] - b[..., None, :, :]
    norm = _p_norm(diff, ctx.params, -1)[..., None]
    local = _p_norm_grad(diff, norm, ctx.params) * g[..., None]
    return (xp.constant(local.sum(-2).astype(g.dtype)) if ctx.needs[0] else None,
            xp.constant((-local).sum(-3).astype(g.dtype)) if ctx.needs[1] else None)


def cdist(x1, x2, p=2.0, compute_mode=None):
    for name, x in (("X1", x1), ("X2", x2)):
        if x.ndim < 2:
            raise runtime_error(f"cdist only supports at least 2D tensors, {name} got: "
                                f"{x.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise runtime_error(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: "
            f"{x2.shape[-1]}")
    return call(_cdist, (x1, x2), float(p))


@op("dist", save=lambda inputs, out, p, needs: (inputs[0], inputs[1], out))
def _dist(xs, p):
    diff = (xs[0] - xs[1]).reshape(-1)
    return np.asarray(_p_norm(diff, p, -1), np.result_type(*xs))


@_dist.derivative
def _(ctx, grad, xp):
    _first_order_only(grad, "dist")
    a, b, result = (xp.numpy(s) for s in ctx.saved)
    g = xp.numpy(grad)
    diff = np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)) - b
    local = (_p_norm_grad(diff, result, ctx.params) * g).astype(g.dtype)
    return (xp.constant(local) if ctx.needs[0] else None,
            xp.constant(-local) if ctx.needs[1] else None)


def dist(input, other, p=2):
    try:
        np.broadcast_shapes(input.shape, other.shape)
    except ValueError:
        from gradcli.torch.pointwise import broadcast_error

        raise broadcast_error(input.shape, other.shape) from None
    return call(_dist, (input, other), float(p))


FUNCTIONS = {
    "addmm": addmm, "addmv": addmv, "baddbmm": baddbmm, "bmm": bmm, "cdist": cdist,
    "cross": cross, "det": det, "dist": dist, "einsum": einsum, "inner": inner,
    "inverse": inverse, "kron": kron, "tensordot": tensordot,
}
TENSOR_METHODS = {
    "addmm": addmm, "addmv": addmv, "baddbmm": baddbmm, "bmm": bmm, "cross": cross,
    "det": det, "dist": dist, "inner": inner, "inverse": inverse, "kron": kron,
}
LINALG = {
    "cross": linalg_cross, "det": det, "inv": inverse, "matrix_norm": matrix_norm,
    "norm": linalg_norm, "solve": solve, "vector_norm": vector_norm,
}
