"""torch.autograd.Function: a program's own forward and backward as one graph node.

As in PyTorch, `ctx` *is* the backward node: `Exp.apply(x)` makes an `ExpBackward` node
(a class made per Function subclass), runs `forward(ctx, *args)` with grad mode off, and
gives each output that node as grad_fn. The engine runs the node like any other: its op's
backward calls the program's `backward(ctx, *grad_outputs)`, checks what it returned the
way PyTorch's validate_outputs does, and hands one gradient per tensor input on.
"""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops
from gradcli.aten.ops import Op
from gradcli.autodiff.node import Node, edge_to
from gradcli.autodiff.saved import (
    FREED_MESSAGE,
    HookStack,
    Packed,
    SavedResult,
    _version_error,
    pack_one,
)
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base import diagnostics
from gradcli.base.errors import ProgramError, runtime_error


class FunctionCtx:
    """The methods a forward may call on ctx (PyTorch's FunctionCtx)."""

    _program_attributes_ = frozenset({
        "save_for_backward", "saved_tensors", "saved_variables", "needs_input_grad",
        "mark_dirty", "mark_non_differentiable", "set_materialize_grads",
        "save_for_forward", "materialize_grads", "to_save", "dirty_tensors",
        "non_differentiable",
    })

    def save_for_backward(self, *tensors):
        self.to_save = tensors

    def save_for_forward(self, *tensors):
        self.saved_for_forward = tensors

    def mark_dirty(self, *tensors):
        self.dirty_tensors = tensors

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class BackwardFunction(Node, FunctionCtx):
    """The node of one Function.apply call; instances carry a __dict__ for the program's
    own ctx attributes (`ctx.constant = 2`)."""

    _program_attributes_ = frozenset({
        "name", "next_functions", "metadata", "register_hook", "register_prehook",
        "requires_grad", "apply",
    })
    multi_output = False

    def __init__(self, op, function_cls):
        Node.__init__(self, op, (), (), None, None, (), ())
        self._forward_cls = function_cls
        self.to_save = ()
        self.dirty_tensors = ()
        self.non_differentiable = ()
        self.materialize_grads = True
        self.needs_input_grad = ()
        self._tensor_positions = ()
        self._outputs = ()  # (shape, dtype) of each output, for materialised zeros
        self._output_ids = ()
        self._saved_slots = ()  # output index of each saved value that is an output
        self._unpacked_slots = {}  # id of an unpacked saved output -> its output index
        self.function_versions = ()

    def __repr__(self) -> str:
        return f"<torch.autograd.function.{self.name()} object at {id(self):#x}>"

    @property
    def requires_grad(self) -> bool:
        return any(self.needs)

    @property
    def saved_tensors(self):
        if self.saved is None:
            raise runtime_error(FREED_MESSAGE)
        if not self.function_versions:
            return ()
        return tuple(_unpack(self, i, value) for i, value in enumerate(self.saved))

    saved_variables = saved_tensors

    def apply(self, *grads):
        return self._forward_cls.backward(self, *grads)

    # ----- several outputs: the engine keeps one gradient slot per output --------------

    def gather(self, previous, slot, grad):
        slots = list(previous) if previous is not None else [None] * len(self._outputs)
        slots[slot] = grad if slots[slot] is None else slots[slot] + grad
        return slots

    def edge_of(self, tensor):
        ids = self._output_ids
        if id(tensor) in ids:
            return (self, ids.index(id(tensor)))
        return (self, self._unpacked_slots.get(id(tensor), 0))

    def root_gradient(self, tensor, grad):
        slots = [None] * len(self._outputs)
        slots[self._output_ids.index(id(tensor)) if id(tensor) in self._output_ids else 0] = grad
        return slots


class MultiOutputBackwardFunction(BackwardFunction):
    multi_output = True


