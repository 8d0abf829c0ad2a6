"""The definition of gradcli's language: grammar/python.lark, Python 3.11 minus what SPEC
§1.6 refuses, parsed by Lark (LALR) with Python's indenter.

`parse(source)` returns the Lark tree or raises GradcliSyntaxError at a line and column.
What a context-free grammar cannot say is checked on the tree afterwards, as CPython's
own grammar needs its `invalid_*` rules: what may be assigned to, the order of call
arguments and parameters, string escapes, the fields of f-strings (each parsed with the
same grammar, as CPython 3.11 parses `(field)`), and gradcli's refusals of names
(SPEC §1.9: the reserved `_gx_` prefix, `__builtins__`, a class's `__class__`).

`outline(tree)` and `ast_outline(module)` reduce a Lark tree and CPython's `ast` tree of
the same text to one comparable form, so the two front ends are compared on structure,
not only on acceptance (tests/test_grammar_differential.py):
    [(line, statement kind, (expression kinds, source order), (block, ...)), ...]
where each block is a list of the same entries. Expression kinds are CPython's node class
names, qualified by what the text fixes (`BinOp:Add`, `Name:x`, `Constant:int`).

Lark is imported here only (and in the two helpers below, which only this module's
`parse` loads), and the parser is built on first use (then cached). The checks are in
gradcli/lang/python_checks.py, the outlines in gradcli/lang/python_outline.py.
"""

from __future__ import annotations

import os
import re

from gradcli.base.errors import GradcliSyntaxError
from gradcli.lang.python_checks import (  # noqa: F401 - the reserved names, re-exported
    HARMLESS_RESERVED,
    RESERVED_PREFIX,
    Checker,
    Problem,
    problem,
)

# Keywords of Python 3.11 that the grammar has no rule for (SPEC §1.6): never a name.
REFUSED_KEYWORDS = ("yield", "async", "await")
MAX_INDENT_LEVELS = 100  # CPython's tokenizer: "too many levels of indentation"
MAX_PAREN_LEVELS = 200  # CPython's tokenizer: "too many nested parentheses"

_parsers: dict = {}
STARTS = ["file_input", "fstring_field"]


def grammar_path() -> str:
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    for candidate in (os.path.join(here, "grammar", "python.lark"),
                      os.path.join(os.path.dirname(here), "grammar", "python.lark")):
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError("python.lark grammar not found next to the gradcli package")


def _parser():
    """One LALR parser for both start rules, built on first use; Lark keeps its tables
    on disk between processes (cache=True)."""
    parser = _parsers.get("lalr")
    if parser is None:
        from lark import Lark

        with open(grammar_path(), encoding="utf-8") as handle:
            text = handle.read()
        parser = _parsers["lalr"] = Lark(
            text, parser="lalr", lexer="basic", start=STARTS, postlex=_indenter_class()(),
            propagate_positions=True, maybe_placeholders=True, cache=True)
    return parser


