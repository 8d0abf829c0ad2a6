"""Local derivative rules, as --trace words them, for the functions of
gradcli/torch/tensor_api.py (pointwise functions, scans, sorting, reductions); merged into
gradcli.explain.rules.RULES. Same shape: (o, x, p, node) -> (words, [(partial, sent)])."""

from __future__ import annotations

from gradcli.explain.labels import _num


def _one(words, partial, sent):
    return lambda o, x, p, n: (words, [(partial.format(o=o, x=x[0]), sent.format(o=o, x=x[0]))])


def _two(words, first, second):
    """A rule for two inputs a and b: partials written with {a}, {b} and {o}."""

    def rule(o, x, p, n):
        names = {"a": x[0], "b": x[1], "o": o}
        return words, [(f.format(**names), s.format(**names)) for f, s in (first, second)]

    return rule


_FLAT = "flat almost everywhere: the gradient is zero"
_SELECT = ("each selected element's gradient goes back to the position it came from "
           "(the indices)")

TENSOR_API_RULES = {
    "floor": _one(f"floor: {_FLAT}", "0", "0"),
    "ceil": _one(f"ceil: {_FLAT}", "0", "0"),
    "trunc": _one(f"trunc: {_FLAT}", "0", "0"),
    "round": _one(f"round: {_FLAT}", "0", "0"),
    "round.decimals": _one(f"round to decimals: {_FLAT}", "0", "0"),
    "sgn": _one(f"sgn: {_FLAT}", "0", "0"),
    "frac": _one("frac(x) = x - trunc(x): slope 1 between the jumps", "1", "grad"),
    "erf": _one("erf: ∂erf(x)/∂x = 2/√π·exp(-x²)", "2/√π·exp(-{x}²)", "grad·2/√π·exp(-{x}²)"),
    "erfc": _one("erfc = 1 - erf: ∂/∂x = -2/√π·exp(-x²)", "-2/√π·exp(-{x}²)",
                 "-grad·2/√π·exp(-{x}²)"),
    "erfinv": _one("inverse of erf, from the saved result: √π/2·exp(y²)", "√π/2·exp({o}²)",
                   "grad·√π/2·exp({o}²)"),
    "asin": _one("arcsine: 1/√(1 - x²)", "1/√(1 - {x}²)", "grad/√(1 - {x}²)"),
    "acos": _one("arccosine: -1/√(1 - x²)", "-1/√(1 - {x}²)", "-grad/√(1 - {x}²)"),
    "atan": _one("arctangent: 1/(1 + x²)", "1/(1 + {x}²)", "grad/(1 + {x}²)"),
    "sinh": _one("sinh: its derivative is cosh", "cosh {x}", "grad·cosh {x}"),
    "cosh": _one("cosh: its derivative is sinh", "sinh {x}", "grad·sinh {x}"),
    "asinh": _one("asinh: 1/√(x² + 1)", "1/√({x}² + 1)", "grad/√({x}² + 1)"),
    "acosh": _one("acosh: 1/√(x² - 1)", "1/√({x}² - 1)", "grad/√({x}² - 1)"),
    "atanh": _one("atanh: 1/(1 - x²)", "1/(1 - {x}²)", "grad/(1 - {x}²)"),
    "exp2": _one("2^x: ∂/∂x = 2^x·ln 2, from the saved result", "{o}·ln 2", "grad·{o}·ln 2"),
    "lgamma": _one("log Γ(x): its derivative is digamma ψ(x)", "ψ({x})", "grad·ψ({x})"),
    "digamma": _one("digamma ψ(x): its derivative is trigamma ψ'(x)", "ψ'({x})",
                    "grad·ψ'({x})"),
    "logit": _one("logit = ln(x/(1 - x)): 1/(x·(1 - x))", "1/({x}·(1 - {x}))",
                  "grad/({x}·(1 - {x}))"),
    "nan_to_num": _one("nan_to_num: the gradient passes where the input was finite",
                       "1 where finite", "grad·[finite]"),
    "atan2": _two("atan2(a, b), the angle of (b, a): ∂/∂a = b/(a² + b²), ∂/∂b = -a/(a² + b²)",
                  ("{b}/({a}² + {b}²)", "grad·{b}/({a}² + {b}²)"),
                  ("-{a}/({a}² + {b}²)", "-grad·{a}/({a}² + {b}²)")),
    "hypot": _two("hypot = √(a² + b²): each input over the saved result",
                  ("{a}/{o}", "grad·{a}/{o}"), ("{b}/{o}", "grad·{b}/{o}")),
    "logaddexp": _two("ln(eᵃ + eᵇ): each input gets its softmax weight",
                      ("1/(1 + exp({b} - {a}))", "grad/(1 + exp({b} - {a}))"),
                      ("1/(1 + exp({a} - {b}))", "grad/(1 + exp({a} - {b}))")),
    "logaddexp2": _two("log₂(2ᵃ + 2ᵇ): each input gets its weight",
                       ("1/(1 + 2^({b} - {a}))", "grad/(1 + 2^({b} - {a}))"),
                       ("1/(1 + 2^({a} - {b}))", "grad/(1 + 2^({a} - {b}))")),
    "xlogy.Tensor": _two("x·ln y: ∂/∂x = ln y, ∂/∂y = x/y",
                         ("ln {b}", "grad·ln {b}"), ("{a}/{b}", "grad·{a}/{b}")),
    "xlogy.Scalar_Self": lambda o, x, p, n: (
        "c·ln y with a number c: ∂/∂y = c/y", [("", ""), (f"c/{x[1]}", f"grad·c/{x[1]}")]),
    "xlogy.Scalar_Other": lambda o, x, p, n: (
        "x·ln c with a number c: ∂/∂x = ln c", [("ln c", "grad·ln c")]),
    "fmod.Scalar": lambda o, x, p, n: (
        f"fmod by the number {_num(p)}: slope 1 between the jumps", [("1", "grad")]),
    "fmod.Tensor": _two("fmod(a, b) = a - trunc(a/b)·b",
                        ("1", "grad"), ("-trunc({a}/{b})", "-grad·trunc({a}/{b})")),
    "clamp_min": lambda o, x, p, n: (
        f"clamp_min at {_num(p)}: the gradient passes where the input is ≥ it",
        [(f"1 where {x[0]} ≥ {_num(p)}", f"grad·[{x[0]} ≥ {_num(p)}]")]),
    "clamp_max": lambda o, x, p, n: (
        f"clamp_max at {_num(p)}: the gradient passes where the input is ≤ it",
        [(f"1 where {x[0]} ≤ {_num(p)}", f"grad·[{x[0]} ≤ {_num(p)}]")]),
    "clamp_min.Tensor": _two("clamp_min(a, b) = max(a, b): a where a ≥ b, else b",
                             ("1 where {a} ≥ {b}", "grad·[{a} ≥ {b}]"),
                             ("1 where {a} < {b}", "grad·[{a} < {b}]")),
    "clamp_max.Tensor": _two("clamp_max(a, b) = min(a, b): a where a ≤ b, else b",
                             ("1 where {a} ≤ {b}", "grad·[{a} ≤ {b}]"),
                             ("1 where {a} > {b}", "grad·[{a} > {b}]")),
    "lerp.Scalar": lambda o, x, p, n: (
        f"lerp = start + {_num(p)}·(end - start)",
        [(f"1 - {_num(p)}", f"grad·(1 - {_num(p)})"), (_num(p), f"grad·{_num(p)}")]),
    "lerp.Tensor": lambda o, x, p, n: (
        "lerp = start + w·(end - start)",
        [(f"1 - {x[2]}", f"grad·(1 - {x[2]})"), (x[2], f"grad·{x[2]}"),
         (f"{x[1]} - {x[0]}", f"grad·({x[1]} - {x[0]})")]),
    "addcmul": lambda o, x, p, n: (
        f"input + {_num(p)}·t1·t2",
        [("1", "grad"), (f"{_num(p)}·{x[2]}", f"grad·{_num(p)}·{x[2]}"),
         (f"{_num(p)}·{x[1]}", f"grad·{_num(p)}·{x[1]}")]),
    "addcdiv": lambda o, x, p, n: (
        f"input + {_num(p)}·t1/t2",
        [("1", "grad"), (f"{_num(p)}/{x[2]}", f"grad·{_num(p)}/{x[2]}"),
         (f"-{_num(p)}·{x[1]}/{x[2]}²", f"-grad·{_num(p)}·{x[1]}/{x[2]}²")]),
    "cumsum": lambda o, x, p, n: (
        f"cumulative sum along dim {p}: element k receives the sum of grad from k on",
        [("1 for every later output", "flip(cumsum(flip(grad)))")]),
    "cumprod": lambda o, x, p, n: (
        f"cumulative product along dim {p}: element k receives Σ_(j≥k) grad_j·out_j/x_k",
        [(f"{o}/{x[0]} for every later output", "reverse cumsum(grad·out)/x")]),
    "cummax": _one(f"running maximum: {_SELECT}", "1 where it was the maximum", "scatter_add"),
    "cummin": _one(f"running minimum: {_SELECT}", "1 where it was the minimum", "scatter_add"),
    "logcumsumexp": _one("running log-sum-exp: element k receives Σ_(j≥k) grad_j·exp(x_k - "
                         "out_j)", "exp(x_k - out_j)", "exp(x)·reverse cumsum(grad·exp(-out))"),
    "sort": _one(f"sort: {_SELECT}", "", "scatter(grad, indices)"),
    "sort.stable": _one(f"sort: {_SELECT}", "", "scatter(grad, indices)"),
    "topk": _one(f"topk: {_SELECT}", "", "scatter(grad, indices)"),
    "kthvalue": _one(f"kthvalue: {_SELECT}", "", "scatter(grad, indices)"),
    "median.dim": _one(f"median along a dim: {_SELECT}", "", "scatter(grad, indices)"),
    "mode": _one(f"mode: {_SELECT}", "", "scatter(grad, indices)"),
    "median": _one("median of all elements: the elements equal to it share grad",
                   "1/count where equal", "grad/count·[x = median]"),
    "nansum": _one("sum ignoring NaN: every non-NaN element receives grad", "1 where not NaN",
                   "grad·[not NaN], expanded"),
    "trace": _one("trace: the diagonal receives grad", "1 on the diagonal", "grad on the diagonal"),
    "mul.Scalar": lambda o, x, p, n: (
        f"product with the number {_num(p)}", [(_num(p), f"grad·{_num(p)}")]),
    "std_mean.correction": _one("std and mean: grad_std·(x - mean)/(std·(n - c)) + grad_mean/n",
                                "", "from both outputs"),
    "var_mean.correction": _one("var and mean: grad_var·2(x - mean)/(n - c) + grad_mean/n",
                                "", "from both outputs"),
    "aminmax": _one("min and max: the elements equal to each share its gradient", "",
                    "from both outputs"),
    "flip": _one("flip: grad flipped back", "", "flip(grad)"),
    "scatter.src": lambda o, x, p, n: (
        "scatter into zeros: the source receives grad at the indices",
        [("", ""), ("", "gather(grad, indices)")]),
    "scatter_add": lambda o, x, p, n: (
        "scatter_add into zeros: the source receives grad at the indices",
        [("", ""), ("", "gather(grad, indices)")]),
    "gather": _one("gather: grad goes back to the gathered positions", "",
                   "scatter_add(grad, indices)"),
}
