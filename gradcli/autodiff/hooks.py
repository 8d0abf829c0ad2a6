"""The engine's one hook table: tensor hooks, node pre/post hooks, post-accumulate hooks.

PyTorch's order at a node about to run (engine.cpp, NOTE [Hooks ordering]):
  1. tensor pre-hooks: `t.register_hook(fn)` on the tensor whose grad_fn this is (on a
     leaf, on its AccumulateGrad), in registration order, each seeing the previous one's
     result; then the retains_grad hook (always after them, wherever retain_grad() was
     called); a captured gradient (autograd.grad) is taken after them;
  2. node pre-hooks: `grad_fn.register_prehook(fn(grad_outputs))`;
  3. the node's backward;
  4. node post-hooks: `grad_fn.register_hook(fn(grad_inputs, grad_outputs))`.
A leaf's post-accumulate-grad hooks run with the tensor once `.grad` is updated.

Hooks are kept here rather than on Node and Tensor so the hot path pays one flag test
when no program registered any. Tensors are keyed by id (Tensor.__eq__ is elementwise),
with a weak reference that drops the entry with the tensor; nodes by weak key.
"""

from __future__ import annotations

import itertools
import weakref

import numpy as np

from gradcli.autodiff import hints
from gradcli.autodiff.observer import Observer
from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import runtime_error, type_error


class State:
    # True once any hook was registered: the engine asks nothing before that.
    active = False


_ids = itertools.count()
_tensor_hooks: dict = {}  # id(leaf tensor) -> (weakref, {hook id: fn})
_post_accumulate: dict = {}  # id(leaf tensor) -> (weakref, {hook id: fn})
_node_tensor_hooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# A node with several outputs (unbind): node -> {output index: {hook id: fn}}.
_output_hooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_node_prehooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_node_posthooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_metadata: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class RemovableHandle:
    """torch.utils.hooks.RemovableHandle: `remove()` unregisters the hook (twice is fine)."""

    _program_attributes_ = frozenset({"remove", "id"})
    __slots__ = ("_hooks_ref", "id", "__weakref__")  # no instance dict for programs to read

    def __init__(self, hooks: dict, hook_id: int):
        self._hooks_ref = weakref.ref(hooks) if hooks is not None else None
        self.id = hook_id

    def remove(self) -> None:
        hooks = self._hooks_ref() if self._hooks_ref is not None else None
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def __repr__(self) -> str:
        return f"<torch.utils.hooks.RemovableHandle object at {id(self):#x}>"


class _HookDict(dict):
    """A dict that a weak reference can name (handles hold their table weakly)."""

    __slots__ = ("__weakref__",)


def _by_tensor(table: dict, tensor: Tensor) -> dict:
    key = id(tensor)
    entry = table.get(key)
    if entry is None or entry[0]() is not tensor:
        hooks = _HookDict()

        def drop(_ref, key=key, table=table):
            table.pop(key, None)

        entry = table[key] = (weakref.ref(tensor, drop), hooks)
    return entry[1]


def _by_node(table, node) -> dict:
    hooks = table.get(node)
    if hooks is None:
        hooks = table[node] = _HookDict()
    return hooks


_lines: dict = {}  # hook id -> the program line that registered it (for --trace)


def _add(hooks: dict, fn) -> RemovableHandle:
    State.active = True
    hook_id = next(_ids)
    hooks[hook_id] = fn
    line = hints.current_line()
    if line is not None:
        _lines[hook_id] = line
    return RemovableHandle(hooks, hook_id)


# ----- registration (the program-facing API) --------------------------------------------


def register_hook(tensor: Tensor, hook) -> RemovableHandle:
    """Tensor.register_hook(hook): hook(grad) -> None or a replacement gradient."""
    if not tensor.requires_grad:
        raise runtime_error("cannot register a hook on a tensor that doesn't require gradient")
    if tensor.grad_fn is None:
        return _add(_by_tensor(_tensor_hooks, tensor), hook)
    node = tensor.grad_fn
    if node.multi_output:  # the hook sees this output's gradient only
        slot = node.edge_of(tensor)[1]
        return _add(_by_node(_output_hooks, node).setdefault(slot, _HookDict()), hook)
    return _add(_by_node(_node_tensor_hooks, node), hook)


def register_post_accumulate_grad_hook(tensor: Tensor, hook) -> RemovableHandle:
    if not tensor.requires_grad:
        raise runtime_error("cannot register a hook on a tensor that doesn't require gradient")
    if tensor.grad_fn is not None:
        raise runtime_error("post accumulate grad hooks cannot be registered on non-leaf tensors")
    return _add(_by_tensor(_post_accumulate, tensor), hook)


def register_node_hook(node, hook) -> RemovableHandle:
    """grad_fn.register_hook(hook): hook(grad_inputs, grad_outputs) -> None or new grad_inputs."""
    return _add(_by_node(_node_posthooks, node), hook)


def register_node_prehook(node, hook) -> RemovableHandle:
    """grad_fn.register_prehook(hook): hook(grad_outputs) -> None or new grad_outputs."""
    return _add(_by_node(_node_prehooks, node), hook)


def metadata(node) -> dict:
    """grad_fn.metadata: one dict per node, kept as long as the node lives."""
    table = _metadata.get(node)
    if table is None:
        table = _metadata[node] = {}
    return table


# ----- what the engine calls ----------------------------------------------------------


def _as_tensor(grad):
    if grad is None or grad.__class__ is Tensor:
        return grad
    return Tensor(np.asarray(grad))


def _as_engine(value, numpy_grads: bool):
    if value is None or value.__class__ is not Tensor:
        return value
    return value.array if numpy_grads else value


