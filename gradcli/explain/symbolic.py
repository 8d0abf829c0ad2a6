"""∂output/∂leaf as a formula in the program's own names, from the recorded graph.

Two routes, checked against each other and against the engine:

* route A rebuilds each step's output on SymPy symbols (gradcli.explain.symbolic_ops's
  forward table; leaves are real symbols named as the program names them, and every
  intermediate the program bound to a name is a symbol of its own, defined in a `where`
  line) and differentiates the output, through the named intermediates by the chain rule;
* route B composes each node's local rule backward along the graph (the per-node steps of
  `--trace`).

Both are evaluated numerically at the program's values and at a few random points near
them, where the recorded graph is replayed through gradcli's engine for its gradient
(gradcli.explain.capture.replay). Nothing is ever `simplify()`d (seconds to minutes on a
modest chain); a formula is canonicalised with `factor` under an operation-count and time
budget, and past the budget is reported as `formula too large (N operations)`.

SymPy is imported only here: this module is imported only under `--symbolic`.
"""

from __future__ import annotations

import math
import time

import numpy as np
import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from gradcli.explain.capture import Pass, random_constant_values, random_leaf_values, replay
from gradcli.explain.symbolic_ops import (
    Context,
    Unsupported,
    forward,
    local_backward,
    number,
    numbers,
    sum_to,
)

MAX_ELEMENTS = 16  # a leaf with more elements gets numbers only (or a matrix formula)
MAX_BUILD_ELEMENTS = 256  # no element-wise expressions for a pass with a larger tensor
MAX_OPS = 150  # a displayed formula with more operations is "too large"
STEP_OPS = 60  # a per-node step of --trace with more operations is "too large"
FACTOR_OPS = 120  # factor() is tried on formulas up to this size
FORWARD_LIMIT = 60  # estimated operations in the output: past it, no diff at all
TIME_BUDGET = 4.0  # seconds for one pass's formulas
RANDOM_POINTS = 3
CANDIDATE_POINTS = 24  # random points tried to find RANDOM_POINTS inside every condition


class Formula:
    """One derivative (or definition) as text, LaTeX and a SymPy string."""

    def __init__(self, lhs: str, expr=None, too_large: int | None = None,
                 lhs_latex: str | None = None, lower_bound: bool = False):
        self.lhs = lhs
        self.expr = expr
        self.too_large = too_large
        self.lhs_latex = lhs_latex or lhs
        self.text = self.latex = self.plain = self.latex_rhs = None
        if expr is not None and too_large is None:
            self.text = pretty_equation(lhs, expr)
            self.latex_rhs = sp.latex(expr)
            self.latex = f"{self.lhs_latex} = {self.latex_rhs}"
            self.plain = sp.sstr(expr)
        elif too_large is not None:
            # An estimate made before differentiating is a lower bound: "over N".
            count = f"over {too_large:,}" if lower_bound else f"{too_large:,}"
            self.text = f"{lhs} = formula too large ({count} operations)"
            self.latex = f"{self.lhs_latex} = \\text{{formula too large ({count} operations)}}"


    def mathml(self) -> str | None:
        """Presentation MathML of `lhs = formula`, for an HTML view (made on demand)."""
        if self.expr is None:
            return None
        from sympy.printing.mathml import mathml

        lhs = self.lhs.replace("&", "&amp;").replace("<", "&lt;")
        return (f"<math><mrow><mi>{lhs}</mi><mo>=</mo>"
                f"{mathml(self.expr, printer='presentation')}</mrow></math>")


class LeafResult:
    def __init__(self, name, shape):
        self.name = name
        self.shape = tuple(shape)
        self.formulas: list[Formula] = []  # one, or one per element
        self.matrix = False
        self.value = None  # the engine's gradient in this pass
        self.agrees: bool | None = None
        self.numbers_only: str | None = None  # why there is no formula
        self.derivatives = None  # route A's derivative per element, when differentiated
        self.problem: str | None = None  # what disagreed, when agrees is False


