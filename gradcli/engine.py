"""The backward pass: PyTorch's engine, iteratively.

Nodes run when every node that feeds them has run (dependency counting, so graphs of
any depth need no recursion). Among ready nodes the most recently created runs first,
as in PyTorch's ready queue; AccumulateGrad nodes go before everything else.
"""

from __future__ import annotations

import heapq

import numpy as np

from gradcli.backend import NumpyVocabulary, sum_to
from gradcli.errors import runtime_error
from gradcli.node import AccumulateGrad, accumulator_of
from gradcli.tensor import Tensor

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


class BackwardContext:
    __slots__ = ("saved", "params", "needs", "shapes")

    def __init__(self, node, saved):
        self.saved = saved
        self.params = node.params
        self.needs = tuple([edge[0] is not None for edge in node.next_functions])
        self.shapes = tuple([m[0] if m is not None else () for m in node.inputs_meta])


class Observer:
    """Receives each step of a backward pass (for traces); the default does nothing."""

    def node_ran(self, node, grad_in, grads_out):
        pass

    def accumulated(self, tensor, grad, total):
        pass


def root_node(tensor: Tensor):
    if tensor.grad_fn is not None:
        return tensor.grad_fn
    if tensor.requires_grad:
        return accumulator_of(tensor)
    return None


def describe(tensor: Tensor) -> str:
    kind = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int"}.get(
        tensor.dtype.name, "Bool"
    )
    shape = ", ".join(str(s) for s in tensor.shape)
    return f"[torch.{kind}Tensor [{shape}]]"


def unpack_saved(node):
    """The saved values as arrays, after PyTorch's check that none was modified in place."""
    values = []
    for value, version in zip(node.saved, node.saved_versions):
        if value.__class__ is Tensor:
            if value.version[0] != version:
                producer = value.grad_fn.name() if value.grad_fn is not None else None
                where = f"which is output 0 of {producer}, " if producer else ""
                raise runtime_error(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: {describe(value)}, {where}is at version "
                    f"{value.version[0]}; expected version {version} instead. Hint: enable "
                    "anomaly detection to find the operation that failed to compute its "
                    "gradient, with torch.autograd.set_detect_anomaly(True)."
                )
            value = value.array
        values.append(value)
    return tuple(values)


def run_backward(roots, retain_graph: bool, observer: Observer | None = None) -> None:
    """roots: list of (node, gradient array). Accumulates into leaves' `.grad`."""
    dependencies: dict = {}
    stack = [node for node, _ in roots]
    seen = set(stack)
    while stack:
        node = stack.pop()
        for child, _ in node.next_functions:
            if child is not None:
                dependencies[child] = dependencies.get(child, 0) + 1
                if child not in seen:
                    seen.add(child)
                    stack.append(child)

    buffers: dict = {}
    for node, grad in roots:
        previous = buffers.get(node)
        buffers[node] = grad if previous is None else previous + grad
    ready: list = []
    order = 0
    for node in buffers:
        if not dependencies.get(node):
            heapq.heappush(ready, (-node.sequence_nr, order, node))
            order += 1

    while ready:
        node = heapq.heappop(ready)[2]
        grad = buffers.pop(node, None)
        if grad is not None and node.retained is not None:
            _retain(node.retained(), grad)
        if node.__class__ is AccumulateGrad:
            if grad is not None:
                _accumulate(node.variable, grad, observer)
            continue
        grads = ()
        if grad is not None:
            if node.released:
                raise runtime_error(FREED_MESSAGE)
            ctx = BackwardContext(node, unpack_saved(node) if node.saved else ())
            grads = node.op.backward(ctx, grad, NumpyVocabulary)
            if not retain_graph and node.saved:
                node.saved = None
                node.released = True
            if observer is not None:
                observer.node_ran(node, grad, grads)
        for i, (child, _) in enumerate(node.next_functions):
            if child is None:
                continue
            child_grad = grads[i] if grads else None
            if child_grad is not None:
                shape, dtype = node.inputs_meta[i]
                if child_grad.shape != shape:
                    child_grad = sum_to(child_grad, shape)
                if child_grad.dtype != dtype.numpy:
                    child_grad = child_grad.astype(dtype.numpy)
                previous = buffers.get(child)
                buffers[child] = child_grad if previous is None else previous + child_grad
            remaining = dependencies[child] - 1
            dependencies[child] = remaining
            if remaining == 0:
                heapq.heappush(ready, (-child.sequence_nr, order, child))
                order += 1


def _owned(grad: np.ndarray, dtype) -> np.ndarray:
    """A fresh, writable, contiguous copy (gradients may be broadcast views or shared)."""
    return np.array(grad, dtype=dtype, copy=True, order="C")


def _accumulate(variable: Tensor, grad: np.ndarray, observer) -> None:
    if variable.grad is None:
        variable.grad = Tensor(_owned(grad, variable.dtype.numpy))
    else:
        # PyTorch adds into the existing .grad in place.
        variable.grad.array += grad
        variable.grad.version[0] += 1
    if observer is not None:
        observer.accumulated(variable, grad, variable.grad.array)


def _retain(tensor, grad: np.ndarray) -> None:
    if tensor is None:
        return
    if tensor.grad is None:
        tensor.grad = Tensor(_owned(grad, tensor.dtype.numpy))
    else:
        tensor.grad = Tensor(tensor.grad.array + grad)


def backward(tensor: Tensor, gradient=None, retain_graph=None, observer=None) -> None:
    """Tensor.backward(gradient=None, retain_graph=None), PyTorch's checks included."""
    node = root_node(tensor)
    if node is None:
        raise runtime_error("element 0 of tensors does not require grad and does not have a grad_fn")
    if gradient is None:
        if tensor.array.size != 1:
            raise runtime_error("grad can be implicitly created only for scalar outputs")
        root_grad = np.ones(tensor.shape, dtype=tensor.dtype.numpy)
    else:
        if gradient.shape != tensor.shape:
            raise runtime_error(
                f"Mismatch in shape: grad_output[0] has a shape of torch.Size({list(gradient.shape)}) "
                f"and output[0] has a shape of torch.Size({list(tensor.shape)})."
            )
        root_grad = gradient.array.astype(tensor.dtype.numpy, copy=False)
    run_backward([(node, root_grad)], bool(retain_graph), observer)
