"""What a program may read on an instance of a class gradcli exposes (Module, optimizers...).

Each exposed class lists its public PyTorch attributes in a class attribute
`_program_attributes_` (the union over the MRO counts). A program may read those, the
names its own code stored in the instance's __dict__ (never a dunder), and, on a Module,
the parameters, buffers and sub-modules it registered by attribute assignment.
"""

from __future__ import annotations

_ALLOWED_BY_CLASS: dict[type, frozenset] = {}


def class_allows(cls: type) -> frozenset:
    allowed = _ALLOWED_BY_CLASS.get(cls)
    if allowed is None:
        names: set = set()
        for klass in cls.__mro__:
            names.update(klass.__dict__.get("_program_attributes_", ()))
        allowed = _ALLOWED_BY_CLASS[cls] = frozenset(names)
    return allowed


def is_exposed(obj) -> bool:
    return hasattr(type(obj), "_program_attributes_")


def may_read(obj, attr: str) -> bool:
    if attr.startswith("__"):
        return False
    if attr in class_allows(type(obj)):
        return True
    state = getattr(obj, "__dict__", None)
    if state is None:
        return False
    if attr in state:
        return True
    # torch.nn.Module keeps registered members out of __dict__ (its __getattr__ finds them)
    for table in ("_parameters", "_buffers", "_modules"):
        members = state.get(table)
        if members is not None and attr in members:
            return True
    return False


def program_object_attribute(obj, attr: str):
    """`obj.attr` read by a program."""
    from gradcli.base.errors import ProgramError, attribute_error

    if may_read(obj, attr):
        try:
            return getattr(obj, attr)
        except AttributeError as exc:  # a Python AttributeError is gradcli's, not the program's
            raise attribute_error(str(exc)) from None
        except ProgramError:
            raise
    raise attribute_error(f"'{type(obj).__name__}' object has no attribute '{attr}'")