class PassResult:
    def __init__(self, captured: Pass):
        self.index = captured.index
        self.output = captured.output
        self.line = captured.line
        self.leaves: list[LeafResult] = []
        self.where: list[Formula] = []
        self.notes: list[str] = []
        self.steps: list[tuple[str, list[Formula]]] = []  # route B: (node label, ∂out/∂node)
        self.points = 0  # random points where the check ran
        self.unsupported: str | None = None
        self.seconds = 0.0
        self.conditions: list = []  # the branch taken, as SymPy relationals


# ----- text ---------------------------------------------------------------------------------

_PRINTER = None


class _Printer(PrettyPrinter):
    """SymPy's Unicode layout, with a matrix sum's positive terms first (`X⋅W - y`, as
    SymPy's own str and LaTeX printers write it, not `-y + X⋅W`)."""

    def _print_MatAdd(self, expr):
        terms = sorted(expr.args, key=lambda t: t.as_coeff_mmul()[0].could_extract_minus_sign())
        form = None
        for term in terms:
            negative = term.as_coeff_mmul()[0].could_extract_minus_sign()
            piece = self._print(-term if negative and form is not None else term)
            if form is None:
                form = piece
            else:
                form = prettyForm(*stringPict.next(form, " - " if negative else " + "))
                form = prettyForm(*stringPict.next(form, piece))
        return form


def pretty_equation(lhs: str, expr) -> str:
    """`lhs = expr` in SymPy's Unicode layout, fractions aligned on the `=`."""
    global _PRINTER
    if _PRINTER is None:
        _PRINTER = _Printer({"use_unicode": True, "wrap_line": False})
    form = _PRINTER._print(expr)
    picture = prettyForm(*stringPict.next(prettyForm(lhs + " = "), form))
    return "\n".join(line.rstrip() for line in picture.render(wrap_line=False).split("\n"))


def _latex_name(name: str) -> str:
    return name.replace("_", "\\_").replace("′", "'")


def symbol_array(name: str, shape) -> np.ndarray:
    """One real symbol per element: `w` for a single element, `w[0,1]` otherwise."""
    shape = tuple(shape)
    out = np.empty(shape, dtype=object)
    size = math.prod(shape)
    for index in np.ndindex(shape):
        label = name if size == 1 else f"{name}[{','.join(str(i) for i in index)}]"
        out[index] = sp.Symbol(label, real=True)
    return out


def element_label(name: str, shape, index) -> str:
    if math.prod(shape) == 1:
        return name
    return f"{name}[{','.join(str(i) for i in index)}]"


# ----- the analysis ---------------------------------------------------------------------------


def analyse_recorded(recorder, error=None) -> list[PassResult]:
    """Every pass a gradcli.explain.recording.PassRecorder kept, worked out. `error` (the
    run's ErrorRecord): a pass that stopped with it has no complete gradient to check."""
    labeller = recorder.labeller
    results = []
    last = recorder.passes[-1] if recorder.passes else None
    if error is not None and last is not None and error.line == last.line and \
            not last.unsupported:
        last.unsupported = "this backward pass stopped with an error"
    for captured in recorder.passes:
        try:
            results.append(analyse(captured, lambda step: labeller.expression(step.node) or ""))
        except Exception as exc:  # noqa: BLE001 - the numbers stand without the formulas
            failed = PassResult(captured)
            failed.unsupported = (f"gradcli failed to write these formulas "
                                  f"({type(exc).__name__}: {exc}); this is a bug, please "
                                  "report it")
            results.append(failed)
    return results


class _OutOfTime(Exception):
    """The pass's time budget ran out in the middle of differentiating."""


class _Budget:
    def __init__(self, seconds):
        self.deadline = time.monotonic() + seconds

    def over(self) -> bool:
        return time.monotonic() > self.deadline


