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
it), but CPython counts columns in UTF-8 bytes, gradcli in characters. String literals
are decoded again from the source text by the Lark path's own code (gradcli.lang.strings);
numbers are CPython's wherever its tokens and Lark's agree.
"""

from __future__ import annotations

import ast as P
import bisect
import re
import sys
import unicodedata
import warnings

from gradcli.lang import ast as A
from gradcli.lang.strings import decode_string, fstring_parts, split_fstring


class GiveUp(Exception):
    """Not for the fast path: the Lark path parses the text."""


class _BadChunk(Exception):
    """A chunk boundary fell inside a statement: read the text whole."""


_MIXED_INDENT = re.compile(r"^(?:\t+ | +\t)", re.MULTILINE)

# A list display of numbers long enough for the Lark path's literal folding
# (larkparse.fold_literals), which gives its elements the position of the `[`.
_FOLDABLE = re.compile(r"\[[0-9eE.,+\-\s\[\]]{1999}")

# ast.parse raises the "compile" audit event; this filename tells an audit hook that it is
# the parser reading a program (into a tree, never to code).
FILENAME = "<gradcli.lang.fastparse>"

# CPython's AST construction recurses in C, and its depth limit is three times the
# recursion limit: the interpreter thread's high limit is capped for the parse, a little
# above what MAX_EXPRESSION_DEPTH lets through.
_RECURSION_CAP = 10_500

# Lark's STRING and LONG_STRING terminals (grammar/gradcli.lark); never both at one place.
_STRING = re.compile(
    r"(?s:([ubfUBF]?[rR]?|[rR][ubfUBF])(\"\"\".*?(?<!\\)(\\\\)*?\"\"\"|'''.*?(?<!\\)(\\\\)*?'''))"
    r"|([ubfUBF]?[rR]?|[rR][ubfUBF])(\"(?!\"\").*?(?<!\\)(\\\\)*?\"|'(?!'').*?(?<!\\)(\\\\)*?')"
)
# What Lark skips between the parts of an implicitly concatenated string.
_BETWEEN = re.compile(r"(?:[ \t]+|\\\n|\n|#[^\n]*)*")
_NAME = re.compile(r"(?!\d)\w+")
_IMPORT_TRAILING_COMMA = re.compile(r",(?:\s|#[^\n]*)*\)\s*$")
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

_CHUNK_LINES = 2000


def _starts_statement(line: str) -> bool:
    return line[:1] not in ("", " ", "\t", "#") and not line.startswith(("elif", "else"))


def _unsupported(text: str) -> bool:
    # A carriage return (CPython normalises line ends, Lark keeps them), a form feed, an
    # indentation mixing tabs and spaces (the two tokenizers measure it differently), a NUL.
    return ("\r" in text or "\f" in text or "\x00" in text
            or ("\t" in text and _MIXED_INDENT.search(text) is not None))


def parse(source: str, depth_limit: int) -> A.Program | None:
    """The program's tree, or None: the Lark path decides (and words any error).

    A tree that may be more than depth_limit levels deep is left to the Lark path too."""
    text = source if source.endswith("\n") else source + "\n"
    if _unsupported(text) or _FOLDABLE.search(text):
        return None
    try:
        converter = _Converter(text)
        try:
            return _bounded(depth_limit, converter.program, _CHUNK_LINES)
        except _BadChunk:
            return _bounded(depth_limit, converter.program, len(converter.lines))
    except Exception:  # noqa: BLE001 - any doubt at all: the Lark path
        return None


def parse_expression(text: str, line: int, column: int, depth_limit: int) -> A.Node | None:
    """larkparse.parse_expression's tree for a (tuple) expression at line:column, or None."""
    if _unsupported(text):
        return None
    try:
        return _bounded(depth_limit, _expression, text, line, column)
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
            return P.parse(text, FILENAME, mode)
        finally:
            if limit > _RECURSION_CAP:
                sys.setrecursionlimit(limit)


