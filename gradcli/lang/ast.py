"""gradcli's own syntax tree. Every node carries the 1-based line and column where its
source text starts, which is where errors and warnings point (as CPython 3.11 does)."""

from __future__ import annotations


class Node:
    __slots__ = ("line", "column")
    fields: tuple[str, ...] = ()

    def __init__(self, line, column, *values):
        self.line = line
        self.column = column
        for name, value in zip(self.fields, values, strict=False):
            setattr(self, name, value)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.fields)
        return f"{type(self).__name__}({inner})"

    def children(self):
        for name in self.fields:
            value = getattr(self, name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, Node):
                        yield item
                    elif isinstance(item, tuple):
                        yield from (v for v in item if isinstance(v, Node))


def node(name: str, *fields: str):
    return type(name, (Node,), {"__slots__": fields, "fields": fields})


# ----- expressions -----
Name = node("Name", "id")
Const = node("Const", "value")
FString = node("FString", "parts")  # parts: str | FormattedValue
FormattedValue = node("FormattedValue", "value", "conversion", "spec", "echo")
ListExpr = node("ListExpr", "items")
TupleExpr = node("TupleExpr", "items")
Attribute = node("Attribute", "value", "attr")
Subscript = node("Subscript", "value", "index")
SliceExpr = node("SliceExpr", "lower", "upper", "step")
Call = node("Call", "func", "args", "kwargs", "star")  # kwargs: list of (name, expr)
BinOp = node("BinOp", "op", "left", "right")
UnaryOp = node("UnaryOp", "op", "operand")
Compare = node("Compare", "left", "ops", "comparators")
BoolOp = node("BoolOp", "op", "values")
Not = node("Not", "operand")
IfExp = node("IfExp", "test", "body", "orelse")
ListComp = node("ListComp", "element", "target", "iterable", "conditions")

# ----- statements -----
Assign = node("Assign", "targets", "value")
AugAssign = node("AugAssign", "target", "op", "value")
ExprStmt = node("ExprStmt", "value")
Import = node("Import", "bindings")  # list of (bound name, module path)
With = node("With", "items", "body")  # items: list of (expr, as-name or None)
For = node("For", "target", "iterable", "body")
If = node("If", "test", "body", "orelse")
Pass = node("Pass")
Program = node("Program", "body")
