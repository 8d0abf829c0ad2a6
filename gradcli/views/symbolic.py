"""`eval --symbolic`: each backward pass's formulas beside its numbers (text, LaTeX, JSON),
read from what gradcli.explain.symbolic worked out. Imported only under --symbolic."""

from __future__ import annotations

import sys

from rich.text import Text

from gradcli.views.trace import STYLES, TraceViews, _data, item_text

INSTALL_HINT = "pip install 'gradcli[symbolic]'"
MAX_WHERE = 12  # definitions shown under a pass's formulas in the terminal


def both(first, second):
    """One engine Observer telling two (--symbolic's recorder and --html's)."""
    from gradcli.autodiff.engine import Observer

    class Both(Observer):
        def attach(self, runtime):
            for observer in (first, second):
                if hasattr(observer, "attach"):
                    observer.attach(runtime)

        def begin(self, roots, retain_graph):
            first.begin(roots, retain_graph)
            second.begin(roots, retain_graph)

        def node_ran(self, node, grad_in, grads_out):
            first.node_ran(node, grad_in, grads_out)
            second.node_ran(node, grad_in, grads_out)

        def accumulated(self, tensor, grad, total):
            first.accumulated(tensor, grad, total)
            second.accumulated(tensor, grad, total)

    return Both()


def sympy_missing() -> str | None:
    """The message for a missing SymPy, or None when it imports."""
    try:
        import sympy  # noqa: F401
    except ImportError:
        return (f"gradcli: --symbolic needs SymPy, which is not installed; install the extra "
                f"with: {INSTALL_HINT}")
    return None


def make_symbolic_views(source: str, trace: bool, values: str, partials: bool,
                        detect_anomaly: bool, output_format: str = "table"):
    """The views for `eval --symbolic`; exits 2 with the install hint without SymPy."""
    message = sympy_missing()
    if message is not None:
        print(message, file=sys.stderr)
        sys.exit(2)
    from gradcli.explain.recording import PassRecorder

    recorder = PassRecorder(source, detect_anomaly=detect_anomaly)
    recorder.install()
    views = SymbolicViews(recorder, trace=trace, partials=partials, full=values == "full")
    views.text_section = output_format == "table"
    return views


class SymbolicViews(TraceViews):
    def __init__(self, recorder, **options):
        super().__init__(recorder, **options)
        # The PassRecorder; `tracer` may be replaced by another recorder (--html's).
        self.recorder = recorder
        self.results: list = []
        self.text_section = True  # the formulas in the text (not under --format latex/tsv)

    def finish(self, result=None) -> None:
        """After the run: work out every recorded pass's formulas."""
        from gradcli.explain.symbolic import analyse_recorded

        self.recorder.uninstall()
        self.results = analyse_recorded(self.recorder, getattr(result, "error", None))

    def _result(self, trace):
        for result in self.results:
            if result.index == trace.index:
                return result
        return None

    # ----- text -----
    def write(self, stdout: str, color: bool, file) -> None:
        from rich.console import Console

        console = Console(file=file, force_terminal=color, color_system="auto" if color else None,
                          highlight=False, soft_wrap=True)
        position = 0
        for trace in self.traces:
            file.write(stdout[position:trace.mark])
            position = max(position, trace.mark)
            file.flush()
            if self.trace:
                from gradcli.views.trace import render_trace

                for line in render_trace(trace, self.full):
                    console.print(line)
            if self.partials:
                from gradcli.views.trace import partial_lines

                for line in partial_lines(trace):
                    console.print(Text(line, style=STYLES["value"]))
            if self.text_section:
                for line in symbolic_lines(trace, self._result(trace), self.trace):
                    console.print(line)
        file.write(stdout[position:])
        if self.text_section and not self.traces:
            console.print(Text("formulas: no backward pass ran, so there is no gradient to "
                               "write as a formula", style=STYLES["note"]))

    # ----- LaTeX -----
    def latex(self) -> str:
        lines = []
        for trace in self.traces:
            result = self._result(trace)
            if result is None or result.unsupported:
                from gradcli.views.trace import latex_lines

                lines += latex_lines(trace)
                continue
            for leaf in result.leaves:
                values = _elements(leaf.value)
                for k, formula in enumerate(leaf.formulas):
                    value = values[k] if not leaf.matrix and k < len(values) else None
                    text = formula.latex
                    if value is not None:
                        text += f" = {value}"
                    if leaf.agrees:
                        text += " \\quad \\checkmark"
                    lines.append(text)
            for formula in result.where:
                lines.append(f"\\text{{where }} {formula.latex}")
            for note in result.notes:
                lines.append(f"% {note}")
        return "".join(line + "\n" for line in lines)

    # ----- JSON -----
    def json(self) -> dict:
        doc = super().json()
        symbolic: dict = {}
        for result in self.results:
            where = {f.lhs: f.plain for f in result.where}
            for leaf in result.leaves:
                record = {"output": result.output, "pass": result.index, "line": result.line}
                formulas = leaf.formulas
                if leaf.numbers_only or not formulas:
                    record.update(formula=None, latex=None, reason=leaf.numbers_only)
                elif len(formulas) == 1:
                    record.update(formula=formulas[0].plain, latex=formulas[0].latex_rhs)
                else:
                    record.update(formula=[f.plain for f in formulas],
                                  latex=[f.latex_rhs for f in formulas],
                                  elements=[f.lhs.split("/∂", 1)[1] for f in formulas])
                if any(f.too_large for f in formulas):
                    record["too_large"] = True
                record["matrix"] = leaf.matrix
                record["agrees"] = leaf.agrees
                if leaf.problem:
                    record["problem"] = leaf.problem
                record["value"] = _data(leaf.value) if leaf.value is not None else None
                record["where"] = where
                record["notes"] = list(result.notes)
                symbolic[leaf.name] = record
        doc["symbolic"] = symbolic
        if self.trace:
            # --trace: route B node by node, as the text shows it.
            doc["symbolic_steps"] = [
                {"pass": result.index, "output": result.output,
                 "steps": [{"node": label,
                            "formulas": {f.lhs: f.plain for f in formulas}}
                           for label, formulas in result.steps]}
                for result in self.results]
        return doc


