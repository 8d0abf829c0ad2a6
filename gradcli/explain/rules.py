"""Each op's local derivative rule as text (`∂out/∂x = 2·x`), in the words the
Labeller gives its inputs: what --trace shows beside the numbers."""

from __future__ import annotations

import numpy as np

from gradcli.explain.labels import _num, _p
from gradcli.explain.rules_tensor_api import TENSOR_API_RULES


# Each rule: (o, x, p, node) -> (words, [(partial, gradient sent)]), one pair per input.
# `o` names the output, `x` the inputs (bracketed when compound), `p` the op's parameters.
def _elementwise(words, partial, sent):
    return lambda o, x, p, n: (words, [(partial.format(o=o, x=x[0]), sent.format(o=o, x=x[0]))])


def _add(o, x, p, n):
    alpha = p
    second = ("1", "grad") if alpha in (None, 1) else (_num(alpha), f"grad·{_num(alpha)}")
    return ("sum: each input receives the incoming gradient unchanged",
            [("1", "grad"), second])


def _sub(o, x, p, n):
    alpha = p
    second = ("-1", "-grad") if alpha in (None, 1) else (f"-{_num(alpha)}",
                                                         f"-grad·{_num(alpha)}")
    return ("difference: the first input receives grad, the second -grad", [("1", "grad"), second])


def _rsub(o, x, p, n):
    other, alpha = p
    if alpha == 1:
        return (f"{o} = {_num(other)} - {x[0]}: the input receives -grad", [("-1", "-grad")])
    return (f"{o} = {_num(other)} - {_num(alpha)}·{x[0]}",
            [(f"-{_num(alpha)}", f"-grad·{_num(alpha)}")])


def _pow_scalar_exponent(o, x, p, n):
    e = p
    if e == 0:
        return ("power with exponent 0: a constant", [("0", "0")])
    if e == 1:
        return ("power with exponent 1", [("1", "grad")])
    if e == 2:
        return ("square: ∂(x²)/∂x = 2·x", [(f"2·{x[0]}", f"grad·2·{x[0]}")])
    power = f"{x[0]}^{_num(e - 1)}" if e - 1 != 1 else x[0]
    return (f"power rule: ∂(x^n)/∂x = n·x^(n-1) with n = {_num(e)}",
            [(f"{_num(e)}·{power}", f"grad·{_num(e)}·{power}")])


def _matmul_words(kind):
    return f"{kind}: each side gets grad multiplied by the other side, transposed"


