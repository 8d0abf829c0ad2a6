"""Finite-difference checks, in float64, for every entry of the op table.

The test is parametrized over ``gradcli.aten.ops.OPS`` itself: registering a new op without
adding a case to ``CASES`` below makes ``test_gradcheck[<overload>]`` fail.

Each case builds float64 leaves (``requires_grad=True``), calls gradcli's torch surface
(``gradcli.torch.functions``), reduces the result with a random projection ``(out * R).sum()`` and
runs ``gradcli.autodiff.engine.backward``.  Every leaf's ``.grad`` is compared with central
differences of the same forward evaluated with grad mode off.  Inputs are chosen away
from kinks and ties (positive where log/sqrt need it, distinct values for max/min, ...).
The output's ``grad_fn.name()`` must be the name derived for the overload
(``gradcli.aten.grad_fn_names.backward_name``), and the overload's node must be in the graph.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import pytest

from gradcli.aten import ops as O
from gradcli.aten.grad_fn_names import backward_name
from gradcli.aten.ops import OPS
from gradcli.aten.overloads import DERIVATIVES_YAML_ORDER
from gradcli.autodiff import engine
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base import dtypes
from gradcli.base.errors import ProgramError
from gradcli.torch import activations as ACT  # registers F.gelu's ops and the others
from gradcli.torch import diag as DIAG  # registers torch.diag's ops in OPS
from gradcli.torch import functions as api
from gradcli.torch import gathering as GA  # registers the indexing ops in OPS
from gradcli.torch import matrices as MX  # registers the linear-algebra ops in OPS
from gradcli.torch import reshaping as RS  # registers the shape ops in OPS
from gradcli.torch import tensor_api as TAPI  # registers pointwise/scan/sorting/reduction ops
from gradcli.torch.nn import convolution as CONV
from gradcli.torch.nn import functional as NF  # registers torch.nn's ops in OPS
from gradcli.torch.nn import normalization as NORM
from gradcli.torch.nn import pooling as POOL
from gradcli.torch.nn import pooling_ops as POOL_OPS
from gradcli.torch.nn import sparse as SPARSE

EPS = 1e-6
RTOL = 1e-5
ATOL = 1e-7


# ----- input builders --------------------------------------------------------------------


def distinct(shape, rng):
    """Values in (-1.5, 1.5): pairwise distinct, distinct in absolute value, away from 0."""
    n = max(math.prod(shape), 1)
    magnitude = (rng.permutation(n) + rng.uniform(0.2, 0.8, n)) * (1.5 / n)
    sign = rng.choice([-1.0, 1.0], n)
    return (magnitude * sign).reshape(shape)


def positive(shape, rng):
    return rng.uniform(0.5, 2.0, shape)


def unit(shape, rng):
    """Probabilities in (0.1, 0.9)."""
    return rng.uniform(0.1, 0.9, shape)


def small(shape, rng):
    return rng.uniform(-1.0, 1.0, shape)


@dataclass
class Case:
    label: str
    inputs: list  # (shape, builder) pairs, or callables rng -> list of arrays
    fn: object  # fn(*leaves) -> Tensor
    root: str | None = None  # overload expected at the root when not the tested one
    grad: tuple | None = None  # which leaves require grad (default: all)
    eps: float = EPS
    rtol: float = RTOL
    atol: float = ATOL
    bug: str | None = None  # a known gradcli bug: checked as a strict xfail
    backward_error: str | None = None  # PyTorch records the op but cannot differentiate it


def C(label, inputs, fn, **kw) -> Case:
    return Case(label, inputs, fn, **kw)


D, P, U, S = distinct, positive, unit, small
t64 = dtypes.float64
f32 = dtypes.float32


def const(values, dtype=None):
    return api.tensor(values, dtype=dtype)


def direct(overload, p=None):
    """Call an op that no torch function reaches on its own (it appears only in the graphs
    create_graph=True records) straight through ops.call."""
    return lambda *xs: O.call(O.OPS[overload], xs, p)


def remainder_pair(rng):
    """a = b * (k + f) with f in (0.2, 0.8): far from remainder's jumps."""
    b = rng.uniform(1.0, 2.0, (2, 3))
    k = rng.integers(-2, 3, (2, 3))
    return [b * (k + rng.uniform(0.2, 0.8, (2, 3))), b]


def with_zero(shape):
    def build(rng):
        x = distinct(shape, rng)
        x.reshape(-1)[1] = 0.0
        return [x]

    return build


BUG_MATMUL_2D_3D = (
    "matmul(2-D, 3-D) is lowered to expand+bmm (UnsafeViewBackward0); PyTorch computes "
    "(B^T @ x^T)^T with one mm and ends in CloneBackward0(TransposeBackward0(...))"
)
BUG_MATMUL_1D_3D = (
    "matmul(1-D, 3-D) is lowered to bmm + squeeze; PyTorch folds it into one mv: "
    "UnsafeViewBackward0(MvBackward0(...))"
)
BUG_WHERE_SCALAR_INPUT = (
    "where(cond, <python scalar>, tensor) computes where(cond, tensor, scalar): the forward "
    "swaps the two branches"
)

COND = np.array([[True, False, True], [False, False, True]])

