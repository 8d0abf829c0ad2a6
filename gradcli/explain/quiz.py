"""`gradcli quiz`: is a derivative a student typed right, and if not, where does their chain
rule leave the graph's?

The answer is parsed by gradcli's own expression parser and evaluated with numpy over the
program's names (leaves, named constants, named intermediates) at the program's values
and at random points near them, where the recorded graph is replayed through the engine
(gradcli.explain.capture) for autograd's gradient. No SymPy.

When it is wrong: the answer is split into its factors and matched, node by node from the
output down, against each node's local derivative (measured on the replayed graph); the
first node whose factor is missing, or whose sign or constant is off, is the one named.
A leaf used along several paths is checked path by path (a forgotten path is named), and
an answer shaped like the broadcast operand rather than the leaf names the broadcast.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli.explain.capture import Pass, random_constant_values, random_leaf_values, replay
from gradcli.explain.provenance import expression_text
from gradcli.lang import ast as A

RANDOM_POINTS = 3
CANDIDATES = 24
RTOL_PROGRAM = 2e-3  # the engine ran in the program's dtype (float32, usually)
RTOL_POINT = 1e-6  # replayed in float64


class AnswerError(Exception):
    """The typed answer cannot be evaluated (unknown name, unsupported function)."""


# ----- evaluating the typed expression --------------------------------------------------

_FUNCTIONS = {
    "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "tanh": np.tanh, "sqrt": np.sqrt, "abs": np.abs, "sign": np.sign,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0),
    "log1p": np.log1p, "expm1": np.expm1, "log2": np.log2, "log10": np.log10,
    "sum": lambda x, *a: np.sum(x), "mean": lambda x, *a: np.mean(x),
    "cosh": np.cosh, "sinh": np.sinh, "square": np.square, "Abs": np.abs,
    "outer": np.outer, "dot": np.dot, "matmul": np.matmul, "mm": np.matmul,
    "ones_like": np.ones_like, "zeros_like": np.zeros_like,
}
_MODULES = {"torch", "np", "numpy", "math", "F"}
_CONSTANTS = {"pi": math.pi, "e": math.e, "E": math.e}  # E: how SymPy writes exp(1)


def evaluate(node, env: dict):
    """The value of a parsed expression, with numpy, over `env` (name -> ndarray)."""
    kind = node.__class__
    if kind is A.Const:
        if isinstance(node.value, (bool, int, float)):
            return float(node.value)
        raise AnswerError(f"{node.value!r} is not a number")
    if kind is A.Name:
        if node.id in env:
            return env[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise AnswerError(f"name '{node.id}' is not a tensor of the graph")
    if kind is A.BinOp:
        left, right = evaluate(node.left, env), evaluate(node.right, env)
        with np.errstate(all="ignore"):
            if node.op == "+":
                return left + right
            if node.op == "-":
                return left - right
            if node.op == "*":
                return left * right
            if node.op == "/":
                return left / right
            if node.op == "**":
                return np.power(left, right)
            if node.op == "@":
                return np.matmul(left, right)
        raise AnswerError(f"operator {node.op} in an answer")
    if kind is A.UnaryOp:
        value = evaluate(node.operand, env)
        return -value if node.op == "-" else value
    if kind is A.Compare and len(node.ops) == 1:
        left, right = evaluate(node.left, env), evaluate(node.comparators[0], env)
        op = node.ops[0]
        table = {">": np.greater, "<": np.less, ">=": np.greater_equal,
                 "<=": np.less_equal, "==": np.equal, "!=": np.not_equal}
        if op in table:
            return table[op](left, right).astype(np.float64)
    if kind is A.Subscript:
        value = np.asarray(evaluate(node.value, env))
        return value[_index(node.index, env)]
    if kind is A.Attribute:
        value = evaluate(node.value, env)
        if node.attr in ("T", "mT"):
            return np.asarray(value).T
        raise AnswerError(f"attribute .{node.attr} in an answer")
    if kind is A.Call:
        return _call(node, env)
    raise AnswerError(f"{type(node).__name__} in an answer")


def _index(node, env):
    if node.__class__ is A.TupleExpr:
        return tuple(_index(item, env) for item in node.items)
    if node.__class__ is A.SliceExpr:
        parts = [None if p is None else int(evaluate(p, env))
                 for p in (node.lower, node.upper, node.step)]
        return slice(*parts)
    return int(evaluate(node, env))


def _call(node, env):
    func = node.func
    args = [evaluate(a, env) for a in node.args]
    if func.__class__ is A.Name and func.id in _FUNCTIONS:
        return _FUNCTIONS[func.id](*args)
    if func.__class__ is A.Attribute:
        owner = func.value
        # torch.exp(x), np.log(x), F.relu(x), torch.nn.functional.relu(x)
        while owner.__class__ is A.Attribute and owner.attr in ("nn", "functional"):
            owner = owner.value
        if owner.__class__ is A.Name and owner.id in _MODULES and owner.id not in env:
            if func.attr in _FUNCTIONS:
                return _FUNCTIONS[func.attr](*args)
            raise AnswerError(f"function {func.attr}() in an answer")
        # x.sum(), x.exp(), x.t()
        value = evaluate(owner, env)
        if func.attr in ("t", "transpose"):
            return np.asarray(value).T
        if func.attr in _FUNCTIONS:
            return _FUNCTIONS[func.attr](value, *args)
        raise AnswerError(f"method .{func.attr}() in an answer")
    raise AnswerError("a call in an answer")


def factors(node) -> tuple[float, list]:
    """The answer as constant × product of factors: [(ast node, exponent ±1)]."""
    kind = node.__class__
    if kind is A.Const and isinstance(node.value, (int, float)) and not isinstance(
            node.value, bool):
        return float(node.value), []
    if kind is A.UnaryOp and node.op in "-+":
        constant, found = factors(node.operand)
        return (-constant if node.op == "-" else constant), found
    if kind is A.BinOp and node.op in ("*", "/"):
        c1, f1 = factors(node.left)
        c2, f2 = factors(node.right)
        if node.op == "*":
            return c1 * c2, f1 + f2
        if c2 == 0:
            return c1, f1 + [(node.right, -1)]
        return c1 / c2, f1 + [(f, -e) for f, e in f2]
    return 1.0, [(node, 1)]


# ----- the verdict ---------------------------------------------------------------------------


class Verdict:
    def __init__(self):
        self.right = False
        self.lines: list[str] = []  # the explanation, for the terminal
        self.node: str | None = None  # the node named, when wrong
        self.points = 0


class Point:
    """One place the answer is checked: the names' values there and autograd's gradient."""

    def __init__(self, replayed, engine, program: bool):
        self.replayed = replayed
        self.engine = engine
        self.program = program


def pick_pass(passes: list[Pass], wrt: str, output: str | None) -> Pass | None:
    """The last recorded backward pass that reached `wrt` (from `output`, if given)."""
    for captured in reversed(passes):
        if captured.unsupported:
            continue
        if output is not None and captured.output != output:
            continue
        if captured.leaf_index(wrt) is not None:
            return captured
    return None


def _signature(captured: Pass, replayed) -> tuple:
    """Which side of every kink the numbers are on (relu, abs, clamp, max...): a random
    point counts only where it matches the program's, so a per-branch answer is fair."""
    parts = []
    for index, step in enumerate(captured.steps):
        if step.overload not in ("relu", "abs", "sign", "clamp", "maximum", "minimum",
                                 "max", "min", "max.dim", "min.dim", "amax", "amin"):
            continue
        inputs = []
        for operand in step.operands:
            if operand.kind == "step":
                inputs.append(replayed.steps[operand.step].array)
            elif operand.kind == "leaf":
                inputs.append(replayed.leaves[operand.leaf].array)
        if not inputs:
            continue
        x = np.asarray(inputs[0])
        if step.overload in ("maximum", "minimum") and len(inputs) > 1:
            parts.append(np.sign(x - np.asarray(inputs[1])).tobytes())
        elif step.overload == "clamp":
            low, high = step.params
            parts.append(((x < low) if low is not None else x * 0).tobytes())
            parts.append(((x > high) if high is not None else x * 0).tobytes())
        elif step.overload in ("max", "min", "amax", "amin", "max.dim", "min.dim"):
            out = np.asarray(replayed.steps[index].array)
            parts.append(np.argsort(x.reshape(-1)).tobytes() if x.ndim else b"")
            parts.append(out.shape)
        else:
            parts.append(np.sign(x).tobytes())
    return tuple(parts)


