"""What a program may reach on a value: an allow-list per type (SPEC §1.9).

A program's own classes and instances expose what the program defined; gradcli's classes
expose what they list in `_program_attributes_`; tensors, nodes and modules go through
gradcli.sandbox.attributes; Python's own values expose the methods listed here. Nothing is decided
by a deny-list of names: a name reaches the value only when one of these rules allows it.
Each refusal is the AttributeError Python gives for a missing attribute.
"""

from __future__ import annotations

import functools
import types

from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import attribute_error, runtime_error
from gradcli.sandbox import attributes
from gradcli.sandbox import scope as names
from gradcli.sandbox.attributes import python_method
from gradcli.sandbox.scope import Namespace

RESERVED_PREFIX = "_gx_"
PROGRAM_MARK = "_gx_program"

# Program classes whose every base is a program class or one of SAFE_BASES: any attribute
# a program can name on their instances is the program's own (or a safe base's method).
PURE: set = set()

SAFE_BASES = frozenset({object, list, dict, tuple, set, frozenset, int, float})

# Python's own values: the methods a program may call (str.format is handed out guarded).
_STR = {"capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs",
        "find", "format", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit",
        "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle",
        "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix",
        "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit",
        "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
        "upper", "zfill", "maketrans", "translate"}
_LIST = {"append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove",
         "reverse", "sort"}
_DICT = {"clear", "copy", "fromkeys", "get", "items", "keys", "pop", "popitem", "setdefault",
         "update", "values"}
_SET = {"add", "clear", "copy", "difference", "difference_update", "discard",
        "intersection", "intersection_update", "isdisjoint", "issubset", "issuperset", "pop",
        "remove", "symmetric_difference", "symmetric_difference_update", "union", "update"}
_NUMBER = {"real", "imag", "conjugate", "as_integer_ratio"}
_EXCEPTION = {"args", "with_traceback", "add_note"}
PYTHON_ATTRIBUTES = {
    str: _STR,
    list: _LIST,
    tuple: {"count", "index"},
    dict: _DICT,
    set: _SET,
    frozenset: {"copy", "difference", "intersection", "isdisjoint", "issubset", "issuperset",
                "symmetric_difference", "union"},
    int: _NUMBER | {"bit_length", "bit_count", "numerator", "denominator", "to_bytes",
                    "from_bytes"},
    bool: _NUMBER | {"bit_length", "numerator", "denominator"},
    float: _NUMBER | {"is_integer", "hex", "fromhex"},
    complex: {"real", "imag", "conjugate"},
    bytes: {"decode", "hex", "count", "find", "index", "startswith", "endswith", "split",
            "strip", "join", "replace", "fromhex"},
    range: {"start", "stop", "step", "count", "index"},
    slice: {"start", "stop", "step", "indices"},
    functools.partial: {"func", "args", "keywords"},
    property: {"fget", "fset", "fdel", "getter", "setter", "deleter"},
    staticmethod: set(),
    classmethod: set(),
    type(None): set(),
}
for _exc in (StopIteration,):
    PYTHON_ATTRIBUTES[_exc] = _EXCEPTION | {"value"}
for _exc in (AttributeError, NameError):
    PYTHON_ATTRIBUTES[_exc] = _EXCEPTION | {"name"}

# Methods read straight from Python's own containers and numbers (the guard's fast path);
# str's format and padding methods are handed out guarded, so they stay on the slow path.
FAST_METHODS = {cls: frozenset(names) for cls, names in PYTHON_ATTRIBUTES.items()
                if cls in (list, dict, set, tuple, int, float, frozenset)}
FAST_METHODS[str] = frozenset(_STR - {"format", "ljust", "rjust", "center", "zfill",
                                      "replace"})

# Dunder attributes any value offers read-only (SPEC §1.9).
DESCRIPTIVE_DUNDERS = frozenset({"__name__", "__qualname__", "__doc__", "__module__",
                                 "__class__"})
# The protocol methods a program may name (`super().__init__()`, `x.__add__(y)`).
PROTOCOL_DUNDERS = frozenset({
    "__init__", "__call__", "__repr__", "__str__", "__format__", "__bool__", "__len__",
    "__hash__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__getitem__", "__setitem__", "__delitem__", "__contains__", "__iter__", "__next__",
    "__reversed__", "__enter__", "__exit__", "__float__", "__int__", "__index__",
    "__round__", "__abs__", "__neg__", "__pos__", "__invert__",
    "__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__",
    "__rmul__", "__imul__", "__truediv__", "__rtruediv__", "__itruediv__", "__floordiv__",
    "__rfloordiv__", "__ifloordiv__", "__mod__", "__rmod__", "__imod__", "__pow__",
    "__rpow__", "__ipow__", "__matmul__", "__rmatmul__", "__imatmul__", "__and__",
    "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__lshift__", "__rshift__",
    "__post_init__", "__set_name__", "__missing__",
})
# Protocol methods that act on any object: only where the program's own class defines them.
OWN_ONLY_DUNDERS = frozenset({"__setattr__", "__delattr__", "__getattr__", "__new__",
                              "__init_subclass__", "__class_getitem__"})


