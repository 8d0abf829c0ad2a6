"""Nodes and tensors in the program's own words: its source text, token by token, and the
Labeller that names each node by the expression that made it (`w @ x`, `line 4 in mse()`)."""

from __future__ import annotations

import io
import re
import tokenize

from gradcli.autodiff.node import AccumulateGrad
from gradcli.autodiff.tensor import Tensor
from gradcli.base.wording import line_text
from gradcli.explain.loops import describe
from gradcli.explain.provenance import (
    _BINARY_PRECEDENCE,
    leaf_name,
)

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


def _num(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, (int, float)) else str(value)


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


def place(line, where: str | None) -> str:
    """Where a node was made, as every view words it: `line 5, i=3`, `input [3], line 2`,
    `line 4 in mse() ← line 10`."""
    return line_text(line) + at_line(where)


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
