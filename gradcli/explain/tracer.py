"""The recorder behind `eval --trace` and `--partials`: `Tracer`, an engine Observer that
records each backward pass node by node (what each node received, its local rule from
gradcli.explain.rules, what it sent to which input), in the names gradcli.explain.labels
gives nodes; `--detect-anomaly` stops it at the first nan or inf (gradcli.explain.anomaly).
"""

from __future__ import annotations

import re
import tokenize
from dataclasses import dataclass, field

import numpy as np

from gradcli.autodiff.engine import Observer
from gradcli.autodiff.node import AccumulateGrad
from gradcli.autodiff.tensor import Tensor
from gradcli.autodiff.vocabulary import sum_to
from gradcli.base.wording import input_line, line_text
from gradcli.explain.graphwalk import graph_nodes, saved_entries
from gradcli.explain.labels import Labeller, _tokens, shorten
from gradcli.explain.rules import local_rule

# ----- the recorder -----------------------------------------------------------------------


def as_array(value):
    if value is None:
        return None
    if value.__class__ is Tensor:
        return value.array
    return np.asarray(value)


@dataclass
class Send:
    input: str  # how the program names the input (`a`, `u`, `(10 - d)`)
    formula: str | None  # `grad·b`
    target: str | None  # the next node's class name (None: the input needs no gradient)
    target_label: str | None  # `u = a*b (line 11)`
    grad: np.ndarray | None  # what the next node receives (reduced to the input's shape)
    reduced_from: tuple | None  # the broadcast shape summed away, if any


@dataclass
class Step:
    kind: str  # "node" or "accumulate"
    node: str  # MulBackward0, AccumulateGrad
    variable: str | None
    expression: str | None
    line: int | None
    grad_in: np.ndarray | None
    contributions: list = field(default_factory=list)  # [(from, array)] when summed
    words: str = ""
    partials: list = field(default_factory=list)
    sends: list = field(default_factory=list)
    retained: tuple | None = None  # (name, previous or None, total)
    saved_bytes: int = 0
    saved_state: str | None = None  # "freed", "kept" or None (nothing saved)
    inside: bool = False  # made inside the expression (not the node it returned)
    where: str | None = None  # `in f(), called from line 9` inside a program's function
    short: str = ""  # the output's name in formulas: `u`, `(10 - d)`
    previous: np.ndarray | None = None  # accumulate: the leaf's .grad before
    total: np.ndarray | None = None  # accumulate: the leaf's .grad after
    hooks: list = field(default_factory=list)  # [(line, before, after)] tensor hooks' changes
    # A node with several outputs (unbind, a custom Function) gets one gradient per output:
    # [(output index, its name or None, its gradient or None, [(from, array)] sending it)].
    outputs: list = field(default_factory=list)