def _points(captured: Pass, rng) -> list[Point]:
    program = replay(captured, None, np.float64)
    points = [Point(program, None, True)]
    signature = _signature(captured, replay(captured))
    tries = 0
    while len(points) <= RANDOM_POINTS and tries < CANDIDATES:
        tries += 1
        try:
            replayed = replay(captured, random_leaf_values(captured, rng), np.float64,
                              random_constant_values(captured, rng))
        except Exception:  # noqa: BLE001 - a point outside some op's domain
            continue
        if _signature(captured, replayed) != signature:
            continue
        points.append(Point(replayed, None, False))
    return points


def _close(a, b, rtol) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(1.0, float(np.abs(b).max(initial=0.0)))
    return bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=rtol, atol=rtol * scale))


def check(captured: Pass, wrt: str, answer_node, answer_text: str, labeller,
          seed: int = 18) -> Verdict:
    """Right or wrong, and if wrong, where."""
    verdict = Verdict()
    rng = np.random.default_rng(seed)
    points = _points(captured, rng)
    leaf = captured.leaves[captured.leaf_index(wrt)]
    shape = leaf.shape
    engine_program = np.asarray(captured.engine.get(wrt, np.zeros(shape)), dtype=np.float64)
    values = []
    for point in points:
        env = dict(point.replayed.values)
        try:
            value = np.asarray(evaluate(answer_node, env), dtype=np.float64)
        except (ValueError, IndexError, TypeError) as exc:
            raise AnswerError(str(exc)) from None
        values.append(value)
        point.engine = engine_program if point.program else point.replayed.grads[wrt]
    verdict.points = len(points) - 1
    out = captured.output
    # Shapes first: an answer shaped like a broadcast result forgot to sum it back.
    if not _broadcasts_to(values[0].shape, shape):
        return _broadcast(verdict, captured, wrt, values, points, labeller)
    wrong = [i for i, (value, point) in enumerate(zip(values, points, strict=True))
             if not _close(np.broadcast_to(value, shape), point.engine,
                           RTOL_PROGRAM if point.program else RTOL_POINT)]
    where = ("the program's values" + (f" and {verdict.points} random point"
                                       f"{'s' if verdict.points != 1 else ''} near them"
                                       if verdict.points else ""))
    if not wrong:
        verdict.right = True
        verdict.lines.append(f"✓ right: ∂{out}/∂{wrt} = {answer_text} matches autograd at "
                             f"{where} (at the program's values: {_show(engine_program)}).")
        return verdict
    first = wrong[0]
    place = "the program's values" if points[first].program else "a random point near them"
    verdict.lines.append(f"✗ wrong: at {place} your ∂{out}/∂{wrt} is "
                         f"{_show(values[first])}, autograd's is {_show(points[first].engine)}.")
    _diagnose(verdict, captured, wrt, answer_node, points, values, labeller)
    return verdict


