"""Source text -> gradcli AST, through the Lark grammar in grammar/gradcli.lark.

This is the definition of the language and the source of every syntax-error message.
gradcli.lang.parser tries gradcli.lang.fastparse first and imports this module only when
the fast path gives up (an error, or a construct it does not handle), so that a valid
program never pays for importing Lark.

The LALR parser is built once per process (and cached on disk by Lark between
processes). Syntax errors are reported the way CPython 3.11 words them where the
difference matters to a user: unclosed brackets, indentation, tabs.
"""

from __future__ import annotations

import json
import os
import re

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.indenter import DedentError, PythonIndenter

from gradcli.base.errors import GradcliSyntaxError
from gradcli.lang import ast as A
from gradcli.lang.depth import (
    MAX_INDENT_LEVELS,
    MAX_NESTED_BRACKETS,
    SyntaxProblem,
    check_depth,
)
from gradcli.lang.strings import decode_string, fstring_parts, split_fstring


def grammar_path() -> str:
    # os.path, not pathlib: pathlib (and urllib.parse, which it imports) would add
    # milliseconds to every start-up.
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    for candidate in (os.path.join(here, "grammar", "gradcli.lark"),
                      os.path.join(os.path.dirname(here), "grammar", "gradcli.lark")):
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError("gradcli.lark grammar not found next to the gradcli package")


class Indenter(PythonIndenter):
    """Python's indentation rules, plus CPython's TabError and nesting limit."""

    def __init__(self):
        super().__init__()
        self.indent_strings = [""]

    def handle_NL(self, token):
        if self.paren_level > 0:
            return
        yield token
        indent_str = token.rsplit("\n", 1)[1]
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        line = token.end_line
        if indent > self.indent_level[-1]:
            if not indent_str.startswith(self.indent_strings[-1]):
                raise SyntaxProblem(
                    "inconsistent use of tabs and spaces in indentation", line, 1, "TabError"
                )
            if len(self.indent_level) > MAX_INDENT_LEVELS:
                raise SyntaxProblem(
                    "too many levels of indentation", line, len(indent_str) + 1,
                    "IndentationError",
                )
            self.indent_level.append(indent)
            self.indent_strings.append(indent_str)
            yield Token.new_borrow_pos(self.INDENT_type, indent_str, token)
        else:
            while indent < self.indent_level[-1]:
                self.indent_level.pop()
                self.indent_strings.pop()
                yield Token.new_borrow_pos(self.DEDENT_type, indent_str, token)
            if indent != self.indent_level[-1]:
                raise SyntaxProblem(
                    "unindent does not match any outer indentation level",
                    line,
                    len(indent_str) + 1,
                    "IndentationError",
                )
            if indent_str != self.indent_strings[-1]:
                raise SyntaxProblem(
                    "inconsistent use of tabs and spaces in indentation", line, 1, "TabError"
                )

    def _process(self, stream):
        self.indent_strings = [""]
        for token in stream:
            if token.type == self.NL_type:
                yield from self.handle_NL(token)
            else:
                yield token
            if token.type in self.OPEN_PAREN_types:
                if self.paren_level >= MAX_NESTED_BRACKETS:
                    raise SyntaxProblem("too many nested parentheses", token.line, token.column)
                self.paren_level += 1
            elif token.type in self.CLOSE_PAREN_types:
                self.paren_level = max(self.paren_level - 1, 0)
        while len(self.indent_level) > 1:
            self.indent_level.pop()
            yield Token(self.DEDENT_type, "")


_parser: Lark | None = None


def lark_parser() -> Lark:
    global _parser
    if _parser is None:
        cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(
            os.path.expanduser("~"), ".cache")
        cache_dir = os.path.join(cache_home, "gradcli")
        try:
            os.makedirs(cache_dir, exist_ok=True)
            cache = os.path.join(cache_dir, "grammar.lark-cache")
        except OSError:
            cache = False
        with open(grammar_path(), encoding="utf-8") as handle:
            grammar = handle.read()
        _parser = Lark(
            grammar,
            parser="lalr",
            # One scanner for every parser state: the contextual lexer compiles a regex
            # per state on first use, 10-20 ms of every process's first parse.
            lexer="basic",
            postlex=Indenter(),
            propagate_positions=True,
            maybe_placeholders=True,
            start=["start", "testlist_star"],
            cache=cache,
        )
    return _parser


