"""Conversions and autograd-facing methods: to/type/float/..., detach, clone, contiguous,
requires_grad_, backward, retain_grad, item/tolist, torch.Size.
"""

from __future__ import annotations

import math

from gradcli.aten import ops as O
from gradcli.autodiff import engine
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.dtypes import DType
from gradcli.base.errors import (
    ProgramError,
    runtime_error,
    type_error,
)
from gradcli.torch._common import (
    Number,
    _read,
    as_dtype,
    call,
    check_requires_grad,
    is_tensor,
    python_bool,
    python_float,
    python_int,
    wrap_dim,
)
from gradcli.torch.creation import zeros_like


def clone(input):
    return call(O.clone, (input,))


def contiguous(input):
    if input.array.flags.c_contiguous:
        return input
    return clone(input)


def detach(input):
    out = Tensor(input.array, input.dtype)
    out.version = input.version
    return out


def data_of(input):
    """`.data`: the same storage, but a fresh version counter (unlike detach())."""
    return Tensor(input.array, input.dtype)


def to(input, *args, dtype=None, copy=False, device=None, **ignored):
    for arg in (*args, device):
        if isinstance(arg, str) and arg.startswith("cuda"):
            raise ProgramError("AssertionError", "Torch not compiled with CUDA enabled")
    for arg in args:
        if isinstance(arg, DType) or any(
            arg is kind for kind in (float, int, bool, python_float, python_int, python_bool)
        ):
            dtype = arg
    dtype = as_dtype(dtype)
    if dtype is None or dtype is input.dtype:
        return clone(input) if copy else input
    return call(O.to_copy, (input,), dtype.numpy)


def double(input):
    return to(input, dtypes.float64)


def float_(input):
    return to(input, dtypes.float32)


def long(input):
    return to(input, dtypes.int64)


def int_(input):
    return to(input, dtypes.int32)


def bool_(input):
    return to(input, dtypes.bool_)


def tolist(input):
    _read("tolist", input)
    return input.array.tolist()


def size(input, dim=None):
    if dim is None:
        return Size(input.shape)
    return input.shape[wrap_dim(dim, input.ndim)]


def dim(input):
    return input.ndim


def numel(input):
    return input.array.size


def requires_grad_(input, requires_grad=True):
    if input.grad_fn is not None and not requires_grad:
        raise runtime_error(
            "you can only change requires_grad flags of leaf variables. If you want to use a "
            "computed variable in a subgraph that doesn't require differentiation use "
            "var_no_grad = var.detach()."
        )
    check_requires_grad(input.dtype, requires_grad, constructor=False)
    input.requires_grad = bool(requires_grad)
    return input


def set_requires_grad(input, value):
    if input.grad_fn is not None:
        if value:
            return
        raise runtime_error(
            "you can only change requires_grad flags of leaf variables. If you want to use a "
            "computed variable in a subgraph that doesn't require differentiation use "
            "var_no_grad = var.detach()."
        )
    if not isinstance(value, bool):
        raise runtime_error("requires_grad must be a bool")
    if value and not input.dtype.is_floating_point:
        raise runtime_error(
            "only Tensors of floating point and complex dtype can require gradients")
    input.requires_grad = value


def retain_grad(input):
    if not input.requires_grad:
        raise runtime_error("can't retain_grad on Tensor that has requires_grad=False")
    if input.grad_fn is None or input.retains_grad:
        return None
    import weakref

    input.retains_grad = True
    input.grad_fn.retained = weakref.ref(input)
    return None


CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using "
    "autograd.grad when creating the graph to avoid this. If you have to use this function, "
    "make sure to reset the .grad fields of your parameters to None after use to break the "
    "cycle and avoid the leak. (Triggered internally at "
    "/__w/pytorch/pytorch/torch/csrc/autograd/engine.cpp:1307.)"
)


def _as_gradient(gradient):
    if gradient is None or is_tensor(gradient):
        return gradient
    if isinstance(gradient, Number):
        # PyTorch treats a non-tensor gradient as a sequence of tensors.
        raise type_error(f"'{type(gradient).__name__}' object is not iterable")
    raise type_error(
        f"gradients can be either Tensors or None, but got {type(gradient).__name__}")


def backward(input, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    if create_graph:
        from gradcli.base import diagnostics

        diagnostics.warn(CREATE_GRAPH_WARNING)
    if inputs is not None and is_tensor(inputs):
        inputs = [inputs]
    engine.backward(input, _as_gradient(gradient), retain_graph, bool(create_graph), inputs)


def autograd_grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
                  only_inputs=True, allow_unused=None, is_grads_batched=False,
                  materialize_grads=False):
    if is_tensor(grad_outputs) or grad_outputs is None:
        grad_outputs = _as_gradient(grad_outputs)
    else:
        grad_outputs = [_as_gradient(g) for g in grad_outputs]
    result = engine.grad(outputs, inputs, grad_outputs, retain_graph, bool(create_graph),
                         bool(allow_unused) or bool(materialize_grads))
    if materialize_grads:
        targets = [inputs] if is_tensor(inputs) else list(inputs)
        result = tuple(zeros_like(t) if g is None else g
                       for g, t in zip(result, targets, strict=False))
    return result


class Size(tuple):
    """torch.Size: a tuple of ints that prints as `torch.Size([2, 3])`."""

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def __getitem__(self, index):
        # torch.Size slices to a torch.Size, as PyTorch's does.
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def numel(self) -> int:
        return math.prod(self)