def missing(obj, name: str):
    raise attribute_error(f"'{type_label(obj)}' object has no attribute '{name}'")


def type_label(obj) -> str:
    cls = obj.__class__
    if cls is types.FunctionType:
        return "function"
    if cls is types.MethodType:
        return "method"
    if cls is Tensor or cls is Namespace:
        return attributes.type_name(obj)
    if isinstance(obj, type):
        return "type"
    return attributes.type_name(obj) if not is_program_class(cls) else cls.__name__


def is_program_class(cls) -> bool:
    try:
        return PROGRAM_MARK in cls.__dict__
    except AttributeError:
        return False


@functools.lru_cache(maxsize=1024)
def program_attributes(cls) -> frozenset | None:
    """The names a gradcli class offers programs (union over its bases), or None."""
    found = None
    for klass in cls.__mro__:
        names = klass.__dict__.get("_program_attributes_")
        if names is not None:
            found = names if found is None else found | names
    return found


def _owner(mro, name):
    for klass in mro:
        if name in klass.__dict__:
            return klass
    return None


@functools.lru_cache(maxsize=4096)
def owner_allows(cls_mro: tuple, name: str, owner_only: bool) -> bool:
    """Whether `name`, found along `cls_mro`, belongs to something a program may use."""
    owner = _owner(cls_mro, name)
    if owner is None:
        return not owner_only  # an instance attribute, or the program's __getattr__
    if is_program_class(owner):
        return True
    if owner_only:
        return False
    listed = program_attributes(cls_mro[0])
    if listed is not None and name in listed:
        return True
    if name in PROTOCOL_DUNDERS:
        return True
    allowed = PYTHON_ATTRIBUTES.get(owner)
    if allowed is not None and name in allowed:
        return True
    if issubclass(owner, BaseException) and name in _EXCEPTION:
        return True
    return False


def get_attribute(obj, name: str):
    """`obj.name` from a program (the slow path: every rule)."""
    if name.startswith(RESERVED_PREFIX):
        missing(obj, name)
    cls = obj.__class__
    dunder = len(name) > 4 and name.startswith("__") and name.endswith("__")
    if cls in PURE and not dunder:
        return getattr(obj, name)
    if dunder:
        return _get_dunder(obj, name)
    if cls is Tensor or cls is Namespace or cls in attributes.GATED_TYPES:
        return attributes.get_attribute(obj, name)
    if cls is super:
        return _get_super(obj, name)
    if isinstance(obj, type):
        if obj is names.TORCH.members["Tensor"] and name in attributes.TENSOR_METHODS:
            return attributes.unbound_tensor_method(name)
        return _get_class_attribute(obj, name)
    if is_program_class(cls) or program_attributes(cls) is not None:
        instance_dict = getattr(obj, "__dict__", None)
        if instance_dict is not None and name in instance_dict:
            owner = _owner(cls.__mro__, name)
            if owner is None or not isinstance(owner.__dict__[name], property):
                return instance_dict[name]
        if owner_allows(cls.__mro__, name, False):
            return getattr(obj, name)
        missing(obj, name)
    if callable(obj) and hasattr(obj, "__code__"):
        # A program's function: the attributes the program set on it.
        if name in getattr(obj, "__dict__", {}):
            return obj.__dict__[name]
        missing(obj, name)
    allowed = PYTHON_ATTRIBUTES.get(cls)
    if allowed is None:
        for klass in cls.__mro__:
            allowed = PYTHON_ATTRIBUTES.get(klass)
            if allowed is not None:
                break
        if allowed is None and isinstance(obj, BaseException):
            allowed = _EXCEPTION
    if allowed is not None and name in allowed:
        if cls is str:
            return python_method(obj, name)
        if cls is functools.partial and _is_tensor_method(obj):
            missing(obj, name)  # a tensor's bound method (`t.abs.func`) is PyTorch's builtin
        return getattr(obj, name)
    missing(obj, name)


def _is_tensor_method(bound: functools.partial) -> bool:
    """`t.abs` as gradcli.sandbox.attributes hands it out: gradcli's function bound to a tensor."""
    return (bool(bound.args) and bound.args[0].__class__ is Tensor
            and getattr(bound.func, "__module__", "").startswith("gradcli"))


