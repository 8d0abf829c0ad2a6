"""In-place operations (`add_`, `x[i] = v`, ...): version counters, the leaf/view checks,
and CopySlices when a view of a tensor that needs grad is written.
"""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O
from gradcli.autodiff import hints
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base.dtypes import DType
from gradcli.base.errors import (
    ProgramError,
    index_error,
    runtime_error,
    type_error,
)
from gradcli.torch import unbind
from gradcli.torch._common import _c_type, _dtype_name, call, is_tensor
from gradcli.torch.creation import _item, tensor
from gradcli.torch.indexing import getitem
from gradcli.torch.pointwise import add, broadcast_error, clamp, div, mul, sub

LEAF_INPLACE_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation."


def _check_inplace(target: Tensor) -> None:
    if not GradMode.enabled:
        return
    if target.requires_grad and target.grad_fn is None:
        raise runtime_error(LEAF_INPLACE_MESSAGE)
    unbind.check_inplace(target)  # an output of unbind (a multi-output view)
    base = target.base
    if base is not None and base.requires_grad and base.grad_fn is None and target.requires_grad:
        raise runtime_error(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )


def _write_into(target: Tensor, result: Tensor) -> None:
    """Store an out-of-place result in `target`: PyTorch's in-place semantics."""
    if result.dtype is not target.dtype and not _can_cast(result.dtype, target.dtype):
        raise runtime_error(
            f"result type {_dtype_name(result.dtype)} can't be cast to the desired output type "
            f"{_dtype_name(target.dtype)}"
        )
    if result.shape != target.shape:
        try:
            shape = np.broadcast_shapes(result.shape, target.shape)
        except ValueError:
            shape = None
        if shape != target.shape:
            raise runtime_error(
                f"output with shape [{', '.join(map(str, target.shape))}] doesn't match the "
                f"broadcast shape [{', '.join(map(str, shape or result.shape))}]"
            )
    if not target.array.flags.writeable:
        target.array = target.array.copy()
    np.copyto(target.array, result.array, casting="unsafe")
    target.version[0] += 1
    hints.mark_inplace(target)
    if result.grad_fn is not None and target.base is not None:
        _rebase_view(target, result.grad_fn)
    elif result.grad_fn is not None:
        # The tensor's history is rebased onto the in-place op's node.
        target.grad_fn = result.grad_fn
        target.requires_grad = True
        target.grad_fn.retained = None
        if target.retains_grad:
            import weakref

            target.grad_fn.retained = weakref.ref(target)