CASES: dict[str, list[Case]] = {
    # ----- arithmetic
    "add.Tensor": [
        C("scalar0d", [((), D), ((), D)], api.add),
        C("vec", [((3,), D), ((3,), D)], api.add),
        C("mat", [((2, 3), D), ((2, 3), D)], api.add),
        C("bcast_2x1_3", [((2, 1), D), ((3,), D)], api.add),
        C("bcast_0d", [((2, 3), D), ((), D)], api.add),
        C("alpha", [((2, 3), D), ((3,), D)], lambda a, b: api.add(a, b, alpha=2.5)),
        C("python_scalar", [((2, 3), D)], lambda a: api.add(a, 2.0)),
        C("scalar_first", [((3,), D)], lambda a: api.add(3, a)),
    ],
    "sub.Tensor": [
        C("mat", [((2, 3), D), ((2, 3), D)], api.sub),
        C("bcast_2x1_3", [((2, 1), D), ((3,), D)], api.sub),
        C("alpha", [((3,), D), ((3,), D)], lambda a, b: api.sub(a, b, alpha=-1.5)),
        C("python_scalar", [((2, 3), D)], lambda a: api.sub(a, 2.0)),
        C("only_other_grad", [((3,), D), ((2, 3), D)], api.sub, grad=(False, True)),
    ],
    "rsub.Scalar": [
        C("vec", [((3,), D)], lambda a: api.rsub(a, 2.0)),
        C("scalar0d", [((), D)], lambda a: api.rsub(a, 2)),
        C("alpha", [((2, 3), D)], lambda a: api.rsub(a, 2.0, alpha=3)),
    ],
    "mul.Tensor": [
        C("scalar0d", [((), D), ((), D)], api.mul),
        C("mat", [((2, 3), D), ((2, 3), D)], api.mul),
        C("bcast_2x1_3", [((2, 1), D), ((3,), D)], api.mul),
        C("python_scalar", [((2, 3), D)], lambda a: api.mul(a, 2.5)),
        C("one_side", [((2, 3), D), ((2, 3), D)], api.mul, grad=(True, False)),
        C("self_square", [((3,), D)], lambda a: api.mul(a, a)),
    ],
    "div.Tensor": [
        C("mat", [((2, 3), D), ((2, 3), P)], api.div),
        C("bcast_2x1_3", [((2, 1), D), ((3,), P)], api.div),
        C("python_scalar", [((2, 3), D)], lambda a: api.div(a, 4.0)),
        C("denominator_only", [((3,), D), ((3,), P)], api.div, grad=(False, True)),
    ],
    "mul.Scalar": [
        C("cross_entropy_label_smoothing", [((3, 4), D)],
          lambda a: api.cross_entropy(a, const([0, 3, 1], dtypes.int64), label_smoothing=0.2)),
        C("cross_entropy_smoothed_probabilities", [((3, 4), D), ((3, 4), U)],
          lambda a, t: api.cross_entropy(a, t, label_smoothing=0.3)),
    ],
    "div.Scalar": [
        C(
            "cross_entropy_probabilities",
            [((3, 4), D), ((3, 4), U)],
            lambda a, t: api.cross_entropy(a, t),
            grad=(True, False),
        ),
        C(
            "cross_entropy_probabilities_unbatched",
            [((4,), D), ((4,), U)],
            lambda a, t: api.cross_entropy(a, t),
        ),
    ],
    "neg": [C("mat", [((2, 3), D)], api.neg), C("scalar0d", [((), D)], api.neg)],
    "reciprocal": [
        C("pos", [((2, 3), P)], api.reciprocal),
        C("neg", [((3,), P)], lambda a: api.reciprocal(api.neg(a))),
        C("rdiv", [((3,), P)], lambda a: api.rdiv(a, 2.0), root="mul.Tensor"),
    ],
    "pow.Tensor_Scalar": [
        C("square", [((2, 3), D)], lambda a: api.pow(a, 2)),
        C("square_method", [((3,), D)], api.square),
        C("cube", [((3,), D)], lambda a: api.pow(a, 3)),
        C("sqrt", [((2, 3), P)], lambda a: api.pow(a, 0.5)),
        C("negative_frac", [((3,), P)], lambda a: api.pow(a, -1.5)),
        C("zero", [((3,), D)], lambda a: api.pow(a, 0)),
        C("scalar0d", [((), P)], lambda a: api.pow(a, 2.5)),
    ],
    "pow.Tensor_Tensor": [
        C("mat", [((2, 3), P), ((2, 3), D)], api.pow),
        C("bcast_2x1_3", [((2, 1), P), ((3,), D)], api.pow),
        C("base_only", [((3,), P), ((3,), D)], api.pow, grad=(True, False)),
        C("exponent_only", [((3,), P), ((3,), D)], api.pow, grad=(False, True)),
    ],
    "pow.Scalar": [
        C("two", [((2, 3), D)], lambda a: api.pow(2.0, a)),
        C("half", [((3,), D)], lambda a: api.pow(0.5, a)),
        C("int_base", [((), D)], lambda a: api.pow(3, a)),
    ],
    "floor_divide": [
        C(
            "tensor_tensor",
            [((2, 3), D), ((2, 3), P)],
            api.floor_divide,
            backward_error="derivative for aten::floor_divide is not implemented",
        ),
        C(
            "python_scalar",
            [((3,), D)],
            lambda a: api.floor_divide(a, 2),
            backward_error="derivative for aten::floor_divide is not implemented",
        ),
    ],
    "remainder.Scalar": [
        C(
            "vec",
            [lambda rng: [1.5 * (rng.integers(-2, 3, 6) + rng.uniform(0.2, 0.8, 6))]],
            lambda a: api.remainder(a, 1.5),
        ),
    ],
    "remainder.Tensor": [
        C("mat", [remainder_pair], api.remainder),
        C("divisor_only", [remainder_pair], api.remainder, grad=(False, True)),
    ],
    # ----- matrix products
    "mm": [
        C("mm", [((2, 3), D), ((3, 4), D)], api.mm),
        C("matmul_2d", [((2, 3), D), ((3, 4), D)], api.matmul),
        C("matmul_1d_2d", [((3,), D), ((3, 4), D)], api.matmul, root="squeeze_.dim"),
        C(
            "matmul_2d_3d",
            [((2, 3), D), ((2, 3, 4), D)],
            api.matmul,
            root="clone",
        ),
        C("matmul_3d_2d", [((2, 2, 3), D), ((3, 4), D)], api.matmul, root="_unsafe_view"),
        C("rhs_only", [((2, 3), D), ((3, 4), D)], api.mm, grad=(False, True)),
    ],
    "mv": [
        C("mv", [((2, 3), D), ((3,), D)], api.mv),
        C("matmul_2d_1d", [((2, 3), D), ((3,), D)], api.matmul),
        C(
            "matmul_1d_3d",
            [((3,), D), ((2, 3, 4), D)],
            api.matmul,
            root="_unsafe_view",
        ),
        C("matmul_3d_1d", [((2, 2, 3), D), ((3,), D)], api.matmul, root="_unsafe_view"),
    ],
    "dot": [
        C("dot", [((3,), D), ((3,), D)], api.dot),
        C("matmul_1d_1d", [((4,), D), ((4,), D)], api.matmul),
        C("same", [((3,), D)], lambda a: api.dot(a, a)),
    ],
    "bmm": [
        C("matmul_3d_3d", [((2, 2, 3), D), ((2, 3, 4), D)], api.matmul, root="_unsafe_view"),
        C("matmul_bcast", [((2, 1, 2, 3), D), ((2, 3, 4), D)], api.matmul, root="_unsafe_view"),
    ],
    "addmm": [
        C("linear_bias", [((2, 3), D), ((4, 3), D), ((4,), D)], api.linear),
        C(
            "linear_weight_only",
            [((2, 3), D), ((4, 3), D), ((4,), D)],
            api.linear,
            grad=(False, True, False),
        ),
    ],
    # ----- element-wise
    "exp": [C("mat", [((2, 3), D)], api.exp), C("scalar0d", [((), D)], api.exp)],
    "log": [C("mat", [((2, 3), P)], api.log), C("scalar0d", [((), P)], api.log)],
    "log2": [C("mat", [((2, 3), P)], api.log2)],
    "log10": [C("mat", [((2, 3), P)], api.log10)],
    "log1p": [C("mat", [((2, 3), U)], api.log1p)],
    "expm1": [C("mat", [((2, 3), D)], api.expm1)],
    "sqrt": [C("mat", [((2, 3), P)], api.sqrt), C("scalar0d", [((), P)], api.sqrt)],
    "rsqrt": [C("mat", [((2, 3), P)], api.rsqrt)],
    "sin": [C("mat", [((2, 3), D)], api.sin)],
    "cos": [C("mat", [((2, 3), D)], api.cos)],
    "tan": [C("mat", [((2, 3), S)], api.tan)],
    "tanh": [C("mat", [((2, 3), D)], api.tanh)],
    "abs": [C("mat", [((2, 3), D)], api.abs), C("scalar0d", [((), D)], api.abs)],
    "sign": [C("mat", [((2, 3), D)], api.sign)],
    "sigmoid": [C("mat", [((2, 3), D)], api.sigmoid), C("vec", [((3,), D)], api.sigmoid)],
    "relu": [C("mat", [((2, 3), D)], api.relu), C("scalar0d", [((), D)], api.relu)],
    "div.Tensor_mode": [
        C("floor", [((2, 3), D), ((2, 3), P)], lambda a, b: api.div(a, b, rounding_mode="floor")),
        C("trunc_scalar", [((3,), D)], lambda a: api.div(a, 2, rounding_mode="trunc")),
    ],
    "clamp.Tensor": [
        C("min_max", [((2, 3), D), ((2, 3), D), ((3,), D)],
          lambda a, low, high: api.clamp(a, min=low, max=high + 10.0)),
        C("min_only", [((2, 3), D), ((2, 3), D)], lambda a, low: api.clamp(a, min=low)),
    ],
    "clamp": [
        C("both", [((2, 3), D)], lambda a: api.clamp(a, min=-0.55, max=0.55)),
        C("min0", [((2, 3), D)], lambda a: api.clamp(a, min=0)),
        C("max_only", [((3,), D)], lambda a: api.clamp(a, max=0.05)),
        C("clip", [((2, 3), D)], lambda a: api.clip(a, -0.55, 0.55)),
    ],
    "maximum": [
        C("mat", [((2, 3), D), ((2, 3), D)], api.maximum),
        C("bcast_2x1_3", [((2, 1), D), ((3,), D)], api.maximum),
    ],
    "minimum": [
        C("mat", [((2, 3), D), ((2, 3), D)], api.minimum),
        C("bcast_2x1_3", [((2, 1), D), ((3,), D)], api.minimum),
    ],
    "where.self": [
        C("mat", [((2, 3), D), ((2, 3), D)], lambda a, b: api.where(const(COND.tolist()), a, b)),
        C("bcast", [((2, 1), D), ((3,), D)], lambda a, b: api.where(const(COND.tolist()), a, b)),
        C("scalar_other", [((2, 3), D)], lambda a: api.where(const(COND.tolist()), a, 0.5)),
        C(
            "scalar_input",
            [((2, 3), D)],
            lambda a: api.where(const(COND.tolist()), 0.5, a),
        ),
    ],
    # ----- reductions
    "sum": [
        C("scalar0d", [((), D)], api.sum),
        C("vec", [((3,), D)], api.sum),
        C("mat", [((2, 3), D)], api.sum),
    ],
    "sum.dim_IntList": [
        C("dim0", [((2, 3), D)], lambda a: api.sum(a, 0)),
        C("dim_neg", [((2, 3), D)], lambda a: api.sum(a, -1)),
        C("dims_keepdim", [((2, 3, 2), D)], lambda a: api.sum(a, (0, 2), keepdim=True)),
        C("dims_tuple", [((2, 3, 2), D)], lambda a: api.sum(a, (2, 0))),
    ],
    "mean": [C("vec", [((3,), D)], api.mean), C("mat", [((2, 3), D)], api.mean)],
    "mean.dim": [
        C("dim1", [((2, 3), D)], lambda a: api.mean(a, 1)),
        C("keepdim", [((2, 3), D)], lambda a: api.mean(a, 0, keepdim=True)),
        C("dims", [((2, 3, 2), D)], lambda a: api.mean(a, (0, 2))),
    ],
    "prod": [
        C("mat", [((2, 3), D)], api.prod),
        C("with_zero", [with_zero((2, 3))], api.prod),
        C("scalar0d", [((), D)], api.prod),
    ],
    "prod.dim_int": [
        C("dim1", [((2, 3), D)], lambda a: api.prod(a, 1)),
        C("keepdim", [((2, 3), D)], lambda a: api.prod(a, 0, keepdim=True)),
        C("with_zero", [with_zero((2, 3))], lambda a: api.prod(a, 1)),
    ],
    "max.dim": [
        C("dim1", [((2, 3), D)], lambda a: api.max(a, 1)[0]),
        C("dim0_keepdim", [((2, 3), D)], lambda a: api.max(a, 0, keepdim=True)[0]),
        C("dim_neg_3d", [((2, 3, 2), D)], lambda a: api.max(a, -1).values),
    ],
    "min.dim": [
        C("dim1", [((2, 3), D)], lambda a: api.min(a, 1)[0]),
        C("dim0_keepdim", [((2, 3), D)], lambda a: api.min(a, 0, keepdim=True)[0]),
    ],
    "max": [C("mat", [((2, 3), D)], api.max), C("vec", [((4,), D)], api.max)],
    "min": [C("mat", [((2, 3), D)], api.min)],
    "amax": [
        C("dim1", [((2, 3), D)], lambda a: api.amax(a, 1)),
        C("all", [((2, 3), D)], api.amax),
        C("dims_keepdim", [((2, 3, 2), D)], lambda a: api.amax(a, (0, 2), keepdim=True)),
    ],
    "amin": [
        C("dim0", [((2, 3), D)], lambda a: api.amin(a, 0)),
        C("all", [((2, 3), D)], api.amin),
    ],
    "linalg_vector_norm": [
        C("fro", [((2, 3), D)], api.norm),
        C("vec", [((3,), D)], api.norm),
        C("p1", [((2, 3), D)], lambda a: api.norm(a, p=1)),
        C("p3", [((2, 3), D)], lambda a: api.norm(a, p=3)),
        C("p1_5", [((3,), D)], lambda a: api.norm(a, p=1.5)),
        C("inf", [((2, 3), D)], lambda a: api.norm(a, p=math.inf)),
        C("neg_inf", [((2, 3), D)], lambda a: api.norm(a, p=-math.inf)),
        C("dim1", [((2, 3), D)], lambda a: api.norm(a, dim=1)),
        C("dim0_keepdim_p1", [((2, 3), D)], lambda a: api.norm(a, p=1, dim=0, keepdim=True)),
        C("dim1_p3", [((2, 3), D)], lambda a: api.norm(a, p=3, dim=1)),
    ],
    "var.correction": [
        C("all", [((2, 3), D)], api.var),
        C("dim1", [((2, 3), D)], lambda a: api.var(a, 1)),
        C("biased", [((2, 3), D)], lambda a: api.var(a, unbiased=False)),
        C("keepdim", [((2, 3), D)], lambda a: api.var(a, 0, keepdim=True)),
        C("correction0_dims", [((2, 3, 2), D)], lambda a: api.var(a, (0, 2), correction=0)),
    ],
    "std.correction": [
        C("all", [((2, 3), D)], api.std),
        C("dim1", [((2, 3), D)], lambda a: api.std(a, 1)),
        C("biased_keepdim", [((2, 3), D)], lambda a: api.std(a, 0, False, True)),
    ],
    "logsumexp": [
        C("dim1", [((2, 3), D)], lambda a: api.logsumexp(a, 1)),
        C("dims_keepdim", [((2, 3), D)], lambda a: api.logsumexp(a, (0, 1), keepdim=True)),
        C("vec", [((4,), D)], lambda a: api.logsumexp(a, 0)),
    ],
    # ----- shape and indexing
    "view": [
        C("view", [((2, 3), D)], lambda a: api.view(a, 6)),
        C("view_infer", [((2, 3), D)], lambda a: api.view(a, -1, 2)),
        C("reshape_infer", [((2, 3), D)], lambda a: api.reshape(a, -1)),
        C("reshape", [((2, 3), D)], lambda a: api.reshape(a, (3, 2))),
        C("flatten", [((2, 3, 2), D)], lambda a: api.flatten(a, 1)),
    ],
    "_unsafe_view": [
        C("reshape_noncontig", [((2, 3), D)], lambda a: api.reshape(api.t(a), (6,))),
    ],
    "_reshape_alias": [  # a non-contiguous input whose strides allow a view
        C("reshape_alias", [((2, 3), D)], lambda a: api.reshape(api.t(a), (3, 2)),
          root="_reshape_alias"),
    ],
    "clone": [C("clone", [((2, 3), D)], api.clone)],
    "alias": [
        C("ellipsis", [((3,), D)], lambda a: api.getitem(a, Ellipsis)),
        C("two_full_slices", [((2, 3), D)], lambda a: api.getitem(a, (slice(None),) * 2)),
        C("scalar0d_ellipsis", [((), D)], lambda a: api.getitem(a, Ellipsis)),
    ],
    "_to_copy": [
        C(
            "float32_roundtrip",
            [((2, 3), D)],
            lambda a: api.double(api.to(a, f32)),
            eps=1e-2,
            rtol=1e-4,
            atol=1e-5,
        ),
    ],
    "unsqueeze": [
        C("dim0", [((2, 3), D)], lambda a: api.unsqueeze(a, 0)),
        C("dim_neg", [((3,), D)], lambda a: api.unsqueeze(a, -1)),
        C("scalar0d", [((), D)], lambda a: api.unsqueeze(a, 0)),
        C("getitem_none", [((2, 3), D)], lambda a: api.getitem(a, (slice(None), None))),
    ],
    "squeeze": [C("all", [((2, 1, 3), D)], api.squeeze)],
    "squeeze.dim": [
        C("dim1", [((2, 1, 3), D)], lambda a: api.squeeze(a, 1)),
        C("noop", [((2, 3), D)], lambda a: api.squeeze(a, 0)),
    ],
    "squeeze_.dim": [
        C("matmul_1d_2d", [((3,), D), ((3, 4), D)], api.matmul),
        C("matmul_1d_2d_lhs_only", [((2,), D), ((2, 3), D)], api.matmul, grad=(True, False)),
    ],
    "squeeze.dims": [C("dims", [((2, 1, 3, 1), D)], lambda a: api.squeeze(a, (1, 3)))],
    "transpose.int": [
        C("mat", [((2, 3), D)], lambda a: api.transpose(a, 0, 1)),
        C("3d", [((2, 3, 2), D)], lambda a: api.transpose(a, -1, 0)),
        C(
            "scalar0d",
            [((), D)],
            lambda a: api.transpose(a, 0, -1),
        ),
    ],
    "t": [
        C("mat", [((2, 3), D)], api.t),
        C("vec", [((3,), D)], api.t),
        C("scalar0d", [((), D)], api.t),
    ],
    "permute": [
        C("3d", [((2, 3, 2), D)], lambda a: api.permute(a, (2, 0, 1))),
        C("T", [((2, 3), D)], api.T),
    ],
    "expand": [
        C("2x1", [((2, 1), D)], lambda a: api.expand(a, 2, 3)),
        C("new_lead", [((3,), D)], lambda a: api.expand(a, (2, 3))),
        C("minus_one", [((1, 3), D)], lambda a: api.expand(a, 4, -1)),
    ],
    "repeat": [
        C("mat", [((2, 3), D)], lambda a: api.repeat(a, 2, 3)),
        C("vec_more_dims", [((3,), D)], lambda a: api.repeat(a, 2, 2)),
    ],
    "cat": [
        C("dim0", [((2, 3), D), ((1, 3), D)], lambda a, b: api.cat([a, b], 0)),
        C("dim1", [((2, 3), D), ((2, 2), D)], lambda a, b: api.cat([a, b], 1)),
        C("three", [((3,), D), ((2,), D), ((3,), D)], lambda a, b, c: api.cat([a, b, c])),
    ],
    "stack": [
        C("dim0", [((2, 3), D), ((2, 3), D)], lambda a, b: api.stack([a, b])),
        C("dim_last", [((3,), D), ((3,), D)], lambda a, b: api.stack([a, b], -1)),
    ],
    "select.int": [
        C("row", [((2, 3), D)], lambda a: api.getitem(a, 0)),
        C("column", [((2, 3), D)], lambda a: api.getitem(a, (slice(None), 1))),
        C("negative", [((3,), D)], lambda a: api.getitem(a, -1)),
    ],
    "slice.Tensor": [
        C("tail", [((3, 2), D)], lambda a: api.getitem(a, slice(1, None))),
        C("step", [((5,), D)], lambda a: api.getitem(a, slice(None, None, 2))),
        C("dim1", [((2, 4), D)], lambda a: api.getitem(a, (slice(None), slice(1, 3)))),
        C("lone_full_slice", [((2, 3), D)], lambda a: api.getitem(a, slice(None))),
    ],
    "index.Tensor": [
        C("list", [((3, 2), D)], lambda a: api.getitem(a, [0, 2])),
        C("repeated", [((4,), D)], lambda a: api.getitem(a, [1, 1, 3, 1])),
        C(
            "mask",
            [((2, 3), D)],
            lambda a: api.getitem(a, const(COND.tolist())),
        ),
        C(
            "pairs",
            [((3, 4), D)],
            lambda a: api.getitem(a, (api.arange(3), const([0, 3, 1]))),
        ),
    ],
    # ----- nn
    "_softmax": [
        C("dim1", [((2, 3), D)], lambda a: api.softmax(a, 1)),
        C("dim0", [((2, 3), D)], lambda a: api.softmax(a, 0)),
        C("vec", [((4,), D)], lambda a: api.softmax(a, -1)),
    ],
    "_log_softmax": [
        C("dim1", [((2, 3), D)], lambda a: api.log_softmax(a, 1)),
        C("dim0", [((2, 3), D)], lambda a: api.log_softmax(a, 0)),
    ],
    "mse_loss": [
        C("mean", [((2, 3), D), ((2, 3), D)], api.mse_loss),
        C("sum", [((2, 3), D), ((2, 3), D)], lambda a, b: api.mse_loss(a, b, reduction="sum")),
        C("none", [((3,), D), ((3,), D)], lambda a, b: api.mse_loss(a, b, reduction="none")),
        C("input_only", [((2, 3), D), ((2, 3), D)], api.mse_loss, grad=(True, False)),
    ],
    "binary_cross_entropy": [
        C("mean", [((2, 3), U), ((2, 3), U)], api.binary_cross_entropy),
        C(
            "sum_input_only",
            [((4,), U), ((4,), U)],
            lambda a, b: api.binary_cross_entropy(a, b, reduction="sum"),
            grad=(True, False),
        ),
        C(
            "none",
            [((3,), U), ((3,), U)],
            lambda a, b: api.binary_cross_entropy(a, b, reduction="none"),
        ),
        C(
            "weight",
            [((2, 3), U), ((2, 3), U)],
            lambda a, b: api.binary_cross_entropy(a, b, weight=const([[1.0, 2.0, 0.5]], t64)),
        ),
    ],
    "nll_loss_forward": [
        C("mean", [((3, 4), D)], lambda a: api.nll_loss(a, const([0, 3, 1]))),
        C("sum", [((3, 4), D)], lambda a: api.nll_loss(a, const([2, 2, 0]), reduction="sum")),
        C("none", [((3, 4), D)], lambda a: api.nll_loss(a, const([1, 0, 3]), reduction="none")),
        C("unbatched", [((4,), D)], lambda a: api.nll_loss(a, const(2))),
        C(
            "weight",
            [((3, 4), D)],
            lambda a: api.nll_loss(a, const([0, 3, 1]), weight=const([1.0, 2.0, 3.0, 0.5], t64)),
        ),
        C(
            "ignore_index",
            [((3, 4), D)],
            lambda a: api.nll_loss(a, const([0, -100, 1])),
        ),
        C(
            "cross_entropy",
            [((3, 4), D)],
            lambda a: api.cross_entropy(a, const([0, 3, 1])),
        ),
    ],
    # ----- ops that appear only in the graphs create_graph=True records, or in in-place
    # rewrites: no torch function reaches them alone, so they are called through ops.call
    "tanh_backward": [C("mat", [((2, 3), D), ((2, 3), S)], direct("tanh_backward"))],
    "sigmoid_backward": [C("mat", [((2, 3), D), ((2, 3), U)], direct("sigmoid_backward"))],
    "threshold_backward": [C("mat", [((2, 3), D), ((2, 3), D)], direct("threshold_backward"))],
    "_softmax_backward_data": [
        C("dim1", [((2, 3), D), ((2, 3), U)], direct("_softmax_backward_data", 1)),
        C("dim0", [((2, 3), D), ((2, 3), U)], direct("_softmax_backward_data", 0)),
    ],
    "_log_softmax_backward_data": [
        C("dim1", [((2, 3), D), ((2, 3), D)], direct("_log_softmax_backward_data", 1)),
        C("dim0", [((3, 2), D), ((3, 2), D)], direct("_log_softmax_backward_data", 0)),
    ],
    "select_backward": [
        C("row", [((3,), D)], direct("select_backward", ((2, 3), (1,)))),
        C("column", [((2,), D)], direct("select_backward", ((2, 3), (slice(None), 2)))),
    ],
    "slice_backward": [
        C("middle", [((2,), D)], direct("slice_backward", ((4,), (slice(1, 3),)))),
        C(
            "step",
            [((2, 2), D)],
            direct("slice_backward", ((2, 4), (slice(None), slice(0, 4, 2)))),
        ),
    ],
    "index_put": [
        C("accumulate", [((3,), D)], direct("index_put", ((4,), (np.array([1, 1, 3]),)))),
    ],
    "value_selecting_reduction_backward": [
        C(
            "dim1",
            [((2, 1), D)],
            direct("value_selecting_reduction_backward", ((2, 3), 1, np.array([[2], [0]]))),
        ),
    ],
    "copy_": [C("broadcast_src", [((2, 3), D), ((3,), D)], direct("copy_"))],
    "fill_.Scalar": [C("fill", [((2, 3), D)], direct("fill_.Scalar", 2.5))],
    "zero_": [C("zero", [((2, 3), D)], direct("zero_"))],
    "as_strided": [C("flat_positions", [((2, 3), D)], direct("as_strided", np.array([0, 4, 5])))],
    # ----- F.gelu, F.leaky_relu, F.softplus, F.silu, F.binary_cross_entropy_with_logits
    "gelu": [
        C("exact", [((2, 3), D)], ACT.gelu),
        C("tanh", [((2, 3), D)], lambda a: ACT.gelu(a, approximate="tanh")),
    ],
    "gelu_backward": [
        C("exact", [((2, 3), D), ((2, 3), D)], direct("gelu_backward", "none")),
        C("tanh", [((2, 3), D), ((2, 3), D)], direct("gelu_backward", "tanh")),
    ],
    "leaky_relu": [C("slope", [((2, 3), D)], lambda a: ACT.leaky_relu(a, 0.1))],
    "leaky_relu_backward": [
        C("mat", [((2, 3), D), ((2, 3), D)], direct("leaky_relu_backward", 0.1)),
    ],
    "softplus": [
        C("default", [((2, 3), D)], ACT.softplus),
        C("beta", [((2, 3), D)], lambda a: ACT.softplus(a, beta=2.0)),
    ],
    "softplus_backward": [
        C("mat", [((2, 3), D), ((2, 3), D)], direct("softplus_backward", (1.0, 20.0))),
    ],
    "silu": [C("mat", [((2, 3), D)], ACT.silu)],
    "binary_cross_entropy_with_logits": [
        C("mean", [((2, 3), D), ((2, 3), U)], ACT.binary_cross_entropy_with_logits),
        C(
            "sum_pos_weight",
            [((2, 3), D), ((2, 3), U), ((2, 3), P), ((3,), P)],
            lambda a, b, w, pw: ACT.binary_cross_entropy_with_logits(
                a, b, weight=w, reduction="sum", pos_weight=pw),
            grad=(True, True, False, False),
        ),
        C(
            "none_weight",
            [((3,), D), ((3,), U), ((3,), P)],
            lambda a, b, w: ACT.binary_cross_entropy_with_logits(a, b, weight=w,
                                                                 reduction="none"),
            grad=(True, True, False),
        ),
    ],
}