def _show(value) -> str:
    array = np.asarray(value, dtype=np.float64)
    if array.size == 1:
        return f"{float(array.reshape(())):.6g}"
    return " ".join(np.array2string(array, precision=4, separator=", ").split())


def _broadcasts_to(have, want) -> bool:
    try:
        return np.broadcast_shapes(tuple(have), tuple(want)) == tuple(want)
    except ValueError:
        return False


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _broadcast(verdict, captured, wrt, values, points, labeller) -> Verdict:
    from gradcli.autodiff.vocabulary import sum_to

    shape = captured.leaves[captured.leaf_index(wrt)].shape
    out = captured.output
    verdict.lines.append(f"✗ wrong: your ∂{out}/∂{wrt} has shape {_shape_text(values[0].shape)},"
                         f" but {wrt} has shape {_shape_text(shape)}.")
    step = _broadcasting_step(captured, wrt)
    summed = True
    for value, point in zip(values, points, strict=True):
        try:
            reduced = sum_to(np.asarray(value), shape)
        except ValueError:
            summed = False
            break
        if not _close(reduced, point.engine, RTOL_PROGRAM if point.program else RTOL_POINT):
            summed = False
    if step is not None:
        verdict.node = step.description
        plural = "s" if len(step.shape) - len(shape) > 1 else ""
        verdict.lines.append(
            f"Your chain rule departs at {step.description}: there {wrt} was broadcast to "
            f"shape {_shape_text(step.shape)}, so its gradient is the sum of the incoming "
            f"gradient over the broadcast dimension{plural} (autograd's sum_to).")
    if summed:
        verdict.lines.append(f"Summed back to {_shape_text(shape)}, your answer is right: "
                             f"add .sum() over the broadcast dimension.")
    return verdict


