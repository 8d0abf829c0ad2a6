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


# Each class spells out its constructor: a parse builds a node per token, and a generic
# loop over the fields was a fifth of a large parse.


# ----- expressions -----
class Name(Node):
    __slots__ = fields = ("id",)

    def __init__(self, line, column, id):
        self.line = line
        self.column = column
        self.id = id


class Const(Node):
    __slots__ = fields = ("value",)

    def __init__(self, line, column, value):
        self.line = line
        self.column = column
        self.value = value


# parts: str | FormattedValue
class FString(Node):
    __slots__ = fields = ("parts",)

    def __init__(self, line, column, parts):
        self.line = line
        self.column = column
        self.parts = parts


class FormattedValue(Node):
    __slots__ = fields = ("value", "conversion", "spec", "echo")

    def __init__(self, line, column, value, conversion, spec, echo):
        self.line = line
        self.column = column
        self.value = value
        self.conversion = conversion
        self.spec = spec
        self.echo = echo


class ListExpr(Node):
    __slots__ = fields = ("items",)

    def __init__(self, line, column, items):
        self.line = line
        self.column = column
        self.items = items


class TupleExpr(Node):
    __slots__ = fields = ("items",)

    def __init__(self, line, column, items):
        self.line = line
        self.column = column
        self.items = items


class Attribute(Node):
    __slots__ = fields = ("value", "attr")

    def __init__(self, line, column, value, attr):
        self.line = line
        self.column = column
        self.value = value
        self.attr = attr


class Subscript(Node):
    __slots__ = fields = ("value", "index")

    def __init__(self, line, column, value, index):
        self.line = line
        self.column = column
        self.value = value
        self.index = index


class SliceExpr(Node):
    __slots__ = fields = ("lower", "upper", "step")

    def __init__(self, line, column, lower, upper, step):
        self.line = line
        self.column = column
        self.lower = lower
        self.upper = upper
        self.step = step


# kwargs: list of (name, expr)
class Call(Node):
    __slots__ = fields = ("func", "args", "kwargs", "star")

    def __init__(self, line, column, func, args, kwargs, star):
        self.line = line
        self.column = column
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.star = star


class BinOp(Node):
    __slots__ = fields = ("op", "left", "right")

    def __init__(self, line, column, op, left, right):
        self.line = line
        self.column = column
        self.op = op
        self.left = left
        self.right = right


class UnaryOp(Node):
    __slots__ = fields = ("op", "operand")

    def __init__(self, line, column, op, operand):
        self.line = line
        self.column = column
        self.op = op
        self.operand = operand


class Compare(Node):
    __slots__ = fields = ("left", "ops", "comparators")

    def __init__(self, line, column, left, ops, comparators):
        self.line = line
        self.column = column
        self.left = left
        self.ops = ops
        self.comparators = comparators


class BoolOp(Node):
    __slots__ = fields = ("op", "values")

    def __init__(self, line, column, op, values):
        self.line = line
        self.column = column
        self.op = op
        self.values = values


class Not(Node):
    __slots__ = fields = ("operand",)

    def __init__(self, line, column, operand):
        self.line = line
        self.column = column
        self.operand = operand


class IfExp(Node):
    __slots__ = fields = ("test", "body", "orelse")

    def __init__(self, line, column, test, body, orelse):
        self.line = line
        self.column = column
        self.test = test
        self.body = body
        self.orelse = orelse


class ListComp(Node):
    __slots__ = fields = ("element", "target", "iterable", "conditions")

    def __init__(self, line, column, element, target, iterable, conditions):
        self.line = line
        self.column = column
        self.element = element
        self.target = target
        self.iterable = iterable
        self.conditions = conditions

# ----- statements -----
class Assign(Node):
    __slots__ = fields = ("targets", "value")

    def __init__(self, line, column, targets, value):
        self.line = line
        self.column = column
        self.targets = targets
        self.value = value


class AugAssign(Node):
    __slots__ = fields = ("target", "op", "value")

    def __init__(self, line, column, target, op, value):
        self.line = line
        self.column = column
        self.target = target
        self.op = op
        self.value = value


class ExprStmt(Node):
    __slots__ = fields = ("value",)

    def __init__(self, line, column, value):
        self.line = line
        self.column = column
        self.value = value


# list of (bound name, module path)
class Import(Node):
    __slots__ = fields = ("bindings",)

    def __init__(self, line, column, bindings):
        self.line = line
        self.column = column
        self.bindings = bindings


# items: list of (expr, as-name or None)
class With(Node):
    __slots__ = fields = ("items", "body")

    def __init__(self, line, column, items, body):
        self.line = line
        self.column = column
        self.items = items
        self.body = body


class For(Node):
    __slots__ = fields = ("target", "iterable", "body")

    def __init__(self, line, column, target, iterable, body):
        self.line = line
        self.column = column
        self.target = target
        self.iterable = iterable
        self.body = body


class If(Node):
    __slots__ = fields = ("test", "body", "orelse")

    def __init__(self, line, column, test, body, orelse):
        self.line = line
        self.column = column
        self.test = test
        self.body = body
        self.orelse = orelse


class Pass(Node):
    __slots__ = fields = ()

    def __init__(self, line, column):
        self.line = line
        self.column = column


class Program(Node):
    __slots__ = fields = ("body",)

    def __init__(self, line, column, body):
        self.line = line
        self.column = column
        self.body = body