# ----- the check --------------------------------------------------------------------------


def build_arrays(case: Case, rng) -> list[np.ndarray]:
    arrays = []
    for spec in case.inputs:
        if callable(spec):
            arrays.extend(np.asarray(a, dtype=np.float64) for a in spec(rng))
        else:
            shape, builder = spec
            arrays.append(np.asarray(builder(shape, rng), dtype=np.float64))
    return arrays


def forward_no_grad(case: Case, arrays, R) -> float:
    previous = GradMode.enabled
    GradMode.enabled = False
    try:
        out = case.fn(*[Tensor(a.copy(), t64, False) for a in arrays])
    finally:
        GradMode.enabled = previous
    assert out.grad_fn is None
    return float(np.sum(np.asarray(out.array, dtype=np.float64) * R))


def expected_name(overload: str) -> str:
    """The grad_fn name torchgen derives for an overload; an op outside derivatives.yaml
    (floor_divide's NotImplemented node) declares its own."""
    entry = OPS.get(overload)
    if overload in DERIVATIVES_YAML_ORDER or entry is None:
        return backward_name(overload)
    return entry.backward_name


def graph_ops(root) -> set[str]:
    seen, stack, found = set(), [root], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if hasattr(node, "op"):
            found.add(node.op.overload)
        stack.extend(child for child, _ in node.next_functions)
    return found


