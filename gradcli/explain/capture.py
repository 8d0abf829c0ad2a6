"""The recorded graph of one backward pass, kept apart from the run that made it.

`eval --symbolic` and `quiz` need more than a node keeps for its backward: the value of
every input (an added constant saves nothing), the names the program gave, the shapes.
`InputRecorder` is told of each node as ops record it; `capture` turns the graph behind a
backward pass into `Step`s (children first), and `replay` runs those steps again through
gradcli's own op table and engine at other values of the leaves: the engine's gradient at
a random point, with no interpreter involved.
"""

from __future__ import annotations

import weakref

import numpy as np

from gradcli.autodiff.node import AccumulateGrad
from gradcli.autodiff.tensor import GradMode, Tensor


class InputRecorder:
    """Installed as `ops.RECORD_INPUTS`: remembers every recorded node's inputs (tensors
    with a copy of their values then, or Python numbers) and its result's shape."""

    def __init__(self):
        self.inputs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.branches: list[tuple[int, bool]] = []  # (line, outcome) of `if` on a tensor

    def branch(self, value: bool) -> None:
        from gradcli.autodiff.hints import current_line

        line = current_line()
        if line and len(self.branches) < 10_000:
            self.branches.append((line, value))

    def __call__(self, node, inputs, result) -> None:
        kept = []
        for x in inputs:
            if x.__class__ is Tensor:
                kept.append((x, np.array(x.array, copy=True)))
            else:
                kept.append((None, x))
        self.inputs[node] = (tuple(kept), result.shape, result.array.dtype)

    def install(self) -> None:
        from gradcli.aten import ops
        from gradcli.autodiff import tensor

        ops.RECORD_INPUTS = self
        tensor.BRANCH_HOOK = self.branch

    @staticmethod
    def uninstall() -> None:
        from gradcli.aten import ops
        from gradcli.autodiff import tensor

        ops.RECORD_INPUTS = None
        tensor.BRANCH_HOOK = None


class Operand:
    """One input of a step: another step's output, a leaf, a constant tensor or a number."""

    __slots__ = ("kind", "step", "leaf", "value", "name")

    def __init__(self, kind, step=None, leaf=None, value=None, name=None):
        self.kind = kind  # "step", "leaf", "const", "number"
        self.step = step  # index into Pass.steps
        self.leaf = leaf  # index into Pass.leaves
        self.value = value  # ndarray (const) or Python number
        self.name = name  # the program's name for a constant tensor, if any


class Step:
    """One recorded op, with everything needed to run it again or to write its formula."""

    def __init__(self, node, operands, shape, dtype, name, label, line):
        self.node = node
        self.overload = node.op.overload
        self.params = node.params
        self.operands = operands
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name  # the variable the program bound it to (None: never named)
        self.label = label  # `u = a*b`, or the class name
        self.line = line
        self.grad_fn = node.name()

    @property
    def description(self) -> str:
        where = f", line {self.line}" if self.line else ""
        return f"{self.grad_fn} ({self.label}{where})"


class Leaf:
    def __init__(self, tensor, name):
        self.tensor = tensor
        self.name = name
        self.value = np.array(tensor.array, copy=True)
        self.shape = tuple(tensor.shape)


class Pass:
    """The graph behind one backward pass, children before parents."""

    def __init__(self, index, output, line):
        self.index = index
        self.output = output  # the root's name (`L`)
        self.line = line
        self.steps: list[Step] = []
        self.leaves: list[Leaf] = []
        self.roots: list[tuple[int, np.ndarray]] = []  # (step index, gradient fed in)
        self.unsupported: str | None = None  # why this pass cannot be rebuilt
        self.engine: dict[str, np.ndarray] = {}  # leaf name -> this pass's gradient
        self.order: dict[str, int] = {}  # name -> position of its first binding
        self.branches: list[str] = []  # `valid where x > 0 (the if on line 2)`

    def leaf_index(self, name):
        for i, leaf in enumerate(self.leaves):
            if leaf.name == name:
                return i
        return None


def capture(index, output, line, roots, labeller, recorder: InputRecorder) -> Pass:
    """The graph behind `roots` ([(node, gradient)]) as a Pass."""
    captured = Pass(index, output, line)
    order = _children_first([node for node, _ in roots])
    positions: dict = {}
    leaves: dict = {}
    used_names: set = set()
    for node in order:
        if node.__class__ is AccumulateGrad:
            continue
        found = recorder.inputs.get(node)
        if found is None:
            captured.unsupported = f"{node.name()} was not recorded op by op"
            return captured
        inputs, shape, dtype = found
        operands = []
        for i, (tensor, value) in enumerate(inputs):
            child = node.next_functions[i][0] if i < len(node.next_functions) else None
            if child.__class__ is AccumulateGrad:
                key = id(child)
                if key not in leaves:
                    name = labeller.tensor_name(child.variable) or f"leaf{len(leaves) + 1}"
                    name = _unique(name, used_names)
                    leaves[key] = len(captured.leaves)
                    captured.leaves.append(Leaf(child.variable, name))
                operands.append(Operand("leaf", leaf=leaves[key]))
            elif child is not None:
                operands.append(Operand("step", step=positions[child]))
            elif tensor is not None:
                operands.append(Operand("const", value=value,
                                        name=labeller.tensor_name(tensor)))
            else:
                operands.append(Operand("number", value=value))
        name = labeller.variable(node)
        if name and labeller.inside(node):
            name = None
        if name:
            name = _unique(name, used_names)
        label = labeller.definition(node) or node.name()
        positions[node] = len(captured.steps)
        captured.steps.append(Step(node, operands, shape, dtype, name, label,
                                   labeller.line(node)))
    for node, grad in roots:
        if node.__class__ is AccumulateGrad:
            captured.unsupported = "the output is a leaf"
            return captured
        captured.roots.append((positions[node], np.array(grad, copy=True)))
    return captured


