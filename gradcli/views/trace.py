"""Backward passes as text (`eval --trace`), as JSON, and as partial derivatives
(`--partials`, `--format latex`). Reads what gradcli.explain.tracer.Tracer recorded."""

from __future__ import annotations

import math
import re
import textwrap

import numpy as np
from rich.text import Text

from gradcli.base.printing import PrintOptions, tensor_body
from gradcli.base.wording import line_text
from gradcli.explain.labels import place, shape_text
from gradcli.explain.tracer import Trace
from gradcli.views.values import to_data

WIDTH = 80
LABEL = 10  # width of the field names ("grad in", "rule", ...)
INDENT = 6  # where field names start
SUMMARY_WIDTH = 44  # a value longer than this is summarised (unless --trace-values full)

STYLES = {
    "header": "bold",
    "node": "magenta",
    "name": "bold cyan",
    "field": "dim",
    "value": "green",
    "note": "dim",
}


# ----- values -------------------------------------------------------------------------------


def _dtype_name(array: np.ndarray) -> str:
    name = str(array.dtype)
    return name if name in ("float16", "float32", "float64", "int64", "int32", "bool",
                            "int8", "int16", "uint8") else "float64"


def _collapsed(array: np.ndarray, options: PrintOptions) -> str:
    # On one line PyTorch's alignment padding means nothing: `[[ 1.8], [10.8]]` -> `[[1.8], ...`.
    text = " ".join(tensor_body(array, _dtype_name(array), options).split())
    return re.sub(r"\[ +", "[", text)


def value_text(array, full: bool = False, width: int = SUMMARY_WIDTH) -> str:
    """A tensor's values as PyTorch prints them: one line, summarised when long; with
    `full`, every element in PyTorch's multi-line layout."""
    if array is None:
        return "None"
    array = np.asarray(array)
    if full:
        options = PrintOptions(threshold=math.inf, linewidth=WIDTH - INDENT - LABEL - 2)
        return tensor_body(array, _dtype_name(array), options)
    text = _collapsed(array, PrintOptions(threshold=6, edgeitems=2, linewidth=10**6))
    if len(text) <= width:
        return text
    text = _collapsed(array, PrintOptions(threshold=1, edgeitems=1, linewidth=10**6))
    if len(text) <= width:
        return text
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if finite.size == 0:
        return f"{shape_text(array.shape)} tensor, no finite values"
    low, high = float(finite.min()), float(finite.max())
    if low == high and finite.size == array.size:
        return f"{shape_text(array.shape)} tensor, all {low:.4g}"
    return f"{shape_text(array.shape)} tensor, min {low:.4g}, max {high:.4g}"


def item_text(array, precision: int = 4) -> str:
    """One element as PyTorch prints it in its own dtype (`2.3026` for float32 ln 10 at
    precision 4, `3.` for 3), else the values."""
    array = np.asarray(array)
    if array.size == 1:
        return tensor_body(array.reshape(()), _dtype_name(array),
                           PrintOptions(precision=precision))
    if precision != 4:
        return _collapsed(array, PrintOptions(precision=precision, threshold=6, edgeitems=2,
                                              linewidth=10**6))
    return value_text(array)


# ----- the text view ----------------------------------------------------------------------


class _Lines:
    def __init__(self, width: int):
        self.width = width
        self.lines: list[Text] = []

    def add(self, *parts) -> None:
        """parts: (text, style) pairs or plain strings, on one line."""
        line = Text()
        for part in parts:
            if isinstance(part, tuple):
                line.append(part[0], style=STYLES.get(part[1], part[1]))
            else:
                line.append(part)
        self.lines.append(line)

    def field(self, label: str, text: str, style: str = "", note: str = "") -> None:
        """A field with a hanging indent: long text (and its note) wraps under itself."""
        room = self.width - INDENT - LABEL
        rows = []
        for raw in text.split("\n"):
            for piece in textwrap.wrap(raw, room, break_on_hyphens=False,
                                       subsequent_indent="  ") or [""]:
                rows.append([(piece, style)])
        if note:
            last = rows[-1][0][0]
            if len(last) + 2 + len(note) <= room:
                rows[-1].append(("  " + note if last else note, "note"))
            else:
                for piece in textwrap.wrap(note, room - 2, break_on_hyphens=False):
                    rows.append([("  " + piece, "note")])
        for i, row in enumerate(rows):
            head = (" " * INDENT + (label if i == 0 else "").ljust(LABEL), "field")
            self.add(head, *row)


