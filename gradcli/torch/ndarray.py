"""`Tensor.numpy()`: numpy's values behind a gate (SPEC §1.7, §1.9).

A program gets an `ndarray` holder, never numpy's own array: it prints, indexes, iterates
and computes as numpy's array does (its text is numpy's own), and offers the attributes
listed in `_program_attributes_` only, each returning another holder or a Python value.
numpy's file and buffer methods (tofile, tobytes, ctypes, data, base,
__array_interface__, view with another dtype) are simply not there. As in PyTorch, the
array shares the tensor's memory.
"""

from __future__ import annotations

import operator

import numpy as np

from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.budget import resource_error
from gradcli.base.errors import runtime_error, type_error

MAX_ELEMENTS = 10_000_000  # what a numpy method may allocate (the run's memory cap aside)


def wrap(value):
    """A numpy result as the program sees it."""
    if isinstance(value, (np.ndarray, np.generic)):
        return ndarray(value)
    if isinstance(value, np.dtype):
        return NumpyDType(value)
    if isinstance(value, tuple):
        return tuple(wrap(v) for v in value)
    return value


def unwrap(value):
    if value.__class__ is ndarray:
        return value._value
    if value.__class__ is NumpyDType:
        return value._dtype
    if value.__class__ is Tensor:
        raise type_error("mixing numpy arrays and tensors in one expression is not supported "
                         "by gradcli yet")
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(v) for v in value)
    if isinstance(value, slice):
        return slice(unwrap(value.start), unwrap(value.stop), unwrap(value.step))
    if isinstance(value, (bool, int, float, complex, str)) or value is None or (
            value is Ellipsis):
        return value
    raise type_error(f"numpy arrays take numbers, lists and arrays here, not "
                     f"{type(value).__name__}")


def _checked(result):
    if isinstance(result, np.ndarray) and result.size > MAX_ELEMENTS:
        raise resource_error(f"a numpy array of {result.size} elements is over the limit")
    return wrap(result)


class NumpyDType:
    """numpy's dtype object: its name and text, nothing that reaches numpy's classes."""

    __slots__ = ("_dtype",)
    _program_attributes_ = frozenset({"name", "itemsize", "kind"})

    def __init__(self, dtype):
        if not isinstance(dtype, np.dtype):
            raise type_error(f"dtype() takes a numpy dtype, not {type(dtype).__name__}")
        self._dtype = dtype

    name = property(lambda self: self._dtype.name)
    itemsize = property(lambda self: self._dtype.itemsize)
    kind = property(lambda self: self._dtype.kind)

    def __repr__(self):
        return repr(self._dtype)

    def __str__(self):
        return str(self._dtype)

    def __eq__(self, other):
        try:
            return self._dtype == unwrap(other)
        except TypeError:
            return False

    def __hash__(self):
        return hash(self._dtype)


def _method(name, check=None):
    def method(self, *args, **kwargs):
        args = unwrap(args)
        kwargs = {k: unwrap(v) for k, v in kwargs.items()}
        try:
            if check is not None:
                check(self._value, args, kwargs)
            return _checked(getattr(self._value, name)(*args, **kwargs))
        except NUMPY_ERRORS as exc:
            raise _numpy_error(exc) from None

    method.__name__ = name
    return method


# what numpy raises on a program's bad arguments: the program's error, never gradcli's
NUMPY_ERRORS = (ValueError, TypeError, IndexError, AttributeError, OverflowError,
                ZeroDivisionError)


def _guarded(method):
    def guarded(self, *args):
        try:
            return method(self, *args)
        except NUMPY_ERRORS as exc:
            raise _numpy_error(exc) from None

    guarded.__name__ = method.__name__
    return guarded


def _numpy_error(exc):
    from gradcli.base.errors import ProgramError

    return ProgramError(type(exc).__name__, str(exc))


def _no_dtype_games(value, args, kwargs):
    """astype/view: numeric dtypes only, and `view` never reinterprets the bytes."""
    target = args[0] if args else kwargs.get("dtype")
    if target is not None:
        kind = np.dtype(target).kind
        if kind not in "biuf":
            raise type_error(f"numpy dtype {np.dtype(target)} is not supported by gradcli")


def _view_check(value, args, kwargs):
    if args or kwargs:
        raise type_error("ndarray.view() with a dtype or type is not supported by gradcli")


_METHODS = ("sum", "mean", "std", "var", "max", "min", "argmax", "argmin", "prod",
            "cumsum", "cumprod", "any", "all", "round", "clip", "squeeze", "flatten", "ravel",
            "transpose", "swapaxes", "copy", "dot", "nonzero", "argsort", "sort", "fill",
            "tolist", "item", "reshape", "astype", "view", "repeat", "diagonal", "trace",
            "searchsorted")
_CHECKS = {"astype": _no_dtype_games, "view": _view_check}


def _binary(op, reflected=False):
    def method(self, other):
        other = unwrap(other)
        a, b = (other, self._value) if reflected else (self._value, other)
        try:
            return _checked(op(a, b))
        except NUMPY_ERRORS as exc:
            raise _numpy_error(exc) from None

    return method


