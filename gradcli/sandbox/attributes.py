"""Attribute access from programs: tensor properties and methods, grad_fn nodes, modules,
and a few harmless methods of Python values. Everything else is an AttributeError, so a
program cannot walk from a value into Python's internals (`x.__class__`)."""

from __future__ import annotations

import functools
import string

from gradcli.autodiff import hooks as autograd_hooks
from gradcli.autodiff.node import AccumulateGrad, Node
from gradcli.autodiff.saved import saved_attribute
from gradcli.autodiff.tensor import Tensor
from gradcli.base import diagnostics
from gradcli.base.budget import MAX_SEQUENCE, resource_error
from gradcli.base.dtypes import LEGACY_TYPE_NAMES, DType
from gradcli.base.errors import ProgramError, attribute_error, runtime_error, type_error
from gradcli.random.generator import Generator
from gradcli.sandbox.guards import check_format_spec, check_str_width
from gradcli.sandbox.scope import TORCH_FUNCTIONS, Namespace
from gradcli.torch import functions as api
from gradcli.torch import runtime_state, shape_index_linalg, tensor_api, tensor_extra
from gradcli.torch.access import program_object_attribute
from gradcli.torch.autograd.grad_mode import GradModeContext
from gradcli.torch.unbind import UnbindNode

NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead. See github.com/pytorch/pytorch/pull/30531 for more information. (Triggered "
    "internally at /__w/pytorch/pytorch/build/aten/src/ATen/core/TensorBody.h:493.)"
)
T_DEPRECATION_WARNING = (
    "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
    "deprecated and it will throw an error in a future release. Consider `x.mT` to transpose "
    "batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the "
    "dimensions of a tensor. (Triggered internally at "
    "/__w/pytorch/pytorch/aten/src/ATen/native/TensorShape.cpp:4314.)"
)



def _grad(t: Tensor):
    if t.grad_fn is not None and not t.retains_grad and t.grad is None:
        diagnostics.warn(NON_LEAF_GRAD_WARNING)
    return t.grad


def _T(t: Tensor):
    if t.ndim != 2:
        diagnostics.warn(T_DEPRECATION_WARNING, once_per_process=True)
    return api.T(t)