def _hook_name(fn) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _type_name(t: Tensor) -> str:
    return "torch." + {"float32": "Float", "float64": "Double", "int64": "Long",
                       "int32": "Int", "bool": "Bool"}[t.dtype.name] + "Tensor"


def _checked(fn, value: Tensor, result):
    """PyTorch's check_single_result: a hook may not change the gradient's type or size."""
    if result is None:
        return None
    if result.__class__ is not Tensor:
        raise type_error(f"expected Variable, but hook returned '{type(result).__name__}'")
    if result.dtype is not value.dtype:
        raise runtime_error(
            f"hook '{_hook_name(fn)}' has changed the type of value (was {_type_name(value)} "
            f"got {_type_name(result)})")
    if result.shape != value.shape:
        raise runtime_error(f"hook '{_hook_name(fn)}' has changed the size of value")
    return result


def has_hooks(node) -> bool:
    """Whether a backward pass reaching `node` would call a hook there (or anomaly mode
    would check it): a batched pass (autodiff/batched.py) leaves such graphs alone."""
    if Anomaly.enabled:
        return True
    if node.__class__.__name__ == "AccumulateGrad":
        entry = _tensor_hooks.get(id(node.variable))
        return bool(entry is not None and entry[0]() is node.variable and entry[1])
    return bool(_node_tensor_hooks.get(node) or _node_prehooks.get(node)
                or _node_posthooks.get(node))


def tensor_pre_hooks(node, grad, numpy_grads: bool):
    """Step 1: the gradient after the tensor's own hooks."""
    if node.__class__.__name__ == "AccumulateGrad":
        entry = _tensor_hooks.get(id(node.variable))
        hooks = entry[1] if entry is not None and entry[0]() is node.variable else None
    elif node.multi_output:
        return _output_pre_hooks(node, grad, numpy_grads)
    else:
        hooks = _node_tensor_hooks.get(node)
    return _run_tensor_hooks(node, hooks, grad, numpy_grads)


def _output_pre_hooks(node, grads, numpy_grads: bool):
    """Each output's own tensor hooks, on that output's gradient slot."""
    by_slot = _output_hooks.get(node)
    if not by_slot:
        return grads
    grads = list(grads)
    for slot, hooks in by_slot.items():
        if grads[slot] is not None:
            grads[slot] = _run_tensor_hooks(node, hooks, grads[slot], numpy_grads)
    return grads


def _run_tensor_hooks(node, hooks, grad, numpy_grads: bool):
    if not hooks:
        return grad
    value = _as_tensor(grad)
    for hook_id, fn in list(hooks.items()):
        result = _checked(fn, value, fn(value))
        if result is not None:
            _tell_observer(node, hook_id, value, result)
            value = result
    return _as_engine(value, numpy_grads)


def _tell_observer(node, hook_id, before: Tensor, after: Tensor) -> None:
    """--trace shows where a hook changed a gradient."""
    observer = Observer.active
    if observer is not None and hasattr(observer, "hook_fired"):
        observer.hook_fired(node, _lines.get(hook_id), before.array.copy(), after.array.copy())


def node_pre_hooks(node, grad, numpy_grads: bool):
    hooks = _node_prehooks.get(node)
    if not hooks:
        return grad
    several = node.multi_output  # one gradient per output
    outputs = tuple(_as_tensor(g) for g in grad) if several else (_as_tensor(grad),)
    for fn in list(hooks.values()):
        result = fn(outputs)
        if result is not None:
            outputs = _checked_tuple(fn, outputs, result, "pre")
    if several:
        return [_as_engine(g, numpy_grads) for g in outputs]
    return _as_engine(outputs[0], numpy_grads)


class Anomaly:
    """torch.autograd.detect_anomaly / set_detect_anomaly: after each node, PyTorch's
    engine checks its gradients for NaN (check_nan) and raises naming the node."""

    enabled = False
    check_nan = True


def _check_nan(node, grads) -> None:
    for i, g in enumerate(grads):
        if g is None:
            continue
        array = g.array if g.__class__ is Tensor else np.asarray(g)
        if array.dtype.kind == "f" and np.isnan(array).any():
            raise runtime_error(
                f"Function '{node.name()}' returned nan values in its {i}th output.")


def node_post_hooks(node, grads, grad, numpy_grads: bool):
    if Anomaly.enabled and Anomaly.check_nan:
        _check_nan(node, grads)
    hooks = _node_posthooks.get(node)
    if not hooks:
        return grads
    inputs = tuple(_as_tensor(g) for g in grads)
    outputs = tuple(_as_tensor(g) for g in grad) if node.multi_output else (_as_tensor(grad),)
    for fn in list(hooks.values()):
        result = fn(inputs, outputs)
        if result is not None:
            inputs = _checked_tuple(fn, inputs, result, "post")
    return tuple(_as_engine(g, numpy_grads) for g in inputs)


def _checked_tuple(fn, values, result, kind):
    if not isinstance(result, (tuple, list)):
        raise type_error(f"expected tuple, but hook returned '{type(result).__name__}'")
    if len(result) != len(values):
        raise runtime_error(
            f"hook '{_hook_name(fn)}' has returned an incorrect number of values (got "
            f"{len(result)}, but expected {len(values)})")
    checked = []
    for value, new in zip(values, result, strict=True):
        if new is None or value is None:
            checked.append(new)
        else:
            checked.append(_checked(fn, value, new))
    return tuple(checked)


def post_accumulate(tensor: Tensor) -> None:
    entry = _post_accumulate.get(id(tensor))
    if entry is None or entry[0]() is not tensor:
        return
    for fn in list(entry[1].values()):
        fn(tensor)