def parse(source: str) -> A.Program:
    """Parse a whole program. Raises SyntaxProblem."""
    text = source if source.endswith("\n") else source + "\n"
    _check_first_indent(text)
    folded, literals = fold_literals(text)
    if literals:
        # The fast path is only an optimisation: if anything about it is off (an error
        # anywhere, a placeholder not used as a plain expression), parse the original.
        try:
            transformer = ToAst(text, literals=literals)
            program = transformer.transform(lark_parser().parse(folded, start="start"))
            check_depth(program)
            if transformer.literals_used == len(literals):
                return program
        except (GradcliSyntaxError, UnexpectedInput, DedentError):
            pass
    try:
        program = ToAst(text).transform(lark_parser().parse(text, start="start"))
        check_depth(program)
        return program
    except GradcliSyntaxError as exc:
        if exc.message.startswith("unindent does not match"):
            # CPython points just past the end of the offending line.
            lines = text.split("\n")
            if 0 < exc.line <= len(lines):
                exc.column = len(lines[exc.line - 1]) + 1
        raise
    except VisitError as exc:
        if isinstance(exc.orig_exc, GradcliSyntaxError):
            raise exc.orig_exc from None
        raise
    except DedentError:
        raise _bracket_problem(text) or SyntaxProblem(
            "unindent does not match any outer indentation level", 1, 1, "IndentationError"
        ) from None
    except UnexpectedInput as exc:
        raise _classify(text, exc) from None


def _check_first_indent(text: str) -> None:
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] in " \t\f":
            raise SyntaxProblem("unexpected indent", number, 1, "IndentationError")
        return


def parse_expression(text: str, line: int, column: int) -> A.Node:
    """An f-string replacement field: a (tuple) expression starting at line:column."""
    try:
        tree = lark_parser().parse(text.strip(), start="testlist_star")
    except (UnexpectedInput, DedentError):
        raise SyntaxProblem("f-string: invalid syntax", line, column) from None
    offset = len(text) - len(text.lstrip())
    node = ToAst(text, line - 1, column - 1 + offset).transform(tree)
    check_depth(node)
    return node


# ----- the fast path for long numeric list literals ---------------------------------------
# Lark spends tens of microseconds per token, so `tensor([...200,000 numbers...])` would
# take most of a minute. Such a list (numbers, commas, brackets and spaces only) is read
# with json instead and replaced, for Lark, by `(_   )`: a parenthesised name at the same
# offsets and with the same newlines, which ToAst.name turns back into the list.

FOLD_MIN_CHARS = 2000
_FOLD_SCAN = re.compile(
    r"#[^\n]*"  # a comment
    r"|[rRbBuUfF]{0,2}(?:"  # a string: its brackets are not code
    r'"""(?:\\.|[^\\])*?"""'
    r"|'''(?:\\.|[^\\])*?'''"
    r'|"(?:\\.|[^"\\\n])*"'
    r"|'(?:\\.|[^'\\\n])*'"
    r")"
    r"|(\[)"  # a candidate
)
_FOLD_RUN = re.compile(r"[0-9eE.,+\-\s\[\]]*")
_FOLD_BRACKET = re.compile(r"[\[\]]")
_FOLD_AFTER_CHARS = set("=([,:;+-*/%@<>!|&^~")
_FOLD_AFTER_WORDS = {"in", "and", "or", "not", "if", "else", "is"}
_FOLD_JSON_FIXES = (
    (re.compile(r"(?<=[0-9])\.(?![0-9])"), ".0"),  # 1.  -> 1.0
    (re.compile(r"(?<![0-9])\.(?=[0-9])"), "0."),  # .5  -> 0.5
    (re.compile(r"(?<=[0-9.\]])(\s*),(\s*)\]"), r"\1\2]"),  # a trailing comma
)