def _mT(t: Tensor):
    if t.ndim < 2:
        raise runtime_error(
            "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return api.transpose(t, -2, -1)


TENSOR_PROPERTIES = {
    "grad": _grad,
    "grad_fn": lambda t: t.grad_fn,
    "is_leaf": lambda t: t.grad_fn is None,
    "requires_grad": lambda t: t.requires_grad,
    "retains_grad": lambda t: t.retains_grad,
    "shape": lambda t: api.Size(t.shape),
    "dtype": lambda t: t.dtype,
    "ndim": lambda t: t.ndim,
    "T": _T,
    "mT": _mT,
    "data": api.data_of,
    "device": runtime_state.device_of,
    "is_cuda": lambda t: False,
    "_version": lambda t: t.version[0],
}

# Methods that are also torch functions taking the tensor first: one table serves both.
SHARED_WITH_TORCH = (
    "add sub mul div true_divide pow neg matmul mm mv dot outer remainder floor_divide "
    "exp log log2 log10 log1p expm1 sqrt rsqrt sin cos tan tanh sigmoid relu abs sign square "
    "reciprocal clamp clip maximum minimum gt ge lt le eq ne isnan logical_not all any equal "
    "allclose sum mean prod max min amax amin argmax argmin norm var std logsumexp softmax "
    "log_softmax reshape flatten squeeze unsqueeze transpose permute t clone detach unbind"
).split()

TENSOR_METHODS = {name: TORCH_FUNCTIONS[name] for name in SHARED_WITH_TORCH}
TENSOR_METHODS.update({
    "where": lambda self, condition, other: api.where(condition, self, other),
    # shape
    "view": api.view,
    "view_as": lambda self, other: api.view(self, other.shape),
    "reshape_as": lambda self, other: api.reshape(self, other.shape),
    "expand": api.expand,
    "expand_as": api.expand_as,
    "repeat": api.repeat,
    "contiguous": api.contiguous,
    # activations PyTorch also has as Tensor methods
    "hardshrink": TORCH_FUNCTIONS["hardshrink"],
    "prelu": TORCH_FUNCTIONS["prelu"],
    # conversions and metadata
    "double": api.double,
    "float": api.float_,
    "long": api.long,
    "int": api.int_,
    "bool": api.bool_,
    "to": api.to,
    "type": lambda self, dtype=None: api.to(self, dtype) if dtype is not None else (
        f"torch.{LEGACY_TYPE_NAMES[self.dtype.name]}Tensor"
    ),
    "item": api.item,
    "tolist": api.tolist,
    "size": api.size,
    "dim": api.dim,
    "ndimension": api.dim,
    "numel": api.numel,
    "nelement": api.numel,
    "element_size": lambda self: self.dtype.itemsize,
    "is_floating_point": lambda self: self.dtype.is_floating_point,
    "is_contiguous": lambda self: bool(self.array.flags.c_contiguous),
    "cpu": lambda self: self,
    # autograd
    "backward": api.backward,
    "retain_grad": api.retain_grad,
    "requires_grad_": api.requires_grad_,
    # in-place
    "add_": api.add_,
    "sub_": api.sub_,
    "mul_": api.mul_,
    "div_": api.div_,
    "zero_": api.zero_,
    "fill_": api.fill_,
    "clamp_": api.clamp_,
    "copy_": api.copy_,
    # random, in place and out of place (gradcli.random)
    "uniform_": api.random_function("uniform_"),
    "normal_": api.random_function("normal_"),
    "bernoulli_": api.random_function("bernoulli_"),
    "random_": api.random_function("random_"),
    "exponential_": api.random_function("exponential_"),
    "bernoulli": api.random_function("bernoulli"),
    "multinomial": api.random_function("multinomial"),
    **runtime_state.TENSOR_METHODS,
    **tensor_extra.TENSOR_METHODS,
    **tensor_api.TENSOR_METHODS,
    **shape_index_linalg.TENSOR_METHODS,
    # hooks
    "register_hook": autograd_hooks.register_hook,
    "register_post_accumulate_grad_hook": autograd_hooks.register_post_accumulate_grad_hook,
})

NODE_ATTRIBUTES = {
    "next_functions": lambda n: n.next_functions,
    # PyTorch's C++ class name shows through for the leaf accumulator.
    # PyTorch's C++ class name shows through for the nodes that are not generated code.
    "name": lambda n: (lambda: "torch::autograd::AccumulateGrad")
    if isinstance(n, AccumulateGrad) else (
        (lambda: f"torch::autograd::{n.name()}")
        if n.name() in ("CopySlices", "NotImplemented") else n.name),
    "variable": lambda n: n.variable if isinstance(n, AccumulateGrad) else _missing(n, "variable"),
    "metadata": lambda n: n.metadata,
    "register_hook": lambda n: n.register_hook,
    "register_prehook": lambda n: n.register_prehook,
}

PYTHON_METHODS = {
    str: {"format", "join", "upper", "lower", "strip", "lstrip", "rstrip", "split", "replace",
          "startswith", "endswith", "ljust", "rjust", "center", "count", "find", "title",
          "zfill", "isdigit"},
    list: {"append", "extend", "pop", "index", "count", "copy", "reverse", "insert", "clear"},
    tuple: {"count", "index"},
    float: {"is_integer"},
    dict: {"keys", "values", "items", "get"},
}


def _missing(obj, attr):
    raise attribute_error(f"'{type_name(obj)}' object has no attribute '{attr}'")


def type_name(obj) -> str:
    if isinstance(obj, Tensor):
        return "Tensor"
    if isinstance(obj, (Node, AccumulateGrad)):
        return obj.name()
    if isinstance(obj, api.Size):
        return "torch.Size"
    if isinstance(obj, DType):
        return "torch.dtype"
    if isinstance(obj, api.ReturnTypes):
        return obj.kind
    if isinstance(obj, Generator):
        return "torch._C.Generator"
    if hasattr(type(obj), "_program_attributes_"):  # torch.nn / torch.optim objects
        return type(obj).__name__
    if callable(obj) and not isinstance(obj, type):
        return "builtin_function_or_method"
    return type(obj).__name__


def get_attribute(obj, attr: str):
    if attr.startswith("__"):
        _missing(obj, attr)
    cls = obj.__class__
    if cls is Tensor:
        prop = TENSOR_PROPERTIES.get(attr)
        if prop is not None:
            return prop(obj)
        method = TENSOR_METHODS.get(attr)
        if method is not None:
            return functools.partial(method, obj)
        _missing(obj, attr)
    if cls is Namespace:
        return obj.get(attr)
    if cls is Node or cls is AccumulateGrad or cls is UnbindNode:
        getter = NODE_ATTRIBUTES.get(attr)
        if getter is None and cls is Node and attr.startswith(("_saved_", "_raw_saved_")):
            found, value = saved_attribute(obj, attr)
            return value if found else _missing(obj, attr)
        return getter(obj) if getter is not None else _missing(obj, attr)
    if cls is api.ReturnTypes and attr in obj.fields:
        return obj[obj.fields.index(attr)]
    if cls is DType and attr in ("is_floating_point", "itemsize"):
        return getattr(obj, attr)
    if cls is api.Size and attr == "numel":
        return obj.numel
    allowed = PYTHON_METHODS.get(cls)
    if allowed is not None and attr in allowed:
        # str.format would walk attributes named in its fields (`{0.__class__}`): the
        # limits module hands out a guarded version of it and of the padding methods.
        return python_method(obj, attr)
    if cls is Generator:
        return api.random_function("generator_attribute")(obj, attr)
    if cls is GradModeContext:
        _missing(obj, attr)
    if hasattr(cls, "_program_attributes_"):  # torch.nn / torch.optim objects
        return program_object_attribute(obj, attr)
    if isinstance(obj, type) and attr in program_attributes(obj):
        return getattr(obj, attr)  # a gradcli class a program holds (Exp.apply)
    if attr in program_attributes(cls) or (
            attr in getattr(obj, "__dict__", ()) and hasattr(cls, "_program_attributes_")):
        return getattr(obj, attr)
    return _missing(obj, attr)


# Tensor methods PyTorch writes in Python (torch/_tensor.py): the rest are C descriptors
_PYTHON_TENSOR_METHODS = frozenset(
    ("backward", "norm", "register_hook", "register_post_accumulate_grad_hook"))


class UnboundTensorMethod:
    """`torch.Tensor.add`: the method taken from the class, called with the tensor first
    (`map(torch.Tensor.item, xs)`). Its checks and repr are those of PyTorch's method
    descriptors, or of a plain function for the methods torch/_tensor.py defines."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args, **kwargs):
        if not args:
            raise type_error(f"unbound method TensorBase.{self.name}() needs an argument")
        tensor = args[0]
        if tensor.__class__ is not Tensor:
            raise type_error(f"descriptor '{self.name}' for 'torch._C.TensorBase' objects "
                             f"doesn't apply to a '{type_name(tensor)}' object")
        return TENSOR_METHODS[self.name](tensor, *args[1:], **kwargs)

    def __repr__(self) -> str:
        if self.name in _PYTHON_TENSOR_METHODS:
            return f"<function Tensor.{self.name}>"
        return f"<method '{self.name}' of 'torch._C.TensorBase' objects>"


@functools.cache
def unbound_tensor_method(name: str) -> UnboundTensorMethod:
    return UnboundTensorMethod(name)


@functools.cache
def program_attributes(cls) -> frozenset:
    """What a program may read on instances of cls: the union over its MRO of the class
    attribute `_program_attributes_` (classes of gradcli/torch/ declare theirs)."""
    names = set()
    for klass in cls.__mro__:
        names |= klass.__dict__.get("_program_attributes_", frozenset())
    return frozenset(names)


def set_attribute(obj, attr: str, value) -> None:
    if obj.__class__ is not Tensor:
        raise attribute_error(
            f"'{type_name(obj)}' object has no attribute '{attr}'"
            if attr not in TENSOR_PROPERTIES
            else f"'{type_name(obj)}' object attribute '{attr}' is read-only"
        )
    if attr == "requires_grad":
        api.set_requires_grad(obj, value)
    elif attr == "grad":
        api.set_grad(obj, value)
    elif attr == "data":
        api.set_data(obj, value)
    elif attr in TENSOR_PROPERTIES or attr in TENSOR_METHODS:
        raise attribute_error(
            f"attribute '{attr}' of 'torch._C.TensorBase' objects is not writable"
        )
    else:
        raise type_error(
            f"gradcli tensors do not take new attributes ('{attr}')"
        )


# The types whose attributes get_attribute decides (the sandbox's policy hands them here).
GATED_TYPES = frozenset({Node, AccumulateGrad, UnbindNode, api.ReturnTypes, DType, api.Size,
                         GradModeContext, Generator})


# ----- Python values: str.format and the methods a program calls on str, list, dict ----


class _SafeFormatter(string.Formatter):
    """str.format without Python's attribute walk: `'{0.__class__}'.format(x)` and
    `'{0.__globals__[os]}'.format(f)` would reach any object in the process, so a field
    may only use the attributes the language itself allows, and index lists/dicts."""

    def get_field(self, field_name, args, kwargs):
        first, rest = _field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attribute, key in rest:
            if is_attribute:
                obj = get_attribute(obj, key)
            elif isinstance(obj, (list, tuple, dict, str)):
                obj = obj[key]
            else:
                raise ProgramError(
                    "TypeError", f"'{type(obj).__name__}' object is not subscriptable"
                )
        return obj, first

    def get_value(self, key, args, kwargs):
        if isinstance(key, int):
            if key >= len(args):
                raise ProgramError(
                    "IndexError",
                    f"Replacement index {key} out of range for positional args tuple",
                )
            return args[key]
        if key not in kwargs:
            raise ProgramError("KeyError", repr(key))
        return kwargs[key]

    def format_field(self, value, format_spec):
        check_format_spec(format_spec)
        return format(value, format_spec)


def _field_name_split(field_name):
    import _string

    return _string.formatter_field_name_split(field_name)


_FORMATTER = _SafeFormatter()


def safe_format(template: str, *args, **kwargs) -> str:
    """`template.format(*args, **kwargs)` for programs (str.format goes through here)."""
    return _FORMATTER.vformat(template, args, kwargs)


def python_method(obj, attr: str):
    """`obj.attr` for an allow-listed method of a Python value, with the size checks that
    Python itself does not make (str.format walks attributes; padding allocates width)."""
    method = getattr(obj, attr)
    if not isinstance(obj, str):
        return method
    if attr == "format":
        return functools.partial(safe_format, obj)
    if attr in ("ljust", "rjust", "center", "zfill"):

        @functools.wraps(method)
        def padded(width, *fillchar):
            check_str_width(width)
            return method(width, *fillchar)

        return padded
    if attr == "replace":

        @functools.wraps(method)
        def replace(old, new, count=-1):
            if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
                found = obj.count(old) if count < 0 else min(count, obj.count(old))
                if len(obj) + found * (len(new) - len(old)) > MAX_SEQUENCE:
                    raise resource_error(
                        f"str.replace() would build a string over gradcli's limit of "
                        f"{MAX_SEQUENCE:,} characters"
                    )
            return method(old, new, count)

        return replace
    return method