class ndarray:  # noqa: N801 - the name programs see in messages, numpy's
    """A numpy array or scalar a program holds."""

    __slots__ = ("_value",)
    _program_attributes_ = frozenset(
        {"shape", "dtype", "ndim", "size", "T", "itemsize", "nbytes", "real", "imag",
         *_METHODS})

    def __init__(self, value):
        # Only numpy's own values, once: a program that reaches the class (type(a)) can
        # neither wrap another object nor swap the array of one it holds.
        if not isinstance(value, (np.ndarray, np.generic)):
            raise type_error(f"ndarray() takes a numpy array, not {type(value).__name__}")
        if hasattr(self, "_value"):
            raise type_error("ndarray() takes a numpy array, not ndarray")
        self._value = value

    shape = property(lambda self: tuple(self._value.shape))
    ndim = property(lambda self: self._value.ndim)
    size = property(lambda self: int(self._value.size))
    itemsize = property(lambda self: self._value.itemsize)
    nbytes = property(lambda self: int(self._value.nbytes))
    dtype = property(lambda self: NumpyDType(self._value.dtype))
    T = property(lambda self: wrap(self._value.T))
    real = property(lambda self: wrap(self._value.real))
    imag = property(lambda self: wrap(self._value.imag))

    for _name in _METHODS:
        locals()[_name] = _method(_name, _CHECKS.get(_name))
    del _name

    def __repr__(self):
        return repr(self._value)

    def __str__(self):
        return str(self._value)

    @_guarded
    def __format__(self, spec):
        return format(self._value, spec)

    @_guarded
    def __len__(self):
        return len(self._value)

    def __iter__(self):
        return (wrap(v) for v in self._value)

    def __getitem__(self, index):
        try:
            return wrap(self._value[unwrap(index)])
        except NUMPY_ERRORS as exc:
            raise _numpy_error(exc) from None

    def __setitem__(self, index, value):
        if isinstance(self._value, np.generic):
            raise _numpy_error(TypeError(
                f"'{type(self._value).__name__}' object does not support item assignment"))
        try:
            self._value[unwrap(index)] = unwrap(value)
        except NUMPY_ERRORS as exc:
            raise _numpy_error(exc) from None

    @_guarded
    def __bool__(self):
        try:
            return bool(self._value)
        except ValueError as exc:
            raise _numpy_error(exc) from None

    @_guarded
    def __float__(self):
        return float(self._value)

    @_guarded
    def __int__(self):
        return int(self._value)

    @_guarded
    def __index__(self):
        return operator.index(self._value)

    def __hash__(self):
        if isinstance(self._value, np.ndarray):
            raise _numpy_error(TypeError("unhashable type: 'numpy.ndarray'"))
        return hash(self._value)

    @_guarded
    def __neg__(self):
        return wrap(-self._value)

    @_guarded
    def __pos__(self):
        return wrap(+self._value)

    @_guarded
    def __abs__(self):
        return wrap(abs(self._value))

    @_guarded
    def __invert__(self):
        return wrap(~self._value)

    @_guarded
    def __round__(self, ndigits=None):
        return wrap(round(self._value, ndigits)) if ndigits is not None else round(self._value)

    __add__, __radd__ = _binary(operator.add), _binary(operator.add, True)
    __sub__, __rsub__ = _binary(operator.sub), _binary(operator.sub, True)
    __mul__, __rmul__ = _binary(operator.mul), _binary(operator.mul, True)
    __truediv__, __rtruediv__ = _binary(operator.truediv), _binary(operator.truediv, True)
    __floordiv__ = _binary(operator.floordiv)
    __rfloordiv__ = _binary(operator.floordiv, True)
    __mod__, __rmod__ = _binary(operator.mod), _binary(operator.mod, True)
    __pow__, __rpow__ = _binary(operator.pow), _binary(operator.pow, True)
    __matmul__, __rmatmul__ = _binary(operator.matmul), _binary(operator.matmul, True)
    __and__, __rand__ = _binary(operator.and_), _binary(operator.and_, True)
    __or__, __ror__ = _binary(operator.or_), _binary(operator.or_, True)
    __xor__, __rxor__ = _binary(operator.xor), _binary(operator.xor, True)
    __eq__, __ne__ = _binary(operator.eq), _binary(operator.ne)
    __lt__, __le__ = _binary(operator.lt), _binary(operator.le)
    __gt__, __ge__ = _binary(operator.gt), _binary(operator.ge)


NUMPY_GRAD_MESSAGE = ("Can't call numpy() on Tensor that requires grad. Use "
                      "tensor.detach().numpy() instead.")


def numpy(input, *, force=False):
    """Tensor.numpy(): the tensor's memory as a numpy array."""
    if input.requires_grad and not force:
        raise runtime_error(NUMPY_GRAD_MESSAGE)
    return ndarray(input.array if input.array.ndim else input.array.reshape(()))


def from_numpy(array):
    if array.__class__ is not ndarray or not isinstance(array._value, np.ndarray):
        raise type_error(f"expected np.ndarray (got {type(array).__name__})")
    value = array._value
    dtype = dtypes.BY_NUMPY.get(value.dtype)
    if dtype is None:
        raise type_error(f"can't convert np.ndarray of type numpy.{value.dtype} to a tensor "
                         "in gradcli")
    if not value.flags.writeable:
        value = value.copy()
    return Tensor(value, dtype)  # shares the array's memory, as in PyTorch