def analyse(captured: Pass, source_of=lambda step: "", seconds: float = TIME_BUDGET,
            rng_seed: int = 18) -> PassResult:
    """Formulas for every leaf the pass reached, checked three ways."""
    started = time.monotonic()
    result = PassResult(captured)
    if captured.unsupported:
        result.unsupported = captured.unsupported
        return result
    budget = _Budget(seconds)
    result.notes += captured.branches
    try:
        program = replay(captured)  # the program's own dtypes: branches as the engine took them
    except Exception as exc:  # noqa: BLE001 - a graph gradcli cannot run again is reported
        result.unsupported = f"the graph could not be replayed ({type(exc).__name__}: {exc})"
        return result
    try:
        _Analysis(captured, result, program, source_of, budget, rng_seed).run()
    except (Unsupported, NotImplementedError) as exc:
        result.unsupported = f"no symbolic rule for {exc}"
    except RecursionError:
        result.unsupported = "the expression is nested too deeply"
    result.seconds = time.monotonic() - started
    return result


class _Analysis:
    def __init__(self, captured, result, program, source_of, budget, rng_seed):
        self.captured = captured
        self.result = result
        self.program = program
        self.source_of = source_of
        self.budget = budget
        self.rng = np.random.default_rng(rng_seed)
        self.defs: dict = {}  # named symbol -> its expression
        self.named: list = []  # [(step index, symbol array)] in program order
        self.deps: dict = {}  # named symbol -> leaf symbols it depends on
        self.conditions: list = []
        self.symbols: list = []  # every symbol, for evaluation
        self.symbol_values: list = []  # (name, index) of each symbol, to look values up
        self.const_values: dict = {}  # constant symbol name -> its values
        self.too_large = 0  # an estimate past the forward limit, once one is
        self.root_estimate = 0
        self._back = None  # definition -> its name, for _in_names

    # ----- route A: forward on symbols -----
    def run(self) -> None:
        captured = self.captured
        sizes = [leaf.value.size for leaf in captured.leaves]
        sizes += [math.prod(step.shape) for step in captured.steps]
        for step in captured.steps:
            for operand in step.operands:
                if operand.kind == "const":
                    sizes.append(np.asarray(operand.value).size)
        self.elementwise = max(sizes) <= MAX_BUILD_ELEMENTS
        self.leaf_symbols = [symbol_array(leaf.name, leaf.shape) for leaf in captured.leaves]
        for leaf, symbols in zip(captured.leaves, self.leaf_symbols, strict=True):
            self._remember(leaf.name, symbols)
        from gradcli.explain.matrix import matrix_formulas

        matrix = matrix_formulas(captured)
        if self.elementwise:
            self._forward()
        for i, leaf in enumerate(captured.leaves):
            self.result.leaves.append(self._leaf(i, leaf, matrix.get(leaf.name)))
        self.oversized = bool(self.too_large) or (
            self.elementwise and self.root_estimate > FORWARD_LIMIT)
        if self.elementwise and not self.oversized:
            self._check()
        elif self.oversized:
            self.result.notes.append("formulas too large to write or check; the numbers are "
                                     "the engine's")
        if matrix:
            self._check_matrix(matrix)
        self._where()
        self.result.conditions = list(self.conditions)
        # In the order the program bound them, as the table lists them.
        self.result.leaves.sort(key=lambda leaf: captured.order.get(leaf.name, len(captured.order)))

    def _remember(self, name, symbols) -> None:
        for index in np.ndindex(symbols.shape):
            self.symbols.append(symbols[index])
            self.symbol_values.append((name, index))

    def _forward(self) -> None:
        captured, program = self.captured, self.program
        used = {leaf.name for leaf in captured.leaves}
        used |= {step.name for step in captured.steps if step.name}
        constants: dict = {}
        self.values = []  # step -> expression array (named steps: their symbols)
        self.exprs = []  # step -> expression array in its inputs' terms
        self.step_args, self.step_numeric = [], []
        estimate = []
        roots = {i for i, _ in captured.roots}
        for index, step in enumerate(captured.steps):
            args, numeric, sizes = [], [], []
            for operand in step.operands:
                if operand.kind == "step":
                    args.append(self.values[operand.step])
                    numeric.append(program.steps[operand.step].array)
                    sizes.append(estimate[operand.step])
                elif operand.kind == "leaf":
                    args.append(self.leaf_symbols[operand.leaf])
                    numeric.append(program.leaves[operand.leaf].array)
                    sizes.append(1)
                elif operand.kind == "const":
                    args.append(self._constant(operand, constants, used))
                    numeric.append(np.asarray(operand.value))
                    sizes.append(1)
                else:
                    args.append(number(operand.value))
                    numeric.append(operand.value)
                    sizes.append(1)
            ctx = Context(step, numeric, program.steps[index].array, self.source_of(step))
            out = forward(ctx, args)
            if out.shape != step.shape:
                out = np.broadcast_to(out, step.shape).copy() if out.size == 1 else \
                    out.reshape(step.shape)
            reduced = max((np.asarray(n).size for n in numeric), default=1) / max(out.size, 1)
            estimate.append(1 + sum(sizes) * max(reduced, 1))
            self.conditions += ctx.conditions
            if ctx.conditions and step.overload != "where.self" and not ctx.notes:
                ctx.notes.append(_valid_where(ctx.conditions))
            for note in ctx.notes:
                text = f"{note} ({step.label}" + (f", line {step.line})" if step.line else ")")
                if text not in self.result.notes:
                    self.result.notes.append(text)
            self.exprs.append(out)
            self.step_args.append(args)
            self.step_numeric.append(numeric)
            if step.name and index not in roots:
                symbols = symbol_array(step.name, step.shape)
                named = np.empty(step.shape, dtype=object)
                for element in np.ndindex(step.shape):
                    if out[element].is_Atom:
                        # `h[0] = 0` (relu's zero side), `h = x`: nothing worth a name.
                        named[element] = out[element]
                    else:
                        named[element] = symbols[element]
                        self.defs[symbols[element]] = out[element]
                self.named.append((index, symbols))
                self._remember(step.name, symbols)
                self.values.append(named)
                estimate[-1] = 1
            else:
                self.values.append(out)
            if estimate[-1] > FORWARD_LIMIT * 4 or self.budget.over():
                self.too_large = int(estimate[-1])
        leaf_set = {s for symbols in self.leaf_symbols for s in symbols.reshape(-1)}
        for _, symbols in self.named:
            for s in symbols.reshape(-1):
                if s not in self.defs:
                    continue
                found = set()
                for free in self.defs[s].free_symbols:
                    if free in leaf_set:
                        found.add(free)
                    elif free in self.deps:
                        found |= self.deps[free]
                self.deps[s] = found
        self.root = sp.Integer(0)
        self.root_estimate = 0
        for step_index, grad in captured.roots:
            out = self.exprs[step_index]
            g = np.broadcast_to(np.asarray(grad), out.shape)
            for element in np.ndindex(out.shape):
                weight = g[element]
                if weight:
                    term = out[element] if weight == 1 else number(weight) * out[element]
                    self.root += term
            self.root_estimate += estimate[step_index]

    def _constant(self, operand, constants, used):
        value = np.asarray(operand.value)
        name = operand.name
        if not name or value.size > MAX_ELEMENTS or value.dtype.kind not in "fiu":
            return numbers(value)
        key = (name, value.shape, value.tobytes())
        if key not in constants:
            unique = name
            count = 0
            while unique in used:
                count += 1
                unique = f"{name}_{count}"
            used.add(unique)
            symbols = symbol_array(unique, value.shape)
            constants[key] = symbols
            self._remember(unique, symbols)
            self.const_values[unique] = value
        return constants[key]

    def _total(self, expr, s, memo):
        """d expr / d s, through the named intermediates by the chain rule."""
        if self.budget.over():
            raise _OutOfTime
        result = sp.diff(expr, s)
        for free in expr.free_symbols:
            if free in self.deps and s in self.deps[free]:
                inner = memo.get(free)
                if inner is None:
                    inner = memo[free] = self._total(self.defs[free], s, memo)
                if inner != 0:
                    result += sp.diff(expr, free) * inner
                if self.budget.over():
                    raise _OutOfTime
        return result

    # ----- one leaf: formulas to show -----
    def _leaf(self, i, leaf, matrix):
        out = LeafResult(leaf.name, leaf.shape)
        out.value = self.captured.engine.get(leaf.name)
        lhs = f"∂{self.captured.output}/∂"
        lhs_latex = (f"\\frac{{\\partial {_latex_name(self.captured.output)}}}"
                     f"{{\\partial {{}}}}")
        if matrix is not None:
            out.matrix = True
            name = leaf.name
            out.formulas.append(Formula(lhs + name, matrix.expr,
                                        lhs_latex=lhs_latex.replace("{}", _latex_name(name))))
            self.result.notes += [n for n in matrix.notes if n not in self.result.notes]
            return out
        if not self.elementwise:
            out.numbers_only = (f"numbers only: a tensor in this graph has more than "
                                f"{MAX_BUILD_ELEMENTS} elements")
            return out
        if leaf.value.size > MAX_ELEMENTS:
            out.numbers_only = (f"numbers only: {leaf.name} has {leaf.value.size} elements, "
                                f"more than the {MAX_ELEMENTS} gradcli writes formulas for")
            return out
        if self.too_large or self.root_estimate > FORWARD_LIMIT:
            estimate = max(int(self.root_estimate), self.too_large)
            out.formulas.append(Formula(lhs + leaf.name, too_large=estimate, lower_bound=True))
            return out
        symbols = self.leaf_symbols[i]
        out.derivatives = np.empty(symbols.shape, dtype=object)
        for index in np.ndindex(symbols.shape):
            label = element_label(leaf.name, leaf.shape, index)
            if self.budget.over():
                # Out of time: the forward estimate is the operation count we have.
                out.derivatives = None
                out.formulas.append(Formula(lhs + label, too_large=int(self.root_estimate),
                                            lower_bound=True))
                continue
            try:
                d = self._total(self.root, symbols[index], {})
            except _OutOfTime:
                # Each named intermediate on the way adds at least a factor and a sum.
                count = max(int(self.root_estimate), 2 * len(self.deps))
                out.derivatives = None
                out.formulas.append(Formula(lhs + label, too_large=count, lower_bound=True))
                continue
            out.derivatives[index] = d
            shown, count = canonical(self._in_names(d), self.budget)
            if count > MAX_OPS:
                out.formulas.append(Formula(lhs + label, too_large=count))
            else:
                out.formulas.append(Formula(lhs + label, shown,
                                            lhs_latex=lhs_latex.replace("{}", _latex_name(label))))
        return out

    def _in_names(self, expr):
        """Occurrences of a named intermediate's definition written as its name (the chain
        rule brings back `tanh(a)` where the program said `h = tanh(a)`)."""
        if not self.defs:
            return expr
        if self._back is None:
            self._back = {}
            for s, definition in self.defs.items():
                if definition.is_Atom:
                    continue
                self._back[definition] = s
                if definition.is_Pow and definition.exp == -1:
                    self._back[definition.base] = 1 / s
        return expr.xreplace(self._back)

    # ----- route B -----
    def _route_b(self):
        """Each step's local rule applied backward: ∂output/∂(every step and leaf)."""
        captured = self.captured
        grads: list = [None] * len(captured.steps)
        leaf_grads: list = [None] * len(captured.leaves)
        for step_index, grad in captured.roots:
            shape = captured.steps[step_index].shape
            g = numbers(np.broadcast_to(np.asarray(grad), shape))
            grads[step_index] = np.asarray(
                g if grads[step_index] is None else grads[step_index] + g, dtype=object)
        for index in range(len(captured.steps) - 1, -1, -1):
            if self.budget.over():
                raise _OutOfTime
            g = grads[index]
            if g is None:
                continue
            step = captured.steps[index]
            full, numeric = self.step_args[index], self.step_numeric[index]
            sends = local_backward(step, g, full, self.values[index], numeric)
            if sends is None:
                sends = self._local_jacobian(step, g, full, numeric, index)
            for k, operand in enumerate(step.operands):
                if k >= len(sends) or sends[k] is None:
                    continue
                if operand.kind not in ("step", "leaf"):
                    continue
                shape = step.node.inputs_meta[k][0]
                sent = sum_to(np.asarray(sends[k], dtype=object), shape)
                # (0-d object arrays add up to a bare SymPy number: made arrays again.)
                if operand.kind == "step":
                    target = grads[operand.step]
                    grads[operand.step] = np.asarray(
                        sent if target is None else target + sent, dtype=object)
                else:
                    target = leaf_grads[operand.leaf]
                    leaf_grads[operand.leaf] = np.asarray(
                        sent if target is None else target + sent, dtype=object)
        return grads, leaf_grads

    def _local_jacobian(self, step, g, args, numeric, index):
        """A step without a hand-written rule: differentiate that op alone."""
        dummies = [symbol_array(f"_in{k}_", np.asarray(a).shape) if isinstance(a, np.ndarray)
                   else a for k, a in enumerate(args)]
        ctx = Context(step, numeric, self.program.steps[index].array, self.source_of(step))
        out = forward(ctx, dummies)
        replace = {}
        for d, a in zip(dummies, args, strict=True):
            if isinstance(d, np.ndarray):
                for element in np.ndindex(d.shape):
                    replace[d[element]] = a[element]
        sends = []
        for k, d in enumerate(dummies):
            if not isinstance(d, np.ndarray) or step.operands[k].kind not in ("step", "leaf"):
                sends.append(None)
                continue
            send = np.empty(d.shape, dtype=object)
            for element in np.ndindex(d.shape):
                total = sp.Integer(0)
                for o in np.ndindex(out.shape):
                    if g[o] != 0:
                        total += g[o] * sp.diff(out[o], d[element])
                send[element] = total.xreplace(replace)
            sends.append(send)
        return sends

    # ----- the numeric check -----
    def _check(self) -> None:
        captured = self.captured
        try:
            step_grads, leaf_grads = self._route_b()
        except _OutOfTime:
            self.result.notes.append("not checked against the engine: the time budget was "
                                     "spent writing the formulas")
            return
        checked = [(i, leaf) for i, leaf in enumerate(self.result.leaves)
                   if leaf.derivatives is not None]
        exprs, where = [], []
        for i, leaf in checked:
            b = leaf_grads[i]
            if b is None:
                b = np.full(leaf.shape, sp.Integer(0), dtype=object)
            for index in np.ndindex(leaf.shape):
                where.append((i, index))
                exprs.append(leaf.derivatives[index])
                exprs.append(b[index] if b.shape else b[()])
        if not exprs:
            return
        if self.budget.over():
            self.result.notes.append("not checked against the engine: the time budget was "
                                     "spent writing the formulas")
            return
        evaluate = sp.lambdify(self.symbols, exprs + self.conditions, "numpy", dummify=True,
                               cse=True)
        points = [None]
        tries = 0
        while len(points) <= RANDOM_POINTS and tries < CANDIDATE_POINTS:
            moved = random_constant_values(captured, self.rng, self._symbolic_constants())
            points.append((random_leaf_values(captured, self.rng), moved))
            tries += 1
        problems: dict = {}
        good_points = 0
        for point in points:
            try:
                replayed = (replay(captured, None, np.float64) if point is None
                            else replay(captured, point[0], np.float64, point[1]))
            except Exception:  # noqa: BLE001 - a point outside some op's domain
                continue
            with np.errstate(all="ignore"):
                values = evaluate(*self._arguments(replayed))
            values = [np.asarray(v, dtype=float) if not isinstance(v, (bool, np.bool_))
                      else v for v in values]
            conditions = values[len(exprs):]
            if point is not None and not all(bool(np.all(c)) for c in conditions):
                continue
            if point is not None:
                finite = all(np.all(np.isfinite(v)) for v in values[: len(exprs)])
                if not finite:
                    continue
                good_points += 1
                if good_points > RANDOM_POINTS:
                    break
            for k, (i, index) in enumerate(where):
                a, b = float(values[2 * k]), float(values[2 * k + 1])
                leaf = checked[[c[0] for c in checked].index(i)][1]
                if point is None:
                    engine = captured.engine.get(leaf.name)
                    engine = 0.0 if engine is None else float(np.asarray(engine)[index])
                    # The engine ran in the program's dtype (float32, usually).
                    scale = max(1.0, abs(engine))
                    ok_engine = abs(a - engine) <= 2e-3 * scale
                else:
                    engine = float(np.asarray(replayed.grads[leaf.name])[index])
                    ok_engine = abs(a - engine) <= 1e-6 * max(1.0, abs(engine))
                ok_routes = abs(a - b) <= 1e-6 * max(1.0, abs(a))
                if not (ok_engine and ok_routes) and i not in problems:
                    where_text = "the program's values" if point is None else "a random point"
                    problems[i] = (f"at {where_text}, {element_label(leaf.name, leaf.shape, index)}"
                                   f": formula {a:.6g}, chain of local rules {b:.6g}, "
                                   f"engine {engine:.6g}")
        self.result.points = max(good_points, 0)
        self._steps_text(step_grads)  # after the check: the trace's steps come second
        for i, leaf in checked:
            leaf.agrees = i not in problems
            leaf.problem = problems.get(i)
            self._shorter(leaf, leaf_grads[i])

    def _shorter(self, leaf, routed) -> None:
        """Both routes agree numerically: show whichever writes a formula more briefly (route
        B keeps softmax as `p`, where route A expands it)."""
        if routed is None or not leaf.agrees:
            return
        for k, index in enumerate(np.ndindex(leaf.shape)):
            formula = leaf.formulas[k]
            if formula.expr is None:
                continue
            other = routed[index] if routed.shape else routed[()]
            shown, count = canonical(other, self.budget)
            if count < sp.count_ops(formula.expr):
                leaf.formulas[k] = Formula(formula.lhs, shown, lhs_latex=formula.lhs_latex)

    def _symbolic_constants(self) -> set:
        """Constants written as symbols under their own name (the others are numbers)."""
        return set(self.const_values)

    def _arguments(self, replayed) -> list:
        out = []
        consts = self.const_values
        for name, index in self.symbol_values:
            value = replayed.values.get(name)
            if value is None:
                value = consts.get(name)
            out.append(float(np.asarray(value, dtype=np.float64)[index]))
        return out

    def _steps_text(self, step_grads) -> None:
        output = self.captured.output
        for index in range(len(self.captured.steps) - 1, -1, -1):
            step = self.captured.steps[index]
            g = step_grads[index]
            if g is None:
                continue
            name = step.name or _short(step.label)
            formulas = []
            if self.budget.over():
                self.result.notes.append("per-node formulas stop here: time budget spent")
                break
            if g.size <= 4:
                for element in np.ndindex(g.shape):
                    label = element_label(name, step.shape, element)
                    # As composed (no factor(): one per node would cost seconds).
                    shown, count = canonical(g[element], self.budget, factor_it=False)
                    formulas.append(Formula(f"∂{output}/∂{label}", shown) if count <= STEP_OPS
                                    else Formula(f"∂{output}/∂{label}", too_large=count))
            self.result.steps.append((step.description, formulas))

    def _check_matrix(self, matrix) -> None:
        captured = self.captured
        points = [None] + [(random_leaf_values(captured, self.rng),
                            random_constant_values(captured, self.rng))
                           for _ in range(RANDOM_POINTS)]
        for leaf in self.result.leaves:
            found = matrix.get(leaf.name)
            if found is None:
                continue
            problem = None
            for point in points:
                replayed = (replay(captured, None, np.float64) if point is None
                            else replay(captured, point[0], np.float64, point[1]))
                value = found.evaluate(replayed.values).reshape(leaf.shape)
                if point is None:
                    engine = np.asarray(captured.engine.get(leaf.name), dtype=np.float64)
                    ok = np.allclose(value, engine, rtol=2e-3, atol=2e-3 * max(
                        1.0, float(np.abs(engine).max(initial=0))))
                else:
                    engine = replayed.grads[leaf.name]
                    ok = np.allclose(value, engine, rtol=1e-6, atol=1e-9)
                if not ok:
                    problem = (f"matrix formula {np.array2string(value, precision=6)} vs "
                               f"engine {np.array2string(np.asarray(engine), precision=6)}")
                    break
            if leaf.agrees is None:
                leaf.agrees = problem is None
                leaf.problem = problem
            elif problem is not None:
                leaf.agrees, leaf.problem = False, problem
        self.result.points = max(self.result.points, RANDOM_POINTS)

    def _where(self) -> None:
        """`where r = ...` for every named intermediate a shown formula uses."""
        wanted: set = set()
        for leaf in self.result.leaves:
            for formula in leaf.formulas:
                if formula.expr is not None:
                    wanted |= formula.expr.free_symbols
        for _, formulas in self.result.steps:
            for formula in formulas:
                if formula.expr is not None:
                    wanted |= formula.expr.free_symbols
        changed = True
        while changed:
            changed = False
            for s in list(wanted):
                if s in self.defs:
                    extra = self.defs[s].free_symbols - wanted
                    if extra:
                        wanted |= extra
                        changed = True
        for _, symbols in self.named:
            for element in np.ndindex(symbols.shape):
                s = symbols[element]
                if s in wanted and s in self.defs:
                    shown, count = canonical(self.defs[s], self.budget, factor_it=False)
                    self.result.where.append(
                        Formula(str(s), shown) if count <= MAX_OPS
                        else Formula(str(s), too_large=count))


