"""Outlines of a program's two trees, Lark's (gradcli.lang.python_grammar) and CPython's
`ast`, in one comparable form:
    [(line, statement kind, (expression kinds, source order), (block, ...)), ...]
each block a list of the same entries. Expression kinds are CPython's node class names,
qualified by what the text fixes (`BinOp:Add`, `Name:x`, `Constant:int`); Lark's flat
operator chains are unfolded the way CPython nests them (`a - b - c` is `(a - b) - c`).
"""

from __future__ import annotations

import ast

from gradcli.lang.python_checks import name_of, present_children
from gradcli.lang.python_strings import fstring_fields, split_string

BIN_OPS = {"+": "Add", "-": "Sub", "*": "Mult", "/": "Div", "//": "FloorDiv", "%": "Mod",
           "@": "MatMult", "<<": "LShift", ">>": "RShift", "&": "BitAnd", "|": "BitOr",
           "^": "BitXor", "**": "Pow"}
UNARY_OPS = {"+": "UAdd", "-": "USub", "~": "Invert"}
COMPARE_OPS = {"<": "Lt", ">": "Gt", "==": "Eq", ">=": "GtE", "<=": "LtE", "!=": "NotEq",
               "in": "In", "notin": "NotIn", "is": "Is", "isnot": "IsNot"}
CHAIN_RULES = {"or_expr": "|", "xor_expr": "^", "and_expr": "&"}


def outline(tree, parse_field) -> list:
    """The outline of a Lark tree from gradcli.lang.python_grammar.parse (`parse_field`
    parses an f-string field's text, as the checks did)."""
    return _LarkOutline(parse_field).block(tree.children)


