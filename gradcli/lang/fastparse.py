"""The fast front end: CPython's parser (ast.parse) and a converter to gradcli's AST.

gradcli's language is a strict subset of Python 3.11, so a valid program parses in C and
only the conversion runs in Python. The converter is strict: whatever the Lark grammar
(grammar/gradcli.lark) might read differently, or not at all, makes it give up (parse
returns None) and gradcli.lang.larkparse, which defines the language and words every
syntax error, parses the text instead. When it returns a tree, that tree is the one the
Lark path builds: the same nodes, values and line:column of every node (tests/
test_fastparse.py holds it to that).

Positions: CPython's node starts are where gradcli's ToAst puts its nodes too (an operator
node at its left operand, a call at its callee, either including a parenthesis that opens
it), but CPython counts columns in UTF-8 bytes, gradcli in characters. Literals are read
again from the source text with the Lark path's own rules, not taken from CPython.
"""

from __future__ import annotations

import ast as P
import re
import sys
import unicodedata
import warnings

from gradcli.lang import ast as A
from gradcli.lang.strings import decode_string, split_fstring


class GiveUp(Exception):
    """Not for the fast path: the Lark path parses the text."""


# A carriage return (CPython normalises line ends, Lark keeps them), a form feed, an
# indentation mixing tabs and spaces (the two tokenizers measure it differently), a NUL.
_UNSUPPORTED = re.compile(r"[\r\f\x00]|^(?:\t+ | +\t)", re.MULTILINE)
# A list display of numbers long enough for the Lark path's literal folding
# (larkparse.fold_literals), which gives its elements the position of the `[`.
_FOLDABLE = re.compile(r"\[[0-9eE.,+\-\s\[\]]{1999}")

# CPython's AST construction recurses in C, and its depth limit is three times the
# recursion limit: the interpreter thread's high limit is capped for the parse, a little
# above what MAX_EXPRESSION_DEPTH lets through.
_RECURSION_CAP = 10_500

# Lark's terminals (grammar/gradcli.lark), in the order its scanner tries them.
_NUMBER = re.compile(
    r"(?P<IMAG>(\d(_?\d)*|((\d(_?\d)*\.(\d(_?\d)*)?|\.\d(_?\d)*)([eE][-+]?\d(_?\d)*)?))[jJ])"
    r"|(?P<FLOAT>((\d(_?\d)*\.(\d(_?\d)*)?|\.\d(_?\d)*)([eE][-+]?\d(_?\d)*)?"
    r"|\d(_?\d)*[eE][-+]?\d(_?\d)*))"
    r"|(?P<HEX>0[xX](_?[0-9a-fA-F])+)"
    r"|(?P<OCT>0[oO](_?[0-7])+)"
    r"|(?P<BIN>0[bB](_?[01])+)"
    r"|(?P<DEC>(0|[1-9](_?\d)*))"
)
_STRING = re.compile(
    r"(?s:([ubfUBF]?[rR]?|[rR][ubfUBF])(\"\"\".*?(?<!\\)(\\\\)*?\"\"\"|'''.*?(?<!\\)(\\\\)*?'''))"
    r"|([ubfUBF]?[rR]?|[rR][ubfUBF])(\"(?!\"\").*?(?<!\\)(\\\\)*?\"|'(?!'').*?(?<!\\)(\\\\)*?')"
)
# What Lark skips between the parts of an implicitly concatenated string.
_BETWEEN = re.compile(r"(?:[ \t]+|\\\n|\n|#[^\n]*)*")
_NAME = re.compile(r"(?!\d)\w+")
_NAME_AT_END = re.compile(r"\w+$")

