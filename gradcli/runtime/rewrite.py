"""The checked tree: CPython's syntax tree of a program, refused where SPEC §1.6 leaves a
construct out, and rewritten so that everything that could reach past the program goes
through gradcli's guards (SPEC §1.9). The result is compiled with `compile()` from the
tree (never from text) and run with the guards as its builtins.

What the rewrite changes, and why:
- `obj.name` reads, writes and deletes call the attribute guard (`_gx_ga`, `_gx_gas`,
  `_gx_sa`, `_gx_da`): an allow-list per type decides what a program may reach.
- `import m` / `from m import n` become calls that hand out gradcli's own namespaces.
- every loop body, every function body and every comprehension step calls `_gx_step`:
  loop iterations and function calls count against `--max-steps`.
- calls, arithmetic, subscripts and attribute reads that may make a tensor report the
  expression's position (`_gx_s`, the binary-operator guards): a node of the graph learns
  which text made it, and pending warnings get their line.
- a value assigned to a plain name is announced (`_gx_bind`): a tensor learns its name.
- a name the program cannot have (`__builtins__`, the reserved `_gx_` prefix) is refused.

Every generated node carries the position of the node it replaces, so an error raised in a
guard is reported where CPython would report it.
"""

from __future__ import annotations

import ast
import copy
import warnings

from gradcli.base.errors import GradcliSyntaxError
from gradcli.base.wording import input_line
from gradcli.sandbox.policy import FAST_METHODS

# Method names some of Python's own classes offer a program (policy.FAST_METHODS).
FAST_METHOD_NAMES = frozenset().union(*FAST_METHODS.values())

RESERVED_PREFIX = "_gx_"
# Reserved names an input may contain because gradcli put them there (the repl's echo).
HARMLESS_RESERVED = frozenset({"_gx_echo"})
PROGRAM_FILENAME = "<gradcli program>"

# Dunder names a program may read as plain names outside class bodies.
READABLE_DUNDER_NAMES = frozenset({"__name__", "__doc__"})

# What SPEC §1.6 leaves out, by node type: the keyword CPython would point at.
UNSUPPORTED = {
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Await: "await",
    ast.AsyncFunctionDef: "async",
    ast.AsyncFor: "async",
    ast.AsyncWith: "async",
    ast.Match: "match",
}

BINARY_GUARDS = {
    ast.Add: "_gx_add", ast.Sub: "_gx_sub", ast.Mult: "_gx_mul", ast.Div: "_gx_truediv",
    ast.FloorDiv: "_gx_floordiv", ast.Mod: "_gx_mod", ast.Pow: "_gx_pow",
    ast.MatMult: "_gx_matmul", ast.LShift: "_gx_lshift", ast.RShift: "_gx_rshift",
    ast.BitAnd: "_gx_and", ast.BitOr: "_gx_or", ast.BitXor: "_gx_xor",
}
INPLACE_GUARDS = {op: "_gx_i" + name[len("_gx_"):] for op, name in BINARY_GUARDS.items()}
UNARY_GUARDS = {ast.USub: "_gx_neg", ast.UAdd: "_gx_pos", ast.Invert: "_gx_invert"}


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


class Site:
    """Where an expression is in the program: CPython's (line, column) in characters,
    1-based, its end, and its text (built on first use)."""

    __slots__ = ("line", "column", "end_line", "end_column", "_node", "_lines", "_text",
                 "origin", "function", "loops")

    def __init__(self, node, lines, function, loops=()):
        self.line = node.lineno
        self.end_line = node.end_lineno
        self._node = node
        self._lines = lines
        self.column = char_column(lines, node.lineno, node.col_offset) + 1
        self.end_column = char_column(lines, node.end_lineno, node.end_col_offset) + 1
        self._text = None
        self.origin = None  # (line, column, text, None): what a node's `source` holds
        self.function = function  # the enclosing def's name, or None at module level
        # The loops of the same function around it, outermost first: (target names, counter
        # variable or None) each, for the iteration a node made here shows (`i=3`).
        self.loops = loops

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = segment_text(self._lines, self.line, self.column - 1,
                                      self.end_line, self.end_column - 1)
        return self._text

    def stamp(self):
        origin = self.origin
        if origin is None:
            origin = self.origin = (self.line, self.column, self.text, None)
        return origin