class _LarkOutline:
    def __init__(self, parse_field):
        self.parse_field = parse_field

    def block(self, statements) -> list:
        out = []
        for statement in statements:
            if statement is None or not hasattr(statement, "data"):
                continue
            out.extend(self.statement(statement))
        return out

    def suite(self, suite) -> list:
        return self.block(suite.children)

    def statement(self, node) -> list:
        kind = node.data
        if kind == "simple_stmt":
            return [entry for small in present_children(node) for entry in self.statement(small)]
        line = node.meta.line
        method = getattr(self, "stmt_" + kind, None)
        if method is not None:
            return method(node, line)
        simple = {"pass_stmt": "Pass", "break_stmt": "Break", "continue_stmt": "Continue",
                  "return_stmt": "Return", "raise_stmt": "Raise", "assert_stmt": "Assert",
                  "expr_stmt": "Expr", "del_stmt": "Delete", "annassign": "AnnAssign"}
        exprs = self.exprs(present_children(node))
        if kind == "del_stmt" and node.children[0].data == "exprlist_tuple":
            exprs = self.exprs(present_children(node.children[0]))
        return [(line, simple[kind], exprs, ())]

    def stmt_assign(self, node, line):
        return [(line, "Assign", self.exprs(node.children), ())]

    def stmt_augassign(self, node, line):
        target, op, value = node.children
        name = BIN_OPS[str(op.children[0])[:-1]]
        return [(line, "AugAssign:" + name, self.exprs([target, value]), ())]

    def stmt_global_stmt(self, node, line):
        return [(line, "Global:" + ",".join(name_of(n) for n in node.children), (), ())]

    def stmt_nonlocal_stmt(self, node, line):
        return [(line, "Nonlocal:" + ",".join(name_of(n) for n in node.children), (), ())]

    def stmt_import_name(self, node, line):
        aliases = tuple(self.alias(".".join(name_of(n) for n in d.children[0].children),
                                   d.children[1]) for d in node.children)
        return [(line, "Import", aliases, ())]

    def stmt_import_from(self, node, line):
        level, module = 0, ""
        for child in node.children:
            if child.data == "dots":
                level = sum(len(str(t)) for t in child.children)
            elif child.data == "dotted_name":
                module = ".".join(name_of(n) for n in child.children)
        targets = node.children[-1]
        if targets.data == "import_star":
            aliases = ("alias:*:",)
        else:
            aliases = tuple(self.alias(name_of(a.children[0]), a.children[1])
                            for a in present_children(targets))
        return [(line, f"ImportFrom:{module}:{level}", aliases, ())]

    @staticmethod
    def alias(name, asname):
        return f"alias:{name}:{name_of(asname) if asname is not None else ''}"

    def stmt_if_stmt(self, node, line):
        test, body, *rest = node.children
        orelse: list = []
        else_clause = rest[-1]
        if else_clause is not None:
            orelse = self.suite(else_clause.children[0])
        for elif_clause in reversed([r for r in rest[:-1] if r is not None]):
            elif_test, elif_body = elif_clause.children
            orelse = [(elif_clause.meta.line, "If", self.exprs([elif_test]),
                       (self.suite(elif_body), orelse))]
        return [(line, "If", self.exprs([test]), (self.suite(body), orelse))]

    def stmt_while_stmt(self, node, line):
        test, body, else_clause = node.children
        return [(line, "While", self.exprs([test]), (self.suite(body), self.orelse(else_clause)))]

    def stmt_for_stmt(self, node, line):
        target, iterable, body, else_clause = node.children
        return [(line, "For", self.exprs([target, iterable]),
                 (self.suite(body), self.orelse(else_clause)))]

    def orelse(self, else_clause):
        return self.suite(else_clause.children[0]) if else_clause is not None else []

    def stmt_try_stmt(self, node, line):
        body, handlers, orelse, final = node.children[0], [], [], []
        star = False
        for child in node.children[1:]:
            if child is None:
                continue
            if child.data in ("except_clause", "except_star_clause"):
                star = star or child.data == "except_star_clause"
                kind, name, suite = child.children
                label = "ExceptHandler:" + (name_of(name) if name is not None else "")
                handlers.append((child.meta.line, label, self.exprs([kind]),
                                 (self.suite(suite),)))
            elif child.data == "else_clause":
                orelse = self.suite(child.children[0])
            else:
                final = self.suite(child.children[0])
        return [(line, "TryStar" if star else "Try", (),
                 (self.suite(body), handlers, orelse, final))]

    def stmt_with_stmt(self, node, line):
        items = node.children[:-1]
        exprs = []
        for item in items:
            exprs.append("withitem")
            exprs.extend(self.exprs(item.children))
        if len(items) == 1 and items[0].data == "paren_with_item" and items[0].children[
                0].data in ("star_expr", "assign_expr") or any(
                i.data == "paren_with_item" and i.children[0].data in (
                    "star_expr", "assign_expr") for i in items):
            # Python read the brackets as one parenthesized expression.
            inner = [i.children[0] for i in items]
            if len(inner) == 1 and inner[0].data == "assign_expr":
                exprs = ["withitem", *self.exprs(inner)]
            else:
                exprs = ["withitem", "Tuple", *self.exprs(inner)]
        return [(line, "With", tuple(exprs), (self.suite(node.children[-1]),))]

    def stmt_decorated(self, node, line):
        *decorators, definition = node.children
        (entry,) = self.statement(definition)
        prefix = tuple(k for d in decorators for k in self.exprs(d.children))
        return [(entry[0], entry[1], prefix + entry[2], entry[3])]

    def stmt_funcdef(self, node, line):
        name, params, returns, suite = node.children
        exprs = self.params(params) + self.exprs([returns])
        return [(line, "FunctionDef:" + name_of(name), exprs, (self.suite(suite),))]

    def stmt_classdef(self, node, line):
        name, arguments, suite = node.children
        exprs = self.exprs(present_children(arguments)) if arguments is not None else ()
        return [(line, "ClassDef:" + name_of(name), exprs, (self.suite(suite),))]

    def params(self, params) -> tuple:
        out: list = []
        if params is None:
            return ()
        for param in present_children(params):
            if param.data == "slash_param":
                continue
            children = param.children
            if param.data == "star_param" and children[0] is None:
                continue
            out.append("arg:" + name_of(children[0]))
            out.extend(self.exprs(children[1:]))
        return tuple(out)

    # ----- expressions
    def exprs(self, nodes) -> tuple:
        out: list = []
        for node in nodes:
            if node is not None:
                self.expr(node, out)
        return tuple(out)

    def expr(self, node, out):  # noqa: C901 - one branch per grammar rule
        if isinstance(node, str):  # a Lark Token is a str
            return
        kind = node.data
        children = present_children(node)
        if kind == "var":
            out.append("Name:" + name_of(children[0]))
        elif kind == "paren":
            self.expr(children[0], out)
        elif kind == "number":
            out.append("Constant:" + _number_type(str(children[0])))
        elif kind == "strings":
            self.strings(node, out)
        elif kind in ("const_none", "const_true", "const_false", "ellipsis"):
            out.append("Constant:" + {"const_none": "NoneType", "const_true": "bool",
                                      "const_false": "bool", "ellipsis": "ellipsis"}[kind])
        elif kind in ("arith_expr", "term", "shift_expr"):
            operands, ops = children[0::2], children[1::2]
            out.extend("BinOp:" + BIN_OPS[str(op)] for op in reversed(ops))
            for operand in operands:
                self.expr(operand, out)
        elif kind in CHAIN_RULES:
            out.extend(["BinOp:" + BIN_OPS[CHAIN_RULES[kind]]] * (len(children) - 1))
            for operand in children:
                self.expr(operand, out)
        elif kind == "power":
            out.append("BinOp:Pow")
            self.expr(children[0], out)
            self.expr(children[1], out)
        elif kind == "factor":
            out.append("UnaryOp:" + UNARY_OPS[str(children[0])])
            self.expr(children[1], out)
        elif kind == "not_test":
            out.append("UnaryOp:Not")
            self.expr(children[0], out)
        elif kind in ("or_test", "and_test"):
            out.append("BoolOp:" + ("Or" if kind == "or_test" else "And"))
            for operand in children:
                self.expr(operand, out)
        elif kind == "comparison":
            ops = ["".join(str(t) for t in op.children) for op in children[1::2]]
            out.append("Compare:" + ",".join(COMPARE_OPS[o] for o in ops))
            for operand in children[0::2]:
                self.expr(operand, out)
        elif kind == "test":
            body, test, orelse = children
            out.append("IfExp")
            for part in (body, test, orelse):
                self.expr(part, out)
        elif kind == "lambdef":
            out.append("Lambda")
            out.extend(self.params(node.children[0]))
            self.expr(node.children[1], out)
        elif kind == "assign_expr":
            out.append("NamedExpr")
            out.append("Name:" + name_of(children[0]))
            self.expr(children[1], out)
        elif kind in ("star_expr", "star_argument"):
            out.append("Starred")
            self.expr(children[0], out)
        elif kind == "funccall":
            out.append("Call")
            self.expr(children[0], out)
            if len(children) > 1:
                self.expr(children[1], out)
        elif kind in ("arguments", "class_arguments"):
            for argument in children:
                self.expr(argument, out)
        elif kind == "generator_argument":
            self.comprehension("GeneratorExp", node.children[0], out)
        elif kind == "keyword":
            out.append("keyword:" + name_of(children[0].children[0]))
            self.expr(children[1], out)
        elif kind == "double_star_argument":
            out.append("keyword:**")
            self.expr(children[0], out)
        elif kind == "getattr":
            out.append("Attribute:" + name_of(children[1]))
            self.expr(children[0], out)
        elif kind == "getitem":
            out.append("Subscript")
            self.expr(children[0], out)
            if children[1].data == "star_expr":  # `x[*a]` is `x[(*a,)]`
                out.append("Tuple")
            self.expr(children[1], out)
        elif kind == "subscript_tuple":
            out.append("Tuple")
            for item in children:
                self.expr(item, out)
        elif kind == "slice":
            lower, upper, step = node.children
            out.append("Slice")
            for part in (lower, upper, step.children[0] if step is not None else None):
                if part is not None:
                    self.expr(part, out)
        elif kind in ("tuple", "list", "set", "dict", "exprlist_tuple"):
            out.append("Tuple" if kind == "exprlist_tuple" else kind.capitalize())
            for item in children:
                self.expr(item, out)
        elif kind == "key_value":
            self.expr(children[0], out)
            self.expr(children[1], out)
        elif kind == "double_star":
            self.expr(children[0], out)
        elif kind in ("generator", "list_comprehension", "set_comprehension",
                      "dict_comprehension"):
            label = {"generator": "GeneratorExp", "list_comprehension": "ListComp",
                     "set_comprehension": "SetComp", "dict_comprehension": "DictComp"}[kind]
            self.comprehension(label, children[0], out)
        elif kind in ("with_item", "paren_with_item"):
            for part in children:
                self.expr(part, out)
        else:
            raise ValueError(f"no outline for grammar rule {kind!r}")

    def comprehension(self, label, node, out):
        out.append(label)
        result, *clauses = node.children
        self.expr(result, out)
        for clause in clauses:
            if clause.data == "comp_for":
                out.append("comprehension")
                self.expr(clause.children[0], out)
                self.expr(clause.children[1], out)
            else:
                self.expr(clause.children[0], out)

    def strings(self, node, out):
        prefixes = [split_string(str(t))[0] for t in node.children]
        if not any("f" in p for p in prefixes):
            out.append("Constant:" + ("bytes" if "b" in prefixes[0] else "str"))
            return
        out.append("JoinedStr")
        known = getattr(node, "fstring_fields", {})
        for index, (token, prefix) in enumerate(zip(node.children, prefixes, strict=True)):
            if "f" in prefix:
                fields = known.get(index)
                if fields is None:
                    fields = fstring_fields(token, self.parse_field)
                self.fields(fields, out)

    def fields(self, fields, out):
        for tree, conversion, spec, self_doc in fields:
            if not conversion and self_doc and spec is None:
                conversion = "r"
            out.append("FormattedValue:" + (conversion or ""))
            self.expr(tree.children[0], out)
            if spec is not None:
                out.append("JoinedStr")
                self.fields(spec, out)