def _grad_name(name: str) -> str:
    if name.replace("_", "a").isalnum() and not name[:1].isdigit():
        return f"grad_{name}"
    return f"grad of {name}"


def render_trace(trace: Trace, full: bool = False, width: int = WIDTH) -> list[Text]:
    """One backward pass, node by node in the order the engine ran them."""
    out = _Lines(width)
    where = f" · {line_text(trace.line)}" if trace.line else ""
    call = f" · {trace.call}" if trace.call else ""
    out.add((f"backward pass {trace.index}{where}{call}"[:width], "header"))
    for label, grad in trace.roots:
        out.field("root", f"{label}, gradient {value_text(grad, False)}")
    for number, step in enumerate(trace.steps, 1):
        if step.kind == "accumulate":
            _accumulate(out, number, step, full)
        else:
            _node(out, number, step, trace, full)
    _footer(out, trace)
    return out.lines


def _title(out: _Lines, number: int, node: str, variable: str | None, expression: str | None,
           line: int | None, inside: bool = False, where: str | None = None) -> None:
    parts = [(f"  [{number}] ", "header"), (node, "node")]
    note = f" · {place(line, where)}" if line else ""
    if inside and expression:
        expression = "part of " + expression
    shown = expression if expression and expression != variable else None
    if variable or expression:
        parts.append(" · ")
        if variable:
            parts.append((variable, "name"))
            if shown:
                parts.append(" = ")
    used = sum(len(p[0] if isinstance(p, tuple) else p) for p in parts)
    # A place too long to share the line with a few characters of the expression
    # (`input [2], line 3 in f() ← input [5], line 1, i=3`) gets a line of its own.
    own_line = used + min(len(shown or ""), 16) + len(note) > out.width
    if shown:
        room = out.width - used - (12 if own_line else max(len(note), 12))
        parts.append(shown if len(shown) <= room else shown[: max(room - 1, 8)] + "…")
    if not line:
        out.add(*parts)
    elif not own_line:
        out.add(*parts, (note, "note"))
    else:
        out.add(*parts)
        out.add((" " * 6 + note[len(" · "):], "note"))


def _node(out: _Lines, number: int, step, trace: Trace, full: bool) -> None:
    _title(out, number, step.node, step.variable, step.expression, step.line, step.inside,
           getattr(step, "where", None))
    me = step.short or step.node
    d = f"∂{trace.output}/∂{me}"
    if step.outputs:
        _outputs(out, step, trace.output, full)
    elif step.contributions:
        out.field("grad in", f"{d} = sum of {len(step.contributions)} contributions", "value")
        for source, grad in step.contributions:
            out.field("", f"+ {value_text(grad, full)}", "value", f"from {source}")
        out.field("", f"= {value_text(step.grad_in, full)}", "value")
    else:
        arrived = step.hooks[0][1] if step.hooks else step.grad_in
        out.field("grad in", f"{d} = {value_text(arrived, full)}", "value")
    _hooks(out, step, full)
    if step.retained is not None:
        name, previous, total = step.retained
        if previous is None:
            out.field("retained", f"{name}.grad = {value_text(total, full)}", "value",
                      f"({name}.retain_grad())")
        else:
            out.field("retained", f"{name}.grad += {value_text(step.grad_in, full)} "
                      f"→ {value_text(total, full)}", "value")
    out.field("rule", step.words)
    if step.partials:
        joined = ",  ".join(step.partials)
        if len(joined) <= out.width - INDENT - LABEL:
            out.field("", joined)
        else:
            for partial in step.partials:
                out.field("", partial)
    first = True
    for send in step.sends:
        label = "sends" if first else ""
        first = False
        if send.target is None:
            out.field(label, f"nothing to {send.input}", "note",
                      "(needs no gradient)")
            continue
        value = value_text(send.grad, full)
        formula = send.formula or "grad"
        text = f"{_grad_name(send.input)} = {formula}"
        if send.reduced_from is not None:
            text += f", summed {shape_text(send.reduced_from)} → {shape_text(send.grad.shape)}"
        text += f" = {value}"
        out.field(label, text, "value", f"→ {send.target_label}")
    if step.saved_state == "freed":
        out.field("saved", f"{step.saved_bytes:,} bytes, freed now", "note")
    elif step.saved_state == "kept":
        out.field("saved", f"{step.saved_bytes:,} bytes, kept (retain_graph=True)", "note")