def _unpack(node, index, value):
    """One saved value, checked against in-place changes since it was saved."""
    if value is None:
        return None
    if value.__class__ is Packed:
        return value.unpack()
    expected = node.function_versions[index]
    if value.__class__ is SavedResult:
        if value.version[0] != value.expected:
            raise _version_error(dtype_name(value.array), value.array.shape, node.name(),
                                 value.version[0], value.expected, value.version)
        unpacked = Tensor(value.array, None, True, node)
        if node.multi_output:  # the unpacked output keeps its own gradient slot
            node._unpacked_slots[id(unpacked)] = node._saved_slots[index]
        return unpacked
    if value.version[0] != expected:
        producer = value.grad_fn.name() if value.grad_fn is not None else None
        raise _version_error(value.dtype.name, value.shape, producer, value.version[0],
                             expected, value.version)
    return value


def dtype_name(array) -> str:
    return "float64" if array.dtype == np.float64 else "float32"


def once_differentiable(fn):
    """@once_differentiable: the backward runs without recording; differentiating its
    result again raises PyTorch's error."""

    def wrapper(ctx, *args):
        from gradcli.torch.autograd import grad_mode as autograd_api

        recording = GradMode.enabled
        with autograd_api.no_grad():
            outputs = fn(ctx, *args)
        if not recording or not any(a.__class__ is Tensor and a.requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        results = []
        for out in (outputs,) if single else outputs:
            if out.__class__ is Tensor and out.dtype.is_floating_point:
                node = _DelayedErrorNode(_DELAYED_ERROR, (), (), None, None, (), ())
                out = Tensor(out.array, out.dtype, True, node)
            results.append(out)
        return results[0] if single else tuple(results)

    wrapper.__name__ = getattr(fn, "__name__", "backward")
    wrapper.__wrapped__ = fn
    return wrapper


def _delayed_error(ctx, grad, xp):
    raise runtime_error(
        "trying to differentiate twice a function that was marked with @once_differentiable")


_DELAYED_ERROR = Op("DelayedError", None, None, False, name="DelayedError")
_DELAYED_ERROR.backward = _delayed_error


class _DelayedErrorNode(Node):
    """PyTorch's DelayedError node: its Python class is `Error`, its name() the C++ one."""

    __slots__ = ()

    def name(self) -> str:
        return "torch::autograd::Error"

    def __repr__(self) -> str:
        return f"<Error object at {id(self):#x}>"


class _FunctionMeta(type):
    """Makes, for each Function subclass, its node class `<Name>Backward`."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        backward_name = f"{name}Backward"
        op = Op(f"custom:{name}", None, None, False, name=backward_name)
        op.backward = lambda node, grad, xp: _run_backward(node, grad, xp)
        cls._backward_op = op
        cls._backward_classes = (
            type(backward_name, (BackwardFunction,), {"__module__": "torch.autograd.function"}),
            type(backward_name, (MultiOutputBackwardFunction,),
                 {"__module__": "torch.autograd.function"}),
        )


class Function(metaclass=_FunctionMeta):
    """Subclass with `forward` and `backward` staticmethods, call `Cls.apply(...)`."""

    _program_attributes_ = frozenset({"apply", "forward", "backward", "setup_context",
                                      "vjp", "jvp"})

    def __init__(self, *args, **kwargs):
        diagnostics.warn(
            f"<class '__main__.{type(self).__name__}'> should not be instantiated. Methods on "
            "autograd functions are all static, so you should invoke them on the class "
            "itself. Instantiating an autograd function will raise an error in a future "
            "version of PyTorch.")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise ProgramError(
            "NotImplementedError",
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise ProgramError(
            "NotImplementedError",
            "You must implement the jvp function for custom autograd.Function to use it "
            "with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        return apply_function(cls, args, kwargs)


def _uses_setup_context(cls) -> bool:
    for klass in cls.__mro__:
        if "setup_context" in klass.__dict__:
            return klass is not Function
    return False


# How many torch.func transforms are running (gradcli/torch/func/transforms.py): inside
# one, PyTorch only applies a Function that has its own setup_context.
TRANSFORMS_ACTIVE = [0]
NEEDS_SETUP_CONTEXT = (
    "In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, "
    "jacrev, ...), it must override the setup_context staticmethod. For more details, please "
    "see https://pytorch.org/docs/main/notes/extending.func.html")


def apply_function(cls, args, kwargs):
    if TRANSFORMS_ACTIVE[0] and not _uses_setup_context(cls):
        raise runtime_error(NEEDS_SETUP_CONTEXT)
    recording = GradMode.enabled
    tensor_positions = tuple(i for i, a in enumerate(args) if a.__class__ is Tensor)
    needs = tuple(a.__class__ is Tensor and a.requires_grad and recording for a in args)
    node = cls._backward_classes[0](cls._backward_op, cls)
    node.needs_input_grad = needs
    tangents = _input_tangents(args)
    previous = GradMode.enabled
    GradMode.enabled = False
    if tangents is not None:
        ops.set_flags(forward_ad=False)  # the forward computes primals only
    try:
        if _uses_setup_context(cls):
            output = cls.forward(*args, **kwargs)
            cls.setup_context(node, args, output)
        else:
            output = cls.forward(node, *args, **kwargs)
    finally:
        GradMode.enabled = previous
        if tangents is not None:
            ops.set_flags(forward_ad=True)
    if any(needs):
        output = _record(cls, node, args, tensor_positions, output)
    if tangents is not None:
        _forward_tangents(cls, node, tangents, output)
    return output


def _input_tangents(args):
    """The forward-mode tangents of the arguments (None when no argument has one)."""
    from gradcli.torch.autograd import forward_mode as forward

    if not forward.State.tangents:
        return None
    found = [forward.tangent_of(a) if a.__class__ is Tensor else None for a in args]
    return found if any(t is not None for t in found) else None


def _forward_tangents(cls, node, tangents, output) -> None:
    """Function.jvp(ctx, *tangents): the outputs' tangents (PyTorch's forward AD rule)."""
    from gradcli.torch.autograd import forward_mode as forward

    if cls.jvp is Function.jvp:
        raise ProgramError(
            "NotImplementedError",
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD.")
    previous = ops.FORWARD_AD.active
    ops.set_flags(forward_ad=False)
    try:
        result = cls.jvp(node, *[None if t is None else Tensor(np.asarray(t)) for t in tangents])
    finally:
        ops.set_flags(forward_ad=previous)
    outputs = output if isinstance(output, tuple) else (output,)
    results = result if isinstance(result, tuple) else (result,)
    for out, tangent in zip(outputs, results, strict=False):
        if out.__class__ is Tensor and tangent is not None and out.dtype.is_floating_point:
            forward.set_tangent(out, tangent.array if tangent.__class__ is Tensor else tangent)


def _record(cls, node, args, tensor_positions, output):
    single = not isinstance(output, tuple)
    outputs = [output] if single else list(output)
    if len(outputs) > 1:
        from gradcli.aten import ops

        node.__class__ = cls._backward_classes[1]
        ops.set_flags(multi_output=True)
    tensors = [args[i] for i in tensor_positions]
    node.next_functions = tuple(edge_to(t) for t in tensors)
    node.needs = tuple(t.requires_grad for t in tensors)
    node.inputs_meta = tuple((t.shape, t.dtype) for t in tensors)
    node._tensor_positions = tensor_positions
    dirty = {id(t) for t in node.dirty_tensors}
    non_diff = {id(t) for t in node.non_differentiable}
    input_ids = {id(t) for t in tensors}
    results = []
    for out in outputs:
        if out.__class__ is not Tensor:
            results.append(out)
            continue
        if id(out) in dirty:
            if out.grad_fn is None and out.requires_grad:
                raise runtime_error(
                    "a leaf Variable that requires grad has been used in an in-place operation.")
            result = out
        elif id(out) in input_ids:
            # An input returned unchanged becomes a view of it with this node as grad_fn.
            result = Tensor(out.array, out.dtype)
            result.version = out.version
        else:
            result = out
        if id(out) in non_diff or not out.dtype.is_floating_point:
            result.requires_grad = False
        else:
            result.grad_fn = node
            result.requires_grad = True
            result.retains_grad = False
        results.append(result)
    node._outputs = tuple((r.shape, r.dtype) if r.__class__ is Tensor else None for r in results)
    node._output_ids = tuple(id(r) for r in results)
    _save(node, results)
    return results[0] if single else tuple(results)


def _save(node, results) -> None:
    saved, versions, slots = [], [], []
    output_ids = {id(r): r for r in results if r.__class__ is Tensor}
    output_slot = {id(r): i for i, r in enumerate(results)}
    for index, t in enumerate(node.to_save):
        if t is None:
            saved.append(None)
            versions.append(None)
            slots.append(0)
            continue
        if t.__class__ is not Tensor:
            raise ProgramError(
                "TypeError", "save_for_backward can only save variables, but argument "
                f"{index} is of type {type(t).__name__}")
        if HookStack.stack:
            saved.append(pack_one(t))
        elif id(t) in output_ids and t.grad_fn is node:
            saved.append(SavedResult(t.array, t))  # no cycle node -> output -> node
        else:
            saved.append(t)
        versions.append(t.version[0])
        slots.append(output_slot.get(id(t), 0))
    # saved_versions stays None: the engine then hands the node itself to the backward,
    # which unpacks (and version-checks) here, and frees `saved` after it as for any node
    # that saved something.
    node.saved = tuple(saved)
    node.function_versions = tuple(versions)
    node._saved_slots = tuple(slots)
    node.to_save = ()


def _run_backward(node, grad, xp):
    """The op.backward of every Function node: the program's backward, validated."""
    from gradcli.autodiff.vocabulary import NumpyVocabulary

    numpy_grads = xp is NumpyVocabulary
    cls = node._forward_cls
    slots = grad if node.multi_output else [grad]
    grads_in = []
    for slot, meta in zip(slots, node._outputs, strict=False):
        if slot is None:
            if meta is None or not node.materialize_grads:
                grads_in.append(None)
                continue
            slot = np.zeros(meta[0], meta[1].numpy)
        grads_in.append(slot if slot.__class__ is Tensor else Tensor(np.asarray(slot)))
    result = cls.backward(node, *grads_in)
    if not isinstance(result, tuple):
        result = (result,)
    expected = len(node.needs_input_grad)
    if len(result) != expected:
        if len(result) < expected or any(r is not None for r in result[expected:]):
            raise runtime_error(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {expected}, got {len(result)})")
        result = result[:expected]
    # PyTorch checks every returned gradient before using any (PyNode::apply)
    tensor_positions = set(node._tensor_positions)
    for position, value in enumerate(result):
        if position not in tensor_positions:
            if value is not None:
                raise runtime_error(
                    f"function {node.name()} returned a gradient different than None at "
                    f"position {position + 1}, but the corresponding forward input was not a "
                    "Variable")
        elif value is not None and value.__class__ is not Tensor:
            raise runtime_error(f"expected Variable or None (got {type(value).__name__})")
    grads = []
    for edge_index, position in enumerate(node._tensor_positions):
        value = result[position]
        if value is None or not node.needs[edge_index]:
            grads.append(None)
            continue
        shape = node.inputs_meta[edge_index][0]
        if value.shape != shape and not _expandable(shape, value.shape):
            raise runtime_error(
                f"Function {node.name()} returned an invalid gradient at index {edge_index} - "
                f"got {list(value.shape)} but expected shape compatible with {list(shape)}")
        grads.append(value.array if numpy_grads else value)
    return tuple(grads)


def describe_backward(node) -> str:
    """The local rule a trace shows for a Function node: the program's own backward."""
    cls = node._forward_cls
    backward = cls.__dict__.get("backward")
    backward = getattr(backward, "__func__", backward)
    backward = getattr(backward, "__wrapped__", backward)
    code = getattr(backward, "__code__", None)
    where = f", line {code.co_firstlineno}" if code is not None else ""
    return f"user-defined backward ({cls.__name__}.backward{where})"


def _expandable(shape, grad_shape) -> bool:
    """Whether `shape` broadcasts to `grad_shape` (the gradient is then summed back)."""
    if len(shape) > len(grad_shape):
        return False
    for a, b in zip(reversed(shape), reversed(grad_shape), strict=False):
        if a != b and a != 1:
            return False
    return True


__all__ = ["Function", "FunctionCtx", "once_differentiable"]