def _number_type(text: str) -> str:
    lowered = text.lower()
    if lowered.endswith("j"):
        return "complex"
    if lowered.startswith(("0x", "0o", "0b")):
        return "int"
    return "float" if any(c in lowered for c in ".e") else "int"


# ----------------------------------------------------------------------------- ast side
def ast_outline(module: ast.Module) -> list:
    """The same outline from CPython's tree of the same text."""
    return [entry for statement in module.body for entry in _ast_statement(statement)]


def _ast_block(statements) -> list:
    return [entry for statement in statements for entry in _ast_statement(statement)]


def _ast_statement(node) -> list:
    kind = type(node).__name__
    blocks: tuple = ()
    exclude = ("body", "orelse", "finalbody", "handlers")
    if isinstance(node, ast.AugAssign):
        kind += ":" + type(node.op).__name__
    elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        kind += ":" + node.name
        blocks = (_ast_block(node.body),)
    elif isinstance(node, (ast.Global, ast.Nonlocal)):
        kind += ":" + ",".join(node.names)
    elif isinstance(node, ast.ImportFrom):
        kind += f":{node.module or ''}:{node.level or 0}"
    elif isinstance(node, (ast.If, ast.While, ast.For)):
        blocks = (_ast_block(node.body), _ast_block(node.orelse))
    elif isinstance(node, (ast.Try, ast.TryStar)):
        handlers = [(h.lineno, "ExceptHandler:" + (h.name or ""), _ast_exprs([h.type]),
                     (_ast_block(h.body),)) for h in node.handlers]
        blocks = (_ast_block(node.body), handlers, _ast_block(node.orelse),
                  _ast_block(node.finalbody))
    elif isinstance(node, ast.With):
        blocks = (_ast_block(node.body),)
    children = [child for field, value in ast.iter_fields(node) if field not in exclude
                for child in (value if isinstance(value, list) else [value])
                if isinstance(child, ast.AST) and not isinstance(child, (
                    ast.expr_context, ast.operator))]
    return [(node.lineno, kind, _ast_exprs(children), blocks)]


