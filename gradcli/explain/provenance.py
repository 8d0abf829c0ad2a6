"""Names of tensors and the text of expressions: what the compiler stamps on each node as
the program runs (kept cheap, and apart from the tracer in gradcli.explain.tracer, which imports
tokenize and numpy-heavy helpers only a trace needs)."""

from __future__ import annotations

import weakref

from gradcli.autodiff.node import Node
from gradcli.autodiff.tensor import Tensor


class _NameRef(weakref.ref):
    __slots__ = ("key", "name")


def _forget(ref) -> None:
    if LEAF_NAMES.get(ref.key) is ref:
        del LEAF_NAMES[ref.key]


# The first name each leaf tensor was bound to, by id (a WeakKeyDictionary would compare
# tensors with ==, which is element-wise). Leaves have no node to carry a name, and a
# rebound leaf (`w = w - lr * w.grad`) still deserves its old name in a trace.
LEAF_NAMES: dict[int, _NameRef] = {}


def leaf_name(tensor) -> str | None:
    ref = LEAF_NAMES.get(id(tensor))
    return ref.name if ref is not None and ref() is tensor else None


def bind(value, name: str, line: int, column: int) -> None:
    """`name = value` ran: name the tensor's node (or the leaf) if nothing named it yet."""
    fn = value.grad_fn
    if fn is None:
        if not value.requires_grad:
            return
        key = id(value)
        ref = LEAF_NAMES.get(key)
        if ref is None or ref() is not value:
            ref = LEAF_NAMES[key] = _NameRef(value, _forget)
            ref.key, ref.name = key, name
        return
    source = fn.source
    if source is None:
        fn.source = (line, column, name, name)
    elif source[3] is None:
        fn.source = (source[0], source[1], source[2], name)


def stamp_result(value, origin) -> None:
    """Give every node in `value` (a tensor or a tuple of them) the position that made it.

    Nodes below it that nothing stamped yet were made by the same expression (the
    log_softmax inside F.cross_entropy, a create_graph backward's ops): they are marked as
    inside it, with "" for a name."""
    for item in value if value.__class__ is tuple else (value,):
        if item.__class__ is Tensor:
            fn = item.grad_fn
            if fn is not None and fn.source is None:
                fn.source = origin
                inner = None
                stack = [fn]
                while stack:
                    node = stack.pop()
                    for child, _ in node.next_functions:
                        if isinstance(child, Node) and child.source is None:
                            if inner is None:
                                inner = (origin[0], origin[1], origin[2], "")
                            child.source = inner
                            stack.append(child)


_PRIMARY = 16
_BINARY_PRECEDENCE = {
    "|": 7, "^": 8, "&": 9, "<<": 10, ">>": 10, "+": 11, "-": 11,
    "*": 12, "/": 12, "//": 12, "%": 12, "@": 12, "**": 14,
}


class _Full(Exception):
    pass