def char_column(lines, line: int, byte_offset: int) -> int:
    """CPython's columns count UTF-8 bytes; gradcli's count characters."""
    if line is None or not 0 < line <= len(lines):
        return byte_offset or 0
    text = lines[line - 1]
    if text.isascii():
        return byte_offset
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))


def segment_text(lines, line, column, end_line, end_column) -> str:
    if line == end_line:
        return lines[line - 1][column:end_column]
    pieces = [lines[line - 1][column:]] + lines[line:end_line - 1]
    pieces.append(lines[end_line - 1][:end_column])
    return " ".join(p.strip() for p in pieces if p.strip())


class Program:
    """A checked, rewritten and compiled program (or one input of a session)."""

    __slots__ = ("code", "sites", "function_names", "tree")

    def __init__(self, code, sites, function_names, tree):
        self.code, self.sites, self.function_names, self.tree = (
            code, sites, function_names, tree)


def _syntax_error(message: str, node, lines) -> GradcliSyntaxError:
    column = char_column(lines, node.lineno, node.col_offset) + 1
    return GradcliSyntaxError(message, node.lineno, column)


def _loc(new, old):
    try:  # every node the rewriter copies a position from is a located one
        new.lineno = line = old.lineno
        new.col_offset = column = old.col_offset
    except AttributeError:
        ast.copy_location(new, old)
        line, column = getattr(new, "lineno", 1), getattr(new, "col_offset", 0)
    new.end_lineno = getattr(old, "end_lineno", line)
    new.end_col_offset = getattr(old, "end_col_offset", column)
    return new


def _name(id_: str, node, ctx=None):
    return _loc(ast.Name(id=id_, ctx=ctx or ast.Load()), node)


def _call(func: str, args, node):
    return _loc(ast.Call(func=_name(func, node), args=list(args), keywords=[]), node)


def _const(value, node):
    return _loc(ast.Constant(value=value), node)


def _class_of(obj, node):
    return _loc(ast.Attribute(value=obj, attr="__class__", ctx=ast.Load()), node)


def _expr_stmt(value, node):
    return _loc(ast.Expr(value=value), node)


