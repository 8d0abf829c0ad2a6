"""Source-aware nodes and the recorder behind `eval --trace` and `--partials`.

Three parts:

* what the compiler calls while a program runs: `expression_text` (an expression's
  text, rebuilt from the syntax tree), `stamp_result` and `bind` (a node learns the
  line, expression and variable that made it; a leaf tensor its name);
* `SourceText` and `Labeller`: how every view names a node, in the user's own words
  (`u = a*b`, line 11) rather than an address;
* `Tracer`, an engine Observer that records each backward pass node by node, and
  `local_rule`: every op's derivative in words and symbols.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

import numpy as np

from gradcli.backend import sum_to
from gradcli.engine import Observer
from gradcli.naming import (  # noqa: F401 - names and text, re-exported for trace users
    _BINARY_PRECEDENCE,
    LEAF_NAMES,
    bind,
    expression_text,
    leaf_name,
    stamp_result,
)
from gradcli.node import AccumulateGrad
from gradcli.runtime.loops import describe
from gradcli.runtime.wording import input_line, line_text
from gradcli.tensor import Tensor

# ----- the user's own text ---------------------------------------------------------------

_LOOSE = (tokenize.NUMBER, tokenize.STRING)
_SKIP = (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)


def _tokens(text: str) -> list:
    out = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.ENDMARKER:
                break
            out.append(token)
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


class SourceText:
    """Finds an expression's exact text in the program (spacing and redundant brackets as
    the user wrote them), given where it starts and its rebuilt text."""

    def __init__(self, source: str):
        self.source = source
        self.lines = source.split("\n")
        self._tokens: list | None = None
        self._starts: dict = {}
        self._cache: dict = {}

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def tokens(self) -> list:
        if self._tokens is None:
            self._tokens = _tokens(self.source)
            self._starts = {token.start: i for i, token in enumerate(self._tokens)}
        return self._tokens

    def segment(self, line: int, column: int, rebuilt: str) -> str:
        key = (line, column, rebuilt)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._match(line, column, rebuilt) or rebuilt
        return found

    def _match(self, line: int, column: int, rebuilt: str) -> str | None:
        if "…" in rebuilt or not line:
            return None
        wanted = [t for t in _tokens(rebuilt) if t.type not in _SKIP]
        tokens = self.tokens()
        index = self._starts.get((line, column - 1))
        if index is None or not wanted:
            return None
        # Brackets the user wrote and the rebuilt text does not need are skipped in pairs.
        extra, k, last = 0, 0, None
        while index < len(tokens) and k < len(wanted):
            token = tokens[index]
            index += 1
            if token.type in _SKIP:
                continue
            want = wanted[k]
            if (token.string == want.string if token.type not in _LOOSE
                    else token.type == want.type):
                k += 1
            elif token.string == "(":
                extra += 1
            elif token.string == ")" and extra:
                extra -= 1
            else:
                return None
            last = token
        if k < len(wanted):
            return None
        while extra and index < len(tokens):
            token = tokens[index]
            index += 1
            if token.type in _SKIP:
                continue
            if token.string != ")":
                return None
            extra -= 1
            last = token
        return self._text((line, column - 1), last.end)

    def _text(self, start, end) -> str:
        (l0, c0), (l1, c1) = start, end
        if l0 == l1:
            return self.line(l0)[c0:c1]
        pieces = [self.line(l0)[c0:]] + [self.line(n) for n in range(l0 + 1, l1)]
        pieces.append(self.line(l1)[:c1])
        return " ".join(p.strip() for p in pieces if p.strip())


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*")


def _atomic(text: str) -> bool:
    """True when `text` needs no brackets inside a formula (`a`, `x.sum()`, `w[0]`)."""
    depth = 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0 and i < len(text) - 1 and text[i + 1] not in ".[(":
                return False
        elif depth == 0 and not (char.isalnum() or char in "_.'\"…"):
            return False
    return depth == 0


def _p(name: str) -> str:
    """Bracket a name for use inside a formula."""
    return name if _atomic(name) else f"({name})"


def at_line(where: str | None) -> str:
    """What follows `line 5`: `, i=3`, ` in f() ← line 9`, `, i=3 in f() ← line 9`."""
    if not where:
        return ""
    return f" {where}" if where.startswith("in ") else f", {where}"


class Labeller:
    """Names nodes and tensors the way the program does."""

    def __init__(self, source: str = "", names: dict | None = None):
        self.text = SourceText(source)
        # Extra names (tensor id -> name), e.g. the variables bound when a program ended.
        self.names = names or {}

    def tensor_name(self, tensor) -> str | None:
        name = self.names.get(id(tensor))
        return name if name is not None else leaf_name(tensor)

    def variable(self, node) -> str | None:
        if node.__class__ is AccumulateGrad:
            return self.tensor_name(node.variable)
        source = node.source
        return (source[3] or None) if source is not None else None

    @staticmethod
    def inside(node) -> bool:
        """True for a node made inside an expression that returned another node."""
        source = getattr(node, "source", None)
        return source is not None and source[3] == ""

    def expression(self, node) -> str | None:
        source = getattr(node, "source", None)
        if source is None:
            return None
        line, column, rebuilt, _ = source
        return self.text.segment(line, column, rebuilt)

    def line(self, node) -> int | None:
        source = getattr(node, "source", None)
        return source[0] if source is not None else None

    @staticmethod
    def where(node) -> str | None:
        """What follows `line 4` for a node: the loop iteration that made it (`i=3`), then,
        made by a program's function, `in mse() ← line 12`: the function and the lines of
        the calls that led there, innermost first, each with its own loop's iteration
        (`in mse() ← line 12, epoch=3`)."""
        context = getattr(node, "context", None)
        if context is None:
            return None
        function, calls, iteration, iterations = context
        iteration = describe(iteration)
        parts = [iteration] if iteration else []
        if function is not None:
            lines = [line_text(c) + (f", {i}" if i else "")
                     for c, i in zip(reversed(calls), map(describe, reversed(iterations)),
                                     strict=True)]
            parts.append(" ← ".join([f"in {function}()", *lines]))
        return " ".join(parts) or None

    def definition(self, node) -> str | None:
        """`u = a*b`, or just the expression when it was never bound to a name."""
        name, text = self.variable(node), self.expression(node)
        if text is None:
            return name
        if self.inside(node):
            return f"part of {text}"
        if name is None or name == text:
            return text
        return f"{name} = {text}"

    def short(self, node, width: int = 24) -> str:
        """The shortest useful name of a node's output, bracketed when compound."""
        if node is None:
            return "?"
        if node.__class__ is AccumulateGrad:
            name = self.tensor_name(node.variable)
            return name if name else "leaf" + shape_text(node.variable.shape)
        name = self.variable(node)
        if name:
            return name
        text = self.expression(node)
        if text and not self.inside(node):
            return _p(shorten(text, width))
        overload = getattr(getattr(node, "op", None), "overload", "")
        base = overload.split(".")[0].strip("_")
        return f"{base}(…)" if base else node.name()

    def input(self, node, i: int) -> str:
        """How the program referred to the i-th input of a node (`const` for a tensor
        without grad that it cannot name)."""
        child, slot = node.next_functions[i]
        if child is not None:
            if child.multi_output:  # one of several outputs: its own name, or `…[slot]`
                name = getattr(child, "output_name", lambda s: None)(slot)
                return name or f"{self.short(child)}[{slot}]"
            return self.short(child)
        meta = node.inputs_meta[i] if i < len(node.inputs_meta) else None
        saved = node.saved or ()
        operand = None
        if len(node.next_functions) == 2 and not self.inside(node):
            operands = _operands(self.expression(node) or "")
            operand = operands[i] if operands else None
        if meta is None:
            numbers = [s for s in saved if isinstance(s, (int, float)) and not isinstance(s, bool)]
            if len(numbers) == 1:
                return _num(numbers[0])
            return operand if operand and _NUMBER.fullmatch(operand) else "a number"
        for s in saved:
            if s.__class__ is Tensor and not s.requires_grad and s.shape == meta[0]:
                name = self.tensor_name(s)
                if name:
                    return name
        if operand and not _NUMBER.fullmatch(operand):
            return _p(operand)
        return "const"


