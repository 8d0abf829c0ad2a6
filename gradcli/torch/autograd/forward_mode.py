"""Forward-mode AD: dual tensors, one dual level, and tangents pushed through each op.

While a `dual_level` is active, every op whose inputs carry a tangent gives its result
the tangent J·t, from the op's forward-derivative rule (gradcli/aten/jvp_rules.py,
PyTorch's formulas from derivatives.yaml). An op without an explicit rule uses the
double-vjp identity on its own backward formula (the vjp u -> J^T u is linear in u, and
its vjp against t is J t), which gives the same values. Ops PyTorch cannot differentiate
forward (floor_divide) raise PyTorch's NotImplementedError.

Tangents live in a table keyed by tensor id (Tensor.__eq__ is elementwise) with weak
references, and are dropped when the level exits, as PyTorch drops the level's tangents.
"""

from __future__ import annotations

import weakref
from collections import namedtuple

import numpy as np

from gradcli.aten import (
    jvp_rules,  # noqa: F401 - attaches the rules to the op table
    ops,
)
from gradcli.autodiff import tensor as tensor_module
from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import ProgramError, runtime_error, value_error
from gradcli.torch import conversion
from gradcli.torch.autograd import grad_mode


class State:
    level = None  # the active dual level (an int), or None
    tangents: dict = {}  # id(tensor) -> (weakref(tensor), tangent array)
    # id(tensor) -> the tangent Tensor unpack_dual gives: make_dual's own argument when its
    # layout matches the primal's (PyTorch uses it as-is), so `unpack_dual(d).tangent is t`
    tangent_objects: dict = {}


def tangent_of(tensor):
    """The tangent array of `tensor` at the active level, or None."""
    entry = State.tangents.get(id(tensor))
    if entry is None or entry[0]() is not tensor:
        return None
    return entry[1]


def set_tangent(tensor: Tensor, tangent) -> None:
    key = id(tensor)
    table = State.tangents

    def drop(_ref, key=key, table=table):
        entry = table.get(key)
        if entry is not None and entry[0]() is None:
            del table[key]

    table[key] = (weakref.ref(tensor, drop), tangent)
    _set_active(True)


def copy_tangent(source: Tensor, target: Tensor) -> None:
    """An in-place op wrote `source` into `target`: so does its tangent."""
    tangent = tangent_of(source)
    if tangent is not None:
        set_tangent(target, np.array(tangent, dtype=target.dtype.numpy))
    elif tangent_of(target) is not None:
        del State.tangents[id(target)]


def _set_active(flag: bool) -> None:

    ops.set_flags(forward_ad=flag)


def with_tangent(tensor, text: str) -> str:
    """repr of a dual tensor: PyTorch appends `tangent=<the tangent's repr>`."""
    if not State.tangents:
        return text
    tangent = tangent_of(tensor)
    if tangent is None:
        return text
    from gradcli.base import printing

    tangent = np.asarray(tangent)
    # PyTorch formats the tangent with f"{tangent}": a 0-d one shows its item()
    shown = repr(tangent.item()) if tangent.ndim == 0 else repr(Tensor(tangent))
    suffix = "tangent=" + shown
    body = text[:-1]
    # torch._tensor_str._add_suffixes: a suffix that would pass the line width goes on a new
    # line indented under the data. It counts the last line as its length + 2, except right
    # after a suffix it moved to a new line (then as its length).
    indent = len("tensor(")
    last = body.rsplit("\n", 1)[-1]
    moved = "\n" in body and last[:indent].isspace() and last[indent:indent + 1].isalpha()
    last_len = len(last) if moved else len(last) + 2
    if last_len + len(suffix) + 2 > printing.Current.options.linewidth:
        return body + ",\n" + " " * indent + suffix + ")"
    return body + ", " + suffix + ")"


# ----- torch.autograd.forward_ad -------------------------------------------------------


class dual_level:  # noqa: N801 - PyTorch's class name
    """`with fwAD.dual_level():` — tangents made inside are dropped at exit."""

    _program_attributes_ = frozenset()

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()
        return False

    def __repr__(self) -> str:
        return f"<torch.autograd.forward_ad.dual_level object at {id(self):#x}>"


def enter_dual_level():
    if State.level is not None:
        raise runtime_error("Nested forward mode AD is not supported at the moment")
    State.level = 0
    return 0


def exit_dual_level(*, level=None):
    State.level = None
    State.tangents.clear()
    State.tangent_objects.clear()
    _set_active(False)