def _get_dunder(obj, name: str):
    if name in DESCRIPTIVE_DUNDERS:
        if name == "__class__":
            if obj.__class__ is Tensor:
                return names.TORCH.members["Tensor"]
            return obj.__class__
        if obj.__class__ is Namespace and name == "__name__":
            return obj.name
        try:
            return getattr(obj, name)
        except AttributeError:
            missing(obj, name)
    cls = obj.__class__
    if cls is super:
        mro = _super_mro(obj)
        if mro and owner_allows(mro, name, name in OWN_ONLY_DUNDERS) and (
                name in PROTOCOL_DUNDERS or name in OWN_ONLY_DUNDERS):
            return getattr(obj, name)
        missing(obj, name)
    if name == "__init__" and not _program_side(obj):
        # Re-initialising one of gradcli's own objects (`y.grad_fn.__init__`) would let a
        # program rewire it; a program's classes and the classes it may subclass
        # (`nn.Module.__init__(self)`) keep their __init__.
        missing(obj, name)
    if name in PROTOCOL_DUNDERS or name in OWN_ONLY_DUNDERS:
        mro = obj.__mro__ if isinstance(obj, type) else cls.__mro__
        if owner_allows(mro, name, name in OWN_ONLY_DUNDERS):
            return getattr(obj, name)
    missing(obj, name)


def _program_side(obj) -> bool:
    """A program's class or instance, or a gradcli class made to be subclassed."""
    if isinstance(obj, type):
        return is_program_class(obj) or program_attributes(obj) is not None
    return is_program_class(obj.__class__)


def _super_mro(obj) -> tuple:
    start = obj.__thisclass__
    owner_class = obj.__self_class__
    if owner_class is None:
        return ()
    mro = owner_class.__mro__
    try:
        return mro[mro.index(start) + 1:]
    except ValueError:
        return ()


def _get_super(obj, name: str):
    mro = _super_mro(obj)
    if mro and owner_allows(mro, name, False) and _owner(mro, name) is not None:
        return getattr(obj, name)
    missing(obj, name)


def _get_class_attribute(cls, name: str):
    owner = _owner(cls.__mro__, name)
    if owner is not None and (is_program_class(owner) or owner_allows(cls.__mro__, name,
                                                                       False)):
        if owner is str and name in ("format", "format_map"):
            missing(cls, name)
        return getattr(cls, name)
    raise attribute_error(f"type object '{cls.__name__}' has no attribute '{name}'")


def set_attribute(obj, name: str, value) -> None:
    if name.startswith(RESERVED_PREFIX) or (name.startswith("__") and name.endswith("__")):
        _refuse_set(obj, name)
    cls = obj.__class__
    if cls is Tensor:
        attributes.set_attribute(obj, name, value)
        return
    if (cls in PURE or is_program_class(cls) or program_attributes(cls) is not None
            or (isinstance(obj, type) and is_program_class(obj))):
        setattr(obj, name, value)
        return
    if callable(obj) and hasattr(obj, "__code__") and hasattr(obj, "__dict__"):
        obj.__dict__[name] = value
        return
    _refuse_set(obj, name)


def _refuse_set(obj, name):
    cls = obj.__class__
    if cls in PYTHON_ATTRIBUTES and name in PYTHON_ATTRIBUTES[cls]:
        raise attribute_error(f"'{type_label(obj)}' object attribute '{name}' is read-only")
    if cls is Namespace:
        raise attribute_error(f"module '{obj.name}' has no attribute '{name}'")
    missing(obj, name)


def delete_attribute(obj, name: str) -> None:
    if name.startswith(RESERVED_PREFIX) or (name.startswith("__") and name.endswith("__")):
        missing(obj, name)
    cls = obj.__class__
    if (cls in PURE or is_program_class(cls) or program_attributes(cls) is not None
            or (isinstance(obj, type) and is_program_class(obj))):
        delattr(obj, name)
        return
    if cls is Tensor:
        _delete_tensor_attribute(obj, name)
        return
    missing(obj, name)


def _delete_tensor_attribute(tensor: Tensor, name: str) -> None:
    """`del x.name`: PyTorch clears .grad and refuses the rest, each in its own words (a
    property is not writable; a method is found on the class, not on the tensor)."""
    if name == "grad":
        attributes.set_attribute(tensor, "grad", None)
    elif name == "data":
        raise runtime_error("Deleting tensor data is not allowed. Delete tensor instead!")
    elif name == "requires_grad":
        raise runtime_error("requires_grad must be a bool")
    elif name in attributes.TENSOR_PROPERTIES:
        raise attribute_error(
            f"attribute '{name}' of 'torch._C.TensorBase' objects is not writable")
    else:
        raise attribute_error(f"'Tensor' object has no attribute '{name}'")