def _unique(name: str, used: set) -> str:
    """A name bound again (`h = tanh(h)` in a loop) is h, h_1, h_2, ... (h₁, h₂ in print)."""
    found, count = name, 0
    while found in used:
        count += 1
        found = f"{name}_{count}"
    used.add(found)
    return found


def _children_first(roots) -> list:
    """Every node reachable from roots, each after all the nodes it reads."""
    order, seen = [], set()
    for root in roots:
        if root is None or root in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            for child, _ in reversed(node.next_functions):
                if child is not None and child not in seen:
                    stack.append((child, False))
    return order


# ----- running the steps again ----------------------------------------------------------


def _fresh_params(params):
    """A copy of an op's parameters with new side-channel lists (max.dim returns its
    indices, nll_loss its total weight, through a list the op appends to)."""
    if isinstance(params, list):
        return []
    if isinstance(params, tuple):
        return tuple(_fresh_params(p) for p in params)
    return params


class Replay:
    """The steps run again: every step's output tensor and the engine's gradients."""

    def __init__(self, values: dict, steps: list, leaves: list, grads: dict):
        self.values = values  # name -> ndarray, for leaves, named constants and steps
        self.steps = steps  # step index -> Tensor
        self.leaves = leaves  # leaf index -> Tensor
        self.grads = grads  # leaf name -> ndarray (zeros when the pass did not reach it)


def replay(captured: Pass, leaf_values: list | None = None, dtype=None,
           constants: dict | None = None) -> Replay:
    """Run the pass's steps at `leaf_values` (default: the values the program had), then the
    engine's backward from the same roots. `dtype` (e.g. np.float64) recasts every leaf and
    constant, for comparisons finer than float32. `constants` (name -> ndarray) gives named
    constant tensors other values too (the data x, y of `w*x - y`)."""
    from gradcli.aten import ops
    from gradcli.autodiff.engine import Observer, grad

    def cast(array):
        array = np.asarray(array)
        if dtype is not None and array.dtype.kind == "f":
            return array.astype(dtype)
        return array

    previous, GradMode.enabled = GradMode.enabled, True
    saved_hook, ops.RECORD_INPUTS = ops.RECORD_INPUTS, None
    try:
        leaves = []
        values: dict = {}
        for i, leaf in enumerate(captured.leaves):
            value = leaf.value if leaf_values is None else leaf_values[i]
            tensor = Tensor(np.array(cast(value), copy=True), requires_grad=True)
            leaves.append(tensor)
            values[leaf.name] = tensor.array
        outputs: list = []
        for step in captured.steps:
            inputs = []
            for operand in step.operands:
                if operand.kind == "step":
                    inputs.append(outputs[operand.step])
                elif operand.kind == "leaf":
                    inputs.append(leaves[operand.leaf])
                elif operand.kind == "const":
                    value = operand.value
                    if constants is not None and operand.name in constants:
                        value = constants[operand.name]
                    inputs.append(Tensor(cast(value)))
                    if operand.name:
                        values.setdefault(operand.name, cast(value))
                else:
                    inputs.append(operand.value)
            out = ops.call(step.node.op, tuple(inputs), _fresh_params(step.params))
            outputs.append(out)
            if step.name:
                values[step.name] = out.array
        roots = [outputs[i] for i, _ in captured.roots]
        fed = [Tensor(cast(g).astype(outputs[i].array.dtype)) for i, g in captured.roots]
        found = grad(roots, leaves, grad_outputs=fed, retain_graph=True, allow_unused=True,
                     observer=Observer())
        grads = {}
        for leaf, tensor, g in zip(captured.leaves, leaves, found, strict=True):
            grads[leaf.name] = (np.zeros(tensor.shape, tensor.array.dtype) if g is None
                                else np.asarray(g.array))
        return Replay(values, outputs, leaves, grads)
    finally:
        GradMode.enabled = previous
        ops.RECORD_INPUTS = saved_hook


def random_leaf_values(captured: Pass, rng: np.random.Generator) -> list:
    """A point near the program's own: each leaf element scaled by a factor in [0.6, 1.4]
    and moved a little, so logs stay in their domain and most branches keep their side."""
    out = []
    for leaf in captured.leaves:
        value = leaf.value.astype(np.float64)
        scale = rng.uniform(0.6, 1.4, value.shape)
        out.append(value * scale + rng.normal(0.0, 0.05, value.shape))
    return out



def random_constant_values(captured: Pass, rng: np.random.Generator,
                           only: set | None = None) -> dict:
    """Named floating constants (a program's data) moved the way random_leaf_values moves
    leaves, so that a formula is checked as a function of them too (`only`: just these
    names; a formula that wrote a constant as numbers must not see it move)."""
    found: dict = {}
    for step in captured.steps:
        for operand in step.operands:
            if operand.kind == "const" and operand.name:
                value = np.asarray(operand.value)
                found.setdefault(operand.name, {})[(value.shape, value.tobytes())] = value
    out: dict = {}
    for name, distinct in found.items():
        # A name bound to two different constants is left alone (one value cannot stand
        # for both).
        if len(distinct) != 1 or (only is not None and name not in only):
            continue
        (value,) = distinct.values()
        if value.dtype.kind != "f":
            continue
        scale = rng.uniform(0.6, 1.4, value.shape)
        out[name] = value.astype(np.float64) * scale + rng.normal(0.0, 0.05, value.shape)
    return out
