"""AST -> Python closures, compiled once; running a program calls them.

Each expression becomes `fn(rt) -> value` and each statement `fn(rt) -> None`, where
`rt` is the Runtime (variables, output, warnings). Errors raised while an expression
runs are stamped with that expression's line and column, innermost first, which is the
position CPython 3.11 reports for the same failure.
"""

from __future__ import annotations

import operator
import re

from gradcli import api, diagnostics
from gradcli.attributes import get_attribute, set_attribute, type_name
from gradcli.errors import ProgramError, name_error, type_error, value_error
from gradcli.lang import ast as A
from gradcli.limits import check_format_spec, check_python_binop
from gradcli.naming import bind as bind_name
from gradcli.naming import expression_text, stamp_result
from gradcli.tensor import Tensor
from gradcli.torch.nn.module import Module, name_parameters

NOT_A_TENSOR = re.compile(
    r"^'(int|float|bool|str|list|tuple|NoneType|dict|range|Size|dtype|Namespace|"
    r"GradModeContext|ReturnTypes|function|partial|builtin_function_or_method)' object has no "
    r"attribute '(array|dtype|shape|ndim|grad_fn|requires_grad|version|base|grad)'"
)


def not_a_tensor(exc: AttributeError) -> ProgramError | None:
    """A Python value passed where PyTorch wants a tensor reaches tensor-only code as an
    AttributeError; the program gets PyTorch's kind of error, not an internal one."""
    match = NOT_A_TENSOR.match(str(exc))
    if match is None:
        return None
    return type_error(f"expected Tensor as argument, but got {match.group(1)}")


# Python exceptions that user-level operations on Python values raise legitimately.
USER_EXCEPTIONS = (TypeError, ValueError, ZeroDivisionError, IndexError, KeyError, OverflowError)

TENSOR_BINOPS = {
    "+": api.add,
    "-": api.sub,
    "*": api.mul,
    "/": api.div,
    "//": api.floor_divide,
    "%": api.remainder,
    "**": api.pow,
    "@": api.matmul,
    "&": api.bitwise_and,
    "|": api.bitwise_or,
}
REFLECTED = {
    "+": api.radd,
    "*": api.rmul,
    "-": api.rsub,
    "/": api.rdiv,
    "**": lambda exponent, base: api.pow(base, exponent),
}
PYTHON_BINOPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "@": operator.matmul,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
}
TENSOR_COMPARE = {
    "<": api.lt,
    "<=": api.le,
    ">": api.gt,
    ">=": api.ge,
    "==": api.eq,
    "!=": api.ne,
}
PYTHON_COMPARE = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "in": lambda a, b: contains(b, a),
    "not in": lambda a, b: not contains(b, a),
    "is": operator.is_,
    "is not": operator.is_not,
}
_MISSING = object()


def contains(container, item) -> bool:
    """`item in container`. A range answers an int in constant time but compares any other
    item with each of its numbers in a C loop no step budget or clock can stop
    (`1.5 in range(10**12)`), so that case is answered by arithmetic: equal to one of
    the range's numbers means integral and in the range."""
    if container.__class__ is not range or item.__class__ in (int, bool):
        return item in container
    if item.__class__ is Tensor:
        if not container:
            return False
        if item.numel() != 1:  # Python compares with the first number and bool() fails
            return bool(api.eq(item, container[0]))
        item = api.item(item)
        if item.__class__ in (int, bool):
            return item in container
    if item.__class__ is float:
        return item.is_integer() and int(item) in container
    return False  # str, None, lists...: never equal to an int


def as_program_error(exc: Exception) -> ProgramError:
    if isinstance(exc, ProgramError):
        return exc
    message = str(exc)
    if isinstance(exc, KeyError):
        message = repr(exc.args[0]) if exc.args else ""
    return ProgramError(type(exc).__name__, message)


LOCATED_ERRORS = (ProgramError, AttributeError, *USER_EXCEPTIONS)


def error_at(exc: Exception, line: int, column: int) -> ProgramError | None:
    """What the user sees for `exc` raised by the code at line:column; None when it is not
    the program's error but gradcli's own (an AttributeError no tensor explains)."""
    if isinstance(exc, AttributeError):
        converted = not_a_tensor(exc)
        return None if converted is None else converted.at(line, column)
    return as_program_error(exc).at(line, column)