def check_case(overload: str, case: Case) -> list[str]:
    problems: list[str] = []
    rng = np.random.default_rng(zlib.crc32(f"{overload}/{case.label}".encode()))
    arrays = build_arrays(case, rng)
    wants = case.grad or (True,) * len(arrays)
    leaves = [Tensor(a.copy(), t64, bool(w)) for a, w in zip(arrays, wants, strict=True)]
    out = case.fn(*leaves)
    R = rng.standard_normal(out.shape)

    expected_root = expected_name(case.root or overload)
    if out.grad_fn is None:
        return [f"{case.label}: result has no grad_fn"]
    if out.grad_fn.name() != expected_root:
        problems.append(f"{case.label}: grad_fn {out.grad_fn.name()}, expected {expected_root}")
    if overload not in graph_ops(out.grad_fn):
        problems.append(f"{case.label}: no {expected_name(overload)} node in the graph")
    if out.dtype is not t64:
        problems.append(f"{case.label}: result dtype {out.dtype.name}")

    loss = api.sum(api.mul(out, Tensor(R.copy(), t64, False)))
    if case.backward_error is not None:
        try:
            engine.backward(loss)
        except ProgramError as exc:
            if (exc.type_name, exc.message) != ("RuntimeError", case.backward_error):
                problems.append(f"{case.label}: backward raised {exc.type_name}: {exc.message}")
        else:
            problems.append(f"{case.label}: backward did not raise {case.backward_error!r}")
        return problems
    engine.backward(loss)

    for i, (leaf, want) in enumerate(zip(leaves, wants, strict=True)):
        if not want:
            if leaf.grad is not None:
                problems.append(f"{case.label}: input {i} has grad but does not require it")
            continue
        if leaf.grad is None:
            problems.append(f"{case.label}: input {i} got no grad")
            continue
        grad = leaf.grad.array
        if grad.shape != arrays[i].shape or leaf.grad.dtype is not t64:
            problems.append(
                f"{case.label}: input {i} grad {grad.shape}/{leaf.grad.dtype.name}, "
                f"expected {arrays[i].shape}/float64"
            )
            continue
        numeric = np.zeros_like(arrays[i])
        flat = numeric.reshape(-1)
        for k in range(arrays[i].size):
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[i].reshape(-1)[k] += case.eps
            minus[i].reshape(-1)[k] -= case.eps
            flat[k] = (forward_no_grad(case, plus, R) - forward_no_grad(case, minus, R)) / (
                2 * case.eps
            )
        if not np.allclose(grad, numeric, rtol=case.rtol, atol=case.atol):
            problems.append(f"{case.label}: input {i} analytic grad\n{grad}\nnumeric\n{numeric}")
    return problems