def _bounded(depth_limit: int, function, *args):
    """function(*args) with at most depth_limit more frames of recursion.

    The converter recurses once per level of the tree it builds (at least), so a tree
    that converts within the bound is no deeper than depth_limit (plus the few frames
    counted in `base` by excess): the parse needs no check_depth walk of its own."""
    base = 0
    frame = sys._getframe()
    while frame is not None:
        base += 1
        frame = frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(min(limit, base + 50 + depth_limit))
    try:
        return function(*args)
    finally:
        sys.setrecursionlimit(limit)


def _expression(text: str, line: int, column: int) -> A.Node:
    # The Lark path parses the stripped text and shifts the positions on its first line
    # by the column and the stripped whitespace (also when that whitespace held a newline).
    stripped = text.strip()
    converter = _Converter(stripped)
    node = converter.expression(converter.parse(stripped, "eval").body)
    column_offset = column - 1 + len(text) - len(text.lstrip())
    todo = [node]
    while todo:
        item = todo.pop()
        if item.line == 1:
            item.column += column_offset
        item.line += line - 1
        todo.extend(item.children())
    return node


def _char_columns(tree, lines: list[str], wide: list[int]) -> None:
    """CPython's UTF-8 byte columns -> character columns, on the lines that need it (the
    statements that touch no such line are not walked: one accent in a comment must not
    cost a walk of the whole program)."""
    for statement in tree.body if isinstance(tree, P.Module) else [tree]:
        if isinstance(statement, P.stmt):
            first = bisect.bisect_left(wide, statement.lineno)
            if first == len(wide) or wide[first] > statement.end_lineno:
                continue
        for node in P.walk(statement):
            line = getattr(node, "lineno", None)
            if line is None:
                continue
            text = lines[line - 1]
            if not text.isascii():
                node.col_offset = len(text.encode("utf-8")[: node.col_offset].decode("utf-8"))
            text = lines[node.end_lineno - 1]
            if not text.isascii():
                node.end_col_offset = len(
                    text.encode("utf-8")[: node.end_col_offset].decode("utf-8"))