RULES = {
    "add.Tensor": _add,
    "sub.Tensor": _sub,
    "rsub.Scalar": _rsub,
    "mul.Tensor": lambda o, x, p, n: (
        "product: each factor receives grad times the other factor",
        [(x[1], f"grad·{x[1]}"), (x[0], f"grad·{x[0]}")]),
    "div.Tensor": lambda o, x, p, n: (
        "quotient: ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = -a/b²",
        [(f"1/{x[1]}", f"grad/{x[1]}"), (f"-{x[0]}/{x[1]}²", f"-grad·{x[0]}/{x[1]}²")]),
    "div.Scalar": lambda o, x, p, n: (
        f"division by the number {_num(p)}", [(f"1/{_num(p)}", f"grad/{_num(p)}")]),
    "neg": _elementwise("negation", "-1", "-grad"),
    "reciprocal": _elementwise("reciprocal: ∂(1/x)/∂x = -1/x², from the saved result",
                               "-{o}²", "-grad·{o}²"),
    "pow.Tensor_Scalar": _pow_scalar_exponent,
    "pow.Tensor_Tensor": lambda o, x, p, n: (
        "power of two tensors: ∂(a^b)/∂a = b·a^(b-1), ∂(a^b)/∂b = a^b·ln a",
        [(f"{x[1]}·{x[0]}^({x[1]}-1)", f"grad·{x[1]}·{x[0]}^({x[1]}-1)"),
         (f"{o}·ln {x[0]}", f"grad·{o}·ln {x[0]}")]),
    "pow.Scalar": lambda o, x, p, n: (
        f"exponential with base {_num(p)}: ∂(c^x)/∂x = c^x·ln c",
        [(f"{o}·ln {_num(p)}", f"grad·{o}·ln {_num(p)}")]),
    "exp": _elementwise("exponential: its own derivative, from the saved result",
                        "exp({x}) = {o}", "grad·{o}"),
    "log": _elementwise("natural log: ∂ln(x)/∂x = 1/x", "1/{x}", "grad/{x}"),
    "log2": _elementwise("log base 2", "1/({x}·ln 2)", "grad/({x}·ln 2)"),
    "log10": _elementwise("log base 10", "1/({x}·ln 10)", "grad/({x}·ln 10)"),
    "log1p": _elementwise("log(1 + x)", "1/(1 + {x})", "grad/(1 + {x})"),
    "expm1": _elementwise("exp(x) - 1, from the saved result", "{o} + 1", "grad·({o} + 1)"),
    "sqrt": _elementwise("square root: ∂√x/∂x = 1/(2√x), from the saved result",
                         "1/(2·{o})", "grad/(2·{o})"),
    "rsqrt": _elementwise("1/√x: ∂/∂x = -1/(2·x^1.5), from the saved result",
                          "-{o}³/2", "-grad·{o}³/2"),
    "sin": _elementwise("sine", "cos {x}", "grad·cos {x}"),
    "cos": _elementwise("cosine", "-sin {x}", "-grad·sin {x}"),
    "tan": _elementwise("tangent, from the saved result", "1 + {o}²", "grad·(1 + {o}²)"),
    "tanh": _elementwise("tanh, from the saved result", "1 - {o}²", "grad·(1 - {o}²)"),
    "sigmoid": _elementwise("sigmoid, from the saved result", "{o}·(1 - {o})",
                            "grad·{o}·(1 - {o})"),
    "relu": _elementwise("relu: the gradient passes where the output is positive",
                         "1 if {o} > 0 else 0", "grad·[{o} > 0]"),
    "abs": _elementwise("absolute value", "sign({x})", "grad·sign({x})"),
    "sign": _elementwise("sign: flat everywhere", "0", "0"),
    "clamp": lambda o, x, p, n: (
        f"clamp to [{_num(p[0]) if p[0] is not None else '-inf'}, "
        f"{_num(p[1]) if p[1] is not None else 'inf'}]: the gradient passes inside the range",
        [("1 inside, 0 outside", "grad·[inside]")]),
    "maximum": lambda o, x, p, n: (
        "element-wise maximum: the larger input gets the gradient; ties split it",
        [(f"1 where {x[0]} > {x[1]}", f"grad·[{x[0]} > {x[1]}]"),
         (f"1 where {x[1]} > {x[0]}", f"grad·[{x[1]} > {x[0]}]")]),
    "minimum": lambda o, x, p, n: (
        "element-wise minimum: the smaller input gets the gradient; ties split it",
        [(f"1 where {x[0]} < {x[1]}", f"grad·[{x[0]} < {x[1]}]"),
         (f"1 where {x[1]} < {x[0]}", f"grad·[{x[1]} < {x[0]}]")]),
    "where.self": lambda o, x, p, n: (
        "where(cond, a, b): a gets grad where cond holds, b elsewhere",
        [("1 where cond", "grad·[cond]"), ("1 where not cond", "grad·[not cond]")]),
    "sum": lambda o, x, p, n: (
        "sum of all elements: every element receives grad", [("1", "grad, expanded")]),
    "sum.dim_IntList": lambda o, x, p, n: (
        f"sum over dim {_dims(p[0])}: grad is copied back along it", [("1", "grad, expanded")]),
    "mean": lambda o, x, p, n: (
        "mean of all elements: each receives grad/n",
        [(f"1/{_count(n, None)}", f"grad/{_count(n, None)}, expanded")]),
    "mean.dim": lambda o, x, p, n: (
        f"mean over dim {_dims(p[0])}: each element receives grad/n",
        [(f"1/{_count(n, p[0])}", f"grad/{_count(n, p[0])}, expanded")]),
    "prod": lambda o, x, p, n: (
        "product of elements: each receives grad times the product of the others",
        [(f"{o}/{x[0]}", f"grad·{o}/{x[0]}")]),
    "prod.dim_int": lambda o, x, p, n: (
        "product along a dim: each receives grad times the product of the others",
        [(f"{o}/{x[0]}", f"grad·{o}/{x[0]}")]),
    "max": lambda o, x, p, n: (
        "maximum of all elements: the maximal element(s) share grad",
        [("1 at the max, else 0", "grad at the max")]),
    "min": lambda o, x, p, n: (
        "minimum of all elements: the minimal element(s) share grad",
        [("1 at the min, else 0", "grad at the min")]),
    "max.dim": lambda o, x, p, n: (
        "max along a dim: grad goes to the index that was picked",
        [("1 at the argmax, else 0", "grad at the argmax")]),
    "min.dim": lambda o, x, p, n: (
        "min along a dim: grad goes to the index that was picked",
        [("1 at the argmin, else 0", "grad at the argmin")]),
    "amax": lambda o, x, p, n: (
        "amax: the maximal elements share grad", [("1 at the max, else 0", "grad at the max")]),
    "amin": lambda o, x, p, n: (
        "amin: the minimal elements share grad", [("1 at the min, else 0", "grad at the min")]),
    "linalg_vector_norm": lambda o, x, p, n: (
        f"vector {_num(p[0])}-norm" + (": ∂‖x‖/∂x = x/‖x‖" if p[0] == 2 else ""),
        [(f"{x[0]}/{o}" if p[0] == 2 else f"∂‖{x[0]}‖/∂{x[0]}",
          f"grad·{x[0]}/{o}" if p[0] == 2 else "grad·∂‖x‖/∂x")]),
    "var.correction": lambda o, x, p, n: (
        "variance: ∂var/∂x = 2·(x - mean)/(N - correction)",
        [(f"2·({x[0]} - mean)/(N - {_num(p[1])})", f"grad·2·({x[0]} - mean)/(N - {_num(p[1])})")]),
    "std.correction": lambda o, x, p, n: (
        "standard deviation: ∂std/∂x = (x - mean)/((N - correction)·std)",
        [(f"({x[0]} - mean)/((N - {_num(p[1])})·{o})",
          f"grad·({x[0]} - mean)/((N - {_num(p[1])})·{o})")]),
    "logsumexp": lambda o, x, p, n: (
        "logsumexp: its gradient is the softmax of the input",
        [(f"exp({x[0]} - {o})", f"grad·exp({x[0]} - {o})")]),
    "_softmax": lambda o, x, p, n: (
        "softmax: ∂sᵢ/∂xⱼ = sᵢ·(δᵢⱼ - sⱼ), from the saved result",
        [(f"{o}·(δ - {o})", f"{o}·(grad - Σ grad·{o})")]),
    "_log_softmax": lambda o, x, p, n: (
        "log_softmax: ∂yᵢ/∂xⱼ = δᵢⱼ - softmaxⱼ, from the saved result",
        [(f"δ - exp({o})", f"grad - exp({o})·Σ grad")]),
    "mse_loss": lambda o, x, p, n: (
        f"mean squared error ({p}): ∂/∂input = 2·(input - target)"
        + ("/N" if p == "mean" else ""),
        [(f"2·({x[0]} - {x[1]})" + ("/N" if p == "mean" else ""),
          f"grad·2·({x[0]} - {x[1]})" + ("/N" if p == "mean" else "")),
         (f"-2·({x[0]} - {x[1]})" + ("/N" if p == "mean" else ""),
          f"-grad·2·({x[0]} - {x[1]})" + ("/N" if p == "mean" else ""))]),
    "binary_cross_entropy": lambda o, x, p, n: (
        "binary cross-entropy: ∂/∂x = (x - y)/(x·(1 - x))",
        [(f"({x[0]} - {x[1]})/({x[0]}·(1 - {x[0]}))",
          f"grad·({x[0]} - {x[1]})/({x[0]}·(1 - {x[0]}))"),
         (f"ln(1 - {x[0]}) - ln {x[0]}", f"grad·(ln(1 - {x[0]}) - ln {x[0]})")]),
    "nll_loss_forward": lambda o, x, p, n: (
        f"negative log-likelihood ({p[2]}): -1 at each row's target class",
        [("-1 at the target, else 0", "-grad at the target" + ("/N" if p[2] == "mean" else ""))]),
    "mm": lambda o, x, p, n: (
        _matmul_words("matrix product"),
        [("", f"grad @ {x[1]}ᵀ"), ("", f"{x[0]}ᵀ @ grad")]),
    "bmm": lambda o, x, p, n: (
        _matmul_words("batched matrix product"),
        [("", f"grad @ {x[1]}ᵀ"), ("", f"{x[0]}ᵀ @ grad")]),
    "mv": lambda o, x, p, n: (
        "matrix-vector product",
        [("", f"outer(grad, {x[1]})"), ("", f"{x[0]}ᵀ @ grad")]),
    "dot": lambda o, x, p, n: (
        "dot product: each vector receives grad times the other",
        [(x[1], f"grad·{x[1]}"), (x[0], f"grad·{x[0]}")]),
    "addmm": lambda o, x, p, n: (
        "bias + matrix product",
        [("1", "grad"), ("", f"grad @ {x[2]}ᵀ"), ("", f"{x[1]}ᵀ @ grad")]),
    "remainder.Scalar": _elementwise("remainder by a number", "1", "grad"),
    "remainder.Tensor": lambda o, x, p, n: (
        "remainder: a - b·floor(a/b)",
        [("1", "grad"), (f"-floor({x[0]}/{x[1]})", f"-grad·floor({x[0]}/{x[1]})")]),
    "floor_divide": lambda o, x, p, n: (
        "floor division has no derivative in PyTorch", [("", "error"), ("", "error")]),
    "view": _elementwise("view: grad is reshaped back", "1", "grad, reshaped"),
    "_unsafe_view": _elementwise("reshape: grad is reshaped back", "1", "grad, reshaped"),
    "clone": _elementwise("copy: the gradient passes through", "1", "grad"),
    "alias": _elementwise("alias: the gradient passes through", "1", "grad"),
    "_to_copy": _elementwise("dtype conversion: grad is cast back", "1", "grad, cast back"),
    "unsqueeze": _elementwise("unsqueeze: grad is squeezed back", "1", "grad, squeezed"),
    "squeeze": _elementwise("squeeze: grad is reshaped back", "1", "grad, reshaped"),
    "squeeze.dim": _elementwise("squeeze: grad is reshaped back", "1", "grad, reshaped"),
    "squeeze.dims": _elementwise("squeeze: grad is reshaped back", "1", "grad, reshaped"),
    "squeeze_.dim": _elementwise("squeeze: grad is reshaped back", "1", "grad, reshaped"),
    "transpose.int": _elementwise("transpose: grad is transposed back", "1", "gradᵀ"),
    "t": _elementwise("transpose: grad is transposed back", "1", "gradᵀ"),
    "permute": _elementwise("permute: grad is permuted back", "1", "grad, permuted back"),
    "expand": _elementwise("expand: grad is summed over the copies", "1", "grad, summed"),
    "repeat": _elementwise("repeat: grad is summed over the copies", "1", "grad, summed"),
    "select.int": _elementwise("indexing: grad lands at the index, zeros elsewhere",
                               "1 at the index", "grad placed in zeros"),
    "slice.Tensor": _elementwise("slicing: grad lands in the slice, zeros elsewhere",
                                 "1 in the slice", "grad placed in zeros"),
    "index.Tensor": _elementwise("advanced indexing: grad is added at each index picked",
                                 "1 per pick", "grad added into zeros"),
    "as_strided": _elementwise("strided view: grad lands on the viewed elements",
                               "1", "grad placed in zeros"),
    "unbind.int": lambda o, x, p, n: (
        f"unbind along dim {p}: each output's grad fills its slice, zeros where none came",
        [("1 in its slice", f"output grads stacked along dim {p}")]),
    "copy_": lambda o, x, p, n: (
        "copy_: the old values are overwritten, the source gets grad",
        [("0", "0"), ("1", "grad")]),
    "fill_.Scalar": _elementwise("fill_: the old values are overwritten", "0", "0"),
    "zero_": _elementwise("zero_: the old values are overwritten", "0", "0"),
    "native_layer_norm": lambda o, x, p, n: _normalisation(
        "layer norm over the last dims: x̂ = (x - mean)·rstd, y = x̂·w + b", x),
    "native_group_norm": lambda o, x, p, n: _normalisation(
        f"group norm over {p[0]} channel groups: x̂ = (x - mean)·rstd, y = x̂·w + b", x),
    "native_batch_norm": lambda o, x, p, n: _normalisation(
        "batch norm per channel, " + ("batch statistics" if p[2] else "running statistics "
                                      "(constants)") + ": x̂ = (x - mean)·rstd, y = x̂·w + b",
        x, fixed=not p[2]),
    "embedding": _elementwise("embedding lookup: each looked-up row's grad is added to "
                              "its row of the weight", "1 per lookup",
                              "grad added into zeros at the looked-up rows"),
}