@pytest.mark.parametrize("overload", list(OPS), ids=list(OPS))
def test_gradcheck(overload):
    cases = CASES.get(overload)
    assert cases, f"op {overload!r} is registered in gradcli.aten.ops.OPS but has no gradcheck case"
    problems = []
    for case in cases:
        if case.bug:
            continue  # checked by test_gradcheck_known_bug
        try:
            problems += check_case(overload, case)
        except Exception as exc:  # noqa: BLE001 - report every case, not just the first
            problems.append(f"{case.label}: raised {type(exc).__name__}: {exc}")
    assert not problems, f"{overload}:\n" + "\n".join(problems)


# torch.nn's ops (gradcli/torch/nn): leaky_relu, BCE with logits, bilinear's _trilinear, and
# the identity that module full backward hooks wrap around a module.

CASES.update({
    "leaky_relu": [
        C("slope", [((2, 3), D)], lambda a: NF.leaky_relu(a, 0.2)),
        C("default", [((4,), D)], NF.leaky_relu),
    ],
    "binary_cross_entropy_with_logits": [
        C("mean", [((2, 3), D), ((2, 3), U)], NF.binary_cross_entropy_with_logits),
        C("sum_pos_weight", [((2, 3), D), ((2, 3), U)],
          lambda a, b: NF.binary_cross_entropy_with_logits(
              a, b, pos_weight=const([1.0, 2.0, 3.0], t64), reduction="sum")),
        C("none_weight", [((2, 3), D), ((2, 3), U)],
          lambda a, b: NF.binary_cross_entropy_with_logits(
              a, b, weight=const([[0.5, 1.0, 2.0]], t64), reduction="none")),
        C("input_only", [((4,), D), ((4,), U)], NF.binary_cross_entropy_with_logits,
          grad=(True, False)),
    ],
    "_trilinear": [
        C("bilinear", [((3, 2), D), ((4, 2, 3), D), ((3, 3), D)], direct("_trilinear")),
        C("weight_only", [((3, 2), D), ((4, 2, 3), D), ((3, 3), D)], direct("_trilinear"),
          grad=(False, True, False)),
    ],
})

# torch.diag (gradcli/torch/diag.py): a vector to a diagonal matrix, a matrix to a diagonal.
CASES.update({
    "diag_embed": [
        C("vector", [((3,), D)], DIAG.diag),
        C("below", [((2,), D)], lambda a: DIAG.diag(a, -1)),
        C("batched", [((2, 3), D)], DIAG.diag_embed),
        C("dims_apart", [((2, 3), D)], lambda a: DIAG.diag_embed(a, 1, 0, 2)),
        C("dims_reversed", [((2, 3), D)], lambda a: DIAG.diag_embed(a, -1, 2, 0)),
    ],
    "diagonal_copy": [
        C("square", [((3, 3), D)], DIAG.diag),
        C("wide_above", [((2, 4), D)], lambda a: DIAG.diag(a, 1)),
    ],
})

# Convolution and pooling (gradcli/torch/nn/convolution.py, pooling_ops.py): the forward ops
# through F, and the backward ops that create_graph=True records, called directly.
_GEO = CONV.Geometry(2, (2, 1), ((1, 1), (0, 0)), (1, 2), 2)  # stride, padding, dilation, groups
_X_SHAPE, _W_SHAPE, _Y_SHAPE = (2, 4, 5, 6), (4, 2, 2, 2), (2, 4, 3, 4)
_POOL = POOL_OPS.Window((2, 2), (1, 2), (1, 0), (1, 1), True)
_AVG = POOL_OPS.AvgWindow((3, 2), (2, 1), (1, 1), True, False, None)


def _conv_backward(which):
    return lambda g, x, w: O.call(CONV.convolution_backward_op, (g, x, w), (which, _GEO))


def _max_pool_backward(g, x):
    indices = POOL_OPS.max_indices(x.array, _POOL)[1]
    return O.call(POOL_OPS.max_pool2d_backward_op, (g, x), indices)


CASES.update({
    "convolution": [
        C("conv2d_groups_bias", [(_X_SHAPE, D), (_W_SHAPE, D), ((4,), D)],
          lambda x, w, b: CONV.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                                      groups=2)),
        C("conv1d_same", [((2, 3, 7), D), ((2, 3, 3), D)],
          lambda x, w: CONV.conv1d(x, w, padding="same", dilation=2)),
        C("conv2d_even_same", [((1, 2, 4, 5), D), ((3, 2, 2, 2), D)],
          lambda x, w: CONV.conv2d(x, w, padding="same")),
        C("conv2d_unbatched_weight_only", [((2, 5, 5), D), ((3, 2, 3, 3), D)],
          lambda x, w: CONV.conv2d(x, w, stride=2), root="squeeze.dim", grad=(False, True)),
    ],
    "constant_pad_nd": [
        C("same_even_kernel", [((1, 2, 4, 5), D), ((3, 2, 2, 4), D)],
          lambda x, w: CONV.conv2d(x, w, padding="same"), root="convolution"),
        C("crop_and_pad", [((2, 3, 4), D)],
          lambda x: O.call(CONV.constant_pad_nd_op, (x,), (-1, 2))),
    ],
    "convolution_backward": [
        C("grad_input", [(_Y_SHAPE, D), (_X_SHAPE, D), (_W_SHAPE, D)],
          _conv_backward("input"), grad=(True, False, True)),
        C("grad_weight", [(_Y_SHAPE, D), (_X_SHAPE, D), (_W_SHAPE, D)],
          _conv_backward("weight"), grad=(True, True, False)),
        C("grad_bias", [(_Y_SHAPE, D), (_X_SHAPE, D), (_W_SHAPE, D)],
          _conv_backward("bias"), grad=(True, False, False)),
    ],
    "max_pool2d_with_indices": [
        C("ceil_padding", [((2, 2, 5, 6), D)],
          lambda x: POOL.max_pool2d(x, 2, stride=(1, 2), padding=(1, 0), ceil_mode=True)),
        C("dilated_unbatched", [((2, 6, 7), D)],
          lambda x: POOL.max_pool2d(x, (2, 3), stride=2, dilation=(2, 1))),
        C("max_pool1d", [((2, 3, 9), D)], lambda x: POOL.max_pool1d(x, 3, stride=2, padding=1),
          root="squeeze.dim"),
    ],
    "max_pool2d_with_indices_backward": [
        C("overlapping", [((2, 2, 6, 3), D), ((2, 2, 5, 6), D)], _max_pool_backward),
    ],
    "avg_pool2d": [
        C("ceil_no_pad_count", [((2, 2, 6, 5), D)],
          lambda x: POOL.avg_pool2d(x, (3, 2), stride=(2, 1), padding=1, ceil_mode=True,
                                    count_include_pad=False)),
        C("divisor_unbatched", [((3, 4, 4), D)],
          lambda x: POOL.avg_pool2d(x, 2, padding=1, divisor_override=3)),
    ],
    "avg_pool2d_backward": [
        C("window", [((2, 2, 4, 6), D), ((2, 2, 6, 5), D)],
          lambda g, x: O.call(POOL_OPS.avg_pool2d_backward_op, (g, x), _AVG)),
    ],
    "_adaptive_avg_pool2d": [
        C("uneven", [((2, 3, 7, 5), D)], lambda x: POOL.adaptive_avg_pool2d(x, (3, 2))),
        C("keep_width", [((3, 4, 6), D)], lambda x: POOL.adaptive_avg_pool2d(x, (2, None))),
    ],
    "_adaptive_avg_pool2d_backward": [
        C("uneven", [((2, 3, 3, 2), D), ((2, 3, 7, 5), D)],
          lambda g, x: O.call(POOL_OPS.adaptive_avg_pool2d_backward_op, (g, x))),
    ],
})