class Rewriter(ast.NodeTransformer):
    def __init__(self, lines, sites: list, first_site: int = 0):
        self.lines = lines
        self.sites = sites
        self.first_site = first_site
        self.scopes: list[str] = ["module"]  # "module", "function", "class"
        self.functions: list[str] = []
        self.function_names: set[str] = set()
        self.temp = 0
        self.loops: list[tuple] = []  # the loops around the current statement, this scope
        # Builtins that never return a tensor, and that the program does not rebind: their
        # calls need no stamp (rewrite() narrows it).
        self.plain_builtins: frozenset = frozenset()
        self.input_number = None  # a session's input: its sites' lines say `input [3]`

    # ----- bookkeeping -----
    def site(self, node) -> int:
        site = Site(node, self.lines, self.functions[-1] if self.functions else None,
                    tuple(self.loops))
        if self.input_number is not None:
            site.line = input_line(site.line, self.input_number)
        self.sites.append(site)
        return self.first_site + len(self.sites) - 1

    def temp_name(self) -> str:
        self.temp += 1
        return f"{RESERVED_PREFIX}t{self.temp}"

    def check_identifier(self, name: str, node) -> None:
        if name.startswith(RESERVED_PREFIX) and name not in HARMLESS_RESERVED:
            raise _syntax_error(
                f"names starting with '{RESERVED_PREFIX}' are reserved by gradcli", node,
                self.lines)

    def generic_visit(self, node):
        kind = UNSUPPORTED.get(type(node))
        if kind is not None:
            raise _syntax_error(f"'{kind}' is not supported by gradcli", node, self.lines)
        return super().generic_visit(node)

    # ----- scopes -----
    def visit_Module(self, node):
        node.body = self.block(node.body)
        return node

    def visit_Interactive(self, node):
        node.body = self.block(node.body)
        return node

    def block(self, statements):
        out = []
        for statement in statements:
            result = self.visit(statement)
            if result is None:
                continue
            if isinstance(result, list):
                out.extend(result)
            else:
                out.append(result)
        return out

    def function(self, node, name: str, args):
        self.check_arguments(args)
        self.functions.append(name)
        self.scopes.append("function")
        outer_loops, self.loops = self.loops, []
        try:
            if isinstance(node, ast.Lambda):
                node.body = ast.BoolOp(op=ast.Or(), values=[
                    _call("_gx_step", [], node.body), self.visit(node.body)])
                _loc(node.body, node)
            else:
                body = self.block(node.body)
                docstring = body[:1] if body and isinstance(body[0], ast.Expr) and isinstance(
                    body[0].value, ast.Constant) and isinstance(body[0].value.value, str) else []
                node.body = docstring + [_expr_stmt(_call("_gx_step", [], node), node)] + body[
                    len(docstring):]
        finally:
            self.loops = outer_loops
            self.scopes.pop()
            self.functions.pop()

    def check_arguments(self, args) -> None:
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg,
                    args.kwarg):
            if arg is not None:
                self.check_identifier(arg.arg, arg)
                if arg.annotation is not None:
                    arg.annotation = self.visit(arg.annotation)
        args.defaults = [self.visit(d) for d in args.defaults]
        args.kw_defaults = [self.visit(d) if d is not None else None for d in args.kw_defaults]

    def visit_FunctionDef(self, node):
        self.check_identifier(node.name, node)
        if node.name == "__class__" and self.scopes[-1] == "class":
            raise _syntax_error("gradcli does not let a class define '__class__'", node,
                                self.lines)
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        if node.returns is not None:
            node.returns = self.visit(node.returns)
        self.function_names.add(node.name)
        self.function(node, node.name, node.args)
        return node

    def visit_Lambda(self, node):
        self.function(node, "<lambda>", node.args)
        return node

    def visit_ClassDef(self, node):
        self.check_identifier(node.name, node)
        node.bases = [self.visit(b) for b in node.bases]
        node.keywords = [self.visit(k) for k in node.keywords]
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        self.scopes.append("class")
        outer_loops, self.loops = self.loops, []
        try:
            node.body = self.block(node.body)
        finally:
            self.loops = outer_loops
            self.scopes.pop()
        return node

    def visit_Global(self, node):
        for name in node.names:
            self.check_identifier(name, node)
        return node

    visit_Nonlocal = visit_Global

    # ----- names -----
    def visit_Name(self, node):
        self.check_identifier(node.id, node)
        if node.id == "__class__" and self.scopes[-1] == "class" and not isinstance(
                node.ctx, ast.Load):
            raise _syntax_error("gradcli does not let a class define '__class__'", node,
                                self.lines)
        if is_dunder(node.id) and self.scopes[-1] != "class":
            if isinstance(node.ctx, ast.Load):
                if node.id not in READABLE_DUNDER_NAMES:
                    return _call("_gx_no_name", [_const(node.id, node)], node)
            elif node.id == "__builtins__":
                raise _syntax_error("gradcli does not let a program assign '__builtins__'",
                                    node, self.lines)
        return node

    def announce(self, names, node):
        """`_gx_bind(value, 'name', site, at_module_level)` after a binding statement."""
        module_level = len(self.scopes) == 1
        out = []
        for name in names:
            if is_dunder(name) or name.startswith(RESERVED_PREFIX):
                continue
            bind = _expr_stmt(_call("_gx_bind", [
                _name(name, node), _const(name, node), _const(self.site(node), node),
                _const(module_level, node)], node), node)
            # Only a tensor is named: test its class inline, a call costs more than the test.
            test = _loc(ast.Compare(
                left=_class_of(_name(name, node), node), ops=[ast.Is()],
                comparators=[_name("_gx_Tensor", node)]), node)
            if module_level:  # a model bound at the top names its parameters by path
                test = _loc(ast.BoolOp(op=ast.Or(), values=[test, _call(
                    "_gx_is_module", [_name(name, node)], node)]), node)
            out.append(_loc(ast.If(test=test, body=[bind], orelse=[]), node))
        return out

    @staticmethod
    def target_names(target) -> list[str]:
        if isinstance(target, ast.Name):
            return [target.id]
        if isinstance(target, (ast.Tuple, ast.List)):
            return [n for item in target.elts for n in Rewriter.target_names(item)]
        if isinstance(target, ast.Starred):
            return Rewriter.target_names(target.value)
        return []

    # ----- attribute access -----
    def visit_Attribute(self, node):
        self.check_identifier(node.attr, node)
        obj = self.visit(node.value)
        if isinstance(node.ctx, ast.Load):
            if is_dunder(node.attr):
                return _call("_gx_gad", [obj, _const(node.attr, node)], node)
            guarded = _call("_gx_gas", [obj, _const(node.attr, node),
                                        _const(self.site(node), node)], node)
            return self.fast_attribute(node, obj, guarded)
        raise AssertionError("attribute targets are rewritten by their statements")

    def method(self, node):
        """`obj.name` as the callee of a call: guarded, stamped by the call. A method of
        Python's own values (`seen.add`, `out.append`) is read natively when the value's
        class allows it (`_gx_m_add`: the classes whose allow-list has `add`), as the
        guard would."""
        self.check_identifier(node.attr, node)
        obj = self.visit(node.value)
        guard = "_gx_gad" if is_dunder(node.attr) else "_gx_ga"
        guarded = _call(guard, [obj, _const(node.attr, node)], node)
        return self.fast_attribute(node, obj, guarded, node.attr in FAST_METHOD_NAMES)

    @staticmethod
    def is_pure_test(obj, node):
        # `obj.__class__` is the real class: no program class may define `__class__`.
        return _loc(ast.Compare(left=_class_of(obj, node), ops=[ast.In()],
                                comparators=[_name("_gx_PURE", node)]), node)

    def fast_attribute(self, node, obj, guarded, python_method: bool = False):
        """`self.data` where `self` is a plain name: read it natively when its class is one
        of the program's own pure classes (any non-dunder name is the program's), else
        through the guard. A name can be read twice without side effects."""
        if not isinstance(obj, ast.Name) or is_dunder(node.attr):
            return guarded
        native = _loc(ast.Attribute(value=_name(obj.id, node), attr=node.attr,
                                    ctx=ast.Load()), node)
        test = self.is_pure_test(_name(obj.id, node), node)
        if python_method:
            allowed = _loc(ast.Compare(
                left=_class_of(_name(obj.id, node), node), ops=[ast.In()],
                comparators=[_name(f"{RESERVED_PREFIX}m_{node.attr}", node)]), node)
            test = _loc(ast.BoolOp(op=ast.Or(), values=[test, allowed]), node)
        return _loc(ast.IfExp(test=test,
                              body=native, orelse=guarded), node)

    def visit_Expr(self, node):
        """A call whose value the statement drops needs no stamp (its nodes, if any, hold
        no name): except `t.op_(...)`, which writes a node into `t`'s history."""
        value = node.value
        if isinstance(value, ast.Call) and not (
                isinstance(value.func, ast.Attribute) and value.func.attr.endswith("_")):
            node.value = self.visit_Call(value, stamped=False)
            return node
        node.value = self.visit(value)
        return node

    def visit_Call(self, node, stamped: bool = True):
        if isinstance(node.func, ast.Attribute):
            node.func = self.method(node.func)
        else:
            node.func = self.visit(node.func)
        node.args = [self.visit(a) for a in node.args]
        node.keywords = [self.visit(k) for k in node.keywords]
        for keyword in node.keywords:
            if keyword.arg is not None:
                self.check_identifier(keyword.arg, keyword)
        if not stamped or (isinstance(node.func, ast.Name)
                           and node.func.id in self.plain_builtins):
            return node  # no tensor to name: `len(xs)`, `isinstance(v, Value)`
        return _call("_gx_s", [node, _const(self.site(node), node)], node)

    def visit_Compare(self, node):
        """`x in range(10**12)` compares in a C loop no budget can stop: a single `in` or
        `not in` goes through a guard that answers ranges by arithmetic."""
        node.left = self.visit(node.left)
        node.comparators = [self.visit(c) for c in node.comparators]
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            guard = "_gx_in" if isinstance(node.ops[0], ast.In) else "_gx_not_in"
            return _call(guard, [node.left, node.comparators[0]], node)
        return node

    def visit_FormattedValue(self, node):
        """`f"{x:{width}}"`: a spec is checked before Python pads to its width (a
        gigabyte string from `f"{1:999999999}"`), by formatting through a guard."""
        value = self.visit(node.value)
        if node.format_spec is None:
            node.value = value
            return node
        spec = self.visit(node.format_spec)
        formatted = _call("_gx_format", [value, _const(node.conversion, node), spec], node)
        return _loc(ast.FormattedValue(value=formatted, conversion=-1, format_spec=None),
                    node)

    def visit_BinOp(self, node):
        guard = BINARY_GUARDS[type(node.op)]
        return _call(guard, [self.visit(node.left), self.visit(node.right),
                             _const(self.site(node), node)], node)

    def visit_UnaryOp(self, node):
        guard = UNARY_GUARDS.get(type(node.op))
        operand = self.visit(node.operand)
        if guard is None:  # `not`
            node.operand = operand
            return node
        return _call(guard, [operand, _const(self.site(node), node)], node)

    def visit_Subscript(self, node):
        node.value = self.visit(node.value)
        node.slice = self.visit(node.slice)
        if isinstance(node.ctx, ast.Load):
            return _call("_gx_s", [node, _const(self.site(node), node)], node)
        return node

    # ----- loops and comprehensions -----
    def loop_body(self, node, names, counter):
        self.loops.append((tuple(n for n in names if not n.startswith(RESERVED_PREFIX)),
                           counter))
        try:
            body = self.block(node.body)
        finally:
            self.loops.pop()
        node.body = ([_expr_stmt(_call("_gx_step", [], node), node)]
                     + self.announce(names, node) + body)
        node.orelse = self.block(node.orelse)

    def iteration_counter(self, node, counted: bool):
        """A loop whose target is not a counter of its own (`for row in m`, `while`) counts
        its iterations in a reserved variable, for the `iteration 3` a node made inside
        shows: `_gx_nK = 0` before the loop, `_gx_nK += 1` first in its body. Class bodies
        get none (the variable would be a class attribute)."""
        if counted or self.scopes[-1] == "class":
            return None, []
        self.temp += 1
        counter = f"{RESERVED_PREFIX}n{self.temp}"
        start = _loc(ast.Assign(targets=[_name(counter, node, ast.Store())],
                                value=_const(0, node)), node)
        return counter, [start]

    @staticmethod
    def count_increment(counter, node):
        return _loc(ast.AugAssign(target=_name(counter, node, ast.Store()), op=ast.Add(),
                                  value=_const(1, node)), node)

    def visit_For(self, node):
        node.iter = self.visit(node.iter)
        setters = []
        node.target = self.store_target(node.target, setters)
        counts = (isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name)
                  and node.iter.func.id in ("range", "enumerate"))
        counter, before = self.iteration_counter(node, counts)
        self.loop_body(node, self.target_names(node.target), counter)
        node.body[1:1] = setters
        if counter is not None:
            node.body.insert(1, self.count_increment(counter, node))
        return [*before, node]

    def visit_While(self, node):
        node.test = self.visit(node.test)
        counter, before = self.iteration_counter(node, False)
        self.loop_body(node, [], counter)
        if counter is not None:
            node.body.insert(1, self.count_increment(counter, node))
        return [*before, node]

    def visit_comprehension(self, node):
        node.iter = self.visit(node.iter)
        if any(isinstance(t, ast.Attribute) for t in ast.walk(node.target)):
            raise _syntax_error("gradcli does not support an attribute as a comprehension "
                                "target", node.target, self.lines)
        node.target = self.visit(node.target)
        node.ifs = [_call("_gx_step_true", [], node.target)] + [self.visit(i)
                                                                for i in node.ifs]
        return node

    # ----- assignments -----
    def store_target(self, target, setters):
        """A target with attribute parts becomes temporary names, each followed by
        `_gx_sa(obj, 'name', temp)` in `setters` (Python evaluates `obj` after the value,
        as this does)."""
        if isinstance(target, ast.Attribute):
            self.check_identifier(target.attr, target)
            temp = self.temp_name()
            obj = self.visit(target.value)
            guarded = _expr_stmt(_call("_gx_sa", [obj, _const(target.attr, target),
                                                  _name(temp, target)], target), target)
            if isinstance(obj, ast.Name) and not is_dunder(target.attr):
                native = _loc(ast.Assign(targets=[_loc(ast.Attribute(
                    value=_name(obj.id, target), attr=target.attr, ctx=ast.Store()), target)],
                    value=_name(temp, target)), target)
                guarded = _loc(ast.If(test=self.is_pure_test(_name(obj.id, target), target),
                                      body=[native], orelse=[guarded]), target)
            setters.append(guarded)
            if self.scopes[-1] == "class":
                setters.append(_loc(ast.Delete(targets=[_name(temp, target, ast.Del())]),
                                    target))
            return _name(temp, target, ast.Store())
        if isinstance(target, (ast.Tuple, ast.List)):
            target.elts = [self.store_target(t, setters) for t in target.elts]
            return target
        if isinstance(target, ast.Starred):
            target.value = self.store_target(target.value, setters)
            return target
        return self.visit(target)

    def visit_Assign(self, node):
        node.value = self.visit(node.value)
        setters: list = []
        node.targets = [self.store_target(t, setters) for t in node.targets]
        names = [n for t in node.targets for n in self.target_names(t)
                 if not n.startswith(RESERVED_PREFIX)]
        return [node, *setters, *self.announce(names, node)]

    def visit_AnnAssign(self, node):
        if node.value is None:
            node.annotation = self.visit(node.annotation)
            if isinstance(node.target, ast.Attribute):
                node.target.value = self.visit(node.target.value)
                return _expr_stmt(node.target.value, node)
            return node
        assign = _loc(ast.Assign(targets=[node.target], value=node.value), node)
        return self.visit_Assign(assign)

    def inplace(self, node, current, value):
        """`current op= value` as a guarded call: `_gx_iadd(current, value, site)`. The
        guard calls Python's in-place operator (a tensor's `+=` stays PyTorch's add_), with
        the size checks and the stamping of every other operator."""
        guard = INPLACE_GUARDS[type(node.op)]
        return _call(guard, [current, value, _const(self.site(node), node)], node)

    def visit_AugAssign(self, node):
        target = node.target
        if isinstance(node.value, ast.Starred):
            # CPython's compiler refuses it; the rewritten guard call would take `*a` as an
            # argument list
            raise _syntax_error("can't use starred expression here", node.value, self.lines)
        # `obj.attr op= value` compiles value twice (native and guarded branches): keep an
        # unvisited copy for the second.
        original_value = copy.deepcopy(node.value) if isinstance(target, ast.Attribute) else None
        value = self.visit(node.value)
        if isinstance(target, ast.Name):
            self.check_identifier(target.id, target)
            assign = _loc(ast.Assign(targets=[_name(target.id, target, ast.Store())],
                                     value=self.inplace(node, _name(target.id, target),
                                                        value)), node)
            return [assign, *self.announce([target.id], node)]
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and not (
                is_dunder(target.attr)):
            self.check_identifier(target.attr, target)
            owner = self.visit(target.value)

            def attribute(ctx):
                return _loc(ast.Attribute(value=_name(owner.id, target), attr=target.attr,
                                          ctx=ctx), target)

            native = _loc(ast.Assign(targets=[attribute(ast.Store())],
                                     value=self.inplace(node, attribute(ast.Load()), value)),
                          node)
            slow = self.augmented_attribute(node, target, self.visit(original_value))
            return _loc(ast.If(test=self.is_pure_test(_name(owner.id, target), target),
                               body=[native], orelse=slow), node)
        if isinstance(target, ast.Attribute):
            self.check_identifier(target.attr, target)
            return self.augmented_attribute(node, target, value)
        # `obj[index] op= value`: obj and index once each, as Python evaluates them.
        obj, index = self.temp_name(), self.temp_name()
        out = [
            _loc(ast.Assign(targets=[_name(obj, node, ast.Store())],
                            value=self.visit(target.value)), node),
            _loc(ast.Assign(targets=[_name(index, node, ast.Store())],
                            value=self.index_value(self.visit(target.slice))), node),
        ]
        load = _loc(ast.Subscript(value=_name(obj, node), slice=_name(index, node),
                                  ctx=ast.Load()), target)
        store = _loc(ast.Subscript(value=_name(obj, node), slice=_name(index, node),
                                   ctx=ast.Store()), target)
        out.append(_loc(ast.Assign(targets=[store], value=self.inplace(node, load, value)),
                        node))
        if self.scopes[-1] != "function":
            out.append(_loc(ast.Delete(targets=[_name(obj, node, ast.Del()),
                                                _name(index, node, ast.Del())]), node))
        return out

    def index_value(self, index):
        """A subscript's index as a value (`a:b` becomes `slice(a, b)`)."""
        if isinstance(index, ast.Slice):
            parts = [p if p is not None else _const(None, index)
                     for p in (index.lower, index.upper, index.step)]
            return _call("_gx_slice", parts, index)
        if isinstance(index, ast.Tuple):
            return _loc(ast.Tuple(elts=[self.index_value(e) for e in index.elts],
                                  ctx=ast.Load()), index)
        return index

    def augmented_attribute(self, node, target, value):
        obj, temp = self.temp_name(), self.temp_name()
        return [
            _loc(ast.Assign(targets=[_name(obj, node, ast.Store())],
                            value=self.visit(target.value)), node),
            _loc(ast.Assign(targets=[_name(temp, node, ast.Store())],
                            value=_call("_gx_gad" if is_dunder(target.attr) else "_gx_ga",
                                        [_name(obj, node), _const(target.attr, node)],
                                        target)),
                 node),
            _loc(ast.Assign(targets=[_name(temp, node, ast.Store())],
                            value=self.inplace(node, _name(temp, node), value)), node),
            _expr_stmt(_call("_gx_sa", [_name(obj, node), _const(target.attr, node),
                                        _name(temp, node)], node), node),
            _loc(ast.Delete(targets=[_name(obj, node, ast.Del()),
                                     _name(temp, node, ast.Del())]), node),
        ]

    def visit_Delete(self, node):
        out = []
        plain = []
        for target in node.targets:
            if isinstance(target, ast.Attribute):
                if plain:
                    out.append(_loc(ast.Delete(targets=plain), node))
                    plain = []
                out.append(_expr_stmt(_call("_gx_da", [self.visit(target.value),
                                                       _const(target.attr, target)], target),
                                      target))
            else:
                plain.append(self.visit(target))
        if plain:
            out.append(_loc(ast.Delete(targets=plain), node))
        return out

    def visit_With(self, node):
        for item in node.items:
            item.context_expr = self.visit(item.context_expr)
            if item.optional_vars is not None:
                setters: list = []
                item.optional_vars = self.store_target(item.optional_vars, setters)
                if setters:
                    raise _syntax_error("gradcli does not support an attribute after 'as'",
                                        item.optional_vars, self.lines)
        node.body = self.block(node.body)
        return node

    def visit_ExceptHandler(self, node):
        if node.type is not None:
            node.type = self.visit(node.type)
        if node.name is not None:
            self.check_identifier(node.name, node)
        node.body = self.block(node.body)
        return node

    # ----- imports -----
    def visit_Import(self, node):
        out = []
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            self.check_identifier(bound, node)
            value = _call("_gx_import", [_const(alias.name, node),
                                         _const(alias.asname is not None, node),
                                         _const(self.site(node), node)], node)
            out.append(_loc(ast.Assign(targets=[_name(bound, node, ast.Store())],
                                       value=value), node))
        return out

    def visit_ImportFrom(self, node):
        module = "." * (node.level or 0) + (node.module or "")
        if node.names[0].name == "*":
            return _expr_stmt(_call("_gx_import_star", [_const(module, node),
                                                         _const(self.site(node), node)],
                                    node), node)
        out = []
        for alias in node.names:
            bound = alias.asname or alias.name
            self.check_identifier(bound, node)
            value = _call("_gx_import_from", [_const(module, node), _const(alias.name, node),
                                              _const(self.site(node), node)], node)
            out.append(_loc(ast.Assign(targets=[_name(bound, node, ast.Store())],
                                       value=value), node))
        return out