def _normalisation(words, x, fixed=False):
    # dx̂ = grad·w; through mean and rstd: dx = rstd·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂))
    grad_x = "grad·w·rstd" if fixed else "rstd·(grad·w - mean(grad·w) - x̂·mean(grad·w·x̂))"
    return (words, [("", grad_x), ("x̂", "Σ grad·x̂ over the normalised elements"),
                    ("1", "Σ grad over the normalised elements")])


def _dims(dims) -> str:
    if dims is None:
        return "all"
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    return ", ".join(str(d) for d in dims)


def _count(node, dims) -> int:
    shape = node.inputs_meta[0][0] if node.inputs_meta and node.inputs_meta[0] else ()
    if dims is None:
        return int(np.prod(shape, dtype=np.int64)) if shape else 1
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    return int(np.prod([shape[d] for d in dims], dtype=np.int64))


def _many(o, x, p, n, words):
    return words, [("", f"grad slice {i}") for i in range(len(x))]


def local_rule(node, output: str, inputs: list[str]) -> tuple[str, list[str], list[str | None]]:
    """(words, partials, formulas) for a node: `∂u/∂a = b` and `grad·b` per input."""
    overload = getattr(node.op, "overload", "")
    rule = RULES.get(overload)
    formulas: list[str | None] = [None] * len(inputs)
    partials: list[str] = []
    bracketed = [_p(name) for name in inputs]
    if rule is None:
        if overload.startswith("custom:"):  # a torch.autograd.Function of the program
            from gradcli.torch.autograd.function import describe_backward

            name = node._forward_cls.__name__
            positions = node._tensor_positions
            formulas = [f"{name}.backward(ctx, grad)[{positions[i]}]" if i < len(positions)
                        else None for i in range(len(inputs))]
            return describe_backward(node), partials, formulas
        return (f"the derivative of {overload or node.name()} in derivatives.yaml",
                partials, formulas)
    try:
        words, pairs = rule(_p(output), bracketed, node.params, node)
    except (TypeError, IndexError, ValueError):
        return (f"the derivative of {overload} in derivatives.yaml", partials, formulas)
    for i, (partial, formula) in enumerate(pairs[: len(inputs)]):
        if node.next_functions[i][0] is None:
            continue
        if partial:
            partials.append(f"∂{output}/∂{inputs[i]} = {partial}")
        formulas[i] = formula
    return words, partials, formulas