_NUMBER = re.compile(r"[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?")
_ENDS_OPERAND = {tokenize.NAME, tokenize.NUMBER, tokenize.STRING}


def _operands(text: str) -> list[str] | None:
    """The two sides of a binary expression's outermost operator (`x + bias` -> x, bias)."""
    tokens = [t for t in _tokens(text) if t.type not in _SKIP]
    best = None
    depth = 0
    previous = None
    for index, token in enumerate(tokens):
        if token.string in "([{":
            depth += 1
        elif token.string in ")]}":
            depth -= 1
        elif depth == 0 and token.string in _BINARY_PRECEDENCE and previous is not None and (
                previous.type in _ENDS_OPERAND or previous.string in ")]}"):
            rank = _BINARY_PRECEDENCE[token.string]
            # The outermost operator binds loosest; among equals, the last one (the first
            # for the right-associative **).
            if best is None or rank < best[0] or (rank == best[0] and token.string != "**"):
                best = (rank, index)
        previous = token
    if best is None or depth != 0:
        return None
    split = tokens[best[1]]
    left = text[: split.start[1]].strip() if split.start[0] == 1 else None
    right = text[split.end[1]:].strip() if split.end[0] == 1 else None
    return [left, right] if left and right else None


# ----- the local rule of every op ---------------------------------------------------------


