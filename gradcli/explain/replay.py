"""What the HTML page needs to replay a backward pass beyond `--trace`'s record: which
node ran at each step, the values each node saved (before backward frees them), and each
local partial derivative with its numbers (`∂u/∂a = b` and the value of b).

A partial's numbers come from the op's own backward formula applied to a gradient of ones
before the pass runs: for a pointwise op that is exactly ∂out/∂input element by element,
and for an op with a one-element output it is the gradient of that element. Other ops (a
matrix product, softmax) have a Jacobian, not one number per element: no value is given.
"""

from __future__ import annotations

import numpy as np

from gradcli.autodiff.engine import BackwardContext
from gradcli.autodiff.node import AccumulateGrad
from gradcli.autodiff.saved import unpack_saved
from gradcli.autodiff.tensor import Tensor
from gradcli.autodiff.vocabulary import NumpyVocabulary
from gradcli.explain.graphwalk import graph_nodes, saved_entries
from gradcli.explain.rules import RULES
from gradcli.explain.tracer import Tracer

POINTWISE = {
    "add.Tensor", "sub.Tensor", "rsub.Scalar", "mul.Tensor", "div.Tensor", "div.Scalar",
    "neg", "reciprocal", "pow.Tensor_Scalar", "pow.Tensor_Tensor", "pow.Scalar", "exp",
    "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh",
    "sigmoid", "relu", "abs", "sign", "clamp", "maximum", "minimum", "where.self",
    "remainder.Scalar", "remainder.Tensor", "clone", "alias", "_to_copy",
}


def _copy(array):
    return np.array(array, copy=True)


class ReplayRecorder(Tracer):
    """A Tracer that also keeps, per pass, the node of each step and, per node, its saved
    values and numeric local partials (taken when the pass begins)."""

    def __init__(self, source: str = "", detect_anomaly: bool = False):
        super().__init__(source, record=True, detect_anomaly=detect_anomaly)
        self.step_nodes: list[list] = []  # per pass: the node object of each step
        self.step_partials: list[list] = []  # per pass: [(partial text, array or None)]
        self.saved_values: dict = {}  # node -> [(SavedEntry, array)]
        self.local_values: dict = {}  # node -> [array or None] per input

    def begin(self, roots, retain_graph) -> None:
        super().begin(roots, retain_graph)
        self.step_nodes.append([])
        self.step_partials.append([])
        out_shape = {}
        for node, grad in roots:
            out_shape[node] = np.shape(grad.array if grad.__class__ is Tensor else grad)
        for node in graph_nodes([n for n, _ in roots]):
            for i, (child, _) in enumerate(node.next_functions):
                if child is not None and i < len(node.inputs_meta) and node.inputs_meta[i]:
                    out_shape.setdefault(child, tuple(node.inputs_meta[i][0]))
            if node.__class__ is AccumulateGrad or node in self.saved_values:
                continue
            self.saved_values[node] = self._snapshot(node)
            self.local_values[node] = self._locals(node, out_shape.get(node))

    def _snapshot(self, node) -> list:
        return saved_values(node, self.labeller)

    @staticmethod
    def _locals(node, shape) -> list:
        count = len(node.next_functions)
        if shape is None or node.released:
            return [None] * count
        size = int(np.prod(shape, dtype=np.int64)) if shape else 1
        overload = getattr(node.op, "overload", "")
        # Only built-in ops (those with a rule in words): running a formula again must have
        # no effect, which a user-defined backward (it may print) does not promise.
        if overload not in RULES or (size != 1 and overload not in POINTWISE):
            return [None] * count
        dtype = node.inputs_meta[0][1].numpy if node.inputs_meta and node.inputs_meta[0] \
            else np.float32
        try:
            saved = node.saved
            ctx = BackwardContext(node, unpack_saved(node, False)) \
                if saved and node.saved_versions is not None else node
            grads = node.op.backward(ctx, np.ones(shape, dtype=dtype), NumpyVocabulary)
        except Exception:  # a formula that cannot run outside a pass: no numbers
            return [None] * count
        out = []
        for i in range(count):
            g = grads[i] if grads is not None and i < len(grads) else None
            meta = node.inputs_meta[i] if i < len(node.inputs_meta) else None
            if g is None or meta is None or node.next_functions[i][0] is None:
                out.append(None)
                continue
            g = np.asarray(g.array if g.__class__ is Tensor else g)
            # Pointwise with broadcasting: the formula's value before it is summed back.
            out.append(_copy(g) if size == 1 or g.shape == tuple(shape) else None)
        return out

    def node_ran(self, node, grad_in, grads_out) -> None:
        before = len(self.traces[-1].steps) if self.traces else 0
        super().node_ran(node, grad_in, grads_out)
        if not self.traces or len(self.traces[-1].steps) == before:
            return
        step = self.traces[-1].steps[-1]
        values = self.local_values.get(node) or []
        pairs, unused = [], list(step.partials)
        for i, send in enumerate(step.sends):
            prefix = f"∂{step.short}/∂{send.input} = "
            text = next((p for p in unused if p.startswith(prefix)), None)
            if text is None:
                continue
            unused.remove(text)
            pairs.append((text, values[i] if i < len(values) else None))
        pairs.extend((text, None) for text in unused)
        self.step_nodes[-1].append(node)
        self.step_partials[-1].append(pairs)

    def accumulated(self, tensor, grad, total) -> None:
        before = len(self.traces[-1].steps) if self.traces else 0
        super().accumulated(tensor, grad, total)
        if self.traces and len(self.traces[-1].steps) > before:
            self.step_nodes[-1].append(tensor.accumulator)
            self.step_partials[-1].append([])


def saved_values(node, labeller) -> list:
    """[(SavedEntry, array)] of what a node keeps for backward, while it still does."""
    entries = saved_entries(node, labeller, labeller.short(node)) or []
    arrays = []
    for value in node.saved or ():
        if value is None:
            continue
        if value.__class__ is Tensor:
            arrays.append(_copy(value.array))
        elif isinstance(getattr(value, "array", None), np.ndarray):
            arrays.append(_copy(value.array))
        elif isinstance(value, np.ndarray):
            arrays.append(_copy(value))
        elif isinstance(value, (bool, int, float)):
            arrays.append(np.asarray(value))
    return list(zip(entries, arrays, strict=False))