def _broadcasting_step(captured, wrt):
    index = captured.leaf_index(wrt)
    for step in captured.steps:
        for k, operand in enumerate(step.operands):
            if operand.kind == "leaf" and operand.leaf == index:
                if tuple(step.node.inputs_meta[k][0]) != step.shape and step.shape:
                    return step
    return None


# ----- where the chain rule departs ------------------------------------------------------


_ELEMENTWISE = {
    "add.Tensor", "sub.Tensor", "rsub.Scalar", "mul.Tensor", "div.Tensor", "div.Scalar",
    "neg", "reciprocal", "pow.Tensor_Scalar", "pow.Scalar", "exp", "log", "log2", "log10",
    "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs",
    "clone", "alias", "_to_copy", "sum", "mean", "clamp",
}


def _paths(captured: Pass, wrt: str) -> list[list[tuple[int, int]]]:
    """Every path from the root down to the leaf, as [(step, operand position)]."""
    leaf = captured.leaf_index(wrt)
    root = captured.roots[0][0] if captured.roots else None
    found: list = []
    if root is None:
        return found

    def walk(index, path):
        if len(found) > 16:
            return
        for k, operand in enumerate(captured.steps[index].operands):
            if operand.kind == "leaf" and operand.leaf == leaf:
                found.append(path + [(index, k)])
            elif operand.kind == "step":
                walk(operand.step, path + [(index, k)])

    walk(root, [])
    return found


def _local_partial(point, captured, step_index, position):
    """∂(step output)/∂(its input at `position`) element by element (in the output's shape),
    measured by running that one op again through the engine with the input expanded."""
    from gradcli.aten import ops
    from gradcli.autodiff.engine import Observer, grad
    from gradcli.autodiff.tensor import GradMode, Tensor
    from gradcli.explain.capture import _fresh_params

    replayed = point.replayed
    step = captured.steps[step_index]
    values = []
    for operand in step.operands:
        if operand.kind == "step":
            values.append(replayed.steps[operand.step].array)
        elif operand.kind == "leaf":
            values.append(replayed.leaves[operand.leaf].array)
        elif operand.kind == "const":
            # The (possibly moved) value this point gave the named constant.
            value = replayed.values.get(operand.name) if operand.name else None
            values.append(np.asarray(operand.value if value is None else value,
                                     dtype=np.float64))
        else:
            values.append(operand.value)
    reducing = step.overload in ("sum", "mean")
    previous, GradMode.enabled = GradMode.enabled, True
    saved_hook, ops.RECORD_INPUTS = ops.RECORD_INPUTS, None
    try:
        inputs = []
        source = None
        for k, value in enumerate(values):
            if not isinstance(value, np.ndarray):
                inputs.append(value)
                continue
            array = np.asarray(value, dtype=np.float64)
            if k == position:
                if not reducing:
                    array = np.broadcast_to(array, step.shape)
                source = Tensor(np.array(array, copy=True), requires_grad=True)
                inputs.append(source)
            else:
                inputs.append(Tensor(array))
        output = ops.call(step.node.op, tuple(inputs), _fresh_params(step.params))
        ones = Tensor(np.ones(output.shape, dtype=np.float64))
        (found,) = grad([output], [source], grad_outputs=[ones], retain_graph=True,
                        allow_unused=True, observer=Observer())
    finally:
        GradMode.enabled = previous
        ops.RECORD_INPUTS = saved_hook
    if found is None:
        return np.zeros(source.shape)
    return np.asarray(found.array, dtype=np.float64)


def _describe(captured, labeller, step_index, position) -> str:
    """`∂(w * x)/∂w = x`: the node's local rule in the trace's words."""
    from gradcli.explain.rules import local_rule

    step = captured.steps[step_index]
    node = step.node
    output = labeller.short(node)
    inputs = [labeller.input(node, i) for i in range(len(node.next_functions))]
    operand = step.operands[position]
    if operand.kind == "leaf":
        inputs[position] = captured.leaves[operand.leaf].name
    try:
        _, partials, _ = local_rule(node, output, inputs)
    except Exception:  # noqa: BLE001 - words are a courtesy; the numbers decide
        return ""
    wanted = f"/∂{inputs[position]} ="
    for partial in partials:
        if wanted in partial:
            return partial
    return partials[0] if len(partials) == 1 else ""