def _num(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, (int, float)) else str(value)


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
}


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


RULES["cat"] = lambda o, x, p, n: _many(o, x, p, n, "cat: each input receives its slice of grad")
RULES["stack"] = lambda o, x, p, n: _many(o, x, p, n, "stack: each input receives its slice")
# nn.Module.register_full_backward_hook wraps the module's input and output in identities.
RULES["BackwardHookFunction"] = lambda o, x, p, n: (
    "identity around a module with a full backward hook: grad passes through; at the "
    "module's input the hooks see it and may replace it", [("1", "grad")])


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


# ----- saved tensors ----------------------------------------------------------------------

# A Python number saved for backward is a 0-d "wrapped number" tensor in PyTorch: a double
# for floats and an int64 for ints, 8 bytes either way.
WRAPPED_NUMBER_BYTES = 8


@dataclass
class SavedEntry:
    what: str  # the tensor's name, or "result", or a number
    shape: tuple
    dtype: str
    nbytes: int
    key: int  # identity of the storage, so a tensor saved twice is counted once


def saved_entries(node, labeller: Labeller, output: str | None = None) -> list[SavedEntry] | None:
    """What a node keeps for its backward (None once backward freed it)."""
    if node.__class__ is AccumulateGrad:
        return []
    if getattr(node, "released", False):
        return None
    out: list[SavedEntry] = []
    for value in node.saved or ():
        if value is None:
            continue
        if value.__class__ is Tensor:
            if value.grad_fn is not None:
                name = labeller.short(value.grad_fn)
            else:
                name = labeller.tensor_name(value) or "a tensor"
            array = value.array
            out.append(SavedEntry(name, array.shape, value.dtype.name, array.nbytes,
                                  id(array)))
        elif isinstance(value, np.ndarray) or isinstance(getattr(value, "array", None),
                                                         np.ndarray):
            # The op's own output (a SavedResult, or a bare array).
            array = value if isinstance(value, np.ndarray) else value.array
            out.append(SavedEntry(f"result {output}" if output else "result", array.shape,
                                  str(array.dtype), array.nbytes, id(array)))
        elif isinstance(value, (bool, int, float)):
            out.append(SavedEntry(_num(value), (), "float64" if isinstance(value, float)
                                  else "int64", WRAPPED_NUMBER_BYTES, id(value)))
    # Index arrays among the parameters (max.dim's indices, nll_loss's targets) are not
    # counted: gradcli's engine keeps them with the node and frees only `saved`.
    return out


def graph_nodes(roots) -> list:
    """Every node reachable from `roots` (nodes), each once, parents before children."""
    order, seen = [], set()
    stack = [r for r in reversed(roots) if r is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        for child, _ in reversed(node.next_functions):
            if child is not None and child not in seen:
                stack.append(child)
    return order


def saved_total(nodes, labeller: Labeller | None = None) -> int:
    """Bytes the graph holds for backward; storage saved by several nodes counts once."""
    labeller = labeller or Labeller()
    keys: dict = {}
    for node in nodes:
        for entry in saved_entries(node, labeller) or ():
            keys[entry.key] = entry.nbytes
    return sum(keys.values())


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
            from gradcli.anomaly import check_outputs

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