RULES["cat"] = lambda o, x, p, n: _many(o, x, p, n, "cat: each input receives its slice of grad")
RULES["stack"] = lambda o, x, p, n: _many(o, x, p, n, "stack: each input receives its slice")
# nn.Module.register_full_backward_hook wraps the module's input and output in identities.
RULES["BackwardHookFunction"] = lambda o, x, p, n: (
    "identity around a module with a full backward hook: grad passes through; at the "
    "module's input the hooks see it and may replace it", [("1", "grad")] * len(x))

# Shape, indexing and linear algebra beyond the core set (gradcli/torch/reshaping.py,
# gathering.py, matrices.py).
RULES.update({
    "flip": _elementwise("flip: grad is flipped back", "1", "grad, flipped back"),
    "roll": _elementwise("roll: grad is rolled back", "1", "grad, rolled back"),
    "rot90": _elementwise("rot90: grad is rotated back", "1", "grad, rotated back"),
    "tril": _elementwise("tril: grad below the diagonal, zeros above", "1 or 0",
                         "tril(grad)"),
    "triu": _elementwise("triu: grad above the diagonal, zeros below", "1 or 0",
                         "triu(grad)"),
    "diagonal": _elementwise("diagonal: grad lands on the diagonal, zeros elsewhere",
                             "1 on the diagonal", "grad placed on the diagonal"),
    "unfold": _elementwise("unfold: each window's grad is added back where it came from",
                           "1 per window", "grad summed over the windows"),
    "split.Tensor": lambda o, x, p, n: (
        "split: each output's grad fills its piece, zeros where none came",
        [("1 in its piece", "output grads concatenated")]),
    "split_with_sizes": lambda o, x, p, n: (
        "split: each output's grad fills its piece, zeros where none came",
        [("1 in its piece", "output grads concatenated")]),
    "gather": _elementwise("gather: grad is added back at each gathered index",
                           "1 per pick", "zeros.scatter_add(dim, index, grad)"),
    "scatter.src": lambda o, x, p, n: (
        "scatter: the written places take src's values",
        [("0 where written, else 1", "grad with zeros where written"),
         ("1 per written place", "grad.gather(dim, index)")]),
    "scatter.value": _elementwise("scatter a number: the written places lose their grad",
                                  "0 where written, else 1", "grad with zeros where written"),
    "scatter_add": lambda o, x, p, n: (
        "scatter_add: self passes grad through, src gets the grad where it was added",
        [("1", "grad"), ("1 per added place", "grad.gather(dim, index)")]),
    "index_select": _elementwise("index_select: grad is added back at each index",
                                 "1 per pick", "zeros.index_add(dim, index, grad)"),
    "index_add": lambda o, x, p, n: (
        "index_add: self passes grad through, source gets grad at its indices",
        [("1", "grad"), ("alpha", "alpha·grad.index_select(dim, index)")]),
    "index_fill.int_Scalar": _elementwise("index_fill: the filled places lose their grad",
                                          "0 where filled, else 1", "grad, filled with 0"),
    "index_copy": lambda o, x, p, n: (
        "index_copy: the copied places take source's values",
        [("0 where copied, else 1", "grad, filled with 0"),
         ("1", "grad.index_select(dim, index)")]),
    "masked_fill.Scalar": _elementwise("masked_fill: the filled places lose their grad",
                                       "0 where masked, else 1", "grad where not masked"),
    "masked_select": _elementwise("masked_select: grad lands back on the selected places",
                                  "1 where masked", "grad placed at the mask"),
    "masked_scatter": lambda o, x, p, n: (
        "masked_scatter: the masked places take source's values, in order",
        [("0 where masked, else 1", "grad where not masked"),
         ("1 for the values used", "grad at the mask, then zeros")]),
    "take": _elementwise("take: grad is added back at each flat index", "1 per pick",
                         "grad added into zeros"),
    "put": lambda o, x, p, n: (
        "put_: the written places take source's values",
        [("0 where written, else 1", "grad with zeros where written"),
         ("1", "grad.take(index)")]),
    "_linalg_det": _elementwise("determinant: ∂det(A)/∂A = det(A)·A⁻ᵀ (the cofactors)",
                                "det·A⁻ᵀ", "grad·det·A⁻ᵀ"),
    "linalg_inv_ex": _elementwise("inverse: d(A⁻¹) = -A⁻¹·dA·A⁻¹", "",
                                  "-A⁻ᵀ @ grad @ A⁻ᵀ"),
    "_linalg_solve_ex": lambda o, x, p, n: (
        "solve AX = B: gB = A⁻ᵀ grad, gA = -gB Xᵀ",
        [("", f"-solve({x[0]}ᵀ, grad) @ {o}ᵀ"), ("", f"solve({x[0]}ᵀ, grad)")]),
    "linalg_cross": lambda o, x, p, n: (
        "cross product: each input receives the other crossed with grad",
        [("", f"{x[1]} × grad"), ("", f"grad × {x[0]}")]),
    "addmv": lambda o, x, p, n: (
        "β·input + α·(matrix @ vector)",
        [("β", "β·grad"), ("", f"α·outer(grad, {x[2]})"), ("", f"α·{x[1]}ᵀ @ grad")]),
    "baddbmm": lambda o, x, p, n: (
        "β·input + α·(batched matrix product)",
        [("β", "β·grad"), ("", f"α·grad @ {x[2]}ᵀ"), ("", f"α·{x[1]}ᵀ @ grad")]),
    "_cdist_forward": lambda o, x, p, n: (
        f"pairwise p-norm distances (p={_num(p)})",
        [("∂‖xᵢ - yⱼ‖/∂xᵢ", "Σⱼ grad·∂‖xᵢ - yⱼ‖/∂xᵢ"),
         ("-∂‖xᵢ - yⱼ‖/∂yⱼ", "-Σᵢ grad·∂‖xᵢ - yⱼ‖/∂xᵢ")]),
    "dist": lambda o, x, p, n: (
        f"p-norm of the difference (p={_num(p)})",
        [(f"∂‖{x[0]} - {x[1]}‖/∂{x[0]}", "grad·∂‖a - b‖/∂a"),
         (f"-∂‖{x[0]} - {x[1]}‖/∂{x[0]}", "-grad·∂‖a - b‖/∂a")]),
})