# Normalisation and embeddings (gradcli/torch/nn/normalization.py, sparse.py).
CASES.update({
    "native_layer_norm": [
        C("affine", [((3, 4), D), ((4,), D), ((4,), D)],
          lambda x, w, b: NORM.layer_norm(x, (4,), w, b)),
        C("two_dims_plain", [((2, 2, 3), D)], lambda x: NORM.layer_norm(x, (2, 3), eps=0.1)),
        C("weight_only", [((2, 3), D), ((3,), D)], lambda x, w: NORM.layer_norm(x, 3, w),
          grad=(False, True)),
    ],
    "native_batch_norm": [
        C("train_affine", [((4, 3), D), ((3,), D), ((3,), D)],
          lambda x, w, b: NORM.batch_norm(x, None, None, w, b, training=True)),
        C("train_spatial", [((2, 3, 2, 2), D)],
          lambda x: NORM.batch_norm(x, None, None, training=True, eps=0.1)),
        C("eval_running_stats", [((4, 2), D), ((2,), D), ((2,), D)],
          lambda x, w, b: NORM.batch_norm(x, const([0.5, -1.0], t64), const([2.0, 0.5], t64),
                                          w, b)),
    ],
    "native_group_norm": [
        C("affine", [((2, 4, 3), D), ((4,), D), ((4,), D)],
          lambda x, w, b: NORM.group_norm(x, 2, w, b)),
        C("plain", [((2, 6), D)], lambda x: NORM.group_norm(x, 3, eps=0.1)),
    ],
    "embedding": [
        C("rows", [((5, 3), D)],
          lambda w: SPARSE.embedding(const([[0, 2], [4, 2]], dtypes.int64), w)),
        # padding_idx and scale_grad_by_freq change the gradient on purpose (no longer the
        # derivative): conformance cases 218 and 219 hold them to PyTorch's
        C("repeated_int32", [((4, 2), D)],
          lambda w: SPARSE.embedding(const([1, 3, 3, 0], dtypes.int32), w)),
    ],
})


# torch functions beyond the core set (gradcli/torch/tensor_api.py's families).
_F = TAPI.FUNCTIONS


def _ties(shape):
    def build(rng):
        x = distinct(shape, rng)
        x.reshape(-1)[-1] = x.reshape(-1)[0]
        return [x]

    return build


def _near_integers(rng):
    """Away from the jumps of floor, ceil, round, trunc and frac."""
    return [rng.integers(-3, 3, (2, 3)) + rng.uniform(0.2, 0.4, (2, 3))]


def _unit_signed(shape):
    return lambda rng: [rng.uniform(-0.8, 0.8, shape)]


def _above_one(shape):
    return lambda rng: [rng.uniform(1.5, 3.0, shape)]


CASES.update({
    "floor": [C("mat", [_near_integers], _F["floor"])],
    "ceil": [C("mat", [_near_integers], _F["ceil"])],
    "trunc": [C("mat", [_near_integers], _F["trunc"])],
    "round": [C("mat", [_near_integers], _F["round"])],
    "round.decimals": [C("one", [_near_integers], lambda a: _F["round"](a, decimals=1))],
    "frac": [C("mat", [_near_integers], _F["frac"])],
    "sgn": [C("vec", [((4,), D)], _F["sgn"])],
    "erf": [C("mat", [((2, 3), D)], _F["erf"])],
    "erfc": [C("mat", [((2, 3), D)], _F["erfc"])],
    "erfinv": [C("unit", [_unit_signed((2, 3))], _F["erfinv"])],
    "asin": [C("unit", [_unit_signed((2, 3))], _F["asin"])],
    "acos": [C("unit", [_unit_signed((2, 3))], _F["acos"])],
    "atan": [C("mat", [((2, 3), D)], _F["atan"])],
    "sinh": [C("mat", [((2, 3), D)], _F["sinh"])],
    "cosh": [C("mat", [((2, 3), D)], _F["cosh"])],
    "asinh": [C("mat", [((2, 3), D)], _F["asinh"])],
    "acosh": [C("above_one", [_above_one((2, 3))], _F["acosh"])],
    "atanh": [C("unit", [_unit_signed((2, 3))], _F["atanh"])],
    "exp2": [C("mat", [((2, 3), D)], _F["exp2"])],
    "lgamma": [C("positive", [((2, 3), P)], _F["lgamma"]),
               C("negative", [lambda rng: [-rng.uniform(0.2, 0.8, (3,)) - 1]], _F["lgamma"])],
    "digamma": [C("positive", [((2, 3), P)], _F["digamma"])],
    "logit": [C("unit", [((2, 3), U)], _F["logit"]),
              C("eps", [((2, 3), U)], lambda a: _F["logit"](a, eps=0.05))],
    "nan_to_num": [C("finite", [((2, 3), D)], _F["nan_to_num"])],
    "atan2": [C("bcast", [((2, 3), D), ((3,), D)], _F["atan2"])],
    "hypot": [C("bcast", [((2, 3), D), ((2, 1), D)], _F["hypot"])],
    "logaddexp": [C("mat", [((2, 3), D), ((2, 3), D)], _F["logaddexp"])],
    "logaddexp2": [C("mat", [((2, 3), D), ((2, 3), D)], _F["logaddexp2"])],
    "xlogy.Tensor": [C("mat", [((2, 3), D), ((2, 3), P)], _F["xlogy"])],
    "xlogy.Scalar_Self": [C("scalar_self", [((2, 3), P)], lambda b: _F["xlogy"](2.5, b))],
    "xlogy.Scalar_Other": [C("scalar_other", [((2, 3), D)], lambda a: _F["xlogy"](a, 3.0))],
    "fmod.Scalar": [C("number", [((2, 3), P)], lambda a: _F["fmod"](a, 0.3), eps=1e-7)],
    "fmod.Tensor": [C("tensors", [remainder_pair], _F["fmod"])],
    "clamp_min": [C("number", [((2, 3), D)], lambda a: _F["clamp_min"](a, 0.1))],
    "clamp_max": [C("number", [((2, 3), D)], lambda a: _F["clamp_max"](a, 0.1))],
    "clamp_min.Tensor": [C("tensor", [((2, 3), D), ((3,), D)], _F["clamp_min"])],
    "clamp_max.Tensor": [C("tensor", [((2, 3), D), ((3,), D)], _F["clamp_max"])],
    "lerp.Scalar": [C("weight", [((2, 3), D), ((2, 3), D)], lambda a, b: _F["lerp"](a, b, 0.3)),
                    C("big_weight", [((3,), D), ((3,), D)], lambda a, b: _F["lerp"](a, b, 0.8))],
    "lerp.Tensor": [C("weights", [((2, 3), D), ((2, 3), D), ((2, 3), U)], _F["lerp"])],
    "addcmul": [C("value", [((2, 3), D), ((2, 3), D), ((3,), D)],
                  lambda a, b, c: _F["addcmul"](a, b, c, value=0.5))],
    "addcdiv": [C("value", [((2, 3), D), ((2, 3), D), ((3,), P)],
                  lambda a, b, c: _F["addcdiv"](a, b, c, value=2))],
    "heaviside": [C("values", [((3,), D), ((3,), D)], _F["heaviside"],
                    backward_error="derivative for aten::heaviside is not implemented")],
    "cumsum": [C("rows", [((2, 3), D)], lambda a: _F["cumsum"](a, 1)),
               C("0d", [((), D)], lambda a: _F["cumsum"](a, 0))],
    "cumprod": [C("rows", [((2, 3), D)], lambda a: _F["cumprod"](a, 1)),
                C("zero", [with_zero((2, 3))], lambda a: _F["cumprod"](a, 1))],
    "cummax": [C("cols", [((3, 2), D)], lambda a: _F["cummax"](a, 0).values)],
    "cummin": [C("rows", [((2, 4), D)], lambda a: _F["cummin"](a, -1).values)],
    "logcumsumexp": [C("rows", [((2, 3), D)], lambda a: _F["logcumsumexp"](a, 1))],
    "sort": [C("rows", [((2, 3), D)], lambda a: _F["sort"](a).values),
             C("descending", [((4,), D)], lambda a: _F["sort"](a, descending=True)[0])],
    "sort.stable": [C("cols", [((3, 2), D)], lambda a: _F["sort"](a, 0, stable=True).values)],
    "topk": [C("rows", [((2, 4), D)], lambda a: _F["topk"](a, 2).values),
             C("smallest", [((5,), D)], lambda a: _F["topk"](a, 3, largest=False)[0])],
    "kthvalue": [C("rows", [((2, 4), D)], lambda a: _F["kthvalue"](a, 2).values),
                 C("keepdim", [((3, 2), D)], lambda a: _F["kthvalue"](a, 1, 0, True)[0])],
    "median.dim": [C("rows", [((2, 3), D)], lambda a: _F["median"](a, 1).values)],
    "median": [C("all", [((2, 3), D)], _F["median"])],
    "mode": [C("ties", [_ties((2, 3))], lambda a: _F["mode"](a, 1).values)],
    "nansum": [C("all", [((2, 3), D)], _F["nansum"]),
               C("dim", [((2, 3), D)], lambda a: _F["nansum"](a, 0))],
    "trace": [C("wide", [((2, 3), D)], _F["trace"])],
    "mul.Scalar": [C("trapezoid", [((4,), D)], _F["trapezoid"])],
})