def _view_region(view: np.ndarray, base: np.ndarray) -> np.ndarray:
    """The flat indices in `base` of each element of `view` (a numpy view into it)."""
    if not base.flags.c_contiguous:
        raise ProgramError(
            "NotImplementedError", "in-place writes through views of this tensor are not supported"
        )
    itemsize = base.itemsize
    offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // itemsize
    flat = np.arange(base.size, dtype=np.int64)
    strides = tuple(stride // itemsize * flat.itemsize for stride in view.strides)
    return np.lib.stride_tricks.as_strided(flat[offset:], view.shape, strides).copy()


def _rebase_view(view: Tensor, inner) -> None:
    """An in-place op on a view rewrites its base: the base's grad_fn becomes CopySlices,
    and the view reads its values back out of the base (AsStridedBackward0)."""
    from gradcli.autodiff.engine import run_node_backward
    from gradcli.autodiff.node import Node, edge_to

    base = view.base
    region = _view_region(view.array, base.array)
    copy_slices = Node(
        O.CopySlicesOp,
        (edge_to(base),) + inner.next_functions[1:],
        (),
        (),
        (region, inner, run_node_backward),
        ((base.shape, base.dtype),) + inner.inputs_meta[1:],
    )
    base.grad_fn = copy_slices
    base.requires_grad = True
    view.grad_fn = Node(O.as_strided, ((copy_slices, 0),), (), (), region,
                        ((base.shape, base.dtype),))
    view.requires_grad = True


def _can_cast(source: DType, target: DType) -> bool:
    return source.category <= target.category


def inplace(target: Tensor, compute, *args) -> Tensor:
    """`target op= value` / `target.op_(value)`: compute out of place, then write back.

    The op reads a snapshot of the target that carries its history, so a recorded node
    saves the values from before the write, as PyTorch's in-place formulas do."""
    if not is_tensor(target):
        raise type_error("in-place operations need a tensor")
    _check_inplace(target)
    snapshot = Tensor(target.array.copy(), target.dtype, target.requires_grad, target.grad_fn)
    snapshot.accumulator = target.accumulator
    if target.grad_fn is None and target.requires_grad:
        snapshot.grad_fn = None
    elif target.grad_fn is not None and target.grad_fn.multi_output and GradMode.enabled and (
            hasattr(target.grad_fn, "bind")):
        # one output of several (std_mean's): the snapshot stands for the same output
        target.grad_fn.bind(target.grad_fn.slot_of(target), snapshot)
    if O._forward_ad:  # a dual level is active: tangents go through in-place ops too
        from gradcli.torch.autograd.forward_mode import copy_tangent

        copy_tangent(target, snapshot)
        result = compute(snapshot, *args)
        _write_into(target, result)
        copy_tangent(result, target)
        return target
    result = compute(snapshot, *args)
    _write_into(target, result)
    return target


def add_(input, other, *, alpha=1):
    return inplace(input, lambda s, o: add(s, o, alpha=alpha), other)


def sub_(input, other, *, alpha=1):
    return inplace(input, lambda s, o: sub(s, o, alpha=alpha), other)


def mul_(input, other):
    return inplace(input, mul, other)


def div_(input, other, *, rounding_mode=None):
    return inplace(input, lambda s, o: div(s, o, rounding_mode=rounding_mode), other)


def clamp_(input, min=None, max=None):
    return inplace(input, lambda s: clamp(s, min, max))


def zero_(input):
    return inplace(input, lambda s: call(O.zero, (s,)))


def fill_(input, value):
    value = _item(value)
    return inplace(input, lambda s: call(O.fill, (s,), value))


def copy_(input, src):
    if not is_tensor(src):
        src = tensor(src)
    try:
        np.broadcast_shapes(src.shape, input.shape)
    except ValueError:
        raise broadcast_error(input.shape, src.shape) from None
    return inplace(input, lambda s, o: call(O.copy, (s, o), None, (s.array, o.array)), src)


def set_grad(input, value):
    if value is not None:
        if not is_tensor(value):
            raise type_error("assigned grad expected to be a Tensor or None but got grad of "
                             f"type {type(value).__name__}")
        if value.dtype is not input.dtype:
            raise runtime_error(
                f"attempting to assign a gradient with dtype '{_c_type(value.dtype)}' to a tensor "
                f"with grad_dtype '{_dtype_name(input.dtype)}'. The gradient must match the "
                "tensor's grad_dtype (defaults to the tensor's dtype). You can set the tensor's "
                "grad_dtype attribute with a specific dtype, or None to allow any dtype. Set "
                "grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may "
                "break downstream systems that assume they match."
            )
        if value.shape != input.shape:
            raise runtime_error(
                f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of "
                f"size '{list(input.shape)}'. Please ensure that the gradient and the tensor are "
                "the same size"
            )
    input.grad = value


def set_data(input, value):
    if not is_tensor(value):
        raise type_error(f"Variable data has to be a tensor, but got {type(value).__name__}")
    input.array = value.array
    input.dtype = value.dtype


def setitem(target: Tensor, index, value) -> None:
    """`t[index] = value`: an in-place write (CopySlices in PyTorch)."""
    _check_inplace(target)
    needs_graph = GradMode.enabled and (
        target.requires_grad or (is_tensor(value) and value.requires_grad))
    if needs_graph and _is_basic_index(index):
        # PyTorch: basic indexing gives a view, and the write is copy_ into that view
        # (CopySlices around CopyBackwards).
        copy_(getitem(target, index), value)
        return
    if is_tensor(value) and value.requires_grad and GradMode.enabled:
        raise ProgramError(
            "NotImplementedError",
            "assigning a tensor that requires grad into a slice is not supported yet in gradcli",
        )
    if target.requires_grad and GradMode.enabled:
        raise ProgramError(
            "NotImplementedError",
            "indexed assignment into a tensor with history is not supported yet in gradcli",
        )
    key = _numpy_key(target, index)
    source = value.array if is_tensor(value) else value
    if not target.array.flags.writeable:
        target.array = target.array.copy()
    try:
        region_shape = target.array[key].shape
    except IndexError as exc:
        raise index_error(str(exc)) from None
    if is_tensor(value) and value.ndim > len(region_shape):
        raise runtime_error(
            f"expand(torch.{_dtype_name(value.dtype)}Tensor"
            f"{{[{', '.join(map(str, value.shape))}]}}, "
            f"size=[{', '.join(map(str, region_shape))}]): the number of sizes provided "
            f"({len(region_shape)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({value.ndim})"
        )
    try:
        target.array[key] = source
    except ValueError:
        raise broadcast_error(region_shape, np.shape(source)) from None
    target.version[0] += 1


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice)) and not isinstance(i, bool) or i is None
               or i is Ellipsis for i in items)


def _numpy_key(target, index):
    if not isinstance(index, tuple):
        index = (index,)
    key = []
    for i in index:
        if is_tensor(i):
            key.append(i.array)
        elif isinstance(i, list):
            key.append(np.asarray(i))
        else:
            key.append(i)
    return tuple(key)
