"""An engine Observer that keeps, for every backward pass, the graph behind it (as
gradcli.explain.capture.Pass) beside gradcli.explain.tracer's node-by-node record, and the
gradient the engine gave each leaf in that pass."""

from __future__ import annotations

import re

import numpy as np

from gradcli.autodiff.node import AccumulateGrad
from gradcli.autodiff.vocabulary import sum_to
from gradcli.explain.capture import InputRecorder, capture
from gradcli.explain.tracer import Tracer, as_array

# Passes beyond this many are run but not captured (a training loop repeats one graph).
MAX_PASSES = 5


_DECISION = re.compile(r"^\s*(?:if|elif|while)\s+(.+?)\s*:")


def branch_notes(captured, branches, text) -> list[str]:
    """`valid where x > 0 (the if on line 2)` for each `if`/`while` decided on a tensor
    since the previous pass, up to the last line that built this pass's graph: the formula
    holds on that side only."""
    lines = [step.line for step in captured.steps if step.line]
    if not lines or not branches:
        return []
    last = max(lines)
    notes, seen = [], set()
    for line, value in branches:
        if line > last or (line, value) in seen:
            continue
        seen.add((line, value))
        match = _DECISION.match(text.line(line))
        if match is None:
            notes.append(f"valid while line {line} decides as it did ({value})")
            continue
        condition = match.group(1)
        where = condition if value else f"not ({condition})"
        notes.append(f"valid where {where} (the branch line {line} took)")
    return notes


class PassRecorder(Tracer):
    def __init__(self, source: str = "", detect_anomaly: bool = False,
                 max_passes: int = MAX_PASSES):
        super().__init__(source, record=True, detect_anomaly=detect_anomaly)
        self.inputs = InputRecorder()
        self.passes: list = []
        self.skipped = 0  # passes past max_passes
        self.max_passes = max_passes
        self._current = None
        self._engine: dict = {}
        self._branches_seen = 0

    def install(self) -> None:
        self.inputs.install()

    def uninstall(self) -> None:
        self.inputs.uninstall()

    def begin(self, roots, retain_graph) -> None:
        super().begin(roots, retain_graph)
        self._current = None
        if len(self.passes) >= self.max_passes:
            self.skipped += 1
            self.uninstall()  # later passes are not worked out: stop copying inputs
            return
        trace = self.traces[-1]
        self._current = capture(trace.index, trace.output, trace.line,
                                [(node, as_array(grad)) for node, grad in roots],
                                self.labeller, self.inputs)
        self._current.order = dict(trace.order)
        self._current.branches = branch_notes(
            self._current, self.inputs.branches[self._branches_seen:], self.labeller.text)
        self._branches_seen = len(self.inputs.branches)
        self._engine = {}
        self.passes.append(self._current)

    def node_ran(self, node, grad_in, grads_out) -> None:
        super().node_ran(node, grad_in, grads_out)
        current = self._current
        if current is None or current.unsupported:
            return
        for i, (child, _) in enumerate(node.next_functions):
            if child.__class__ is not AccumulateGrad or not grads_out:
                continue
            raw = grads_out[i]
            if raw is None:
                continue
            shape, dtype = node.inputs_meta[i]
            sent = sum_to(np.asarray(as_array(raw)), shape).astype(dtype.numpy)
            for leaf in current.leaves:
                if leaf.tensor is child.variable:
                    found = current.engine.get(leaf.name)
                    current.engine[leaf.name] = sent if found is None else found + sent