def finish(rt, value, origin: list, node):
    """After an expression ran: its warnings are reported at its position, and the nodes
    it made get its position and text (`origin` keeps (line, column, text, bound name)
    once built, since text costs)."""
    if diagnostics.PENDING:
        rt.flush_warnings(node.line, node.column)
    if (value.__class__ is Tensor and value.grad_fn is not None
            and value.grad_fn.source is None) or value.__class__ is tuple:
        if not origin:
            origin.append((node.line, node.column, expression_text(node), None))
        stamp_result(value, origin[0])
    return value


def located(fn, node):
    """Stamp errors raised inside `fn` with the node's position; flush warnings there.
    A tensor it makes gets that position and the expression's text on its grad_fn."""
    line, column = node.line, node.column
    origin: list = []  # (line, column, text, bound name), built the first time it is needed

    def run(rt):
        try:
            value = fn(rt)
        except LOCATED_ERRORS as exc:
            error = error_at(exc, line, column)
            if error is None:
                raise
            raise error from None
        return finish(rt, value, origin, node)

    return run


def located_binary(op: str, left, right, node):
    """`located(lambda rt: binary_op(op, left(rt), right(rt)), node)` in one closure: a
    tensor with a tensor or a Python number goes straight to the torch function."""
    line, column = node.line, node.column
    origin: list = []
    tensor_fn = TENSOR_BINOPS.get(op)

    def run(rt):
        try:
            a = left(rt)
            b = right(rt)
            if (a.__class__ is Tensor and tensor_fn is not None
                    and (b.__class__ is Tensor or b.__class__ is float or b.__class__ is int)):
                value = tensor_fn(a, b)
            else:
                value = binary_op(op, a, b)
        except LOCATED_ERRORS as exc:
            error = error_at(exc, line, column)
            if error is None:
                raise
            raise error from None
        return finish(rt, value, origin, node)

    return run


def binary_op(op: str, a, b):
    if a.__class__ is Tensor or b.__class__ is Tensor:
        if op == "+" and isinstance(a, (str, list, tuple)):
            raise type_error(
                f'can only concatenate {type(a).__name__} (not "Tensor") to {type(a).__name__}'
            )
        fn = TENSOR_BINOPS.get(op)
        if fn is None:
            raise type_error(
                f"unsupported operand type(s) for {op}: '{type_name(a)}' and '{type_name(b)}'"
            )
        if a.__class__ is not Tensor and not isinstance(a, (bool, int, float)):
            raise type_error(
                f"unsupported operand type(s) for {op}: '{type_name(a)}' and 'Tensor'"
            )
        if b.__class__ is not Tensor and not isinstance(b, (bool, int, float)):
            raise type_error(
                f"unsupported operand type(s) for {op}: 'Tensor' and '{type_name(b)}'"
            )
        if a.__class__ is not Tensor:
            # Python tries the tensor's reflected operator: 2 - a is a.__rsub__(2).
            reflected = REFLECTED.get(op)
            if reflected is not None:
                return reflected(b, a)
        return fn(a, b)
    check_python_binop(op, a, b)
    return PYTHON_BINOPS[op](a, b)


def compare_op(op: str, a, b):
    if (a.__class__ is Tensor or b.__class__ is Tensor) and op in TENSOR_COMPARE:
        if a.__class__ is not Tensor:
            a, b = b, a
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if b is None or isinstance(b, (str, list, tuple)):
            if op in ("==", "!="):
                return op == "!="
            raise type_error(
                f"'{op}' not supported between instances of 'Tensor' and '{type_name(b)}'"
            )
        return TENSOR_COMPARE[op](a, b)
    return PYTHON_COMPARE[op](a, b)


def unary_op(op: str, value):
    if value.__class__ is Tensor:
        if op == "-":
            return api.neg(value)
        if op == "+":
            return api.positive(value)
        return api.invert(value)
    if op == "-":
        return -value
    if op == "+":
        return +value
    return ~value