class _Converter:
    """Python ast -> gradcli AST. Each handler takes a node of one Python class and calls
    the handlers of its children itself (_EXPRESSIONS[child.__class__]): one frame per
    level of the tree, which is what _bounded relies on."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.split("\n")
        # Column conversion and the identifier checks are needed only off plain ASCII.
        self.unicode = not text.isascii()
        if self.unicode:
            self.ascii = [line.isascii() for line in self.lines]
            self.wide = [number for number, wide in enumerate(self.ascii, 1) if not wide]

    def parse(self, text: str, mode: str):
        tree = _python_parse(text, mode)
        if self.unicode:
            _char_columns(tree, self.lines, self.wide)
        return tree

    def identifier(self, text: str, python_name: str) -> str:
        """The name as written: CPython NFKC-normalises identifiers, Lark keeps them, and
        Lark's NAME (`\\w`) and CPython's identifiers do not cover the same characters."""
        if text.isascii() and text == python_name:
            return text
        if not _NAME.fullmatch(text) or unicodedata.normalize("NFKC", text) != python_name:
            raise GiveUp
        return text

    def source(self, node) -> str:
        first, last = node.lineno, node.end_lineno
        if first == last:
            return self.lines[first - 1][node.col_offset : node.end_col_offset]
        return "\n".join([self.lines[first - 1][node.col_offset :],
                          *self.lines[first : last - 1],
                          self.lines[last - 1][: node.end_col_offset]])

    def expression(self, node):
        return _EXPRESSIONS[node.__class__](self, node)

    # ----- statements -----
    def program(self, chunk_lines: int) -> A.Program:
        """The program, read by CPython a chunk of about chunk_lines lines at a time: the
        tree CPython builds for a 100,000-line program would take most of a gigabyte, and
        touching that much fresh memory costs more than parsing in pieces.

        A chunk starts at a line that starts a statement, as far as a glance can tell (not
        indented, not a comment, not `elif`/`else`). A wrong guess cannot go unnoticed:
        CPython reads the chunk before it from the same start as the whole text, so a chunk
        that ends inside brackets, a string or a continued line, or a compound statement
        cut from its `else`, is a syntax error; then the text is read whole."""
        lines = self.lines
        if len(lines) <= chunk_lines * 3 // 2:
            return A.Program(1, 1, self.block(self.parse(self.text, "exec").body))
        body: list = []
        start = 0
        while start < len(lines):
            end = start + chunk_lines
            while end < len(lines) and not _starts_statement(lines[end]):
                end += 1
            # Blank lines in front keep CPython's line numbers those of the whole text.
            chunk = "\n" * start + "\n".join(lines[start:end]) + "\n"
            try:
                tree = self.parse(chunk, "exec")
            except SyntaxError:
                raise _BadChunk from None
            body.extend(self.block(tree.body))
            del tree
            start = end
        return A.Program(1, 1, body)

    def block(self, statements) -> list:
        return [_STATEMENTS[s.__class__](self, s) for s in statements]

    def expr_stmt(self, node):
        value = node.value
        return A.ExprStmt(node.lineno, node.col_offset + 1,
                          _EXPRESSIONS[value.__class__](self, value))

    def assign(self, node):
        targets = [_EXPRESSIONS[t.__class__](self, t) for t in node.targets]
        value = node.value
        return A.Assign(node.lineno, node.col_offset + 1, targets,
                        _EXPRESSIONS[value.__class__](self, value))

    def augassign(self, node):
        op = _AUGMENTED[node.op.__class__]
        target, value = node.target, node.value
        return A.AugAssign(node.lineno, node.col_offset + 1,
                           _EXPRESSIONS[target.__class__](self, target), op,
                           _EXPRESSIONS[value.__class__](self, value))

    def pass_stmt(self, node):
        return A.Pass(node.lineno, node.col_offset + 1)

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
        return A.Import(node.lineno, node.col_offset + 1, bindings)

    def import_from(self, node):
        self._ascii_lines(node)
        if node.level or node.module is None:
            raise GiveUp
        if _IMPORT_TRAILING_COMMA.search(self.source(node)):
            raise GiveUp  # `from m import (a, b,)`: an LALR conflict makes Lark refuse it
        module = node.module
        bindings = [(alias.asname or alias.name, f"{module}.{alias.name}", "from")
                    for alias in node.names]
        return A.Import(node.lineno, node.col_offset + 1, bindings)

    def with_stmt(self, node):
        line = self.lines[node.lineno - 1]
        rest = line[node.col_offset + 4 :].lstrip(" \t")  # after `with`
        if not rest or rest[0] == "\\":
            raise GiveUp
        first = node.items[0].context_expr
        if rest[0] == "(" and (first.lineno, first.col_offset) != (node.lineno,
                                                                   len(line) - len(rest)):
            # CPython 3.9+'s parenthesised with-items, `with (a, b):`; Lark reads a tuple.
            raise GiveUp
        items = []
        for item in node.items:
            value = item.context_expr
            value_node = _EXPRESSIONS[value.__class__](self, value)
            name = item.optional_vars
            if name is None:
                items.append((value_node, None))
                continue
            # Lark's with-item takes a bare NAME after `as`, nothing else.
            if name.__class__ is not P.Name or value.end_lineno != name.lineno:
                raise GiveUp
            text = self.lines[name.lineno - 1]
            if text[value.end_col_offset : name.col_offset].strip() != "as":
                raise GiveUp
            alias = self.identifier(text[name.col_offset : name.end_col_offset], name.id)
            items.append((value_node, alias))
        return A.With(node.lineno, node.col_offset + 1, items, self.block(node.body))

    def for_stmt(self, node):
        if node.orelse:
            raise GiveUp
        target, iterable = node.target, node.iter
        return A.For(node.lineno, node.col_offset + 1,
                     _EXPRESSIONS[target.__class__](self, target),
                     _EXPRESSIONS[iterable.__class__](self, iterable),
                     self.block(node.body))

    def if_stmt(self, node):
        # `elif` and `else: if` are the same tree for both parsers, each If node at its
        # own keyword.
        test = node.test
        return A.If(node.lineno, node.col_offset + 1, _EXPRESSIONS[test.__class__](self, test),
                    self.block(node.body), self.block(node.orelse))

    # ----- expressions -----
    def name(self, node):
        if self.unicode and not self.ascii[node.lineno - 1]:
            return A.Name(node.lineno, node.col_offset + 1,
                          self.identifier(self.source(node), node.id))
        return A.Name(node.lineno, node.col_offset + 1, node.id)

    def constant(self, node):
        value = node.value
        kind = value.__class__
        if kind is int:
            # Lark's DEC_NUMBER has no leading zero: `00` and `0_0` are CPython's only.
            if value == 0 and node.end_col_offset - node.col_offset > 1:
                text = self.source(node)
                if text[1] in "0123456789_":
                    raise GiveUp
        elif kind is str:
            return self.strings(node)
        elif not (kind is float or value is None or kind is bool or value is Ellipsis):
            raise GiveUp  # bytes (refused by gradcli), complex (likewise)
        # A float literal is the same token for CPython and Lark's FLOAT_NUMBER, so the
        # same value.
        return A.Const(node.lineno, node.col_offset + 1, value)

    def strings(self, node):
        """ToAst.strings on the tokens Lark would see in the literal's source text."""
        text = self.source(node)
        line0, column0 = node.lineno, node.col_offset
        tokens = []
        index = 0
        while True:
            match = _STRING.match(text, index)
            if match is None:
                raise GiveUp
            newlines = text.count("\n", 0, match.start())
            if newlines:
                column = match.start() - text.rfind("\n", 0, match.start())
            else:
                column = column0 + match.start() + 1
            tokens.append((match.group(), line0 + newlines, column))
            index = _BETWEEN.match(text, match.end()).end()
            if index == len(text):
                break
        parts: list = []
        is_f = False
        for token, line_t, col_t in tokens:
            prefix, body, raw, fmt = decode_string(token, line_t, col_t)
            if fmt:
                is_f = True
                parts.extend(split_fstring(body, raw, line_t, col_t + len(prefix)))
            else:
                parts.append(body)
        line, column = tokens[0][1], tokens[0][2]
        if not is_f:
            return A.Const(line, column, "".join(parts))
        return A.FString(line, column, fstring_parts(parts, _expression))

    def list_display(self, node):
        return A.ListExpr(node.lineno, node.col_offset + 1,
                          [_EXPRESSIONS[item.__class__](self, item) for item in node.elts])

    def tuple_display(self, node):
        return A.TupleExpr(node.lineno, node.col_offset + 1,
                           [_EXPRESSIONS[item.__class__](self, item) for item in node.elts])

    def attribute(self, node):
        attr = node.attr
        if self.unicode and not self.ascii[node.end_lineno - 1]:
            text = self.lines[node.end_lineno - 1][: node.end_col_offset]
            match = _NAME_AT_END.search(text)
            if match is None:
                raise GiveUp
            attr = self.identifier(match.group(), attr)
        value = node.value
        return A.Attribute(node.lineno, node.col_offset + 1,
                           _EXPRESSIONS[value.__class__](self, value), attr)

    def subscript(self, node):
        value, index = node.value, node.slice
        if index.__class__ is P.Tuple and len(index.elts) == 1:
            # `x[a,]` is the element alone for Lark, `x[(a,)]` a tuple; CPython's trees
            # do not tell them apart from `x[(a),]`.
            raise GiveUp
        return A.Subscript(node.lineno, node.col_offset + 1,
                           _EXPRESSIONS[value.__class__](self, value),
                           _EXPRESSIONS[index.__class__](self, index))

    def slice(self, node):
        lower, upper, step = node.lower, node.upper, node.step
        return A.SliceExpr(
            node.lineno, node.col_offset + 1,
            None if lower is None else _EXPRESSIONS[lower.__class__](self, lower),
            None if upper is None else _EXPRESSIONS[upper.__class__](self, upper),
            None if step is None else _EXPRESSIONS[step.__class__](self, step),
        )

    def call(self, node):
        func = node.func
        func_node = _EXPRESSIONS[func.__class__](self, func)
        args: list = []
        star: list = []
        for arg in node.args:
            if arg.__class__ is P.Starred:
                arg = arg.value
                star.append((len(args), _EXPRESSIONS[arg.__class__](self, arg)))
            else:
                args.append(_EXPRESSIONS[arg.__class__](self, arg))
        kwargs = []
        for keyword in node.keywords:
            name = keyword.arg
            if name is None:  # **mapping
                raise GiveUp
            if self.unicode and not self.ascii[keyword.lineno - 1]:
                match = _NAME.match(self.lines[keyword.lineno - 1], keyword.col_offset)
                if match is None:
                    raise GiveUp
                name = self.identifier(match.group(), name)
            value = keyword.value
            kwargs.append((name, _EXPRESSIONS[value.__class__](self, value)))
        if len(kwargs) > 1 and len({name for name, _ in kwargs}) != len(kwargs):
            raise GiveUp  # a repeated keyword: CPython's compiler objects, not its parser
        return A.Call(node.lineno, node.col_offset + 1, func_node, args, kwargs, star)

    def binop(self, node):
        left, right = node.left, node.right
        return A.BinOp(node.lineno, node.col_offset + 1, _BINARY[node.op.__class__],
                       _EXPRESSIONS[left.__class__](self, left),
                       _EXPRESSIONS[right.__class__](self, right))

    def unaryop(self, node):
        op = node.op.__class__
        operand = node.operand
        if op is P.Not:
            return A.Not(node.lineno, node.col_offset + 1,
                         _EXPRESSIONS[operand.__class__](self, operand))
        return A.UnaryOp(node.lineno, node.col_offset + 1, _UNARY[op],
                         _EXPRESSIONS[operand.__class__](self, operand))

    def compare(self, node):
        left = node.left
        return A.Compare(node.lineno, node.col_offset + 1,
                         _EXPRESSIONS[left.__class__](self, left),
                         [_COMPARE[op.__class__] for op in node.ops],
                         [_EXPRESSIONS[item.__class__](self, item) for item in node.comparators])

    def boolop(self, node):
        op = "and" if node.op.__class__ is P.And else "or"
        return A.BoolOp(node.lineno, node.col_offset + 1, op,
                        [_EXPRESSIONS[value.__class__](self, value) for value in node.values])

    def ifexp(self, node):
        test, body, orelse = node.test, node.body, node.orelse
        return A.IfExp(node.lineno, node.col_offset + 1,
                       _EXPRESSIONS[test.__class__](self, test),
                       _EXPRESSIONS[body.__class__](self, body),
                       _EXPRESSIONS[orelse.__class__](self, orelse))

    def listcomp(self, node):
        if len(node.generators) != 1:
            raise GiveUp
        generator = node.generators[0]
        if generator.is_async:
            raise GiveUp
        element, target, iterable = node.elt, generator.target, generator.iter
        return A.ListComp(node.lineno, node.col_offset + 1,
                          _EXPRESSIONS[element.__class__](self, element),
                          _EXPRESSIONS[target.__class__](self, target),
                          _EXPRESSIONS[iterable.__class__](self, iterable),
                          [_EXPRESSIONS[c.__class__](self, c) for c in generator.ifs])


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