# Convolution and pooling (gradcli/torch/nn/convolution.py, pooling_ops.py).
RULES["convolution"] = lambda o, x, p, n: (
    "convolution (a cross-correlation): each side receives grad correlated with the other",
    [("", f"conv_transpose(grad, {x[1]})"), ("", f"correlate({x[0]}, grad)"),
     ("1", "grad summed over batch and positions")])
RULES["max_pool2d_with_indices"] = lambda o, x, p, n: (
    "max pooling: each window's first maximum receives the window's grad",
    [("1 at each window's maximum, else 0", "grad added at each maximum")])
RULES["avg_pool2d"] = lambda o, x, p, n: (
    "average pooling: every element of a window receives grad/window size",
    [("1/window size", "grad/window size, spread over each window")])
RULES["_adaptive_avg_pool2d"] = lambda o, x, p, n: (
    "adaptive average pooling: every element of a region receives grad/region size",
    [("1/region size", "grad/region size, spread over each region")])

# torch.erf, torch.cumsum, torch.sort, ... (gradcli/torch/tensor_api.py's families)
RULES.update(TENSOR_API_RULES)


# The activations and losses of gradcli/torch/activations_more.py and losses_more.py.
def _elu_rule(o, x, p, n):
    alpha, scale, input_scale = p if isinstance(p, tuple) else (p, 1.0, 1.0 / p)
    negative = f"{_num(scale * alpha * input_scale)}·exp({_num(input_scale)}·{x[0]})"
    return (f"elu: {_num(scale)} where {x[0]} > 0, else {negative}",
            [(f"{_num(scale)} or {negative}", f"grad·({_num(scale)} or {negative})")])