def parse_python(source: str, filename: str = PROGRAM_FILENAME, mode: str = "exec"):
    """CPython's parser: its syntax errors are CPython's, with its positions."""
    try:
        with warnings.catch_warnings():
            # CPython's compile-time warnings ("perhaps you missed a comma?", invalid
            # escapes) would go to gradcli's stderr; PyTorch's are the only ones shown.
            warnings.simplefilter("ignore")
            return ast.parse(source, filename=filename, mode=mode)
    except SyntaxError as exc:
        line = exc.lineno or 1
        lines = source.split("\n")
        offset = exc.offset or 1
        text = exc.text or ""
        # CPython's offset counts characters of exc.text (1-based).
        column = offset
        if text and 0 < line <= len(lines) and text.rstrip("\r\n") != lines[line - 1]:
            column = offset
        message = exc.msg
        type_name = type(exc).__name__
        raise GradcliSyntaxError(message, line, max(column, 1), type_name) from None
    except (MemoryError, RecursionError):
        # CPython's parser gives up on an expression nested past its stack (20,000 unary
        # minuses): Python itself stops there with a bare MemoryError.
        raise GradcliSyntaxError("the program is nested too deeply for Python's parser "
                                 "(too complex to parse)", 1, 1) from None
    except ValueError as exc:  # "source code string cannot contain null bytes"
        raise GradcliSyntaxError(str(exc), 1, 1) from None