def _indenter_class():
    from lark import Token
    from lark.indenter import PythonIndenter

    class Indenter(PythonIndenter):
        """Python's blocks with CPython's tokenizer rules: a tab goes to the next multiple
        of 8, and the indentation must compare the same way with tabs counted as 1
        (else TabError); then `with (...):` has its brackets marked (see `_with_brackets`)."""

        def process(self, stream):
            self.paren_level, self.indent_level, self.alt_levels = 0, [0], [0]
            return _with_brackets(self._process(_first_line_check(stream)), Token)

        def handle_NL(self, token):
            if self.paren_level > 0:
                return
            yield token
            indent_str = token.rsplit("\n", 1)[1].rsplit("\f", 1)[-1]
            column = alt = 0
            for char in indent_str:
                alt += 1
                column = (column // 8 + 1) * 8 if char == "\t" else column + 1
            line = token.end_line
            if column > self.indent_level[-1]:
                if alt <= self.alt_levels[-1]:
                    raise problem("inconsistent use of tabs and spaces in indentation",
                                   line, 1, "TabError")
                if len(self.indent_level) >= MAX_INDENT_LEVELS:
                    raise problem("too many levels of indentation", line, 1,
                                   "IndentationError")
                self.indent_level.append(column)
                self.alt_levels.append(alt)
                yield Token.new_borrow_pos(self.INDENT_type, indent_str, token)
                return
            while column < self.indent_level[-1]:
                self.indent_level.pop()
                self.alt_levels.pop()
                yield Token.new_borrow_pos(self.DEDENT_type, indent_str, token)
            if column != self.indent_level[-1]:
                raise problem("unindent does not match any outer indentation level",
                               line, len(indent_str) + 1, "IndentationError")
            if alt != self.alt_levels[-1]:
                raise problem("inconsistent use of tabs and spaces in indentation",
                               line, 1, "TabError")

        def _process(self, stream):
            token = None
            for token in stream:
                if token.type == self.NL_type:
                    yield from self.handle_NL(token)
                    continue
                yield token
                if token.type in OPENING:
                    self.paren_level += 1
                    if self.paren_level > MAX_PAREN_LEVELS:
                        raise problem("too many nested parentheses", token.line,
                                       token.column)
                elif token.type in CLOSING:
                    if self.paren_level == 0:
                        raise problem(f"unmatched '{token}'", token.line, token.column)
                    self.paren_level -= 1
            while len(self.indent_level) > 1:
                self.indent_level.pop()
                yield Token.new_borrow_pos(self.DEDENT_type, "", token)

    return Indenter


def _first_line_check(stream):
    """The indenter only sees indentation after a newline: the first line's is here."""
    first = True
    for token in stream:
        if first and token.type != "_NEWLINE":
            first = False
            if token.column != 1:
                raise problem("unexpected indent", token.line, token.column,
                               "IndentationError")
        yield token


OPENING = {"LPAR", "LSQB", "LBRACE"}
CLOSING = {"RPAR", "RSQB", "RBRACE"}


def _with_brackets(stream, Token):
    """`with (a as b, c):` is Python 3.10's parenthesized with-items, which an LALR(1)
    grammar cannot tell from a parenthesized expression until the `as`. CPython's PEG
    parser tries the items first; here the brackets of `with (...)` that are followed by
    `:` and hold neither nothing nor a top-level `for` (a generator) become _WITH_LPAR /
    _WITH_RPAR, and python.lark has a rule for each reading."""
    stream = iter(stream)
    for token in stream:
        yield token
        if token.type != "WITH":
            continue
        opening = next(stream, None)
        if opening is None:
            return
        if opening.type != "LPAR":
            yield opening
            continue
        inside, depth, generator = [], 1, False
        for item in stream:
            inside.append(item)
            if item.type in OPENING:
                depth += 1
            elif item.type in CLOSING:
                depth -= 1
                if depth == 0:
                    break
            elif item.type == "FOR" and depth == 1:
                generator = True
        after = next(stream, None)
        if (depth == 0 and after is not None and after.type == "COLON" and len(inside) > 1
                and not generator):
            yield Token.new_borrow_pos("_WITH_LPAR", opening, opening)
            yield from inside[:-1]
            yield Token.new_borrow_pos("_WITH_RPAR", inside[-1], inside[-1])
        else:
            yield opening
            yield from inside
        if after is not None:
            yield after


# ----------------------------------------------------------------------------- parse
def parse(source: str, start: str = "file_input"):
    """The Lark tree of a program, checked; GradcliSyntaxError at the first problem."""
    from lark.exceptions import (
        UnexpectedCharacters,
        UnexpectedEOF,
        UnexpectedInput,
        UnexpectedToken,
    )
    from lark.indenter import DedentError

    if "\0" in source:
        raise GradcliSyntaxError("source code string cannot contain null bytes", 1, 1)
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    try:
        tree = _parser().parse(text, start=start)
        Checker(text, parse_field).check(tree)
        return tree
    except Problem as found:
        raise found.error from None
    except UnexpectedCharacters as exc:
        raise _refusal(text, exc.line, exc.column) or GradcliSyntaxError(
            "invalid syntax", exc.line, exc.column) from None
    except UnexpectedToken as exc:
        token = exc.token
        if token.type == "$END":
            line = text.count("\n")
            raise GradcliSyntaxError("unexpected EOF while parsing", max(line, 1), 1) from None
        raise _refusal(text, token.line, token.column) or GradcliSyntaxError(
            "invalid syntax", token.line, token.column) from None
    except (UnexpectedEOF, UnexpectedInput, DedentError) as exc:
        line = getattr(exc, "line", None) or text.count("\n")
        raise GradcliSyntaxError("invalid syntax", max(line, 1), 1) from None


def parse_field(text: str):
    """An f-string field's expression, parsed as CPython 3.11 parses it: `(text)`."""
    return parse("(" + text + ")", start="fstring_field")


_REFUSED_AT = re.compile(r"(yield|async|await)\b")
_MATCH_STATEMENT = re.compile(r"[ \t]*(match)\b.*:\s*(#.*)?$")


def _refusal(text: str, line: int, column: int):
    """SPEC §1.6: a refused construct is reported as such, at its keyword."""
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return None
    current = lines[line - 1]
    hit = _REFUSED_AT.match(current, column - 1)
    if hit is not None:
        return GradcliSyntaxError(f"'{hit.group(1)}' is not supported by gradcli", line,
                                  hit.start() + 1)
    match = _MATCH_STATEMENT.match(current)
    if match is not None:
        return GradcliSyntaxError("'match' is not supported by gradcli", line,
                                  match.start(1) + 1)
    return None


def outline(tree) -> list:
    """The outline of a tree from `parse` (see the module docstring)."""
    from gradcli.lang.python_outline import outline as lark_outline

    return lark_outline(tree, parse_field)


def ast_outline(module) -> list:
    """The same outline from CPython's `ast` tree of the same text."""
    from gradcli.lang.python_outline import ast_outline as cpython_outline

    return cpython_outline(module)