# Shape, indexing and linear algebra beyond the core set (gradcli/torch/reshaping.py,
# gathering.py, matrices.py).
IDX = np.array([[0, 2], [1, 1]])


def long(values):
    return api.tensor(values, dtype=dtypes.int64)


def invertible(n):
    """A well-conditioned matrix: the identity plus small distinct entries."""
    return lambda rng: [np.eye(n) * 2 + small((n, n), rng) * 0.3]


CASES.update({
    "flip": [C("both", [((2, 3), D)], lambda a: RS.flip(a, (0, 1))),
             C("lr", [((2, 3), D)], RS.fliplr)],
    "roll": [C("dims", [((2, 3), D)], lambda a: RS.roll(a, (1, -1), (0, 1))),
             C("flat", [((2, 3), D)], lambda a: RS.roll(a, 2))],
    "rot90": [C("once", [((2, 3), D)], RS.rot90),
              C("thrice", [((2, 3), D)], lambda a: RS.rot90(a, 3, (1, 0)))],
    "tril": [C("main", [((3, 3), D)], RS.tril), C("below", [((3, 4), D)],
                                                 lambda a: RS.tril(a, -1))],
    "triu": [C("above", [((3, 4), D)], lambda a: RS.triu(a, 1))],
    "diagonal": [C("main", [((3, 4), D)], RS.diagonal),
                 C("batched", [((2, 3, 3), D)], lambda a: RS.diagonal(a, 1, 1, 2))],
    "diagonal_backward": [C("embed", [((3,), D)],
                            direct("diagonal_backward", ((3, 4), 0, 0, 1)))],
    "block_diag": [C("mixed", [((2, 2), D), ((3,), D), ((), D)], RS.block_diag)],
    "unfold": [C("windows", [((2, 5), D)], lambda a: RS.unfold(a, 1, 2, 2)),
               C("overlap", [((6,), D)], lambda a: RS.unfold(a, 0, 3, 1))],
    "unfold_backward": [C("fold", [((3, 3), D)], direct("unfold_backward", ((5,), 0, 3, 1)))],
    "gather": [C("rows", [((2, 3), D)], lambda a: GA.gather(a, 1, long(IDX.tolist())))],
    "scatter.src": [C("src", [((2, 3), D), ((2, 2), D)],
                      lambda a, b: GA.scatter(a, 1, long([[0, 2], [1, 0]]), b))],
    "scatter.value": [C("value", [((2, 3), D)],
                        lambda a: GA.scatter(a, 1, long([[0, 2]]), 1.5))],
    "scatter_add": [C("repeated", [((2, 3), D), ((2, 2), D)],
                      lambda a, b: GA.scatter_add(a, 1, long(IDX.tolist()), b))],
    "scatter.reduce": [C("add", [((2, 3), D), ((2, 2), D)],
                         lambda a, b: GA.scatter(a, 1, long(IDX.tolist()), b, reduce="add"),
                         backward_error="derivative for aten::scatter_ is not implemented")],
    "index_select": [C("repeat", [((3, 2), D)],
                       lambda a: GA.index_select(a, 0, long([2, 0, 2])))],
    "index_add": [C("alpha", [((3, 2), D), ((2, 2), D)],
                    lambda a, b: GA.index_add(a, 0, long([1, 1]), b, alpha=2.0))],
    "index_fill.int_Scalar": [C("cols", [((2, 3), D)],
                                lambda a: GA.index_fill(a, 1, long([0, 2]), -1.0))],
    "index_copy": [C("rows", [((3, 2), D), ((2, 2), D)],
                     lambda a, b: GA.index_copy(a, 0, long([2, 0]), b))],
    "masked_fill.Scalar": [C("fill", [((2, 3), D)],
                             lambda a: GA.masked_fill(a, api.tensor(COND.tolist()), 0.5))],
    "masked_select": [C("broadcast", [((3,), D)],
                        lambda a: GA.masked_select(a, api.tensor(COND.tolist())))],
    "masked_scatter": [C("source", [((2, 3), D), ((5,), D)],
                         lambda a, b: GA.masked_scatter(a, api.tensor(COND.tolist()), b))],
    "take": [C("repeat", [((2, 3), D)], lambda a: GA.take(a, long([5, 0, 5])))],
    "put": [C("replace", [((2, 3), D), ((2,), D)], lambda a, b: GA.put(a, long([4, 1]), b)),
            C("accumulate", [((2, 3), D), ((2,), D)],
              lambda a, b: GA.put(a, long([4, 4]), b, True))],
    "linalg_cross": [C("rows", [((2, 3), D), ((2, 3), D)],
                       lambda a, b: MX.linalg_cross(a, b, dim=1))],
    "addmv": [C("scaled", [((2,), D), ((2, 3), D), ((3,), D)],
                lambda a, b, c: MX.addmv(a, b, c, beta=0.5, alpha=2.0))],
    "baddbmm": [C("scaled", [((2, 2, 2), D), ((2, 2, 3), D), ((2, 3, 2), D)],
                  lambda a, b, c: MX.baddbmm(a, b, c, beta=2.0, alpha=0.5))],
    "_linalg_det": [C("matrix", [invertible(3)], MX.det),
                    C("batch", [lambda rng: [np.eye(2) * 2 + small((2, 2, 2), rng) * 0.3]],
                      MX.det)],
    "linalg_inv_ex": [C("matrix", [invertible(3)], MX.inverse)],
    "_linalg_solve_ex": [C("vector", [invertible(3), ((3,), D)], MX.solve),
                         C("matrix", [invertible(2), ((2, 3), D)], MX.solve)],
    "_cdist_forward": [C("p2", [((2, 3), D), ((4, 3), D)], MX.cdist),
                       C("p1", [((2, 3), D), ((3, 3), D)], lambda a, b: MX.cdist(a, b, 1.0)),
                       C("p3", [((2, 2), D), ((2, 2), D)], lambda a, b: MX.cdist(a, b, 3.0))],
    "dist": [C("p2", [((2, 3), D), ((3,), D)], MX.dist),
             C("p1", [((4,), D), ((4,), D)], lambda a, b: MX.dist(a, b, 1))],
})
CASES["addmm"] = CASES["addmm"] + [
    C("beta_alpha", [((2, 2), D), ((2, 3), D), ((3, 2), D)],
      lambda a, b, c: MX.addmm(a, b, c, beta=0.5, alpha=-2.0))]


KNOWN_BUGS = [
    pytest.param(
        overload,
        case,
        id=f"{overload}-{case.label}",
        marks=pytest.mark.xfail(reason=case.bug, strict=True),
    )
    for overload, cases in CASES.items()
    for case in cases
    if case.bug
]


@pytest.mark.parametrize(("overload", "case"), KNOWN_BUGS)
def test_gradcheck_known_bug(overload, case):
    problems = check_case(overload, case)
    assert not problems, "\n".join(problems)


def test_every_case_names_a_registered_op():
    stale = sorted(set(CASES) - set(OPS))
    assert not stale, f"gradcheck cases for ops that are not registered: {stale}"


def test_backward_names_are_unique():
    names = [
        entry.backward_name for entry in OPS.values() if entry.backward_name != "NotImplemented"
    ]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, duplicates


def test_registered_names_are_the_derived_names():
    """An op listed in derivatives.yaml carries the name torchgen derives for it."""
    wrong = {
        o: (entry.backward_name, backward_name(o))
        for o, entry in OPS.items()
        if o in DERIVATIVES_YAML_ORDER and entry.backward_name != backward_name(o)
    }
    assert not wrong, wrong


def test_op_entries_have_derivatives():
    missing = [o for o, entry in OPS.items() if entry.backward is None]
    assert not missing, missing


def test_grad_mode_off_records_nothing_for_every_case():
    """With grad mode off, no case's forward creates a node (checked for one case per op)."""
    previous = GradMode.enabled
    GradMode.enabled = False
    try:
        for overload, cases in CASES.items():
            case = cases[0]
            rng = np.random.default_rng(1)
            arrays = build_arrays(case, rng)
            out = case.fn(*[Tensor(a, t64, True) for a in arrays])
            assert out.grad_fn is None, overload
            assert out.requires_grad is False, overload
    finally:
        GradMode.enabled = previous