# Builtins whose result is never a tensor nor a tuple of them: a call of one needs no stamp
# (stamping names the nodes of a result) unless the program binds the name itself.
PLAIN_BUILTINS = frozenset({
    "isinstance", "issubclass", "len", "set", "frozenset", "reversed", "range", "zip",
    "enumerate", "print", "str", "repr", "hasattr", "id", "callable", "iter", "dict", "list",
    "bool", "int", "float", "chr", "ord", "hash", "sorted", "any", "all", "format", "type",
})


def bound_names(tree) -> frozenset:
    """Every name the program binds anywhere (assignments, parameters, defs, imports,
    `except ... as`); everything, as far as the check goes, after `from m import *`."""
    names = set()
    for node in ast.walk(tree):
        kind = node.__class__
        if kind is ast.Name:
            if node.ctx.__class__ is not ast.Load:
                names.add(node.id)
        elif kind is ast.arg:
            names.add(node.arg)
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            names.add(node.name)
        elif kind is ast.alias:
            if node.name == "*":
                return PLAIN_BUILTINS
            names.add((node.asname or node.name).partition(".")[0])
        elif kind is ast.ExceptHandler and node.name:
            names.add(node.name)
    return frozenset(names)


def rewrite(tree, source: str, sites: list, first_site: int = 0,
            input_number: int | None = None) -> Program:
    lines = source.split("\n")
    rewriter = Rewriter(lines, sites, first_site)
    rewriter.input_number = input_number
    rewriter.plain_builtins = PLAIN_BUILTINS - bound_names(tree)
    tree = rewriter.visit(tree)
    return Program(None, sites, rewriter.function_names, tree)


def compile_tree(tree, mode: str = "exec"):
    """compile() of a rewritten tree. The rewriter places every node it makes (`_loc`), so
    the walk over the whole tree that fix_missing_locations does (a sixth of a program's
    start) is only a fallback for a node it left unplaced."""
    try:
        return compile(tree, PROGRAM_FILENAME, mode, dont_inherit=True)
    except TypeError:  # required field "lineno" missing
        ast.fix_missing_locations(tree)
        return compile(tree, PROGRAM_FILENAME, mode, dont_inherit=True)


def compile_program(source: str, sites: list | None = None, first_site: int = 0,
                    mode: str = "exec") -> Program:
    sites = [] if sites is None else sites
    tree = parse_python(source, mode=mode)
    program = rewrite(tree, source, sites, first_site)
    try:
        program.code = compile_tree(program.tree, mode)
    except SyntaxError as exc:  # e.g. 'return' outside function, nonlocal at module level
        raise GradcliSyntaxError(exc.msg, exc.lineno or 1, exc.offset or 1,
                                 type(exc).__name__) from None
    except RecursionError:
        raise GradcliSyntaxError("too many nested parentheses", 1, 1) from None
    return program
