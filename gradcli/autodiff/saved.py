"""What a grad_fn saved, under PyTorch's attribute names, and saved-tensor hooks.

`y.grad_fn._saved_self` is the input tensor itself (`... is x`), `_saved_result` a new
tensor equal to the output (PyTorch's SavedVariable for an output gives a fresh tensor
object); `_raw_saved_<name>` is the SavedTensor handle. The names are those of
derivatives.yaml (PyTorch 2.13) for the ops gradcli records; positions refer to what each
op's `save` function keeps (gradcli/aten/ops.py), numbers come from the node's parameters.

torch.autograd.graph.saved_tensors_hooks(pack, unpack): while active, each tensor an op
saves is replaced by pack(tensor), and backward (or `_saved_<name>`) sees unpack(packed).
"""

from __future__ import annotations

import re

import numpy as np

from gradcli.autodiff import hints
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base.errors import attribute_error, runtime_error, type_error

# overload -> the attribute name of each saved position (None: not a PyTorch name).
_CROSS = ("_saved_other", "_saved_self")
SAVED_NAMES = {
    "mul.Tensor": _CROSS,
    "div.Tensor": ("_saved_self", "_saved_other"),
    "mm": ("_saved_mat2", "_saved_self"),
    "mv": ("_saved_vec", "_saved_self"),
    "dot": ("_saved_tensor", "_saved_self"),
    "bmm": ("_saved_mat2", "_saved_self"),
    "addmm": (None, "_saved_mat2", "_saved_mat1"),
    "reciprocal": ("_saved_result",),
    "pow.Tensor_Scalar": ("_saved_self",),
    "pow.Tensor_Tensor": ("_saved_self", "_saved_exponent", "_saved_result"),
    "pow.Scalar": ("_saved_result",),
    "clamp": ("_saved_self",),
    "clamp.Tensor": ("_saved_self", "_saved_min", "_saved_max"),
    "maximum": ("_saved_self", "_saved_other"),
    "minimum": ("_saved_self", "_saved_other"),
    "prod": ("_saved_self", "_saved_result"),
    "prod.dim_int": ("_saved_self", "_saved_result"),
    "linalg_vector_norm": ("_saved_self", "_saved_result"),
    "var.correction": ("_saved_self",),
    "std.correction": ("_saved_self", "_saved_result"),
    "logsumexp": ("_saved_self", "_saved_result"),
    "_softmax": ("_saved_result",),
    "_log_softmax": ("_saved_result",),
    "mse_loss": ("_saved_self", "_saved_target"),
    "binary_cross_entropy": ("_saved_self", "_saved_target"),
}
for _name in ("exp", "expm1", "sqrt", "rsqrt", "tan", "tanh", "sigmoid", "relu"):
    SAVED_NAMES[_name] = ("_saved_result",)
for _name in ("log", "log2", "log10", "log1p", "sin", "cos", "abs"):
    SAVED_NAMES[_name] = ("_saved_self",)


FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


def describe(tensor_dtype_name: str, shape) -> str:
    kind = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int"}.get(
        tensor_dtype_name, "Bool"
    )
    return f"[torch.{kind}Tensor [{', '.join(str(s) for s in shape)}]]"