def test_cross_entropy_matches_reference_values():
    """A fixed value check on top of the finite differences (softmax - onehot)/N."""
    x = np.array([[0.1, 0.2, 0.7], [1.0, -1.0, 0.5]])
    target = np.array([2, 0])
    leaf = Tensor(x.copy(), t64, True)
    loss = api.cross_entropy(leaf, const(target.tolist()))
    engine.backward(loss)
    e = np.exp(x - x.max(1, keepdims=True))
    sm = e / e.sum(1, keepdims=True)
    expected_loss = -np.log(sm[np.arange(2), target]).mean()
    onehot = np.eye(3)[target]
    assert math.isclose(float(loss.array), expected_loss, rel_tol=1e-12)
    np.testing.assert_allclose(leaf.grad.array, (sm - onehot) / 2, rtol=1e-12)


def test_ties_follow_pytorch():
    """PyTorch's tie rules: max() over all splits evenly, max(dim) picks one index,
    maximum() splits in half, amax splits evenly, abs'(0) = 0, relu'(0) = 0."""
    x = Tensor(np.array([1.0, 3.0, 3.0, 2.0]), t64, True)
    engine.backward(api.max(x))
    np.testing.assert_array_equal(x.grad.array, [0, 0.5, 0.5, 0])

    x = Tensor(np.array([[1.0, 3.0, 3.0]]), t64, True)
    engine.backward(api.sum(api.max(x, 1)[0]))
    np.testing.assert_array_equal(x.grad.array, [[0, 1, 0]])

    a = Tensor(np.array([1.0, 2.0]), t64, True)
    b = Tensor(np.array([1.0, 3.0]), t64, True)
    engine.backward(api.sum(api.maximum(a, b)))
    np.testing.assert_array_equal(a.grad.array, [0.5, 0])
    np.testing.assert_array_equal(b.grad.array, [0.5, 1])

    x = Tensor(np.array([[2.0, 2.0, 1.0]]), t64, True)
    engine.backward(api.sum(api.amax(x, 1)))
    np.testing.assert_array_equal(x.grad.array, [[0.5, 0.5, 0]])

    x = Tensor(np.array([0.0, -1.0, 2.0]), t64, True)
    engine.backward(api.sum(api.abs(x)))
    np.testing.assert_array_equal(x.grad.array, [0, -1, 1])

    x = Tensor(np.array([0.0, -1.0, 2.0]), t64, True)
    engine.backward(api.sum(api.relu(x)))
    np.testing.assert_array_equal(x.grad.array, [0, 0, 1])


# The activations and losses beyond SPEC §1.7 (gradcli/torch/activations_more.py,
# losses_more.py): each op, its backward op (the create_graph=True node) and the scalar forms
# the composite losses record.
from gradcli.torch import activations_more as AM  # noqa: E402
from gradcli.torch import losses_more as LM  # noqa: E402

_ELU = (1.0, 1.0, 1.0)
CASES.update({
    "elu": [C("default", [((2, 3), D)], AM.elu), C("selu", [((2, 3), D)], AM.selu)],
    "leaky_relu_": [C("inplace", [((2, 3), D)],
                      lambda a: NF.leaky_relu(api.mul(a, 1.0), 0.2, inplace=True))],
    "elu_": [C("inplace", [((2, 3), D)], lambda a: AM.elu(api.mul(a, 1.0), 0.5, inplace=True))],
    "celu": [C("alpha", [((2, 3), D)], lambda a: AM.celu(a, 2.0))],
    "celu_": [C("inplace", [((2, 3), D)], lambda a: AM.celu(api.mul(a, 1.0), inplace=True))],
    "elu_backward": [
        C("elu", [((2, 3), D), ((2, 3), D)], direct("elu_backward", _ELU)),
        C("celu", [((2, 3), D), ((2, 3), D)], direct("elu_backward", (2.0, 1.0, 0.5))),
    ],
    "hardtanh": [C("bounds", [((2, 3), D)], lambda a: AM.hardtanh(a, -1.0, 0.9)),
                 C("relu6", [((2, 3), P)], AM.relu6)],
    "hardtanh_backward": [C("mat", [((2, 3), D), ((2, 3), D)],
                            direct("hardtanh_backward", (-1.0, 1.0)))],
    "softshrink": [C("default", [((2, 3), D)], AM.softshrink)],
    "softshrink_backward": [C("mat", [((2, 3), D), ((2, 3), D)],
                              direct("softshrink_backward", 0.5))],
    "hardshrink": [C("default", [((2, 3), D)], AM.hardshrink)],
    "hardshrink_backward": [C("mat", [((2, 3), D), ((2, 3), D)],
                              direct("hardshrink_backward", 0.5))],
    "threshold": [C("value", [((2, 3), D)], lambda a: AM.threshold(a, 0.0, 2.0))],
    "threshold_": [C("inplace", [((2, 3), D)],
                     lambda a: AM.threshold(api.mul(a, 1.0), 0.0, 2.0, inplace=True))],
    "hardsigmoid": [C("default", [((2, 3), D)], AM.hardsigmoid)],
    "hardsigmoid_backward": [
        C("mat", [((2, 3), D), ((2, 3), D)], direct("hardsigmoid_backward"),
          backward_error="derivative for aten::hardsigmoid_backward is not implemented"),
    ],
    "hardswish": [C("default", [((2, 3), D)], AM.hardswish)],
    "hardswish_backward": [C("mat", [((2, 3), D), ((2, 3), D)], direct("hardswish_backward"))],
    "log_sigmoid_forward": [C("default", [((2, 3), D)], AM.logsigmoid)],
    "log_sigmoid_backward": [C("mat", [((2, 3), D), ((2, 3), D)],
                               direct("log_sigmoid_backward"))],
    "mish": [C("default", [((2, 3), D)], AM.mish)],
    "_prelu_kernel": [
        C("shared", [((2, 3), D), ((1,), P)], AM.prelu),
        C("channels", [((2, 3, 2), D), ((3,), P)], AM.prelu),
    ],
    "_prelu_kernel_backward": [
        C("input", [((2, 3), D), ((2, 3), D), ((3,), P)], direct("_prelu_kernel_backward")),
        C("weight", [((2, 3), D), ((2, 3), D)],
          lambda g, x: O.call(AM.prelu_backward_weight_op, (g, x))),
    ],
    "glu": [C("last", [((2, 4), D)], AM.glu), C("first", [((4, 3), D)], lambda a: AM.glu(a, 0))],
    "glu_backward": [C("mat", [((2, 2), D), ((2, 4), D)], direct("glu_backward", 1))],
    "smooth_l1_loss": [
        C("mean", [((2, 3), D), ((2, 3), D)], LM.smooth_l1_loss),
        C("none_beta", [((2, 3), D), ((2, 3), D)],
          lambda a, b: LM.smooth_l1_loss(a, b, reduction="none", beta=0.5)),
    ],
    "smooth_l1_loss_backward": [
        C("none", [((2, 3), D), ((2, 3), D), ((2, 3), D)],
          direct("smooth_l1_loss_backward", ("none", 1.0))),
        C("mean", [((), D), ((2, 3), D), ((2, 3), D)],
          direct("smooth_l1_loss_backward", ("mean", 0.7))),
    ],
    "huber_loss": [
        C("sum", [((2, 3), D), ((2, 3), D)],
          lambda a, b: LM.huber_loss(a, b, reduction="sum", delta=0.6)),
        C("broadcast", [((2, 3), D), ((3,), D)], LM.huber_loss, root="huber_loss"),
    ],
    "huber_loss_backward": [
        C("none", [((2, 3), D), ((2, 3), D), ((2, 3), D)],
          direct("huber_loss_backward", ("none", 0.8))),
    ],
    "soft_margin_loss": [
        C("mean", [((2, 3), D)],
          lambda a: LM.soft_margin_loss(a, const([[1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]], t64))),
    ],
    "soft_margin_loss_backward": [
        C("none", [((2, 3), D), ((2, 3), D)],
          direct("soft_margin_loss_backward", ("none", np.array([[1.0, -1, 1], [-1, 1, 1]])))),
    ],
    "add.Scalar": [C("mat", [((2, 3), D)], direct("add.Scalar", 0.5))],
    "sub.Scalar": [C("mat", [((2, 3), D)], direct("sub.Scalar", 0.5))],
    "clamp_min": [C("mat", [((2, 3), D)], direct("clamp_min", 0.0))],
    "norm.ScalarOpt_dim": [
        C("pairwise", [((2, 3), D), ((2, 3), D)], LM.pairwise_distance),
        C("p3", [((2, 3), D)], direct("norm.ScalarOpt_dim", (3.0, (1,), False))),
    ],
    "xlogy.Tensor": [C("positive", [((2, 3), P), ((2, 3), P)], direct("xlogy.Tensor"))],
})