class _Unparser:
    """Python text for a gradcli expression, cut short past `budget` characters (so deep or
    huge expressions cost a bounded amount)."""

    def __init__(self, budget: int):
        self.parts: list[str] = []
        self.size = 0
        self.budget = budget

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > self.budget:
            raise _Full

    def precedence(self, node) -> int:
        kind = type(node).__name__
        if kind == "BinOp":
            return _BINARY_PRECEDENCE.get(node.op, 12)
        return {"IfExp": 1, "BoolOp": 2 if getattr(node, "op", "") == "or" else 3, "Not": 4,
                "Compare": 6, "UnaryOp": 13}.get(kind, _PRIMARY)

    def sub(self, node, depth: int, parens: bool) -> None:
        if parens:
            self.emit("(")
        self.visit(node, depth + 1)
        if parens:
            self.emit(")")

    def visit(self, node, depth: int = 0) -> None:
        if depth > 40:
            raise _Full
        kind = type(node).__name__
        method = getattr(self, "visit_" + kind, None)
        if method is None:
            raise _Full
        method(node, depth)

    def visit_Name(self, node, depth):
        self.emit(node.id)

    def visit_Const(self, node, depth):
        self.emit("..." if node.value is Ellipsis else repr(node.value))

    def visit_BinOp(self, node, depth):
        mine = self.precedence(node)
        right_assoc = node.op == "**"
        left, right = self.precedence(node.left), self.precedence(node.right)
        self.sub(node.left, depth, left < mine or (right_assoc and left <= mine))
        self.emit(f" {node.op} ")
        self.sub(node.right, depth, right < mine or (not right_assoc and right <= mine))

    def visit_UnaryOp(self, node, depth):
        self.emit("~" if node.op == "~" else node.op)
        self.sub(node.operand, depth, self.precedence(node.operand) < 13)

    def visit_Not(self, node, depth):
        self.emit("not ")
        self.sub(node.operand, depth, self.precedence(node.operand) < 4)

    def visit_BoolOp(self, node, depth):
        for i, value in enumerate(node.values):
            if i:
                self.emit(f" {node.op} ")
            self.sub(value, depth, self.precedence(value) <= self.precedence(node))

    def visit_Compare(self, node, depth):
        self.sub(node.left, depth, self.precedence(node.left) <= 6)
        for op, right in zip(node.ops, node.comparators, strict=False):
            self.emit(f" {op} ")
            self.sub(right, depth, self.precedence(right) <= 6)

    def visit_IfExp(self, node, depth):
        self.sub(node.body, depth, self.precedence(node.body) <= 1)
        self.emit(" if ")
        self.sub(node.test, depth, self.precedence(node.test) <= 1)
        self.emit(" else ")
        self.visit(node.orelse, depth + 1)

    def primary(self, node, depth):
        self.sub(node, depth, self.precedence(node) < _PRIMARY or type(node).__name__ == "Const"
                 and isinstance(node.value, int) and not isinstance(node.value, bool))

    def visit_Attribute(self, node, depth):
        self.primary(node.value, depth)
        self.emit("." + node.attr)

    def visit_Subscript(self, node, depth):
        self.primary(node.value, depth)
        self.emit("[")
        if type(node.index).__name__ == "TupleExpr" and node.index.items:
            self.items(node.index.items, depth, trailing=len(node.index.items) == 1)
        else:
            self.visit(node.index, depth + 1)
        self.emit("]")

    def visit_SliceExpr(self, node, depth):
        if node.lower is not None:
            self.visit(node.lower, depth + 1)
        self.emit(":")
        if node.upper is not None:
            self.visit(node.upper, depth + 1)
        if node.step is not None:
            self.emit(":")
            self.visit(node.step, depth + 1)

    def items(self, items, depth, trailing=False):
        for i, item in enumerate(items):
            if i:
                self.emit(", ")
            self.visit(item, depth + 1)
        if trailing:
            self.emit(",")

    def visit_ListExpr(self, node, depth):
        self.emit("[")
        self.items(node.items, depth)
        self.emit("]")

    def visit_TupleExpr(self, node, depth):
        self.emit("(")
        self.items(node.items, depth, trailing=len(node.items) == 1)
        self.emit(")")

    def visit_Call(self, node, depth):
        self.primary(node.func, depth)
        self.emit("(")
        args = [("", arg) for arg in node.args]
        for position, value in sorted(node.star, key=lambda s: s[0], reverse=True):
            args.insert(position, ("*", value))
        args += [(name + "=", value) for name, value in node.kwargs]
        for i, (prefix, value) in enumerate(args):
            if i:
                self.emit(", ")
            self.emit(prefix)
            self.visit(value, depth + 1)
        self.emit(")")

    def visit_ListComp(self, node, depth):
        self.emit("[")
        self.visit(node.element, depth + 1)
        self.emit(" for ")
        self.visit(node.target, depth + 1)
        self.emit(" in ")
        self.visit(node.iterable, depth + 1)
        for condition in node.conditions:
            self.emit(" if ")
            self.visit(condition, depth + 1)
        self.emit("]")

    def visit_FString(self, node, depth):
        self.emit("f'")
        for part in node.parts:
            if isinstance(part, str):
                self.emit(part.replace("{", "{{").replace("}", "}}"))
            else:
                self.emit("{")
                self.visit(part.value, depth + 1)
                self.emit("}")
        self.emit("'")

    def visit_AugAssign(self, node, depth):
        self.visit(node.target, depth + 1)
        self.emit(f" {node.op}= ")
        self.visit(node.value, depth + 1)


def expression_text(node, budget: int = 100) -> str:
    """The Python text of a syntax-tree expression; long ones end in `…`."""
    unparser = _Unparser(budget)
    try:
        unparser.visit(node)
    except _Full:
        return "".join(unparser.parts)[:budget] + "…"
    return "".join(unparser.parts)