def _diagnose(verdict, captured, wrt, answer_node, points, values, labeller) -> None:
    paths = _paths(captured, wrt)
    out = captured.output
    if len(paths) > 1:
        _several_paths(verdict, captured, wrt, paths, points, values, labeller)
        return
    if len(paths) != 1 or any(captured.steps[i].overload not in _ELEMENTWISE
                              for i, _ in paths[0]):
        verdict.lines.append("The graph here is not a single chain of element-wise nodes, so "
                             "gradcli cannot split your answer node by node; compare with "
                             f"`gradcli eval FILE --trace` for ∂{out}/∂ at each node.")
        return
    path = paths[0]
    # The element space: the largest shape along the path (a scalar w times a vector x
    # lives in x's shape until a sum). An answer written as `(...).sum()` is split inside.
    shapes = [captured.leaves[captured.leaf_index(wrt)].shape]
    shapes += [captured.steps[i].shape for i, _ in path]
    shape = max(shapes, key=lambda s: math.prod(s))
    answer_node = _inside_sum(answer_node) if math.prod(shape) > math.prod(
        captured.leaves[captured.leaf_index(wrt)].shape) else answer_node
    constant, pieces = factors(answer_node)
    evaluated = []  # per factor: its values at every point, broadcast to the leaf's shape
    for node, exponent in pieces:
        per_point = []
        for point in points:
            with np.errstate(all="ignore"):
                value = np.asarray(evaluate(node, dict(point.replayed.values)),
                                   dtype=np.float64) ** exponent
            per_point.append(np.broadcast_to(value, shape) if _broadcasts_to(
                value.shape, shape) else value)
        text = expression_text(node)
        evaluated.append((text if exponent == 1 else f"1/({text})", per_point))
    unused = list(range(len(evaluated)))
    kappas = []  # (step index, position, constant ratio)
    for step_index, position in path:
        local = [_local_partial(point, captured, step_index, position) for point in points]
        local = [np.broadcast_to(v, shape) if _broadcasts_to(v.shape, shape) else v
                 for v in local]
        ratio = _constant_ratio(local, [np.ones(shape)] * len(points))
        if ratio is not None:
            # A constant local derivative (1 for a sum, -1 for a difference, 2 for `2*x`).
            kappas.append((step_index, position, ratio))
            continue
        match = _match(local, evaluated, unused)
        if match is None:
            step = captured.steps[step_index]
            rule = _describe(captured, labeller, step_index, position)
            verdict.node = step.description
            verdict.lines.append(
                f"Your chain rule departs at {step.description}: the chain rule multiplies by "
                f"this node's local derivative{' ' + rule if rule else ''}"
                f" (= {_show(local[0])} here), and no factor of your answer is that.")
            return
        chosen, ratio = match
        for k in chosen:
            unused.remove(k)
        kappas.append((step_index, position, ratio))
    if unused:
        extra = " · ".join(evaluated[k][0] for k in unused)
        verdict.lines.append(f"Your answer has a factor no node gives: {extra}.")
        return
    expected = math.prod(k for _, _, k in kappas)
    if expected and abs(constant + expected) <= 1e-6 * abs(expected):
        negative = [(i, p) for i, p, k in kappas if k < 0]
        if negative:
            step_index, position = negative[0]
            step = captured.steps[step_index]
            rule = _describe(captured, labeller, step_index, position)
            verdict.node = step.description
            verdict.lines.append(f"Sign error at {step.description}: its local derivative "
                                 f"{rule or 'is negative'}; your answer has the opposite sign.")
        else:
            verdict.lines.append("Sign error: no node on the path changes the sign, but your "
                                 "answer does.")
        return
    scaled = [(i, p, k) for i, p, k in kappas if abs(k - 1) > 1e-9]
    where_text = ""
    if scaled:
        step = captured.steps[scaled[0][0]]
        verdict.node = step.description
        rule = _describe(captured, labeller, scaled[0][0], scaled[0][1])
        where_text = f" (from {step.description}{': ' + rule if rule else ''})"
    verdict.lines.append(f"The factors are right but the constant is not: your answer has "
                         f"{constant:g}, the chain rule gives {expected:g}{where_text}.")


def _inside_sum(node):
    """`e` out of `e.sum()` or `torch.sum(e)` (the sum over a broadcast leaf's elements)."""
    if node.__class__ is A.Call and not node.args and node.func.__class__ is A.Attribute \
            and node.func.attr == "sum":
        return node.func.value
    if node.__class__ is A.Call and len(node.args) == 1 and node.func.__class__ is A.Attribute \
            and node.func.attr == "sum":
        return node.args[0]
    return node


