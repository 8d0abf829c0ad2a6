"""The Python protocol of torch.Tensor that programs use directly once they run as Python:
`t += x` in place, `for row in t`, `t[i] = v`, `f"{loss:.4f}"`, `items[t]`, `x in t`.

Each follows torch/_tensor.py of PyTorch 2.13.
"""

from __future__ import annotations

import numbers

from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import runtime_error, type_error
from gradcli.torch import functions as api
from gradcli.torch import unbind


def _inplace(fn):
    # `t op= x` is PyTorch's in-place op (add_, mul_, ...), with its leaf and version checks.
    return lambda self, other: api.inplace(self, fn, other)


# The running program's step counter: each row of an iterated tensor is a step
# (`list(zeros(10**6))` is a loop in disguise). Set by the runtime.
ROW_STEP = [None]


def _iter(self):
    # torch: `iter(self.unbind(0))`; a 0-d tensor cannot be iterated.
    if self.ndim == 0:
        raise type_error("iteration over a 0-d tensor")
    return unbind.slices(self, 0, ROW_STEP[0])


def _format(self, spec: str) -> str:
    # torch: a 0-d tensor formats its item(); otherwise object.__format__, which refuses
    # a non-empty spec.
    if self.ndim == 0:
        return format(api.item(self), spec)
    if spec:
        raise type_error("unsupported format string passed to Tensor.__format__")
    return str(self)


def _index(self) -> int:
    if self.array.size != 1 or self.dtype.is_floating_point or self.dtype.name == "bool":
        raise type_error("only integer tensors of a single element can be converted to an "
                         "index")
    return int(api.item(self))


def _contains(self, element) -> bool:
    if isinstance(element, (Tensor, numbers.Number)):
        return bool(api.item(api.any_(api.eq(self, element))))
    raise runtime_error("Tensor.__contains__ only supports Tensor or scalar, but you passed "
                        f"in a {type(element)}.")


def _scalar(convert):
    return lambda self: convert(api._scalar_of(self))


NOT_OPERANDS = (str, bytes, dict, set, list, tuple, type(None))


def _reflected(fn, refused=NOT_OPERANDS):
    """torch wraps its reflected operators so a TypeError becomes NotImplemented: Python
    then reports the other operand's own error (`"a" + t`: can only concatenate str)."""
    def reflected(self, other):
        if isinstance(other, refused):
            return NotImplemented
        return fn(self, other)
    return reflected


for _name in ("__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rpow__"):
    setattr(Tensor, _name, _reflected(getattr(Tensor, _name)))
# Comparisons with a string (`t < "a"`) are Python's TypeError, `t == "a"` is False.
for _name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(Tensor, _name, _reflected(getattr(Tensor, _name),
                                      (str, bytes, dict, set, type(None))))

Tensor.__iadd__ = _inplace(api.add)
Tensor.__isub__ = _inplace(api.sub)
Tensor.__imul__ = _inplace(api.mul)
Tensor.__itruediv__ = _inplace(api.div)
Tensor.__ipow__ = _inplace(api.pow)
Tensor.__ifloordiv__ = _inplace(api.floor_divide)
Tensor.__imod__ = _inplace(api.remainder)
Tensor.__floordiv__ = api.floor_divide
Tensor.__rfloordiv__ = lambda self, other: api.floor_divide(other, self)
Tensor.__mod__ = api.remainder
Tensor.__rmod__ = lambda self, other: api.remainder(other, self)
Tensor.__rmatmul__ = lambda self, other: api.matmul(other, self)
Tensor.__iter__ = _iter
Tensor.__format__ = _format
Tensor.__index__ = _index
Tensor.__contains__ = _contains
Tensor.__setitem__ = api.setitem
Tensor.__float__ = _scalar(float)
Tensor.__int__ = _scalar(int)


class _TensorType(type):
    """`torch.Tensor` as programs see it: a class for isinstance() and type(x), and the
    legacy constructor when called (`torch.Tensor(2, 3)`, `torch.Tensor([1, 2])`)."""

    def __instancecheck__(cls, value) -> bool:
        return isinstance(value, Tensor)

    def __subclasscheck__(cls, other) -> bool:
        # torch.Tensor itself, and nn.Parameter (whose metaclass says it is a tensor class;
        # programs cannot write metaclasses)
        return isinstance(other, type) and (
            other is cls or issubclass(other, Tensor)
            or getattr(type(other), "tensor_subclass", False))

    def __call__(cls, *args, **kwargs):
        return cls._construct(*args, **kwargs)

    def __repr__(cls) -> str:
        return "<class 'torch.Tensor'>"


def tensor_class(construct):
    return _TensorType("Tensor", (), {"_construct": staticmethod(construct),
                                      "__module__": "torch", "__qualname__": "Tensor"})