def fold_literals(text: str) -> tuple[str, dict]:
    """-> (text for Lark, {offset of each placeholder name: (line, column, value)})."""
    if len(text) < FOLD_MIN_CHARS or "[" not in text:
        return text, {}
    pieces: list[str] = []
    literals: dict = {}
    done = position = 0
    while True:
        match = _FOLD_SCAN.search(text, position)
        if match is None:
            break
        position = match.end()
        if match.group(1) is None:
            continue
        start = match.start()
        run_end = _FOLD_RUN.match(text, start + 1).end()
        if run_end - start < FOLD_MIN_CHARS or not _folds_after(text, start):
            continue
        end = _balanced_end(text, start, run_end)
        if end is None or end - start < FOLD_MIN_CHARS:
            continue
        value = _json_numbers(text[start:end])
        placeholder = _placeholder(text[start:end]) if value is not None else None
        if placeholder is None:
            continue
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        literals[start + placeholder.index("_")] = (line, column, value)
        pieces.append(text[done:start])
        pieces.append(placeholder)
        done = position = end
    if not literals:
        return text, {}
    pieces.append(text[done:])
    return "".join(pieces), literals


def _folds_after(text: str, start: int) -> bool:
    """A list display, not a subscript: what precedes `[` cannot end an expression."""
    i = start - 1
    while i >= 0 and text[i] in " \t\f":
        i -= 1
    if i < 0:
        return True
    if text[i] == "\n":
        # The start of a line: a statement, unless an unfinished line precedes it.
        j = i - 1
        while j >= 0 and text[j] in " \t\f":
            j -= 1
        return j < 0 or text[j] == "\n" or text[j] in _FOLD_AFTER_CHARS
    if text[i] in _FOLD_AFTER_CHARS:
        return True
    j = i
    while j >= 0 and (text[j].isalnum() or text[j] == "_"):
        j -= 1
    return text[j + 1 : i + 1] in _FOLD_AFTER_WORDS


def _balanced_end(text: str, start: int, run_end: int):
    depth = 0
    for bracket in _FOLD_BRACKET.finditer(text, start, run_end):
        depth += 1 if bracket.group() == "[" else -1
        if depth == 0:
            return bracket.end()
        if depth > 32:  # no tensor is that deep; the full parser reports the nesting
            return None
    return None


def _json_numbers(span: str):
    for pattern, replacement in _FOLD_JSON_FIXES:
        span = pattern.sub(replacement, span)
    try:
        value = json.loads(span)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, list) else None


def _placeholder(span: str) -> str | None:
    """`(` and `)` where the brackets were, a one-letter name at the first character that
    is not a newline, spaces elsewhere: the same length and the same newlines."""
    chars = ["\n" if c == "\n" else " " for c in span]
    chars[0], chars[-1] = "(", ")"
    for i in range(1, len(chars) - 1):
        if chars[i] != "\n":
            chars[i] = "_"
            return "".join(chars)
    return None


def _classify(text: str, exc: UnexpectedInput) -> SyntaxProblem:
    bracket = _bracket_problem(text)
    if bracket is not None:
        return bracket
    line, column = exc.line, exc.column
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "_INDENT":
            return SyntaxProblem(
                "unexpected indent", token.end_line or line, len(str(token)), "IndentationError"
            )
        if token.type == "$END":
            lines = text.rstrip("\n").split("\n")
            line, column = len(lines), len(lines[-1]) + 1
        header = _block_header(text, token.line or line) if token.type != "$END" else None
        if header is None and token.type == "$END":
            header = _block_header(text, line + 1)
        if header is not None and (
                _indent_of(text, token.line or line) <= _indent_of(text, header[1])):
            if True:
                keyword, header_line = header
                return SyntaxProblem(
                    f"expected an indented block after '{keyword}' statement on line "
                    f"{header_line}",
                    token.line if token.line is not None else line,
                    (token.column or 1),
                    "IndentationError",
                )
        if token.type == "$END":
            return SyntaxProblem("invalid syntax", line, column)
        comma = _missing_comma(text, token)
        if comma is not None:
            return comma
        if token.type == "STRING" or token.type == "LONG_STRING":
            return SyntaxProblem("invalid syntax", token.line, token.column)
        if token.type == "_NEWLINE" and "COLON" in exc.expected:
            return SyntaxProblem("expected ':'", token.line, token.column)
        return SyntaxProblem("invalid syntax", token.line, token.column)
    if isinstance(exc, UnexpectedCharacters):
        char = text.split("\n")[line - 1][column - 1 : column] if line else ""
        if char in "\"'":
            return SyntaxProblem(
                f"unterminated string literal (detected at line {line})", line, column
            )
        if char == "$" or char == "?" or char == "`" or char == "!":
            return SyntaxProblem("invalid syntax", line, column)
        return SyntaxProblem(f"invalid character '{char}' (U+{ord(char):04X})", line, column) if (
            char and not char.isascii()
        ) else SyntaxProblem("invalid syntax", line, column)
    return SyntaxProblem("invalid syntax", line or 1, column or 1)