_BINARY = {
    P.Add: "+", P.Sub: "-", P.Mult: "*", P.MatMult: "@", P.Div: "/", P.FloorDiv: "//",
    P.Mod: "%", P.Pow: "**", P.BitOr: "|", P.BitXor: "^", P.BitAnd: "&",
}
_AUGMENTED = {op: text for op, text in _BINARY.items() if op not in (P.BitOr, P.BitXor, P.BitAnd)}
_UNARY = {P.UAdd: "+", P.USub: "-", P.Invert: "~"}
_COMPARE = {
    P.Eq: "==", P.NotEq: "!=", P.Lt: "<", P.LtE: "<=", P.Gt: ">", P.GtE: ">=",
    P.Is: "is", P.IsNot: "is not", P.In: "in", P.NotIn: "not in",
}


def parse(source: str, depth_limit: int) -> A.Program | None:
    """The program's tree, or None: the Lark path decides (and words any error).

    An expression nested more than depth_limit levels deep is left to the Lark path too."""
    text = source if source.endswith("\n") else source + "\n"
    if _UNSUPPORTED.search(text) or _FOLDABLE.search(text):
        return None
    try:
        tree = _python_parse(text, "exec")
        return _Converter(text, depth_limit).program(tree)
    except Exception:  # noqa: BLE001 - any doubt at all: the Lark path
        return None


def parse_expression(text: str, line: int, column: int, depth_limit: int) -> A.Node | None:
    """larkparse.parse_expression's tree for a (tuple) expression at line:column, or None."""
    if _UNSUPPORTED.search(text):
        return None
    try:
        return _expression(text, line, column, 0, depth_limit)
    except Exception:  # noqa: BLE001
        return None


def _python_parse(text: str, mode: str):
    limit = sys.getrecursionlimit()
    with warnings.catch_warnings():
        # An invalid escape sequence is a warning for CPython and nothing for gradcli.
        warnings.simplefilter("ignore")
        if limit > _RECURSION_CAP:
            sys.setrecursionlimit(_RECURSION_CAP)
        try:
            return P.parse(text, mode=mode)
        finally:
            if limit > _RECURSION_CAP:
                sys.setrecursionlimit(limit)


def _expression(text: str, line: int, column: int, level: int, depth_limit: int) -> A.Node:
    # The Lark path parses the stripped text and shifts the positions on its first line
    # by the column and the stripped whitespace (also when that whitespace held a newline).
    stripped = text.strip()
    offset = len(text) - len(text.lstrip())
    tree = _python_parse(stripped, "eval")
    converter = _Converter(stripped, depth_limit, line - 1, column - 1 + offset)
    converter.level = level
    return converter.expr(tree.body)