def _outputs(out: _Lines, step, root: str, full: bool) -> None:
    """A node with several outputs receives one gradient per output (unbind's rows)."""
    out.field("grad in", f"∂{root}/∂output, one gradient per output", "value")
    for slot, name, grad, sources in step.outputs:
        output = f"output {slot}" + (f" ({name})" if name else "")
        if grad is None:
            out.field("", f"{output}: none (counts as zeros)", "value")
            continue
        note = f"from {sources[0][0]}" if len(sources) == 1 else (
            f"sum of {len(sources)} contributions" if sources else "")
        out.field("", f"{output} = {value_text(grad, full)}", "value", note)
        if len(sources) > 1:
            for source, part in sources:
                out.field("", f"  + {value_text(part, full)}", "value", f"from {source}")


def _hooks(out: _Lines, step, full: bool) -> None:
    """Each tensor hook that replaced the gradient, where it was registered."""
    for line, before, after in step.hooks:
        where = f"at {line_text(line)} " if line else ""
        out.field("hook", f"{where}changed the gradient: {value_text(before, full)} → "
                  f"{value_text(after, full)}", "value")


def _accumulate(out: _Lines, number: int, step, full: bool) -> None:
    _title(out, number, "AccumulateGrad", step.variable, None, None)
    name = step.variable or "leaf"
    if step.contributions:
        out.field("grad in", f"sum of {len(step.contributions)} contributions", "value")
        for source, grad in step.contributions:
            out.field("", f"+ {value_text(grad, full)}", "value", f"from {source}")
        out.field("", f"= {value_text(step.grad_in, full)}", "value")
    _hooks(out, step, full)
    if step.previous is None:
        out.field("writes", f"{name}.grad = {value_text(step.total, full)}", "value",
                  "(was None)")
    else:
        out.field("adds", f"{name}.grad += {value_text(step.grad_in, full)} "
                  f"→ {value_text(step.total, full)}", "value",
                  f"(was {value_text(step.previous, full)})")


def _footer(out: _Lines, trace: Trace) -> None:
    names = [leaf for leaf, _, _ in trace.partials()]
    names += [s.retained[0] for s in trace.steps if s.kind == "node" and s.retained]
    if names:
        out.field("done", "gradients in " + ", ".join(f"{n}.grad" for n in names))
    if trace.saved_total:
        state = "kept (retain_graph=True)" if trace.retain_graph else "freed"
        out.field("", f"saved tensors: {trace.saved_total:,} bytes, {state}", "note")


# ----- partial derivatives -----------------------------------------------------------------


def partial_lines(trace: Trace, precision: int = 4) -> list[str]:
    """`∂e/∂a = 3.` for every leaf this pass reached (its contribution in this pass)."""
    lines = []
    for leaf, grad, total in trace.partials():
        line = f"∂{trace.output}/∂{leaf} = {item_text(grad, precision)}"
        if total is not None and (total.shape != grad.shape or not np.array_equal(total, grad)):
            note = f"({leaf}.grad = {item_text(total, precision)} after accumulating)"
            if len(line) + 3 + len(note) > WIDTH:
                lines.append(line)
                line = "    " + note
            else:
                line += "   " + note
        lines.append(line)
    return lines


def _latex_name(name: str) -> str:
    return name.replace("\\", "\\backslash ").replace("_", "\\_").replace("%", "\\%") \
        .replace("#", "\\#").replace("&", "\\&")


def _shortest(value) -> str:
    """The shortest text that reads back as the same value in its own dtype: float32
    ln 10 is 2.3025851, not float64's 2.3025851249694824."""
    return str(value)


def _latex_value(array) -> str:
    array = np.asarray(array)
    if array.size == 1:
        return _shortest(array.reshape(-1)[0])
    if array.ndim == 1:
        return "\\begin{bmatrix} " + " & ".join(_shortest(v) for v in array) + \
            " \\end{bmatrix}"
    if array.ndim == 2:
        rows = [" & ".join(_shortest(v) for v in row) for row in array]
        return "\\begin{bmatrix} " + " \\\\ ".join(rows) + " \\end{bmatrix}"
    return "\\text{" + " ".join(value_text(array).split()) + "}"


def latex_lines(trace: Trace) -> list[str]:
    """`\\frac{\\partial e}{\\partial a} = 3.0`, as the notebook displays them."""
    out = _latex_name(trace.output)
    return [f"\\frac{{\\partial {out}}}{{\\partial {_latex_name(leaf)}}} = {_latex_value(grad)}"
            for leaf, grad, _ in trace.partials()]