def _elements(value) -> list[str]:
    if value is None:
        return []
    import numpy as np

    array = np.asarray(value)
    # str of a numpy scalar is its shortest repr in its own dtype (float32: 2.3025851).
    return [str(v) for v in array.reshape(-1)]


def _block(prefix: str, text: str, lhs: str, suffix: str = "", width: int = 0) -> list[str]:
    """A (possibly multi-row) pretty formula with `prefix` on its `lhs` row and `suffix`
    after it, at column `width` at least."""
    rows = text.split("\n")
    base = next((i for i, row in enumerate(rows) if row.startswith(lhs)), len(rows) - 1)
    pad = " " * len(prefix)
    out = []
    for i, row in enumerate(rows):
        line = (prefix if i == base else pad) + row
        if i == base and suffix:
            width = max(width, max(len(r) for r in rows))
            line = (prefix + row).ljust(len(prefix) + width) + suffix
        out.append(line.rstrip())
    return out


def symbolic_lines(trace, result, with_steps: bool = False) -> list[Text]:
    """The formulas of one backward pass, for the terminal."""
    out: list[Text] = []
    where = f" · line {trace.line}" if trace.line else ""
    call = f" · {trace.call}" if trace.call else ""
    out.append(Text(f"formulas · backward pass {trace.index}{where}{call}", style="bold"))
    if result is None:
        from gradcli.explain.recording import MAX_PASSES

        out.append(Text(f"  not worked out: gradcli writes formulas for the first {MAX_PASSES} "
                        "backward passes (a loop repeats one graph)", style=STYLES["note"]))
        return out
    if result.unsupported:
        out.append(Text(f"  numbers only: {result.unsupported}", style=STYLES["note"]))
        return out
    width = max((len(row) for leaf in result.leaves for formula in leaf.formulas
                 for row in formula.text.split("\n")), default=0)
    for leaf in result.leaves:
        if leaf.numbers_only:
            out.append(Text(f"  ∂{result.output}/∂{leaf.name}: {leaf.numbers_only}",
                            style=STYLES["note"]))
            continue
        values = _elements(leaf.value)
        mark = {True: "  ✓", False: "  ✗", None: ""}[leaf.agrees]
        for k, formula in enumerate(leaf.formulas):
            if leaf.matrix:
                suffix = mark
            else:
                value = values[k] if k < len(values) else "?"
                suffix = f"  = {value}{mark}"
            for line in _block("  ", formula.text, formula.lhs, suffix, min(width, 60)):
                out.append(Text(line, style=STYLES["value"]))
        if leaf.matrix and leaf.value is not None:
            out.append(Text(f"    = {item_text(leaf.value)}", style=STYLES["value"]))
        if leaf.agrees is False:
            out.append(Text(f"  ✗ {leaf.problem}. The formula, the chain of local rules and "
                            "the engine should agree: this is a gradcli bug; please report it.",
                            style="bold red"))
    for i, formula in enumerate(result.where[:MAX_WHERE]):
        prefix = "  where " if i == 0 else "        "
        for line in _block(prefix, formula.text, formula.lhs):
            out.append(Text(line))
    if len(result.where) > MAX_WHERE:
        out.append(Text(f"        … and {len(result.where) - MAX_WHERE} more definitions "
                        "(--format json lists them all)", style=STYLES["note"]))
    for note in result.notes:
        out.append(Text(f"  {note}", style=STYLES["note"]))
    checked = [leaf for leaf in result.leaves if leaf.agrees is not None]
    if checked:
        points = (f"the program's values and {result.points} random point"
                  f"{'s' if result.points != 1 else ''} near them" if result.points
                  else "the program's values only (no random point keeps the same branch)")
        routes = ("matrix formula and engine" if all(leaf.matrix for leaf in checked)
                  else "formula, chain of local rules and engine")
        out.append(Text(f"  ✓ = {routes} agree at {points}", style=STYLES["note"]))
    if with_steps and result.steps:
        out.append(Text("  the chain rule node by node (local rules composed):", style="bold"))
        for label, formulas in result.steps:
            out.append(Text(f"    {label}", style=STYLES["node"]))
            for formula in formulas:
                for line in _block("      ", formula.text, formula.lhs):
                    out.append(Text(line, style=STYLES["value"]))
    return out