def _indent_of(text: str, line: int) -> int:
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return 0
    return len(lines[line - 1]) - len(lines[line - 1].lstrip())


def _block_header(text: str, line: int):
    lines = text.split("\n")
    for number in range(min(line, len(lines)) - 1, 0, -1):
        stripped = lines[number - 1].strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword = stripped.split()[0].rstrip(":")
        if keyword in ("for", "with", "if", "elif", "else") and stripped.endswith(":"):
            return keyword, number
        return None
    return None


_CLOSERS = {")": "(", "]": "[", "}": "{"}
_ENDS_EXPRESSION = {"NAME", "DEC_NUMBER", "FLOAT_NUMBER", "HEX_NUMBER", "STRING", "LONG_STRING",
                    "RPAR", "RSQB"}
_STARTS_EXPRESSION = {"NAME", "DEC_NUMBER", "FLOAT_NUMBER", "HEX_NUMBER", "STRING",
                      "LONG_STRING", "LPAR", "LSQB"}


def _missing_comma(text: str, bad) -> SyntaxProblem | None:
    """CPython's hint when two expressions stand side by side inside brackets."""
    if bad.type not in _STARTS_EXPRESSION:
        return None
    try:
        tokens = list(lark_parser().lex(text, dont_ignore=False))
    except Exception:  # noqa: BLE001 - only a hint
        return None
    depth, previous = 0, None
    for token in tokens:
        if token.start_pos == bad.start_pos:
            if depth > 0 and previous is not None and previous.type in _ENDS_EXPRESSION:
                if previous.type in ("NAME",) and previous.value in _RESERVED:
                    return None
                return SyntaxProblem(
                    "invalid syntax. Perhaps you forgot a comma?", previous.line, previous.column
                )
            return None
        if token.value in ("(", "[", "{"):
            depth += 1
        elif token.value in (")", "]", "}"):
            depth -= 1
        previous = token
    return None


def _bracket_problem(text: str) -> SyntaxProblem | None:
    """CPython's messages for unmatched, mismatched and unclosed brackets."""
    stack = []
    try:
        tokens = list(lark_parser().lex(text, dont_ignore=False))
    except Exception:  # noqa: BLE001 - lexing errors are reported by the parser instead
        return None
    for token in tokens:
        if token.value in ("(", "[", "{") and token.type not in ("STRING", "LONG_STRING"):
            stack.append(token)
        elif token.value in _CLOSERS and token.type not in ("STRING", "LONG_STRING"):
            if not stack:
                return SyntaxProblem(f"unmatched '{token.value}'", token.line, token.column)
            opener = stack.pop()
            if opener.value != _CLOSERS[token.value]:
                if opener.line == token.line:
                    message = (
                        f"closing parenthesis '{token.value}' does not match opening "
                        f"parenthesis '{opener.value}'"
                    )
                else:
                    message = (
                        f"closing parenthesis '{token.value}' does not match opening "
                        f"parenthesis '{opener.value}' on line {opener.line}"
                    )
                return SyntaxProblem(message, token.line, token.column)
    if stack:
        opener = stack[0] if len(stack) else stack[-1]
        opener = stack[-1]
        return SyntaxProblem(f"'{opener.value}' was never closed", opener.line, opener.column)
    return None