def make_dual(tensor, tangent, *, level=None):
    if State.level is None:
        raise runtime_error(
            "Trying to create a dual Tensor for forward AD but no level exists, make sure to "
            "enter_dual_level() first.")
    if not tensor.dtype.is_floating_point:
        raise value_error(
            f"Expected primal to be floating point or complex, but got: torch.{tensor.dtype.name}")
    if not tangent.dtype.is_floating_point:
        raise value_error(
            "Expected tangent to be floating point or complex, but got: "
            f"torch.{tangent.dtype.name}")
    if tangent.shape != tensor.shape:
        raise runtime_error(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}.")
    if tensor.requires_grad:
        dual = ops.call(ops.view, (tensor,), tensor.shape)  # PyTorch: ViewBackward0
    else:
        dual = Tensor(tensor.array, tensor.dtype)
        dual.version = tensor.version
    if tangent.array.strides == tensor.array.strides:
        set_tangent(dual, tangent.array)
        State.tangent_objects[id(dual)] = tangent
    else:  # another layout: PyTorch copies the values into the primal's layout
        set_tangent(dual, np.array(tangent.array, order="C"))
    return dual


UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])
UnpackedDualTensor._program_attributes_ = frozenset({"primal", "tangent"})


def unpack_dual(tensor, *, level=None):
    tangent = tangent_of(tensor) if State.level is not None else None
    primal = Tensor(tensor.array, tensor.dtype, tensor.requires_grad, tensor.grad_fn)
    primal.version = tensor.version
    if tangent is not None and tangent.__class__ is not Tensor:
        known = State.tangent_objects.get(id(tensor))
        if known is not None and known.array is tangent:
            tangent = known
        else:
            tangent = State.tangent_objects[id(tensor)] = Tensor(np.asarray(tangent))
    return UnpackedDualTensor(primal, tangent)


MEMBERS = {
    "dual_level": dual_level,
    "make_dual": make_dual,
    "unpack_dual": unpack_dual,
    "enter_dual_level": enter_dual_level,
    "exit_dual_level": exit_dual_level,
    "UnpackedDualTensor": UnpackedDualTensor,
}


# ----- propagation (ops.call hands over here while a tangent exists) -------------------


def dual_call(entry, inputs, p, arrays, call):
    """`call(entry, inputs, p, arrays)` plus the result's tangent."""
    tangents = []
    any_tangent = False
    for x in inputs:
        t = tangent_of(x) if x.__class__ is Tensor else None
        if t is not None:
            any_tangent = True
            t = t.array if t.__class__ is Tensor else t
        tangents.append(t)

    ops.set_flags(forward_ad=False)
    try:
        result = call(entry, inputs, p, arrays)
    finally:
        ops.set_flags(forward_ad=bool(State.tangents))
    if not any_tangent or not result.dtype.is_floating_point:
        return result
    if entry.backward_name == "NotImplemented":
        raise ProgramError(
            "NotImplementedError",
            f"Trying to use forward AD with aten::{entry.overload.split('.')[0]} that does not "
            "support it.")
    primals = [x.array if x.__class__ is Tensor else x for x in inputs]
    ops.set_flags(forward_ad=False)
    try:
        rule = getattr(entry, "jvp", None)
        if rule is not None:
            tangent = rule(primals, tangents, result.array, p)
        else:
            tangent = _by_double_vjp(entry, inputs, p, tangents)
    finally:
        ops.set_flags(forward_ad=bool(State.tangents))
    if tangent is None:
        tangent = np.zeros(result.shape, result.dtype.numpy)
    tangent = np.asarray(tangent)
    if tangent.shape != result.shape:
        tangent = np.broadcast_to(tangent, result.shape).copy()
    set_tangent(result, tangent.astype(result.dtype.numpy, copy=False))
    return result


def _by_double_vjp(entry, inputs, p, tangents):
    """J t for one op from its backward formula, by differentiating the vjp in u."""

    copies = []
    for x in inputs:
        if x.__class__ is Tensor and x.dtype.is_floating_point:
            c = Tensor(x.array, x.dtype, True)
            copies.append(c)
        else:
            copies.append(x)

    with grad_mode.enable_grad():
        out = ops.call(entry, tuple(copies), p)
        u = Tensor(np.zeros(out.shape, out.dtype.numpy), out.dtype, True)
        wanted = [(c, t) for c, t in zip(copies, tangents, strict=True)
                  if t is not None and c.__class__ is Tensor]
        grads = conversion.autograd_grad(out, [c for c, _ in wanted], u, create_graph=True,
                                  allow_unused=True)
        pairs = [(g, Tensor(np.asarray(t, g.dtype.numpy)))
                 for g, (_, t) in zip(grads, wanted, strict=True)
                 if g is not None and g.requires_grad]
        if not pairs:
            return None
        (jt,) = conversion.autograd_grad([g for g, _ in pairs], [u], [t for _, t in pairs],
                                  allow_unused=True)
    return None if jt is None else jt.array


# The op table and Tensor's repr reach forward mode through these (they sit below it).
ops.dual_call = dual_call
tensor_module.describe_tangent = with_tangent