class _Converter:
    def __init__(self, text: str, depth_limit: int, line_offset: int = 0,
                 column_offset: int = 0):
        self.lines = text.split("\n")
        self.limit = depth_limit
        self.line_offset = line_offset
        self.column_offset = column_offset
        # Byte columns are character columns, and no offset applies.
        self.plain = text.isascii() and not line_offset and not column_offset
        self.level = 0

    # ----- positions -----
    def pos(self, node) -> tuple[int, int]:
        if self.plain:
            return node.lineno, node.col_offset + 1
        line = node.lineno
        column = self.char(line, node.col_offset) + 1
        if line == 1:
            column += self.column_offset
        return line + self.line_offset, column

    def char(self, line: int, byte_column: int) -> int:
        """0-based character column of a UTF-8 byte column."""
        text = self.lines[line - 1]
        if text.isascii():
            return byte_column
        return len(text.encode("utf-8")[:byte_column].decode("utf-8"))

    def identifier(self, text: str, python_name: str) -> str:
        """The name as written: CPython NFKC-normalises identifiers, Lark keeps them, and
        Lark's NAME (`\\w`) and CPython's identifiers do not cover the same characters."""
        if text.isascii() and text == python_name:
            return text
        if not _NAME.fullmatch(text) or unicodedata.normalize("NFKC", text) != python_name:
            raise GiveUp
        return text

    def source(self, node) -> tuple[str, int, int]:
        """(source text of the node, its line, its 0-based character column)."""
        first, last = node.lineno, node.end_lineno
        start = self.char(first, node.col_offset)
        end = self.char(last, node.end_col_offset)
        if first == last:
            return self.lines[first - 1][start:end], first, start
        pieces = [self.lines[first - 1][start:], *self.lines[first : last - 1],
                  self.lines[last - 1][:end]]
        return "\n".join(pieces), first, start

    def shifted(self, line: int, column0: int) -> tuple[int, int]:
        column = column0 + 1
        if line == 1:
            column += self.column_offset
        return line + self.line_offset, column

    # ----- statements -----
    def program(self, module) -> A.Program:
        return A.Program(1, 1, self.block(module.body))

    def block(self, statements) -> list:
        self.level += 1
        out = [_STATEMENTS[s.__class__](self, s) for s in statements]
        self.level -= 1
        return out

    def expr_stmt(self, node):
        return A.ExprStmt(*self.pos(node), self.expr(node.value))

    def assign(self, node):
        expr = self.expr
        return A.Assign(*self.pos(node), [expr(t) for t in node.targets], expr(node.value))

    def augassign(self, node):
        op = _AUGMENTED[node.op.__class__]
        return A.AugAssign(*self.pos(node), self.expr(node.target), op, self.expr(node.value))

    def pass_stmt(self, node):
        return A.Pass(*self.pos(node))

    def _ascii_lines(self, node) -> None:
        if not all(line.isascii() for line in self.lines[node.lineno - 1 : node.end_lineno]):
            raise GiveUp

    def import_name(self, node):
        self._ascii_lines(node)
        bindings = []
        for alias in node.names:
            dotted = alias.name
            if alias.asname is not None:
                bindings.append((alias.asname, dotted, dotted))
            else:
                first = dotted.split(".")[0]
                bindings.append((first, first, dotted))
        return A.Import(*self.pos(node), bindings)

    def import_from(self, node):
        self._ascii_lines(node)
        if node.level or node.module is None:
            raise GiveUp
        module = node.module
        bindings = [(alias.asname or alias.name, f"{module}.{alias.name}", "from")
                    for alias in node.names]
        return A.Import(*self.pos(node), bindings)

    def with_stmt(self, node):
        line = self.lines[node.lineno - 1]
        after = self.char(node.lineno, node.col_offset) + 4  # len("with")
        rest = line[after:].lstrip(" \t")
        if not rest or rest[0] == "\\":
            raise GiveUp
        first = node.items[0].context_expr
        if rest[0] == "(" and (first.lineno != node.lineno
                               or self.char(first.lineno, first.col_offset)
                               != len(line) - len(rest)):
            # CPython 3.9+'s parenthesised with-items, `with (a, b):`; Lark reads a tuple.
            raise GiveUp
        items = []
        for item in node.items:
            value = self.expr(item.context_expr)
            name = item.optional_vars
            if name is None:
                items.append((value, None))
                continue
            # Lark's with-item takes a bare NAME after `as`, nothing else.
            end = item.context_expr
            if name.__class__ is not P.Name or end.end_lineno != name.lineno:
                raise GiveUp
            text = self.lines[name.lineno - 1]
            start = self.char(name.lineno, name.col_offset)
            stop = self.char(name.lineno, name.end_col_offset)
            if text[self.char(end.end_lineno, end.end_col_offset) : start].strip() != "as":
                raise GiveUp
            items.append((value, self.identifier(text[start:stop], name.id)))
        return A.With(*self.pos(node), items, self.block(node.body))

    def for_stmt(self, node):
        if node.orelse:
            raise GiveUp
        return A.For(*self.pos(node), self.expr(node.target), self.expr(node.iter),
                     self.block(node.body))

    def if_stmt(self, node):
        # `elif` and `else: if` are the same tree for both parsers, each If node at its
        # own keyword.
        return A.If(*self.pos(node), self.expr(node.test), self.block(node.body),
                    self.block(node.orelse))

    # ----- expressions -----
    def expr(self, node):
        self.level += 1
        if self.level > self.limit:
            raise GiveUp
        result = _EXPRESSIONS[node.__class__](self, node)
        self.level -= 1
        return result

    def name(self, node):
        if self.plain:
            return A.Name(node.lineno, node.col_offset + 1, node.id)
        text, _, _ = self.source(node)
        return A.Name(*self.pos(node), self.identifier(text, node.id))

    def constant(self, node):
        value = node.value
        kind = value.__class__
        if kind is str:
            return self.strings(node)
        if kind is int or kind is float:
            return A.Const(*self.pos(node), self.number(node))
        if value is None or kind is bool or value is Ellipsis:
            return A.Const(*self.pos(node), value)
        raise GiveUp  # bytes (refused by gradcli), complex (likewise)

    def number(self, node):
        # Read as Lark's scanner reads it: `00` or `0_0` are numbers for CPython but not
        # for the grammar.
        text = self.lines[node.lineno - 1]
        if self.plain:
            text = text[node.col_offset : node.end_col_offset]
        else:
            text = text[self.char(node.lineno, node.col_offset)
                        : self.char(node.lineno, node.end_col_offset)]
        if text.isdigit() and (text[0] != "0" or len(text) == 1):
            return node.value
        match = _NUMBER.match(text)
        if match is None or match.end() != len(text):
            raise GiveUp
        kind = match.lastgroup
        text = text.replace("_", "")
        if kind == "FLOAT":
            return float(text)
        if kind == "DEC":
            return int(text)
        if kind == "IMAG":
            raise GiveUp
        return int(text, 0)

    def strings(self, node):
        """ToAst.strings on the tokens Lark would see in the literal's source text."""
        text, line0, column0 = self.source(node)
        tokens = []
        index = 0
        while True:
            match = _STRING.match(text, index)
            if match is None:
                raise GiveUp
            newlines = text.count("\n", 0, match.start())
            if newlines:
                column = match.start() - text.rfind("\n", 0, match.start()) - 1
            else:
                column = column0 + match.start()
            tokens.append((match.group(), *self.shifted(line0 + newlines, column)))
            index = _BETWEEN.match(text, match.end()).end()
            if index == len(text):
                break
        line, column = tokens[0][1], tokens[0][2]
        parts: list = []
        is_f = False
        for token, line_t, col_t in tokens:
            prefix, body, raw, fmt = decode_string(token, line_t, col_t)
            if fmt:
                is_f = True
                parts.extend(split_fstring(body, raw, line_t, col_t + len(prefix)))
            else:
                parts.append(body)
        if not is_f:
            return A.Const(line, column, "".join(parts))
        built: list = []
        for piece in parts:
            if isinstance(piece, str):
                if built and isinstance(built[-1], str):
                    built[-1] += piece
                else:
                    built.append(piece)
            else:
                field, conversion, spec, echo, expr_line, expr_col = piece
                value = self.field(field, expr_line, expr_col)
                if spec is not None:
                    spec = self.spec(spec, expr_line, expr_col)
                built.append(A.FormattedValue(expr_line, expr_col, value, conversion, spec, echo))
        return A.FString(line, column, built)

    def field(self, text: str, line: int, column: int) -> A.Node:
        return _expression(text, line, column, self.level + 2, self.limit)

    def spec(self, spec: str, line: int, column: int) -> list:
        pieces: list = []
        for piece in split_fstring(spec, True, line, column, in_spec=True):
            if isinstance(piece, str):
                pieces.append(piece)
            else:
                text, conversion, _, echo, line2, column2 = piece
                value = self.field(text, line2, column2)
                pieces.append(A.FormattedValue(line2, column2, value, conversion, None, echo))
        return pieces

    def list_display(self, node):
        expr = self.expr
        return A.ListExpr(*self.pos(node), [expr(item) for item in node.elts])

    def tuple_display(self, node):
        expr = self.expr
        return A.TupleExpr(*self.pos(node), [expr(item) for item in node.elts])

    def attribute(self, node):
        attr = node.attr
        if not self.plain:
            text = self.lines[node.end_lineno - 1][: self.char(node.end_lineno,
                                                               node.end_col_offset)]
            match = _NAME_AT_END.search(text)
            if match is None:
                raise GiveUp
            attr = self.identifier(match.group(), attr)
        return A.Attribute(*self.pos(node), self.expr(node.value), attr)

    def subscript(self, node):
        return A.Subscript(*self.pos(node), self.expr(node.value), self.expr(node.slice))

    def slice(self, node):
        lower, upper, step = node.lower, node.upper, node.step
        return A.SliceExpr(
            *self.pos(node),
            None if lower is None else self.expr(lower),
            None if upper is None else self.expr(upper),
            None if step is None else self.expr(step),
        )

    def call(self, node):
        expr = self.expr
        line, column = self.pos(node)
        func = expr(node.func)
        args: list = []
        star: list = []
        for arg in node.args:
            if arg.__class__ is P.Starred:
                star.append((len(args), expr(arg.value)))
            else:
                args.append(expr(arg))
        kwargs = []
        for keyword in node.keywords:
            name = keyword.arg
            if name is None:  # **mapping
                raise GiveUp
            if not self.plain:
                text = self.lines[keyword.lineno - 1][self.char(keyword.lineno,
                                                                keyword.col_offset):]
                match = _NAME.match(text)
                if match is None:
                    raise GiveUp
                name = self.identifier(match.group(), name)
            kwargs.append((name, expr(keyword.value)))
        return A.Call(line, column, func, args, kwargs, star)

    def binop(self, node):
        return A.BinOp(*self.pos(node), _BINARY[node.op.__class__], self.expr(node.left),
                       self.expr(node.right))

    def unaryop(self, node):
        op = node.op.__class__
        if op is P.Not:
            return A.Not(*self.pos(node), self.expr(node.operand))
        return A.UnaryOp(*self.pos(node), _UNARY[op], self.expr(node.operand))

    def compare(self, node):
        expr = self.expr
        return A.Compare(*self.pos(node), expr(node.left),
                         [_COMPARE[op.__class__] for op in node.ops],
                         [expr(item) for item in node.comparators])

    def boolop(self, node):
        expr = self.expr
        op = "and" if node.op.__class__ is P.And else "or"
        return A.BoolOp(*self.pos(node), op, [expr(value) for value in node.values])

    def ifexp(self, node):
        expr = self.expr
        return A.IfExp(*self.pos(node), expr(node.test), expr(node.body), expr(node.orelse))

    def listcomp(self, node):
        if len(node.generators) != 1:
            raise GiveUp
        generator = node.generators[0]
        if generator.is_async:
            raise GiveUp
        expr = self.expr
        line, column = self.pos(node)
        element = expr(node.elt)
        return A.ListComp(line, column, element, expr(generator.target), expr(generator.iter),
                          [expr(condition) for condition in generator.ifs])


_STATEMENTS = {
    P.Expr: _Converter.expr_stmt,
    P.Assign: _Converter.assign,
    P.AugAssign: _Converter.augassign,
    P.Pass: _Converter.pass_stmt,
    P.Import: _Converter.import_name,
    P.ImportFrom: _Converter.import_from,
    P.With: _Converter.with_stmt,
    P.For: _Converter.for_stmt,
    P.If: _Converter.if_stmt,
}
_EXPRESSIONS = {
    P.Name: _Converter.name,
    P.Constant: _Converter.constant,
    P.JoinedStr: _Converter.strings,
    P.List: _Converter.list_display,
    P.Tuple: _Converter.tuple_display,
    P.Attribute: _Converter.attribute,
    P.Subscript: _Converter.subscript,
    P.Slice: _Converter.slice,
    P.Call: _Converter.call,
    P.BinOp: _Converter.binop,
    P.UnaryOp: _Converter.unaryop,
    P.Compare: _Converter.compare,
    P.BoolOp: _Converter.boolop,
    P.IfExp: _Converter.ifexp,
    P.ListComp: _Converter.listcomp,
}
