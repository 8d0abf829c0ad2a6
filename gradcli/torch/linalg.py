"""Matrix products: mm, bmm, matmul's lowering by rank, dot, mv, outer, and their errors.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.aten import ops as O
from gradcli.autodiff.tensor import GradMode
from gradcli.base.errors import (
    runtime_error,
    type_error,
)
from gradcli.torch._common import _c_type, _dtype_name, call, cast, is_tensor
from gradcli.torch.conversion import contiguous
from gradcli.torch.pointwise import add, broadcast_error, mul
from gradcli.torch.shape import expand, reshape, squeeze, t, transpose, unsqueeze, view


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