def _start(node):
    if hasattr(node, "lineno"):
        return node.lineno, node.col_offset
    starts = [_start(child) for child in ast.iter_child_nodes(node)
              if not isinstance(child, (ast.expr_context, ast.operator, ast.cmpop,
                                        ast.boolop, ast.unaryop))]
    return min(starts) if starts else (0, 0)


def _ast_exprs(nodes) -> tuple:
    out: list = []
    for node in sorted((n for n in nodes if n is not None), key=_start):
        _ast_expr(node, out)
    return tuple(out)


def _ast_expr(node, out):  # noqa: C901 - one branch per node class
    kind = type(node).__name__
    children = None
    if isinstance(node, ast.arguments):
        children = [*node.posonlyargs, *node.args, *node.defaults, node.vararg,
                    *node.kwonlyargs, *[d for d in node.kw_defaults if d is not None],
                    node.kwarg]
        out.extend(_ast_exprs(children))
        return
    if isinstance(node, ast.BinOp):
        kind += ":" + type(node.op).__name__
    elif isinstance(node, ast.UnaryOp):
        kind += ":" + type(node.op).__name__
    elif isinstance(node, ast.BoolOp):
        kind += ":" + type(node.op).__name__
        if len(node.values) > 2:  # Lark's `a or b or c` is one BoolOp too
            pass
    elif isinstance(node, ast.Compare):
        kind += ":" + ",".join(type(op).__name__ for op in node.ops)
    elif isinstance(node, ast.Name):
        kind += ":" + node.id
    elif isinstance(node, ast.Attribute):
        kind += ":" + node.attr
    elif isinstance(node, ast.Constant):
        kind += ":" + type(node.value).__name__
    elif isinstance(node, ast.keyword):
        kind += ":" + (node.arg or "**")
    elif isinstance(node, ast.arg):
        kind += ":" + node.arg
    elif isinstance(node, ast.alias):
        out.append(f"alias:{node.name}:{node.asname or ''}")
        return
    elif isinstance(node, ast.FormattedValue):
        kind += ":" + (chr(node.conversion) if node.conversion != -1 else "")
    elif isinstance(node, ast.JoinedStr):
        children = [v for v in node.values if isinstance(v, ast.FormattedValue)]
    elif isinstance(node, ast.Dict):
        children = [*[k for k in node.keys if k is not None], *node.values]
    out.append(kind)
    if children is None:
        children = [c for c in ast.iter_child_nodes(node) if not isinstance(c, (
            ast.expr_context, ast.operator, ast.cmpop, ast.boolop, ast.unaryop))]
    if isinstance(node, ast.FormattedValue):
        ordered = children  # 3.11 gives the spec the position of the whole string
    else:
        ordered = sorted(children, key=_start)
    for child in ordered:
        _ast_expr(child, out)