_TARGET_NAMES = {
    A.Call: "function call",
    A.BinOp: "expression",
    A.UnaryOp: "expression",
    A.Const: "literal",
    A.FString: "f-string expression",
    A.Compare: "comparison",
    A.BoolOp: "expression",
    A.Not: "expression",
    A.IfExp: "conditional expression",
    A.ListComp: "list comprehension",
}


def check_target(target: A.Node) -> A.Node:
    if isinstance(target, (A.Name, A.Attribute, A.Subscript)):
        return target
    if isinstance(target, (A.TupleExpr, A.ListExpr)):
        for item in target.items:
            check_target(item)
        return target
    what = _TARGET_NAMES.get(type(target), "expression")
    if isinstance(target, A.Const) and target.value is None:
        what = "None"
    elif isinstance(target, A.Const) and isinstance(target.value, bool):
        what = str(target.value)
    raise SyntaxProblem(
        f"cannot assign to {what} here. Maybe you meant '==' instead of '='?"
        if isinstance(target, (A.Call, A.Const, A.BinOp, A.Compare)) and what != "function call"
        and not isinstance(target, A.Const)
        else f"cannot assign to {what}",
        target.line,
        target.column,
    )


@v_args(meta=True)
class ToAst(Transformer):
    """Lark parse tree -> gradcli AST (bottom-up)."""

    __visit_tokens__ = False

    def __init__(self, text: str, line_offset: int = 0, column_offset: int = 0, literals=None):
        super().__init__()
        self.text = text
        self.line_offset = line_offset
        self.column_offset = column_offset
        self.literals = literals or {}
        self.literals_used = 0

    def transform(self, tree):
        """Lark's Transformer recurses once per tree level (and an exception raised deep
        inside costs time in proportion to the depth); this walk keeps its own stack."""
        if not isinstance(tree, Tree):
            return tree
        values: list = []
        todo: list = [(tree, False)]
        while todo:
            item, reduce = todo.pop()
            if reduce is None:
                values.append(item)
            elif reduce:
                count = len(item.children)
                children = values[len(values) - count :]
                del values[len(values) - count :]
                values.append(self._reduce(item, children))
            else:
                todo.append((item, True))
                for child in reversed(item.children):
                    todo.append((child, False) if isinstance(child, Tree) else (child, None))
        return values[0]

    def _reduce(self, tree, children):
        method = getattr(self, tree.data, None)
        if method is None:
            return Tree(tree.data, children, tree.meta)
        wrapper = getattr(method, "visit_wrapper", None)
        if wrapper is not None:
            return method.visit_wrapper(method, tree.data, children, tree.meta)
        return method(children)

    def pos(self, meta):
        line = meta.line + self.line_offset
        column = meta.column + (self.column_offset if meta.line == 1 else 0)
        return line, column

    def tok_pos(self, token):
        line = token.line + self.line_offset
        return line, token.column + (self.column_offset if token.line == 1 else 0)

    # ----- statements -----
    def start(self, meta, children):
        body = []
        for child in children:
            if isinstance(child, list):
                body.extend(child)
            elif isinstance(child, A.Node):
                body.append(child)
        return A.Program(1, 1, body)

    def simple_stmt(self, meta, children):
        return [c for c in children if isinstance(c, A.Node)]

    def expr_only(self, meta, children):
        return A.ExprStmt(*self.pos(meta), children[0])

    def assign(self, meta, children):
        *targets, value = children
        return A.Assign(*self.pos(meta), [check_target(t) for t in targets], value)

    def augassign(self, meta, children):
        target, op, value = children
        if isinstance(target, (A.TupleExpr, A.ListExpr)):
            raise SyntaxProblem(
                "'tuple' is an illegal expression for augmented assignment",
                target.line,
                target.column,
            )
        check_target(target)
        return A.AugAssign(*self.pos(meta), target, str(op)[:-1], value)

    def pass_stmt(self, meta, children):
        return A.Pass(*self.pos(meta))

    def import_name(self, meta, children):
        bindings = []
        for dotted, alias in children[0]:
            bound = alias if alias is not None else dotted.split(".")[0]
            module = dotted if alias is not None else dotted.split(".")[0]
            bindings.append((bound, module, dotted))
        return A.Import(*self.pos(meta), bindings)

    def import_from(self, meta, children):
        module, targets = children
        return A.Import(*self.pos(meta),
                        [(name, f"{module}.{original}", "from") for name, original in targets])

    def import_targets(self, meta, children):
        if not children or children[0] is None:
            return [("*", "*")]
        return children[0]

    def import_as_names(self, meta, children):
        return children

    def import_as_name(self, meta, children):
        name, alias = children
        return (str(alias) if alias is not None else str(name), str(name))

    def dotted_as_names(self, meta, children):
        return children

    def dotted_as_name(self, meta, children):
        dotted, alias = children
        return dotted, (str(alias) if alias is not None else None)

    def dotted_name(self, meta, children):
        return ".".join(str(c) for c in children)

    def with_stmt(self, meta, children):
        *items, body = children
        return A.With(*self.pos(meta), items, body)

    def with_item(self, meta, children):
        expr, alias = children
        return (expr, str(alias) if alias is not None else None)

    def for_stmt(self, meta, children):
        target, iterable, body = children
        return A.For(*self.pos(meta), check_target(target), iterable, body)

    def if_stmt(self, meta, children):
        test, body, *rest = children
        orelse = rest.pop() if rest and (rest[-1] is None or isinstance(rest[-1], list)) else None
        branches = [c for c in rest if isinstance(c, tuple)]
        tail = orelse or []
        for elif_test, elif_body, line, column in reversed(branches):
            tail = [A.If(line, column, elif_test, elif_body, tail)]
        return A.If(*self.pos(meta), test, body, tail)

    def elif_clause(self, meta, children):
        return (children[0], children[1], *self.pos(meta))

    def suite(self, meta, children):
        body = []
        for child in children:
            if isinstance(child, list):
                body.extend(child)
            elif isinstance(child, A.Node):
                body.append(child)
        return body

    # ----- expressions -----
    def ternary(self, meta, children):
        body, test, orelse = children
        return A.IfExp(*self.pos(meta), test, body, orelse)

    def or_test(self, meta, children):
        return A.BoolOp(*self.pos(meta), "or", children)

    def and_test(self, meta, children):
        return A.BoolOp(*self.pos(meta), "and", children)

    def not_(self, meta, children):
        return A.Not(*self.pos(meta), children[0])

    def comparison(self, meta, children):
        left, rest = children[0], children[1:]
        return A.Compare(*self.pos(meta), left, rest[0::2], rest[1::2])

    def comp_op(self, meta, children):
        return " ".join(str(c) for c in children)

    def _chain(self, meta, children):
        result = children[0]
        line, column = self.pos(meta)
        for op, operand in zip(children[1::2], children[2::2], strict=False):
            result = A.BinOp(line, column, str(op), result, operand)
        return result

    bor_expr = bxor_expr = band_expr = arith_expr = term = _chain

    def unary(self, meta, children):
        op, operand = children
        return A.UnaryOp(*self.pos(meta), str(op), operand)

    def power(self, meta, children):
        base, _, exponent = children
        return A.BinOp(*self.pos(meta), "**", base, exponent)

    def call(self, meta, children):
        func, arguments = children
        args, kwargs, star = [], [], []
        seen_keyword = False
        for arg in arguments or []:
            if isinstance(arg, tuple) and arg[0] == "kw":
                if any(name == arg[1] for name, _ in kwargs):
                    raise SyntaxProblem(f"keyword argument repeated: {arg[1]}", arg[2].line,
                                        arg[2].column)
                kwargs.append((arg[1], arg[2]))
                seen_keyword = True
            elif isinstance(arg, tuple) and arg[0] == "star":
                star.append((len(args), arg[1]))
            else:
                if seen_keyword:
                    raise SyntaxProblem(
                        "positional argument follows keyword argument", arg.line, arg.column
                    )
                args.append(arg)
        return A.Call(*self.pos(meta), func, args, kwargs, star)

    def arguments(self, meta, children):
        return children

    def kwarg(self, meta, children):
        name, value = children
        return ("kw", str(name), value)

    def star_arg(self, meta, children):
        return ("star", children[0])

    def subscript(self, meta, children):
        value, items = children
        return A.Subscript(*self.pos(meta), value, items)

    def subscripts(self, meta, children):
        items = [c for c in children if c is not None or len(children) == 1]
        if len(items) == 1 and not (len(children) > 1):
            return items[0]
        return A.TupleExpr(*self.pos(meta), items)

    def slice(self, meta, children):
        lower, upper, step = (children + [None, None, None])[:3]
        return A.SliceExpr(*self.pos(meta), lower, upper, step)

    def attribute(self, meta, children):
        value, name = children
        return A.Attribute(*self.pos(meta), value, str(name))

    def paren(self, meta, children):
        return children[0]

    def empty_tuple(self, meta, children):
        return A.TupleExpr(*self.pos(meta), [])

    def tuple(self, meta, children):
        return A.TupleExpr(*self.pos(meta), children[0])

    def tuple_items(self, meta, children):
        return [c for c in children if c is not None]

    def empty_list(self, meta, children):
        return A.ListExpr(*self.pos(meta), [])

    def list(self, meta, children):
        return A.ListExpr(*self.pos(meta), children[0])

    def list_items(self, meta, children):
        return [c for c in children if c is not None]

    def listcomp(self, meta, children):
        element, (target, iterable, conditions) = children
        return A.ListComp(*self.pos(meta), element, target, iterable, conditions)

    def comp_for(self, meta, children):
        target, iterable, *conditions = children
        return (check_target(target), iterable, conditions)

    def comp_if(self, meta, children):
        return children[0]

    def testlist_star(self, meta, children):
        items = [c for c in children if c is not None]
        trailing_comma = self.text[meta.start_pos : meta.end_pos].rstrip().endswith(",")
        if len(items) == 1 and not trailing_comma:
            return items[0]
        return A.TupleExpr(*self.pos(meta), items)

    testlist = exprlist = testlist_star

    def name(self, meta, children):
        token = children[0]
        literal = self.literals.get(token.start_pos)
        if literal is not None:
            self.literals_used += 1
            return _literal_node(*literal)
        text = str(token)
        if text in _RESERVED:
            raise SyntaxProblem("invalid syntax", *self.tok_pos(token))
        return A.Name(*self.tok_pos(token), text)

    def number(self, meta, children):
        token = children[0]
        text = str(token).replace("_", "")
        if token.type == "IMAG_NUMBER":
            raise SyntaxProblem("complex numbers are not supported by gradcli",
                                *self.tok_pos(token))
        if token.type == "FLOAT_NUMBER":
            value = float(text)
        elif token.type == "DEC_NUMBER":
            value = int(text)
        else:
            value = int(text, 0)
        return A.Const(*self.tok_pos(token), value)

    def strings(self, meta, children):
        line, column = self.pos(meta)
        parts: list = []
        is_f = False
        for token in children:
            line_t, col_t = self.tok_pos(token)
            prefix, body, raw, fmt = decode_string(str(token), line_t, col_t)
            if fmt:
                is_f = True
                for piece in split_fstring(body, raw, line_t, col_t + len(prefix)):
                    parts.append(piece)
            else:
                parts.append(body)
        if not is_f:
            return A.Const(line, column, "".join(parts))
        return A.FString(line, column, fstring_parts(parts, parse_expression))

    def ellipsis(self, meta, children):
        return A.Const(*self.pos(meta), Ellipsis)

    def const_none(self, meta, children):
        return A.Const(*self.pos(meta), None)

    def const_true(self, meta, children):
        return A.Const(*self.pos(meta), True)

    def const_false(self, meta, children):
        return A.Const(*self.pos(meta), False)


def _literal_node(line: int, column: int, value):
    if isinstance(value, list):
        return A.ListExpr(line, column, [_literal_node(line, column, v) for v in value])
    return A.Const(line, column, value)


_RESERVED = {
    "def", "class", "lambda", "return", "while", "try", "except", "finally", "raise",
    "del", "global", "nonlocal", "yield", "assert", "async", "await", "break", "continue",
    "from", "import", "as", "with", "for", "in", "if", "elif", "else", "and", "or", "not",
    "is", "pass", "None", "True", "False",
}
