"""torch.unbind, and iteration over a tensor (PyTorch's `iter(t.unbind(0))`): one node with
an output per slice.

PyTorch records one `UnbindBackward0` for the whole call; its outputs are its edges 0..n-1
(`(a * b).grad_fn.next_functions` names `(UnbindBackward0, 0)` and `(UnbindBackward0, 1)`).
The engine keeps one gradient slot per output for such a node (as for a custom Function
with several outputs) and runs it once, when every output's gradient has arrived; its
formula is derivatives.yaml's `unbind_backward`: the slots stacked along `dim`, zeros for
an output that got no gradient.

The outputs are views of the input that share its version counter. PyTorch refuses an
in-place write to one of them while grad mode is on (the multi-view creation meta), with
the message of `check_inplace` below.
"""

from __future__ import annotations

import weakref

import numpy as np

from gradcli.aten import ops
from gradcli.aten.ops import Op
from gradcli.autodiff.node import Node, edge_to
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base.errors import index_error, runtime_error
from gradcli.torch import creation
from gradcli.torch import shape as shapes
from gradcli.torch._common import wrap_dim

UNBIND = Op("unbind.int", None, None, True)


class UnbindNode(Node):
    """The node of one unbind: `params` is the dim; an output's slot is its index."""

    __slots__ = ("_slots", "_outputs", "_names", "retained_outputs")
    multi_output = True

    # retain_grad() on an output (`node.retained = weakref.ref(output)`) keeps that output's
    # slot: the engine fills each retained output's .grad from its own slot.
    @property
    def retained(self):
        return None

    @retained.setter
    def retained(self, ref) -> None:
        if ref is None or ref() is None:
            return
        if getattr(self, "retained_outputs", None) is None:
            self.retained_outputs = {}
        self.retained_outputs[self.slot_of(ref())] = ref

    def expect(self, count: int) -> None:
        self._slots = {}
        self._outputs = [None] * count
        self._names = None
        self.retained_outputs = None

    def name_output(self, tensor, name: str) -> None:
        """The program bound output `tensor` to `name` (`a, b = x`): traces name the slot."""
        if self._names is None:
            self._names = [None] * len(self._outputs)
        slot = self.slot_of(tensor)
        if self._names[slot] is None:
            self._names[slot] = name

    def output_name(self, slot: int):
        return self._names[slot] if self._names is not None else None

    def bind(self, slot: int, output: Tensor) -> None:
        """Output `slot` now exists (iteration makes them one at a time)."""
        self._slots[id(output)] = slot
        self._outputs[slot] = weakref.ref(output)

    def slot_of(self, tensor) -> int:
        slot = self._slots.get(id(tensor))
        if slot is not None and self._outputs[slot]() is tensor:
            return slot
        return 0

    # ----- the engine's protocol for nodes with several outputs --------------------------

    def edge_of(self, tensor):
        return (self, self.slot_of(tensor))

    def gather(self, previous, slot, grad):
        slots = list(previous) if previous is not None else [None] * len(self._outputs)
        slots[slot] = grad if slots[slot] is None else slots[slot] + grad
        return slots

    def root_gradient(self, tensor, grad):
        slots = [None] * len(self._outputs)
        slots[self.slot_of(tensor)] = grad
        return slots


def _backward(ctx, grads, xp):
    """unbind_backward: the outputs' gradients stacked along dim, zeros where none came."""
    node = ctx
    dim = node.params
    shape, dtype = node.inputs_meta[0]
    if not isinstance(grads, list):  # a hook or a single root handed one array
        grads = [grads]
    if any(g.__class__ is Tensor for g in grads if g is not None):
        zeros = shape[:dim] + shape[dim + 1:]
        parts = [g if g is not None else creation.zeros(zeros, dtype=dtype) for g in grads]
        return (shapes.stack(parts, dim),)
    out = np.zeros(shape, dtype.numpy)
    lead = (slice(None),) * dim
    for i, g in enumerate(grads):
        if g is not None:
            out[lead + (i,)] = g
    return (out,)


UNBIND.backward = _backward


def unbind(input, dim=0):
    """torch.unbind(input, dim=0) / Tensor.unbind(dim=0): the slices along dim, as a tuple."""
    return tuple(slices(input, dim))


def slices(input, dim=0, step=None):
    """unbind's outputs one at a time, all of one node: `for row in t` makes a row when the
    loop asks for it (and counts it as a step of the program's budget), so a loop that
    breaks early, or runs out of budget, never builds the rows it does not reach. A row
    never made is an output that receives no gradient: its slot is zeros, as in PyTorch."""
    if input.ndim == 0:
        raise index_error(f"Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, input.ndim)
    return _slices(input, d, step)


def _slices(input, d, step):
    lead = (slice(None),) * d
    array = input.array
    count = array.shape[d]
    dtype = input.dtype
    recording = GradMode.enabled and input.requires_grad
    node = None
    if recording and count:
        node = UnbindNode(UNBIND, (edge_to(input),), (), None, d,
                          ((input.shape, dtype),), (True,))
        node.expect(count)
        ops.set_flags(multi_output=True)
    for i in range(count):
        if step is not None:
            step()
        # The trailing Ellipsis keeps a 0-d slice a view (numpy would return a scalar copy).
        result = Tensor(array[lead + (i, Ellipsis)], dtype, recording, node)
        ops._share_base(result, input)
        if node is not None:
            node.bind(i, result)
        yield result


def check_inplace(target: Tensor) -> None:
    """PyTorch refuses, in grad mode, an in-place write to an output of a function that
    returns several views: its history could not be rebased onto one of them alone."""
    node = target.grad_fn
    if node is not None and node.__class__ is UnbindNode and node.op is UNBIND and (
            GradMode.enabled):
        raise runtime_error(
            # PyTorch names the function: Unbind, Split, SplitWithSizes
            f"Output {node.slot_of(target)} of {node.name().removesuffix('Backward0')} is a "
            "view and is being modified "
            "inplace. This view is the output of a function that returns multiple views. "
            "Such functions do not allow the output views to be modified inplace. You should "
            "replace the inplace operation by an out-of-place one.")