# ----- JSON ----------------------------------------------------------------------------------


def _data(array):
    return None if array is None else to_data(np.asarray(array))


def trace_json(trace: Trace) -> dict:
    steps = []
    for number, step in enumerate(trace.steps, 1):
        record = {
            "step": number,
            "kind": step.kind,
            "node": step.node,
            "variable": step.variable,
            "expression": step.expression,
            "line": step.line,
            **({"where": step.where} if getattr(step, "where", None) else {}),
            "grad_in": _data(step.grad_in),
            "contributions": [{"from": source, "grad": _data(grad)}
                              for source, grad in step.contributions],
            **({"outputs": [{"output": slot, "name": name, "grad": _data(grad),
                             "from": [{"from": source, "grad": _data(part)}
                                      for source, part in sources]}
                            for slot, name, grad, sources in step.outputs]}
               if step.outputs else {}),
        }
        if step.kind == "accumulate":
            record["previous"] = _data(step.previous)
            record["total"] = _data(step.total)
        else:
            record["inside"] = step.inside
            record["rule"] = step.words
            record["partials"] = list(step.partials)
            record["sends"] = [{
                "input": send.input,
                "formula": send.formula,
                "to": send.target,
                "to_label": send.target_label,
                "grad": _data(send.grad),
                "reduced_from": list(send.reduced_from) if send.reduced_from else None,
            } for send in step.sends]
            record["retained"] = (
                {"name": step.retained[0], "grad": _data(step.retained[2])}
                if step.retained else None)
            record["saved_bytes"] = step.saved_bytes
            record["saved"] = step.saved_state
        steps.append(record)
    return {
        "index": trace.index,
        "line": trace.line,
        "call": trace.call,
        "retain_graph": trace.retain_graph,
        "output": trace.output,
        "roots": [{"node": label, "grad": _data(grad)} for label, grad in trace.roots],
        "steps": steps,
        "saved_bytes": trace.saved_total,
        "partials": [{"leaf": leaf, "grad": _data(grad), "total": _data(total)}
                     for leaf, grad, total in trace.partials()],
    }


# ----- eval's output with the backward passes in place -------------------------------------


class TraceViews:
    """What `eval` shows of the recorded passes: traces, partials, or LaTeX."""

    def __init__(self, tracer, trace: bool = False, partials: bool = False, full: bool = False,
                 precision: int = 4):
        self.tracer = tracer
        self.precision = precision
        self.trace = trace
        self.partials = partials
        self.full = full

    @property
    def traces(self) -> list[Trace]:
        return self.tracer.traces

    def json(self) -> dict:
        doc = {}
        if self.trace:
            doc["traces"] = [trace_json(t) for t in self.traces]
        if self.partials:
            doc["partials"] = [
                {"output": t.output, "line": t.line, "leaf": leaf, "grad": _data(grad)}
                for t in self.traces for leaf, grad, _ in t.partials()]
        return doc

    def latex(self) -> str:
        lines = [line for t in self.traces for line in latex_lines(t)]
        return "".join(line + "\n" for line in lines)

    def write(self, stdout: str, color: bool, file) -> None:
        """The program's printed text with each pass shown where backward() ran."""
        from rich.console import Console

        console = Console(file=file, force_terminal=color, color_system="auto" if color else None,
                          highlight=False, soft_wrap=False, width=WIDTH)
        position = 0
        for trace in self.traces:
            file.write(stdout[position:trace.mark])
            position = max(position, trace.mark)
            file.flush()
            if self.trace:
                for line in render_trace(trace, self.full, WIDTH):
                    console.print(line)
            if self.partials:
                for line in partial_lines(trace, self.precision):
                    console.print(Text(line, style=STYLES["value"]))
        file.write(stdout[position:])


def make_views(source: str, trace: bool = False, values: str = "summary",
               partials: bool = False, detect_anomaly: bool = False,
               output_format: str = "table", precision: int = 4) -> TraceViews | None:
    """The observer and views `eval` needs for its options, or None when none is asked."""
    from gradcli.explain.tracer import Tracer

    latex = output_format == "latex"
    if not (trace or partials or detect_anomaly or latex):
        return None
    tracer = Tracer(source, record=trace or partials or latex, detect_anomaly=detect_anomaly)
    return TraceViews(tracer, trace=trace, partials=partials, full=values == "full",
                      precision=precision)