def _mask_rule(words, where):
    return lambda o, x, p, n: (words(p), [(f"1 where {where(x[0], p)}, else 0",
                                           f"grad where {where(x[0], p)}, else 0")])


def _difference_loss_rule(name, slope):
    def rule(o, x, p, n):
        reduction, param = p
        per = "/N" if reduction == "mean" else ""
        d = f"({x[0]} - {x[1]})"
        return (f"{name} ({reduction}): ∂/∂input = {slope(d, param)}{per}",
                [(f"{slope(d, param)}{per}", f"grad·{slope(d, param)}{per}"),
                 (f"-{slope(d, param)}{per}", f"-grad·{slope(d, param)}{per}")])
    return rule


RULES.update({
    "elu": _elu_rule, "elu_": _elu_rule, "celu": _elu_rule, "celu_": _elu_rule,
    "hardtanh": _mask_rule(lambda p: f"hardtanh: clamp to [{_num(p[0])}, {_num(p[1])}]",
                           lambda v, p: f"{_num(p[0])} < {v} < {_num(p[1])}"),
    "softshrink": _mask_rule(lambda p: f"softshrink: shrink towards 0 by {_num(p)}",
                             lambda v, p: f"|{v}| > {_num(p)}"),
    "hardshrink": _mask_rule(lambda p: f"hardshrink: 0 where |x| <= {_num(p)}",
                             lambda v, p: f"|{v}| > {_num(p)}"),
    "threshold": _mask_rule(lambda p: f"threshold: x where x > {_num(p[0])}, else {_num(p[1])}",
                            lambda v, p: f"{v} > {_num(p[0])}"),
    "threshold_": _mask_rule(lambda p: f"threshold_: x where x > {_num(p[0])}, else {_num(p[1])}",
                             lambda v, p: f"{v} > {_num(p[0])}"),
    "hardsigmoid": _mask_rule(lambda p: "hardsigmoid: (x + 3)/6 clamped to [0, 1]; slope 1/6",
                              lambda v, p: f"-3 < {v} < 3 (times 1/6)"),
    "hardswish": lambda o, x, p, n: (
        "hardswish: x·relu6(x + 3)/6",
        [(f"0, {x[0]}/3 + 1/2 or 1", f"grad·(0, {x[0]}/3 + 1/2 or 1)")]),
    "log_sigmoid_forward": _elementwise(
        "log-sigmoid: ∂ log σ(x)/∂x = 1 - σ(x)", "1 - σ({x})", "grad·(1 - σ({x}))"),
    "mish": _elementwise(
        "mish: x·tanh(softplus(x))", "tanh(sp) + {x}·σ({x})·(1 - tanh(sp)²)",
        "grad·(tanh(sp) + {x}·σ({x})·(1 - tanh(sp)²))"),
    "_prelu_kernel": lambda o, x, p, n: (
        "prelu: x where x > 0, else weight·x",
        [(f"1 or {x[1]}", f"grad or {x[1]}·grad"),
         (f"0 or {x[0]}", f"Σ grad·{x[0]} where x <= 0")]),
    "glu": lambda o, x, p, n: (
        "glu: a·σ(b), the halves of the input",
        [("σ(b), a·σ(b)·(1 - σ(b))", "[grad·σ(b), grad·a·σ(b)·(1 - σ(b))]")]),
    "smooth_l1_loss": _difference_loss_rule(
        "smooth L1", lambda d, beta: f"clamp({d}/{_num(beta)}, -1, 1)"),
    "huber_loss": _difference_loss_rule(
        "Huber", lambda d, delta: f"clamp({d}, -{_num(delta)}, {_num(delta)})"),
    "soft_margin_loss": lambda o, x, p, n: (
        f"soft margin ({p[0]}): log(1 + exp(-y·x))",
        [("-y·σ(-y·x)", "grad·(-y·σ(-y·x))" + ("/N" if p[0] == "mean" else ""))]),
    "add.Scalar": lambda o, x, p, n: (f"add {_num(p)}: grad passes through", [("1", "grad")]),
    "sub.Scalar": lambda o, x, p, n: (f"subtract {_num(p)}: grad passes through",
                                      [("1", "grad")]),
    "clamp_min": lambda o, x, p, n: (
        f"clamp_min({_num(p)})", [(f"1 where {x[0]} >= {_num(p)}, else 0",
                                   f"grad where {x[0]} >= {_num(p)}, else 0")]),
    "xlogy.Tensor": lambda o, x, p, n: (
        "x·log(y) (0 where x = 0)",
        [(f"log({x[1]})", f"grad·log({x[1]})"), (f"{x[0]}/{x[1]}", f"grad·{x[0]}/{x[1]}")]),
})
RULES["norm.ScalarOpt_dim"] = RULES.get("linalg_vector_norm")
if RULES["norm.ScalarOpt_dim"] is None:
    del RULES["norm.ScalarOpt_dim"]
