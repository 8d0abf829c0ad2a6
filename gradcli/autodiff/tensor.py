"""The Tensor: a numpy array plus PyTorch's autograd metadata."""

from __future__ import annotations

import weakref

import numpy as np

from gradcli.base import dtypes
from gradcli.base.errors import runtime_error, type_error

# Told of every tensor turned into a bool (an `if`/`while` on data); None by default.
BRANCH_HOOK = None
# Told of every tensor read as a Python value (bool(t): "bool", t.item(): "item") while
# vmap traces a function (gradcli/torch/func/batching.py); None by default.
READ_HOOK = None


# Forward mode (gradcli.torch.autograd.forward_mode) installs `tangent=...` in the repr.
describe_tangent = None


class GradMode:
    """torch.is_grad_enabled(): a process-wide flag that no_grad/enable_grad flip."""

    enabled = True


class _Marks:
    """A set of tensors by identity, holding them weakly."""

    def __init__(self):
        self._refs: dict[int, weakref.ref] = {}

    def add(self, tensor) -> None:
        key = id(tensor)
        self._refs[key] = weakref.ref(tensor, lambda _ref: self._refs.pop(key, None))

    def __contains__(self, tensor) -> bool:
        ref = self._refs.get(id(tensor))
        return ref is not None and ref() is tensor


# Tensors made by torch.nn.Parameter. PyTorch's Parameter is a Tensor subclass; gradcli keeps
# one Tensor class (its fast paths test `x.__class__ is Tensor`) and marks parameters here.
PARAMETERS = _Marks()


class Tensor:
    """A tensor is a leaf exactly when it has no grad_fn (PyTorch's definition)."""

    __slots__ = (
        "array",
        "dtype",
        "requires_grad",
        "grad",
        "grad_fn",
        "retains_grad",
        "version",
        "base",
        "_accumulator",
        "__weakref__",
    )

    def __init__(self, array: np.ndarray, dtype=None, requires_grad=False, grad_fn=None):
        self.array = array
        self.dtype = dtype if dtype is not None else dtypes.BY_NUMPY[array.dtype]
        self.requires_grad = requires_grad
        self.grad = None
        self.grad_fn = grad_fn
        self.retains_grad = False
        # Views share their base's version counter, as in PyTorch.
        self.version = [0]
        self.base = None
        self._accumulator = None

    @property
    def accumulator(self):
        """The leaf's AccumulateGrad while a graph holds it. Held weakly, as PyTorch's
        tensor holds its grad accumulator: the node refers to the tensor, so a strong
        reference back would make every leaf and its .grad a cycle that only the garbage
        collector frees (4 MB a loop step for a (1000, 1000) float32 parameter)."""
        ref = self._accumulator
        return None if ref is None else ref()

    @accumulator.setter
    def accumulator(self, node) -> None:
        self._accumulator = None if node is None else weakref.ref(node)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return self.array.size

    def __repr__(self) -> str:
        from gradcli.base.printing import tensor_repr

        text = tensor_repr(
            self.array,
            self.dtype.name,
            grad_fn=self.grad_fn.name() if self.grad_fn is not None else None,
            requires_grad=self.requires_grad,
        )
        if describe_tangent is not None:
            text = describe_tangent(self, text)
        return "Parameter containing:\n" + text if self in PARAMETERS else text

    __str__ = __repr__

    def __len__(self) -> int:
        if not self.array.ndim:
            raise type_error("len() of a 0-d tensor")
        return self.array.shape[0]

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise runtime_error(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self.array.size
                else "Boolean value of Tensor with no values is ambiguous"
            )
        if READ_HOOK is not None:
            READ_HOOK(self, "bool")
        value = bool(self.array.reshape(()))
        if BRANCH_HOOK is not None:
            BRANCH_HOOK(value)  # `if x > 0:` decided on data (eval --symbolic notes it)
        return value

    def __hash__(self) -> int:
        return id(self)


def leaf(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """A user-created tensor (no history)."""
    return Tensor(array, None, requires_grad, None)