def _version_error(dtype_name, shape, producer, found, expected, version=None, output=0):
    # PyTorch names the forward op that produced the tensor: "output 0 of Exp".
    where = ""
    if producer is not None:
        forward_op = re.sub(r"Backward\d*$", "", producer)
        where = f", which is output {output} of {forward_op},"
    error = runtime_error(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {describe(dtype_name, shape)}{where} is at version {found}; "
        f"expected version {expected} instead. Hint: enable anomaly detection to find the "
        "operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )
    if version is not None:
        error.hint = hints.modified_inplace(version, shape)
    return error


def unpack_saved(node, as_tensors: bool):
    """The saved values after PyTorch's check that none was modified in place."""
    if node.saved_versions is None:
        return node.saved  # only numbers and Nones: nothing to check or convert
    values = []
    for value, version in zip(node.saved, node.saved_versions, strict=False):
        if value.__class__ is Tensor:
            if value.version[0] != version:
                producer = value.grad_fn.name() if value.grad_fn is not None else None
                raise _version_error(value.dtype.name, value.shape, producer,
                                     value.version[0], version, value.version)
            if not as_tensors:
                value = value.array
        elif value.__class__ is SavedResult:
            if value.version[0] != value.expected:
                raise _version_error(
                    {"f": "float32"}.get(value.array.dtype.kind, "float32")
                    if value.array.dtype != np.float64 else "float64",
                    value.array.shape, node.name(), value.version[0], value.expected,
                    value.version, value.output,
                )
            if as_tensors:
                value = Tensor(value.array, None, True, node)
            else:
                value = value.array
        elif value.__class__ is Packed:
            value = value.unpack()
            if not as_tensors:
                value = value.array
        values.append(value)
    return tuple(values)


class SavedResult:
    """An op's own output, saved for its backward (PyTorch's is_output SavedVariable)."""

    __slots__ = ("array", "version", "expected", "output")

    def __init__(self, array, tensor, output=0):
        self.array = array
        self.version = tensor.version
        self.expected = tensor.version[0]
        self.output = output  # which output of its node (std_mean's, aminmax's: 0 or 1)


def _alpha(node):
    return 1 if node.params is None else node.params


# overload -> {name: function of the node} for saved numbers and sizes.
SAVED_PARAMS = {
    "add.Tensor": {"_saved_alpha": _alpha},
    "sub.Tensor": {"_saved_alpha": _alpha},
    "rsub.Scalar": {"_saved_alpha": lambda n: n.params[1]},
    "pow.Tensor_Scalar": {"_saved_exponent": lambda n: n.params},
    "pow.Scalar": {"_saved_self": lambda n: n.params},
    "clamp": {"_saved_min": lambda n: n.params[0], "_saved_max": lambda n: n.params[1]},
    "sum": {"_saved_self_sym_sizes": lambda n: n.shapes[0]},
    "sum.dim_IntList": {"_saved_dim": lambda n: tuple(n.params[0]),
                        "_saved_keepdim": lambda n: n.params[1],
                        "_saved_self_sym_sizes": lambda n: n.shapes[0]},
    "mean": {"_saved_self_sym_numel": lambda n: int(np.prod(n.shapes[0])),
             "_saved_self_sym_sizes": lambda n: n.shapes[0]},
    "mean.dim": {"_saved_dim": lambda n: tuple(n.params[0]),
                 "_saved_keepdim": lambda n: n.params[1],
                 "_saved_self_sym_numel": lambda n: int(np.prod(n.shapes[0])),
                 "_saved_self_sym_sizes": lambda n: n.shapes[0]},
    "view": {"_saved_self_sym_sizes": lambda n: n.shapes[0]},
    "expand": {"_saved_self_sym_sizes": lambda n: n.shapes[0]},
    "unsqueeze": {"_saved_dim": lambda n: n.params},
    "transpose.int": {"_saved_dim0": lambda n: n.params[0], "_saved_dim1": lambda n: n.params[1]},
    "permute": {"_saved_dims": lambda n: tuple(n.params)},
    "cat": {"_saved_dim": lambda n: n.params},
    "stack": {"_saved_dim": lambda n: n.params},
    "select.int": {"_saved_dim": lambda n: n.params[0], "_saved_index": lambda n: n.params[1],
                   "_saved_self_sym_sizes": lambda n: n.shapes[0]},
    "_softmax": {"_saved_dim": lambda n: n.params},
    "_log_softmax": {"_saved_dim": lambda n: n.params},
    "mm": {"_saved_self_sym_sizes": lambda n: n.shapes[0],
           "_saved_mat2_sym_sizes": lambda n: n.shapes[1]},
}

def names_of(node) -> list[str]:
    overload = node.op.overload
    names = [n for n in SAVED_NAMES.get(overload, ()) if n is not None]
    names += SAVED_PARAMS.get(overload, {})
    custom = getattr(node.op, "saved_names", None)
    if custom is not None:
        names += custom(node)
    return sorted(set(names))


def saved_attribute(node, attr: str):
    """`grad_fn._saved_<name>` / `_raw_saved_<name>`; None if the node has no such name."""
    raw = attr.startswith("_raw_saved_")
    name = "_saved_" + attr[len("_raw_saved_"):] if raw else attr
    overload = node.op.overload
    params = SAVED_PARAMS.get(overload)
    if params is not None and name in params and not raw:
        return True, params[name](node)
    names = SAVED_NAMES.get(overload)
    if names is None or name not in names:
        return False, None
    index = names.index(name)
    if node.released or node.saved is None:
        raise runtime_error(FREED_MESSAGE)
    if raw:
        return True, SavedTensor(node, index)
    return True, unpack_one(node, index)


def unpack_one(node, index: int):
    value = node.saved[index]
    if value is None:
        return None
    if value.__class__ is not Tensor and node.saved_versions is None:
        # a Python number in a tensor slot (`x * 2`): PyTorch's wrapped-number tensor
        return Tensor(np.asarray(value, np.int64 if isinstance(value, int) else np.float64))
    return unpack_saved(node, True)[index]


def missing(node, attr: str):
    raise attribute_error(f"'{node.name()}' object has no attribute '{attr}'")


class SavedTensor:
    """torch._C._autograd.SavedTensor: `register_hooks(pack, unpack)` on one saved value."""

    _program_attributes_ = frozenset({"register_hooks"})
    __slots__ = ("_node", "_index")

    def __init__(self, node, index):
        self._node = node
        self._index = index

    def register_hooks(self, pack, unpack) -> None:
        node, index = self._node, self._index
        value = unpack_one(node, index)
        if value is None:
            raise runtime_error(
                "Calling register_hooks on a saved tensor with value None is forbidden")
        saved = list(node.saved)
        # SavedVariable::register_hooks packs `data_.detach()`: the hook sees no history
        detached = Tensor(value.array, value.dtype)
        detached.version = value.version
        saved[index] = pack_one(value, pack, unpack, hook_input=detached)
        node.saved = tuple(saved)
        versions = list(node.saved_versions or (None,) * len(saved))
        versions[index] = None
        node.saved_versions = tuple(versions)

    def __repr__(self) -> str:
        return f"<torch._C._autograd.SavedTensor object at {id(self):#x}>"


# ----- saved_tensors_hooks -------------------------------------------------------------


class Packed:
    """A saved value after a pack hook: backward calls the unpack hook on it. As PyTorch's
    SavedVariable does, the unpacked data is given the saved tensor's autograd identity
    (requires_grad, grad_fn, a leaf's accumulator), so double backward still reaches it."""

    __slots__ = ("packed", "unpack_hook", "requires_grad", "grad_fn", "source")

    def __init__(self, packed, unpack_hook, original: Tensor | None = None, grad_fn=None):
        self.packed = packed
        self.unpack_hook = unpack_hook
        self.requires_grad = original.requires_grad if original is not None else False
        self.grad_fn = grad_fn if grad_fn is not None else (
            original.grad_fn if original is not None else None)
        self.source = original if original is not None and original.grad_fn is None else None

    def unpack(self) -> Tensor:
        value = self.unpack_hook(self.packed)
        if value.__class__ is not Tensor:
            raise TypeError_(value)
        result = Tensor(value.array, value.dtype, self.requires_grad, self.grad_fn)
        if self.source is not None and self.requires_grad:
            result.accumulator = self.source.accumulator
        return result


def TypeError_(value):
    return type_error(
        "Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
        f"{type(value).__name__}")


class HookStack:
    stack: list = []  # (pack, unpack), innermost last


def pack_one(tensor: Tensor, pack=None, unpack=None, grad_fn=None, hook_input=None) -> Packed:
    """pack(tensor) (by default with the innermost saved_tensors_hooks); PyTorch runs the
    pack hook with grad mode off."""
    if pack is None:
        pack, unpack = HookStack.stack[-1]
    previous = GradMode.enabled
    GradMode.enabled = False
    try:
        return Packed(pack(tensor if hook_input is None else hook_input), unpack, tensor,
                      grad_fn)
    finally:
        GradMode.enabled = previous


def pack_saved(node, saved: tuple, out, result: Tensor) -> None:
    """Replace every saved tensor of a just-recorded node by pack(tensor) (innermost hooks)."""
    packed = []
    for value in saved:
        if value.__class__ is Tensor:
            packed.append(pack_one(value))
        elif value is not None and value is out:
            packed.append(pack_one(result, grad_fn=node))
        else:
            packed.append(value)
    node.saved = tuple(packed)
    node.saved_versions = (None,) * len(packed)


class saved_tensors_hooks:  # noqa: N801 - PyTorch's class name
    """`with torch.autograd.graph.saved_tensors_hooks(pack, unpack):`"""

    _program_attributes_ = frozenset({"pack_hook", "unpack_hook"})

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        HookStack.stack.append((self.pack_hook, self.unpack_hook))
        return None

    def __exit__(self, *exc):
        HookStack.stack.pop()
        return False


def _copy_to_cpu(tensor: Tensor):
    return (tensor.dtype, Tensor(tensor.array.copy(), tensor.dtype))


def _from_cpu(packed):
    return packed[1]


class save_on_cpu(saved_tensors_hooks):  # noqa: N801
    """save_on_cpu(pin_memory=False): saved tensors are copied to the CPU (a copy here)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        super().__init__(_copy_to_cpu, _from_cpu)