def _short(label: str, width: int = 24) -> str:
    text = label if len(label) <= width else label[: width - 1] + "…"
    return f"({text})"


def _valid_where(conditions) -> str:
    """`valid where x[1] > 0, x[0] ≤ 0` (the branch the numbers took)."""
    texts = []
    for condition in conditions:
        text = sp.sstr(condition).replace("<=", "≤").replace(">=", "≥")
        if isinstance(condition, sp.Eq):
            text = f"{sp.sstr(condition.lhs)} = {sp.sstr(condition.rhs)}"
        if condition is sp.true or text == "True":
            continue
        texts.append(text)
    if len(texts) > 6:
        texts = texts[:6] + [f"… ({len(texts) - 6} more)"]
    return "valid where " + ", ".join(texts) if texts else "valid for the branch taken"


def canonical(expr, budget: _Budget | None = None, factor_it: bool = True):
    """(the form to show, its operation count): `factor` when that is smaller, under the
    budget; never simplify()."""
    count = sp.count_ops(expr)
    if count > MAX_OPS or not factor_it or count > FACTOR_OPS:
        return expr, count
    if budget is not None and budget.over():
        return expr, count
    try:
        factored = sp.factor(expr, deep=False)
    except (sp.PolynomialError, TypeError, ValueError, RecursionError):
        return expr, count
    factored_count = sp.count_ops(factored)
    if factored_count < count or (factored_count == count and
                                  len(str(factored)) < len(str(expr))):
        return factored, factored_count
    return expr, count