def _constant_ratio(values, reference):
    """k with values = k·reference at every point and element, else None."""
    ratios = []
    for v, r in zip(values, reference, strict=True):
        v, r = np.asarray(v, dtype=np.float64), np.asarray(r, dtype=np.float64)
        if v.shape != r.shape:
            try:
                v, r = np.broadcast_arrays(v, r)
            except ValueError:
                return None
        if np.any((r == 0) != (np.abs(v) <= 1e-12 * max(1.0, float(np.abs(v).max())))):
            return None
        mask = r != 0
        if not mask.any():
            continue
        ratios.append((v[mask] / r[mask]).reshape(-1))
    if not ratios:
        return None
    flat = np.concatenate(ratios)
    if not np.all(np.isfinite(flat)) or flat[0] == 0:
        return None
    if np.allclose(flat, flat[0], rtol=1e-5, atol=0):
        return float(flat[0])
    return None


def _match(local, evaluated, unused):
    """One or two unused factors whose product is a constant multiple of `local`."""
    for k in unused:
        ratio = _constant_ratio(local, evaluated[k][1])
        if ratio is not None:
            return [k], ratio
    for i, k in enumerate(unused):
        for m in unused[i + 1:]:
            product = [a * b for a, b in zip(evaluated[k][1], evaluated[m][1], strict=True)]
            ratio = _constant_ratio(local, product)
            if ratio is not None:
                return [k, m], ratio
    return None


def _several_paths(verdict, captured, wrt, paths, points, values, labeller) -> None:
    """A leaf used more than once: which paths does the answer account for?"""
    out = captured.output
    index = captured.leaf_index(wrt)
    ends = [(k, 0) for k, step in enumerate(captured.steps)
            if any(o.kind == "leaf" and o.leaf == index for o in step.operands)]
    contributions = _contributions(captured, wrt, points[0])
    described = [captured.steps[i].description for i, _ in ends]
    verdict.lines.append(f"{wrt} reaches {out} along {len(paths)} paths (it is used at "
                         + "; ".join(described) + "): the chain rule adds one term per path.")
    if contributions is None:
        return
    answer = np.asarray(values[0], dtype=np.float64)
    for mask in range(1, 2 ** len(contributions) - 1):
        total = sum(c for j, c in enumerate(contributions) if mask >> j & 1)
        if _close(np.broadcast_to(answer, np.shape(total)), total, RTOL_PROGRAM):
            missing = [described[j] for j in range(len(contributions)) if not mask >> j & 1]
            verdict.node = captured.steps[ends[[j for j in range(len(contributions))
                                                if not mask >> j & 1][0]][0]].description
            verdict.lines.append("Your answer accounts for only some of them; it leaves out the "
                                 "path through " + " and ".join(missing) + ".")
            return


def _contributions(captured, wrt, point):
    """The engine's gradient into `wrt` from each node that reads it, at the program's
    values (replayed)."""
    from gradcli.autodiff.engine import Observer

    class Sends(Observer):
        def __init__(self):
            self.by_node = {}

        def node_ran(self, node, grad_in, grads_out):
            for i, (child, _) in enumerate(node.next_functions):
                if child is not None and getattr(child, "variable", None) is leaf_tensor and \
                        grads_out and grads_out[i] is not None:
                    from gradcli.autodiff.vocabulary import sum_to

                    value = sum_to(np.asarray(grads_out[i]), leaf_tensor.shape)
                    self.by_node[node] = self.by_node.get(node, 0) + value

    replayed = replay(captured, None, np.float64)
    leaf_tensor = replayed.leaves[captured.leaf_index(wrt)]
    observer = Sends()
    from gradcli.autodiff.engine import grad
    from gradcli.autodiff.tensor import Tensor

    roots = [replayed.steps[i] for i, _ in captured.roots]
    fed = [Tensor(np.asarray(g, dtype=np.float64)) for _, g in captured.roots]
    grad(roots, [leaf_tensor], grad_outputs=fed, retain_graph=True, allow_unused=True,
         observer=observer)
    order = []
    index = captured.leaf_index(wrt)
    for k, step in enumerate(captured.steps):
        if any(o.kind == "leaf" and o.leaf == index for o in step.operands):
            order.append(replayed.steps[k].grad_fn)
    return [observer.by_node.get(node, 0.0) for node in order] if order else None