@dataclass
class Trace:
    index: int
    line: int | None
    call: str
    retain_graph: bool
    output: str  # the root's name, for ∂output/∂leaf
    roots: list = field(default_factory=list)  # [(label, grad)]
    steps: list = field(default_factory=list)
    mark: int = 0  # how many characters print() had written when this pass ran
    saved_total: int = 0  # bytes the graph held for backward when the pass began
    kind: str = "backward"  # or "grad": torch.autograd.grad returns instead of accumulating

    order: dict = field(default_factory=dict)  # variable -> position of its first binding

    def partials(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(leaf, this pass's gradient, the leaf's .grad after) for every leaf reached, in
        the order the program bound them."""
        found = [(s.variable or "leaf", s.grad_in, s.total) for s in self.steps
                 if s.kind == "accumulate"]
        return sorted(found, key=lambda f: self.order.get(f[0], len(self.order)))


def _code(line: str) -> str:
    """A source line without its comment."""
    for token in _tokens(line):
        if token.type == tokenize.COMMENT:
            return line[: token.start[1]].strip()
    return line.strip()


_BACKWARD_CALL = re.compile(r"(.*?)\s*\.\s*backward\s*\(")
_GRAD_CALL = re.compile(r"\bgrad\s*\(")


def _outputs(node, slots, contributions) -> list:
    """A multi-output node's incoming gradient, output by output, with what sent each."""
    by_slot: dict = {}
    for source, grad, slot in contributions:
        by_slot.setdefault(slot, []).append((source, grad))
    slots = slots if isinstance(slots, list) else [slots]
    found = []
    for slot, grad in enumerate(slots):
        sent = by_slot.get(slot, [])
        name = getattr(node, "output_name", lambda s: None)(slot)
        found.append((slot, name, None if grad is None else np.array(as_array(grad), copy=True),
                      sent))
    return found


class Tracer(Observer):
    """Records every backward pass of a run; with `detect_anomaly`, stops at the first
    node whose output has NaN or inf."""

    def __init__(self, source: str = "", record: bool = True, detect_anomaly: bool = False):
        self.labeller = Labeller(source)
        self.record = record
        self.detect_anomaly = detect_anomaly
        self.traces: list[Trace] = []
        self.runtime = None
        self._pending: dict = {}
        self._previous: dict = {}
        self._saved: dict = {}
        self._labels: dict = {}
        self._inputs: dict = {}
        self._hooks: dict = {}  # node -> [(line, before, after)] until the node runs

    def attach(self, runtime) -> None:
        self.runtime = runtime

    # ----- engine hooks -----
    def begin(self, roots, retain_graph) -> None:
        if not self.record:
            return
        runtime = self.runtime
        line = runtime.line if runtime is not None else None
        line = input_line(line, getattr(runtime, "input_number", None))  # the repl's input
        mark = 0
        if runtime is not None:
            mark = getattr(runtime, "output_chars", None)
            if mark is None:
                mark = sum(len(chunk) for chunk in runtime.output)
        call = _code(self.labeller.text.line(line)) if line else ""
        root = roots[0][0] if roots else None
        output = self.labeller.variable(root) if root is not None else None
        if not output:
            match = _BACKWARD_CALL.match(call)
            output = match.group(1) if match and match.group(1) else "out"
        trace = Trace(len(self.traces) + 1, line, call, bool(retain_graph), output, mark=mark)
        if _GRAD_CALL.search(call) and not _BACKWARD_CALL.match(call):
            trace.kind = "grad"
        if runtime is not None:
            trace.order = {name: i for i, name in enumerate(runtime.vars)}
            # Leaves that got requires_grad after they were bound (`t.requires_grad = True`).
            names: dict = {}
            for name, value in runtime.vars.items():
                if value.__class__ is Tensor:
                    names.setdefault(id(value), name)
            self.labeller.names = names
        for node, grad in roots:
            if node.multi_output:  # the root is one output of the node: its slot
                grad = next(g for g in grad if g is not None)
            trace.roots.append((self.label(node), np.array(as_array(grad), copy=True)))
        self.traces.append(trace)
        self._pending = {}
        self._previous = {}
        self._saved = {}
        self._inputs = {}
        everything: dict = {}
        for node in graph_nodes([n for n, _ in roots]):
            if node.__class__ is AccumulateGrad:
                grad = node.variable.grad
                self._previous[node] = None if grad is None else grad.array.copy()
                continue
            # Inputs are named now: a constant is only known from what the node saved.
            self._inputs[node] = [self.labeller.input(node, i)
                                  for i in range(len(node.next_functions))]
            mine = {e.key: e.nbytes for e in saved_entries(node, self.labeller) or ()}
            self._saved[node] = sum(mine.values())
            everything.update(mine)
            retained = node.retained() if node.retained is not None else None
            if retained is not None:
                self._previous[node] = None if retained.grad is None else retained.grad.array.copy()
        trace.saved_total = sum(everything.values())
        for node, grad in roots:
            if node.multi_output:
                for slot, g in enumerate(grad):
                    if g is not None:
                        self._pending.setdefault(node, []).append(
                            ("backward()", as_array(g), slot))
                continue
            self._pending.setdefault(node, []).append(("backward()", as_array(grad)))

    def node_ran(self, node, grad_in, grads_out) -> None:
        if self.record and self.traces:
            self._record_node(node, grad_in, grads_out)
        if self.detect_anomaly:
            from gradcli.explain.anomaly import check_outputs

            check_outputs(node, grads_out, self.labeller)

    def hook_fired(self, node, line, before, after) -> None:
        """A tensor hook (registered at `line`) replaced the gradient arriving at `node`."""
        if self.record and self.traces:
            self._hooks.setdefault(node, []).append((line, before, after))

    def accumulated(self, tensor, grad, total) -> None:
        if not self.record or not self.traces:
            return
        node = tensor.accumulator
        contributions = self._pending.pop(node, [])
        step = Step("accumulate", "AccumulateGrad", self.labeller.tensor_name(tensor), None,
                    None, np.array(as_array(grad), copy=True))
        step.hooks = self._hooks.pop(node, [])
        step.contributions = contributions if len(contributions) > 1 else []
        step.previous = self._previous.get(node)
        step.total = np.array(as_array(total), copy=True)
        self.traces[-1].steps.append(step)

    # ----- recording -----
    def label(self, node) -> str:
        """`u = a*b (line 11)`, or the class name for nodes the program never named."""
        if node.__class__ is AccumulateGrad:
            name = self.labeller.tensor_name(node.variable) or "a leaf"
            if self.traces and self.traces[-1].kind == "grad":
                return f"returned for {name}"
            return f"{name}.grad"
        found = self._labels.get(node)
        if found is None:
            definition = self.labeller.definition(node)
            line = self.labeller.line(node)
            found = node.name()
            if self.labeller.inside(node):
                found += f" (part of {line_text(line)})"
            elif definition:
                found += f" ({shorten(definition, 32)}" + (f", {line_text(line)})" if line else ")")
            self._labels[node] = found
        return found

    def _record_node(self, node, grad_in, grads_out) -> None:
        labeller = self.labeller
        output = labeller.short(node)
        inputs = self._inputs.get(node) or [labeller.input(node, i)
                                            for i in range(len(node.next_functions))]
        words, partials, formulas = local_rule(node, output, inputs)
        contributions = self._pending.pop(node, [])
        outputs = None
        if node.multi_output:  # one gradient slot per output
            outputs = _outputs(node, grad_in, contributions)
            grad_in, contributions = None, []
        step = Step("node", node.name(), labeller.variable(node), labeller.expression(node),
                    labeller.line(node),
                    None if grad_in is None else np.array(as_array(grad_in), copy=True),
                    words=words, partials=partials, inside=labeller.inside(node), short=output,
                    where=labeller.where(node))
        if outputs is not None:
            step.outputs = outputs
        if len(contributions) > 1:
            step.contributions = contributions
        step.hooks = self._hooks.pop(node, [])
        if node.retained is not None:
            tensor = node.retained()
            if tensor is not None and tensor.grad is not None:
                step.retained = (output, self._previous.get(node), tensor.grad.array.copy())
        saved = self._saved.get(node, 0)
        if saved:
            step.saved_bytes = saved
            step.saved_state = "freed" if getattr(node, "released", False) else "kept"
        for i, (child, slot) in enumerate(node.next_functions):
            raw = as_array(grads_out[i]) if grads_out and i < len(grads_out) else None
            sent, reduced = raw, None
            if raw is not None and child is not None:
                shape, dtype = node.inputs_meta[i]
                if raw.shape != tuple(shape):
                    reduced = raw.shape
                    sent = sum_to(raw, shape)
                if sent.dtype != dtype.numpy:
                    sent = sent.astype(dtype.numpy)
                sent = np.array(sent, copy=True)
                self._pending.setdefault(child, []).append(
                    (self.label(node), sent, slot) if child.multi_output
                    else (self.label(node), sent))
            step.sends.append(Send(
                inputs[i], formulas[i] if child is not None else None,
                child.name() if child is not None else None,
                self.label(child) if child is not None else None,
                sent if child is not None else None, reduced))
        self.traces[-1].steps.append(step)