class Compiler:
    def __init__(self, limits):
        self.limits = limits

    # ----- expressions -----
    def expr(self, node):
        return getattr(self, "expr_" + type(node).__name__)(node)

    def expr_Const(self, node):
        value = node.value
        return lambda rt: value

    def expr_Name(self, node):
        name = node.id
        line, column = node.line, node.column

        def load(rt):
            value = rt.vars.get(name, _MISSING)
            if value is _MISSING:
                value = rt.scope.get(name, _MISSING)
                if value is _MISSING:
                    raise name_error(f"name '{name}' is not defined").at(line, column)
            return value

        return load

    def expr_ListExpr(self, node):
        items = [self.expr(item) for item in node.items]
        return lambda rt: [item(rt) for item in items]

    def expr_TupleExpr(self, node):
        items = [self.expr(item) for item in node.items]
        return lambda rt: tuple([item(rt) for item in items])

    def expr_Attribute(self, node):
        value, attr = self.expr(node.value), node.attr
        return located(lambda rt: get_attribute(value(rt), attr), node)

    def expr_Subscript(self, node):
        value, index = self.expr(node.value), self.index(node.index)

        def subscript(rt):
            container, key = value(rt), index(rt)
            if container.__class__ is Tensor:
                return api.getitem(container, key)
            if isinstance(container, (list, tuple, str, range)) or container.__class__ is api.Size:
                if isinstance(key, Tensor):
                    key = api.item(key) if key.array.ndim == 0 else key
                if container.__class__ is api.Size and isinstance(key, slice):
                    return api.Size(container[key])
                return container[key]
            if isinstance(container, dict):
                return container[key]
            if hasattr(type(container), "_program_attributes_") and hasattr(
                    type(container), "__getitem__"):  # nn.Sequential, nn.ModuleList
                return container[key]
            raise type_error(f"'{type_name(container)}' object is not subscriptable")

        return located(subscript, node)

    def index(self, node):
        if isinstance(node, A.SliceExpr):
            parts = [self.expr(p) if p is not None else None
                     for p in (node.lower, node.upper, node.step)]

            def make_slice(rt):
                values = [p(rt) if p is not None else None for p in parts]
                values = [api.item(v) if isinstance(v, Tensor) else v for v in values]
                return slice(*values)

            return make_slice
        if isinstance(node, A.TupleExpr):
            items = [self.index(item) for item in node.items]
            return lambda rt: tuple([item(rt) for item in items])
        return self.expr(node)

    def expr_Call(self, node):
        func = self.expr(node.func)
        args = [self.expr(arg) for arg in node.args]
        kwargs = [(name, self.expr(value)) for name, value in node.kwargs]
        stars = [(position, self.expr(value)) for position, value in node.star]
        callee_name = (node.func.attr if isinstance(node.func, A.Attribute)
                       else getattr(node.func, "id", ""))

        def call(rt):
            fn = func(rt)
            values = [arg(rt) for arg in args]
            for position, star in reversed(stars):
                extra = star(rt)
                if isinstance(extra, Tensor):
                    extra = [api.getitem(extra, i) for i in range(len(extra))]
                values[position:position] = list(extra)
            named = {name: value(rt) for name, value in kwargs}
            if not callable(fn):
                raise type_error(f"'{type_name(fn)}' object is not callable")
            try:
                return fn(*values, **named)
            except TypeError as exc:
                if exc.__traceback__.tb_next is None:
                    # Raised while binding the arguments: the program called it wrongly.
                    raise type_error(_call_message(str(exc), callee_name)) from None
                raise

        return located(call, node)

    def expr_BinOp(self, node):
        return located_binary(node.op, self.expr(node.left), self.expr(node.right), node)

    def expr_UnaryOp(self, node):
        operand, op = self.expr(node.operand), node.op
        return located(lambda rt: unary_op(op, operand(rt)), node)

    def expr_Compare(self, node):
        left = self.expr(node.left)
        pairs = [(op, self.expr(c)) for op, c in zip(node.ops, node.comparators, strict=False)]

        def compare(rt):
            a = left(rt)
            result = True
            for i, (op, right) in enumerate(pairs):
                b = right(rt)
                result = compare_op(op, a, b)
                if i + 1 < len(pairs) and not result:
                    return result
                a = b
            return result

        return located(compare, node)

    def expr_BoolOp(self, node):
        values = [self.expr(v) for v in node.values]
        is_and = node.op == "and"

        def boolop(rt):
            result = None
            for value in values:
                result = value(rt)
                if bool(result) != is_and:
                    return result
            return result

        return located(boolop, node)

    def expr_Not(self, node):
        operand = self.expr(node.operand)
        return located(lambda rt: not operand(rt), node)

    def expr_IfExp(self, node):
        test, body, orelse = self.expr(node.test), self.expr(node.body), self.expr(node.orelse)
        return located(lambda rt: body(rt) if test(rt) else orelse(rt), node)

    def expr_ListComp(self, node):
        element = self.expr(node.element)
        assign = self.target(node.target)
        iterable = self.expr(node.iterable)
        conditions = [self.expr(c) for c in node.conditions]

        def listcomp(rt):
            out = []
            for item in rt.iterate(iterable(rt)):
                assign(rt, item)
                if all(c(rt) for c in conditions):
                    out.append(element(rt))
            return out

        return located(listcomp, node)

    def expr_FString(self, node):
        pieces = [self.fstring_piece(p) for p in node.parts]
        return located(lambda rt: "".join([piece(rt) for piece in pieces]), node)

    def fstring_piece(self, piece):
        if isinstance(piece, str):
            return lambda rt: piece
        value = self.expr(piece.value)
        conversion, echo = piece.conversion, piece.echo
        spec_pieces = [self.fstring_piece(p) for p in piece.spec] if piece.spec else None
        if echo is not None and conversion is None and spec_pieces is None:
            conversion = "r"

        def format_value(rt):
            v = value(rt)
            if conversion == "r":
                v = repr(v)
            elif conversion == "s":
                v = str(v)
            elif conversion == "a":
                v = ascii(v)
            spec = "".join([p(rt) for p in spec_pieces]) if spec_pieces else ""
            check_format_spec(spec)
            text = format(v, spec)
            return echo + text if echo is not None else text

        return located(format_value, piece)

    # ----- assignment targets: fn(rt, value) -----
    def target(self, node):
        if isinstance(node, A.Name):
            name = node.id
            line, column = node.line, node.column

            renamed: dict = {}  # expression origin -> the same origin with this name

            def bind(rt, value):
                rt.vars[name] = value
                if value.__class__ is Tensor:
                    grad_fn = value.grad_fn
                    if grad_fn is not None:
                        source = grad_fn.source
                        if source is not None and source[3] is None:
                            # naming.bind's renaming, sharing one tuple per origin.
                            named = renamed.get(source)
                            if named is None:
                                named = renamed[source] = (source[0], source[1], source[2], name)
                            grad_fn.source = named
                            return
                    bind_name(value, name, line, column)
                elif isinstance(value, Module):
                    name_parameters(value, name)

            return bind
        if isinstance(node, (A.TupleExpr, A.ListExpr)):
            targets = [self.target(t) for t in node.items]
            count = len(targets)

            def unpack(rt, value):
                if isinstance(value, (int, float, bool)) or value is None:
                    raise type_error(
                        f"cannot unpack non-iterable {type(value).__name__} object"
                    ).at(node.line, node.column)
                items = list(rt.iterate(value))
                if len(items) != count:
                    if len(items) < count:
                        raise value_error(
                            f"not enough values to unpack (expected {count}, got {len(items)})"
                        ).at(node.line, node.column)
                    raise value_error(
                        f"too many values to unpack (expected {count})"
                    ).at(node.line, node.column)
                for t, item in zip(targets, items, strict=False):
                    t(rt, item)

            return unpack
        if isinstance(node, A.Attribute):
            obj, attr = self.expr(node.value), node.attr
            return located2(lambda rt, value: set_attribute(obj(rt), attr, value), node)
        if isinstance(node, A.Subscript):
            obj, index = self.expr(node.value), self.index(node.index)

            def store(rt, value):
                container, key = obj(rt), index(rt)
                if container.__class__ is Tensor:
                    api.setitem(container, key, value)
                elif isinstance(container, (list, dict)):
                    container[key] = value
                else:
                    raise type_error(
                        f"'{type_name(container)}' object does not support item assignment"
                    )

            return located2(store, node)
        raise AssertionError(f"not a target: {node}")

    # ----- statements -----
    def block(self, statements):
        compiled = [self.stmt(s) for s in statements]

        def run(rt):
            for statement in compiled:
                statement(rt)

        return run

    def stmt(self, node):
        run = getattr(self, "stmt_" + type(node).__name__)(node)
        line = node.line

        def statement(rt):
            rt.line = line
            run(rt)

        return statement

    def stmt_ExprStmt(self, node):
        value = self.expr(node.value)

        def expression_statement(rt):
            value(rt)

        return expression_statement

    def stmt_Pass(self, node):
        return lambda rt: None

    def stmt_Assign(self, node):
        value = self.expr(node.value)
        targets = [self.target(t) for t in node.targets]
        if len(targets) == 1:
            target = targets[0]
            return lambda rt: target(rt, value(rt))

        def assign(rt):
            v = value(rt)
            for target in targets:
                target(rt, v)

        return assign

    def stmt_AugAssign(self, node):
        current = self.expr(node.target)
        value = self.expr(node.value)
        store = self.target(node.target)
        op = node.op

        def augassign(rt):
            old = current(rt)
            new = value(rt)
            if old.__class__ is Tensor:
                # Python's `t += x` on a tensor is PyTorch's in-place add_.
                result = api.inplace(old, lambda s, o: binary_op(op, s, o), new)
            else:
                result = binary_op(op, old, new)
            store(rt, result)

        return located(augassign, node)

    def stmt_Import(self, node):
        bindings = node.bindings

        def do_import(rt):
            for bound, module, _ in bindings:
                rt.do_import(bound, module, node)

        return do_import

    def stmt_With(self, node):
        items = [(self.expr(e), name) for e, name in node.items]
        body = self.block(node.body)

        def with_(rt):
            managers = []
            try:
                for expr, name in items:
                    manager = expr(rt)
                    if not hasattr(manager, "__enter__") or manager.__class__ in (list, tuple, str):
                        raise ProgramError(
                            "TypeError",
                            f"'{type_name(manager)}' object does not support the context "
                            "manager protocol",
                        ).at(node.line, node.column)
                    entered = manager.__enter__()
                    managers.append(manager)
                    if name is not None:
                        rt.vars[name] = entered
                body(rt)
            finally:
                for manager in reversed(managers):
                    manager.__exit__(None, None, None)

        return with_

    def stmt_For(self, node):
        iterable = self.expr(node.iterable)
        assign = self.target(node.target)
        body = self.block(node.body)

        def for_(rt):
            for item in rt.iterate(iterable(rt), counted=True):
                assign(rt, item)
                body(rt)

        return for_

    def stmt_If(self, node):
        test, body = self.expr(node.test), self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None
        line, column = node.test.line, node.test.column

        def if_(rt):
            try:
                condition = bool(test(rt))
            except ProgramError as exc:
                raise exc.at(line, column) from None
            if condition:
                body(rt)
            elif orelse is not None:
                orelse(rt)

        return if_


def located2(fn, node):
    line, column = node.line, node.column

    def run(rt, value):
        try:
            fn(rt, value)
        except LOCATED_ERRORS as exc:
            error = error_at(exc, line, column)
            if error is None:
                raise
            raise error from None
        if diagnostics.PENDING:
            rt.flush_warnings(line, column)

    return run


PYTHON_FUNCTION_NAMES = {"len", "range", "float", "int", "round", "bool", "str", "repr", "list",
                         "tuple", "enumerate", "zip", "print"}


def _call_message(message: str, name: str) -> str:
    # Python names our internal wrappers; show the name the program used instead.
    if "()" in message and name:
        message = name + "()" + message.split("()", 1)[1]
    if name not in PYTHON_FUNCTION_NAMES:
        # PyTorch's argument parser words a missing argument its own way.
        match = re.match(r"(\w+\(\)) missing (\d+) required positional arguments?: (.*)", message)
        if match:
            names = ", ".join(f'"{n}"' for n in re.findall(r"'(\w+)'", match.group(3)))
            return (f"{match.group(1)} missing {match.group(2)} required positional arguments: "
                    f"{names}")
    return message
