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

Lark is imported here only, and the parser is built on first use (then cached).
"""

from __future__ import annotations

import ast
import os
import re
import unicodedata

from gradcli.base.errors import GradcliSyntaxError

# SPEC §1.9: names a program cannot have (the same constants as gradcli/runtime/rewrite.py,
# which the differential test compares).
RESERVED_PREFIX = "_gx_"
HARMLESS_RESERVED = frozenset({"_gx_echo"})
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
                    raise _problem("inconsistent use of tabs and spaces in indentation",
                                   line, 1, "TabError")
                if len(self.indent_level) >= MAX_INDENT_LEVELS:
                    raise _problem("too many levels of indentation", line, 1,
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
                raise _problem("unindent does not match any outer indentation level",
                               line, len(indent_str) + 1, "IndentationError")
            if alt != self.alt_levels[-1]:
                raise _problem("inconsistent use of tabs and spaces in indentation",
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
                        raise _problem("too many nested parentheses", token.line,
                                       token.column)
                elif token.type in CLOSING:
                    if self.paren_level == 0:
                        raise _problem(f"unmatched '{token}'", token.line, token.column)
                    self.paren_level -= 1
            while len(self.indent_level) > 1:
                self.indent_level.pop()
                yield Token.new_borrow_pos(self.DEDENT_type, "", token)

    return Indenter


class _Problem(Exception):
    def __init__(self, message, line, column, type_name="SyntaxError"):
        super().__init__(message)
        self.error = GradcliSyntaxError(message, line, column, type_name)


def _problem(message, line, column, type_name="SyntaxError"):
    return _Problem(message, line, column, type_name)


def _first_line_check(stream):
    """The indenter only sees indentation after a newline: the first line's is here."""
    first = True
    for token in stream:
        if first and token.type != "_NEWLINE":
            first = False
            if token.column != 1:
                raise _problem("unexpected indent", token.line, token.column,
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
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken, \
        UnexpectedInput
    from lark.indenter import DedentError

    if "\0" in source:
        raise GradcliSyntaxError("source code string cannot contain null bytes", 1, 1)
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    try:
        tree = _parser().parse(text, start=start)
        _Checker(text).check(tree)
        return tree
    except _Problem as problem:
        raise problem.error from None
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


# ----------------------------------------------------------------------------- checks
def _tokens_start(node):
    meta = getattr(node, "meta", None)
    if meta is not None and not meta.empty:
        return meta.line, meta.column
    return getattr(node, "line", 1) or 1, getattr(node, "column", 1) or 1


def _children(node):
    return [c for c in node.children if c is not None]


def _name_of(node) -> str:
    name = str(node.children[0])
    # CPython reads identifiers in NFKC form (PEP 3131): `ﬁ` is `fi`.
    return name if name.isascii() else unicodedata.normalize("NFKC", name)


# Where CPython's compiler lets a starred expression stand (a display, a target list, a
# subscript); elsewhere "can't use starred expression here".
STARRED_IN = frozenset({"tuple", "list", "set", "subscript_tuple", "getitem", "star_param",
                        "paren_with_item"})


class _Checker:
    """What CPython 3.11's parser refuses beyond the grammar (its `invalid_*` rules), and
    gradcli's refusals of names and targets."""

    def __init__(self, text: str):
        self.text = text
        self.scopes = ["module"]
        self.loops = [0]  # loops around the statement, in the current scope
        self.seen = [set()]  # names the current scope has used so far (for `global`)
        self.params = [set()]

    def fail(self, message, node, type_name="SyntaxError"):
        line, column = _tokens_start(node)
        raise _problem(message, line, column, type_name)

    def check(self, tree):
        self.visit(tree)

    def visit(self, node):
        from lark import Token

        if isinstance(node, Token) or node is None:
            return
        method = getattr(self, "check_" + node.data, None)
        if method is not None and method(node) is False:
            return
        for child in node.children:
            if getattr(child, "data", None) == "star_expr" and node.data not in STARRED_IN:
                # CPython's compiler: a starred item belongs in a display or a target list.
                self.fail("can't use starred expression here", child)
            self.visit(child)

    def scope(self, kind, nodes, params=()):
        self.scopes.append(kind)
        self.loops.append(0)
        self.seen.append(set(params))
        self.params.append(set(params))
        for node in nodes:
            self.visit(node)
        self.params.pop()
        self.seen.pop()
        self.loops.pop()
        self.scopes.pop()

    def check_comprehension(self, node):
        # The first iterable belongs to the enclosing scope, the rest to the comprehension's.
        first = node.children[1]
        self.bare_star_target(first.children[0])
        self.target(first.children[0], "assign to", "comprehension")
        self.visit(first.children[1])
        rest = [node.children[0], first.children[0], *node.children[2:]]
        self.scope("comprehension", rest)
        return False

    def check_global_stmt(self, node):
        for name_node in node.children:
            name = _name_of(name_node)
            if name in self.params[-1]:
                self.fail(f"name '{name}' is parameter and global", node)
            if name in self.seen[-1]:
                self.fail(f"name '{name}' is used prior to global declaration", node)

    def loop(self, head, body, else_clause):
        for node in head:
            self.visit(node)
        self.loops[-1] += 1
        self.visit(body)
        self.loops[-1] -= 1
        self.visit(else_clause)

    def check_while_stmt(self, node):
        test, body, else_clause = node.children
        self.loop([test], body, else_clause)
        return False

    def check_return_stmt(self, node):
        if self.scopes[-1] != "function":
            self.fail("'return' outside function", node)

    def check_break_stmt(self, node):
        if not self.loops[-1]:
            self.fail("'break' outside loop", node)

    def check_continue_stmt(self, node):
        if not self.loops[-1]:
            self.fail("'continue' not properly in loop", node)

    def check_nonlocal_stmt(self, node):
        if self.scopes[-1] == "module":
            self.fail("nonlocal declaration not allowed at module level", node)
        return self.check_global_stmt(node)

    def check_try_stmt(self, node):
        clauses = [c for c in node.children if getattr(c, "data", None) == "except_clause"]
        for clause in clauses[:-1]:
            if clause.children[0] is None:
                self.fail("default 'except:' must be last", clause)

    # ----- names
    def identifier(self, name_node):
        name = _name_of(name_node)
        if name.startswith(RESERVED_PREFIX) and name not in HARMLESS_RESERVED:
            self.fail(f"names starting with '{RESERVED_PREFIX}' are reserved by gradcli",
                      name_node)

    def check_name(self, node):
        self.identifier(node)

    def check_dotted_as_name(self, node):
        dotted, alias = node.children
        bound = dotted.children[0] if alias is None else alias
        self.identifier(bound)
        self.seen[-1].add(_name_of(bound))
        return False

    def check_import_as_name(self, node):
        name, alias = node.children
        bound = alias if alias is not None else name
        self.identifier(bound)
        self.seen[-1].add(_name_of(bound))
        return False

    def check_import_from(self, node):
        for child in node.children:
            if getattr(child, "data", None) == "import_targets":
                self.visit(child)
        return False

    def check_var(self, node):
        self.identifier(node.children[0])
        self.seen[-1].add(_name_of(node.children[0]))
        return False

    def check_assign_expr(self, node):
        self.target(node.children[0] and _Var(node.children[0]), context="walrus")
        self.seen[-1].add(_name_of(node.children[0]))

    # ----- scopes
    def check_funcdef(self, node):
        name = node.children[0]
        if _name_of(name) == "__class__" and self.scopes[-1] == "class":
            self.fail("gradcli does not let a class define '__class__'", node)
        self.identifier(name)
        self.parameters(node.children[1])
        for child in node.children[1:-1]:
            self.visit(child)
        self.seen[-1].add(_name_of(name))
        self.scope("function", [node.children[-1]], self.parameter_names(node.children[1]))
        return False

    @staticmethod
    def parameter_names(params):
        if params is None:
            return set()
        return {_name_of(p.children[0]) for p in _children(params)
                if p.data != "slash_param" and p.children[0] is not None}

    def check_classdef(self, node):
        name, arguments, suite = node.children
        self.identifier(name)
        if arguments is not None:
            self.arguments(arguments)
            self.visit(arguments)
        self.seen[-1].add(_name_of(name))
        self.scope("class", [suite])
        return False

    def check_lambdef(self, node):
        params, body = node.children
        self.parameters(params)
        if params is not None:  # defaults are evaluated in the enclosing scope
            for param in _children(params):
                for default in param.children[1:]:
                    self.visit(default)
        self.scope("function", [body], self.parameter_names(params))
        return False

    # ----- parameters
    def parameters(self, params):
        if params is None:
            return
        items = _children(params)
        seen_default = seen_slash = seen_star = False
        star = None
        names = set()
        for index, item in enumerate(items):
            kind = item.data
            if kind != "slash_param" and item.children[0] is not None:
                name = _name_of(item.children[0])
                if name in names:
                    self.fail(f"duplicate argument '{name}' in function definition", item)
                if name == "__debug__":
                    self.fail("cannot assign to __debug__", item)
                names.add(name)
            if kind == "slash_param":
                if seen_slash or seen_star or index == 0:
                    self.fail("invalid syntax", item)
                seen_slash = True
            elif kind == "star_param":
                if seen_star:
                    self.fail("* argument may appear only once", item)
                seen_star, star = True, item
                following = items[index + 1:]
                if item.children[0] is None and (
                        not following or following[0].data != "plain_param"):
                    self.fail("named arguments must follow bare *", item)
            elif kind == "kwargs_param":
                if index != len(items) - 1:
                    self.fail("arguments cannot follow var-keyword argument", item)
            elif not seen_star:
                default = item.children[-1]
                if default is not None:
                    seen_default = True
                elif seen_default:
                    self.fail("non-default argument follows default argument", item)
        return star

    # ----- calls
    def arguments(self, node):
        if node.data == "generator_argument":
            return
        keyword = double = False
        names = set()
        for argument in _children(node):
            kind = getattr(argument, "data", None)
            if kind == "keyword":
                target = argument.children[0]
                if getattr(target, "data", None) != "var":
                    self.fail('expression cannot contain assignment, perhaps you meant "=="?',
                              argument)
                name = _name_of(target.children[0])
                if name in names:
                    self.fail(f"keyword argument repeated: {name}", argument)
                if name == "__debug__":
                    self.fail("cannot assign to __debug__", argument)
                names.add(name)
                keyword = True
            elif kind == "double_star_argument":
                double = True
            elif kind == "star_argument":
                if double:
                    self.fail("iterable argument unpacking follows keyword argument "
                              "unpacking", argument)
            elif double:
                self.fail("positional argument follows keyword argument unpacking",
                          argument)
            elif keyword:
                self.fail("positional argument follows keyword argument", argument)

    def check_funccall(self, node):
        if node.children[1] is not None:
            self.arguments(node.children[1])

    # ----- targets
    def target(self, node, what="assign to", context="assign"):
        kind = getattr(node, "data", None)
        if kind == "var":
            name = _name_of(node.children[0])
            if name == "__debug__":
                self.fail("cannot assign to __debug__", node)
            if name == "__builtins__" and self.scopes[-1] != "class" and (
                    context not in ("augassign", "annassign")):
                self.fail("gradcli does not let a program assign '__builtins__'", node)
            if name == "__class__" and self.scopes[-1] == "class":
                self.fail("gradcli does not let a class define '__class__'", node)
            return
        if kind in ("getattr", "getitem"):
            if kind == "getattr" and context in ("comprehension", "with"):
                # gradcli's runner (runtime/rewrite.py) cannot guard these stores.
                where = ("a comprehension target" if context == "comprehension"
                         else "an attribute after 'as'")
                self.fail("gradcli does not support an attribute as " + where
                          if context == "comprehension" else
                          "gradcli does not support " + where, node)
            return
        if kind == "paren":
            return self.target(node.children[0], what, context)
        if kind in ("tuple", "list") and context not in ("augassign", "annassign"):
            stars = [e for e in _children(node) if getattr(e, "data", None) == "star_expr"]
            if len(stars) > 1 and context != "del":
                self.fail("multiple starred expressions in assignment", stars[1])
            for element in _children(node):
                if getattr(element, "data", None) == "star_expr":
                    if context == "del":
                        self.fail("cannot delete starred", element)
                    self.target(element.children[0], what, context)
                else:
                    self.target(element, what, context)
            return
        if kind == "star_expr" and context in ("assign", "for", "comprehension", "with"):
            return self.target(node.children[0], what, context)
        if context == "annassign" and kind in ("tuple", "list"):
            self.fail(f"only single target (not {kind}) can be annotated", node)
        if context == "augassign" and kind in ("tuple", "list"):
            self.fail(f"'{kind}' is an illegal expression for augmented assignment", node)
        if kind == "star_expr" and context == "del":
            self.fail("cannot delete starred", node)
        self.fail(f"cannot {what} {_describe(node)}", node)

    def bare_star_target(self, target):
        if getattr(target, "data", None) == "star_expr":
            self.fail("starred assignment target must be in a list or tuple", target)

    def check_assign(self, node):
        for target in node.children[:-1]:
            self.bare_star_target(target)
            self.target(target)

    def check_augassign(self, node):
        self.target(node.children[0], "assign to", "augassign")

    def check_annassign(self, node):
        target = node.children[0]
        if getattr(target, "data", None) == "paren" and getattr(
                target.children[0], "data", None) in ("tuple", "list"):
            self.fail(f"only single target (not {target.children[0].data}) can be annotated",
                      target)
        self.target(target, "assign to", "annassign")

    def check_del_stmt(self, node):
        self.target(node.children[0], "delete", "del")

    def check_for_stmt(self, node):
        target, iterable, body, else_clause = node.children
        self.bare_star_target(target)
        self.target(target, "assign to", "for")
        self.loop([target, iterable], body, else_clause)
        return False

    def check_comp_for(self, node):
        self.target(node.children[0], "assign to", "comprehension")

    def check_with_item(self, node):
        if node.children[1] is not None:
            self.target(node.children[1], "assign to", "with")

    def check_with_stmt(self, node):
        items = [c for c in node.children[:-1] if getattr(c, "data", None) == "paren_with_item"]
        if not items:
            return
        # `with (...):` holding a starred or `:=` item is a parenthesized expression to
        # Python: valid only without `as`, and a lone starred item needs its comma.
        loose = [i for i in items if getattr(i.children[0], "data", None) in (
            "star_expr", "assign_expr")]
        if loose:
            for item in items:
                if len(item.children) > 1 and item.children[1] is not None:
                    self.fail("invalid syntax", item.children[1])
            if len(items) == 1 and items[0].children[0].data == "star_expr" and not (
                    self._trailing_comma(node)):
                self.fail("cannot use starred expression here", items[0])
        for item in items:
            if len(item.children) > 1 and item.children[1] is not None:
                self.target(item.children[1], "assign to", "with")

    def _trailing_comma(self, node) -> bool:
        # The rule dropped the comma: look at the text after the last item.
        last = [c for c in node.children[:-1] if getattr(c, "data", None) == "paren_with_item"][-1]
        meta = last.meta
        lines = self.text.split("\n")
        rest = lines[meta.end_line - 1][meta.end_column - 1:]
        return rest.lstrip().startswith(",")

    # ----- strings
    def check_strings(self, node):
        kinds = set()
        for token in node.children:
            prefix, body, raw = _split_string(str(token))
            is_bytes = "b" in prefix
            kinds.add(is_bytes)
            if is_bytes and not body.isascii():
                self.fail("bytes can only contain ASCII literal characters", token)
            if "f" in prefix:
                _FString(self, token, body, raw).check()
            elif not raw:
                _check_escapes(body, is_bytes, self, token)
        if len(kinds) > 1:
            self.fail("cannot mix bytes and nonbytes literals", node)
        return False


class _Var:
    """A `name` seen as the target `var` it binds (the target of `:=`)."""

    data = "var"

    def __init__(self, name):
        self.children = [name]
        self.meta = name.meta


def _describe(node) -> str:
    kind = getattr(node, "data", None)
    return {
        "funccall": "function call", "number": "literal", "strings": "literal",
        "const_none": "None", "const_true": "True", "const_false": "False",
        "ellipsis": "ellipsis", "dict": "dict literal", "set": "set display",
        "list_comprehension": "list comprehension", "generator": "generator expression",
        "lambdef": "lambda", "assign_expr": "named expression", "test": "conditional expression",
        "comparison": "comparison", "not_test": "expression", "tuple": "tuple",
    }.get(kind, "expression")


def _split_string(token: str):
    quote = re.search(r"['\"]", token).start()
    prefix = token[:quote].lower()
    delimiter = token[quote:quote + 3] if token[quote:quote + 3] in ('"""', "'''") else token[
        quote]
    body = token[quote + len(delimiter):len(token) - len(delimiter)]
    return prefix, body, "r" in prefix


_ESCAPE = re.compile(r"\\(N\{[^}]*\}?|N|x[0-9A-Fa-f]{0,2}|u[0-9A-Fa-f]{0,4}|U[0-9A-Fa-f]{0,8}|"
                     r"[\s\S])")


def _check_escapes(body, is_bytes, checker, token):
    """CPython decodes escapes while parsing: a truncated \\x, \\u, \\U or an unknown
    \\N{name} is a SyntaxError ('(unicode error) ...'); unknown escapes are only warnings."""
    for escape in _ESCAPE.finditer(body):
        text = escape.group(1)
        head = text[0]
        if head == "x" and len(text) != 3:
            bad = True
        elif is_bytes:
            bad = False
        elif head == "u":
            bad = len(text) != 5
        elif head == "U":
            bad = len(text) != 9 or int(text[1:], 16) > 0x10FFFF
        elif head == "N":
            bad = not text.endswith("}") or len(text) < 4 or not _known_character(text[2:-1])
        else:
            bad = False
        if bad:
            checker.fail("(unicode error) 'unicodeescape' codec can't decode bytes",
                         token)


def _known_character(name: str) -> bool:
    try:
        unicodedata.lookup(name)
    except KeyError:
        return False
    return True


class _FString:
    """CPython 3.11's f-string scanner (Parser/string_parser.c): literal text with `{{`
    and `}}`, and `{expression[=][!conversion][:spec]}` fields, the expression parsed by
    the grammar as `(expression)`, the spec holding fields one level deeper."""

    def __init__(self, checker, token, body, raw):
        self.checker, self.token, self.body, self.raw = checker, token, body, raw
        self.fields = []  # (expression tree, conversion, spec fields or None, self_doc)

    def fail(self, message):
        self.checker.fail(message, self.token)

    def check(self):
        end, fields = self.parse(0, 0)
        if end < len(self.body):
            self.fail("f-string: single '}' is not allowed")
        self.fields = fields
        return fields

    def parse(self, index, level):
        body, fields = self.body, []
        literal_start = index
        while index < len(body):
            char = body[index]
            if not self.raw and char == "\\" and index + 1 < len(body):
                if body[index + 1] == "N" and body[index + 2:index + 3] == "{":
                    close = body.find("}", index)
                    index = close + 1 if close != -1 else len(body)
                else:
                    index += 2
                continue
            if char in "{}":
                if level == 0 and body[index + 1:index + 2] == char:
                    index += 2
                    continue
                if char == "}":
                    if level == 0:
                        self.fail("f-string: single '}' is not allowed")
                    break
                self.literal(body[literal_start:index])
                index, field = self.field(index, level)
                fields.append(field)
                literal_start = index
                continue
            index += 1
        self.literal(body[literal_start:index])
        return index, fields

    def literal(self, text):
        if not self.raw:
            _check_escapes(text.replace("{{", "{").replace("}}", "}"), False, self.checker,
                           self.token)

    def field(self, index, level):
        body = self.body
        if level >= 2:
            self.fail("f-string: expressions nested too deeply")
        index += 1
        start, depth, quote, stack = index, 0, None, []
        while index < len(body):
            char = body[index]
            if char == "\\":
                self.fail("f-string expression part cannot include a backslash")
            if quote:
                if body.startswith(quote, index):
                    index += len(quote)
                    quote = None
                    continue
                index += 1
                continue
            if char in "'\"":
                quote = body[index:index + 3] if body[index:index + 3] in ("'''", '"""') else char
                index += len(quote)
                continue
            if char in "[({":
                depth += 1
                stack.append(char)
            elif char == "#":
                self.fail("f-string expression part cannot include '#'")
            elif depth == 0 and char in "!:}=<>":
                following = body[index + 1:index + 2]
                if following == "=" and char in "!=<>":
                    index += 2
                    continue
                if char in "<>":
                    index += 1
                    continue
                break
            elif char in "])}":
                if not depth:
                    self.fail(f"f-string: unmatched '{char}'")
                opening = stack.pop()
                depth -= 1
                if "([{".index(opening) != ")]}".index(char):
                    self.fail(f"f-string: closing parenthesis '{char}' does not match "
                              f"opening parenthesis '{opening}'")
            index += 1
        if quote:
            self.fail("f-string: unterminated string")
        if depth:
            self.fail(f"f-string: unmatched '{stack[-1]}'")
        if index >= len(body):
            self.fail("f-string: expecting '}'")
        expression = body[start:index]
        if not expression.strip():
            self.fail("f-string: empty expression not allowed")
        tree = self.expression(expression)
        self_doc = conversion = False
        if body[index] == "=":
            self_doc = True
            index += 1
            while index < len(body) and body[index] in " \t\n\r\f\v":
                index += 1
        if index < len(body) and body[index] == "!":
            index += 1
            if index >= len(body):
                self.fail("f-string: expecting '}'")
            conversion = body[index]
            if conversion not in "sra":
                self.fail("f-string: invalid conversion character: expected 's', 'r', or 'a'")
            index += 1
        if index >= len(body):
            self.fail("f-string: expecting '}'")
        spec = None
        if body[index] == ":":
            index, spec = self.parse(index + 1, level + 1)
        if index >= len(body) or body[index] != "}":
            self.fail("f-string: expecting '}'")
        return index + 1, (tree, conversion, spec, self_doc)

    def expression(self, text):
        try:
            return parse("(" + text + ")", start="fstring_field")
        except GradcliSyntaxError as exc:
            self.fail("f-string: " + exc.message)


# ----------------------------------------------------------------------------- outline
def fstring_fields(token):
    """The fields of an f-string token (after the checks have passed)."""
    prefix, body, raw = _split_string(str(token))
    return _FString(_Checker(""), token, body, raw).check()


BIN_OPS = {"+": "Add", "-": "Sub", "*": "Mult", "/": "Div", "//": "FloorDiv", "%": "Mod",
           "@": "MatMult", "<<": "LShift", ">>": "RShift", "&": "BitAnd", "|": "BitOr",
           "^": "BitXor", "**": "Pow"}
UNARY_OPS = {"+": "UAdd", "-": "USub", "~": "Invert"}
COMPARE_OPS = {"<": "Lt", ">": "Gt", "==": "Eq", ">=": "GtE", "<=": "LtE", "!=": "NotEq",
               "in": "In", "notin": "NotIn", "is": "Is", "isnot": "IsNot"}
CHAIN_RULES = {"or_expr": "|", "xor_expr": "^", "and_expr": "&"}


def outline(tree) -> list:
    """The outline of a Lark tree from `parse` (see the module docstring)."""
    return _LarkOutline().block(tree.children)


class _LarkOutline:
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
            return [entry for small in _children(node) for entry in self.statement(small)]
        line = node.meta.line
        method = getattr(self, "stmt_" + kind, None)
        if method is not None:
            return method(node, line)
        simple = {"pass_stmt": "Pass", "break_stmt": "Break", "continue_stmt": "Continue",
                  "return_stmt": "Return", "raise_stmt": "Raise", "assert_stmt": "Assert",
                  "expr_stmt": "Expr", "del_stmt": "Delete", "annassign": "AnnAssign"}
        exprs = self.exprs(_children(node))
        if kind == "del_stmt" and node.children[0].data == "tuple":
            exprs = self.exprs(_children(node.children[0]))
        return [(line, simple[kind], exprs, ())]

    def stmt_assign(self, node, line):
        return [(line, "Assign", self.exprs(node.children), ())]

    def stmt_augassign(self, node, line):
        target, op, value = node.children
        name = BIN_OPS[str(op.children[0])[:-1]]
        return [(line, "AugAssign:" + name, self.exprs([target, value]), ())]

    def stmt_global_stmt(self, node, line):
        return [(line, "Global:" + ",".join(_name_of(n) for n in node.children), (), ())]

    def stmt_nonlocal_stmt(self, node, line):
        return [(line, "Nonlocal:" + ",".join(_name_of(n) for n in node.children), (), ())]

    def stmt_import_name(self, node, line):
        aliases = tuple(self.alias(".".join(_name_of(n) for n in d.children[0].children),
                                   d.children[1]) for d in node.children)
        return [(line, "Import", aliases, ())]

    def stmt_import_from(self, node, line):
        level, module = 0, ""
        for child in node.children:
            if child.data == "dots":
                level = sum(len(str(t)) for t in child.children)
            elif child.data == "dotted_name":
                module = ".".join(_name_of(n) for n in child.children)
        targets = node.children[-1]
        if targets.data == "import_star":
            aliases = ("alias:*:",)
        else:
            aliases = tuple(self.alias(_name_of(a.children[0]), a.children[1])
                            for a in _children(targets))
        return [(line, f"ImportFrom:{module}:{level}", aliases, ())]

    @staticmethod
    def alias(name, asname):
        return f"alias:{name}:{_name_of(asname) if asname is not None else ''}"

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
                label = "ExceptHandler:" + (_name_of(name) if name is not None else "")
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
        return [(line, "FunctionDef:" + _name_of(name), exprs, (self.suite(suite),))]

    def stmt_classdef(self, node, line):
        name, arguments, suite = node.children
        exprs = self.exprs(_children(arguments)) if arguments is not None else ()
        return [(line, "ClassDef:" + _name_of(name), exprs, (self.suite(suite),))]

    def params(self, params) -> tuple:
        out: list = []
        if params is None:
            return ()
        for param in _children(params):
            if param.data == "slash_param":
                continue
            children = param.children
            if param.data == "star_param" and children[0] is None:
                continue
            out.append("arg:" + _name_of(children[0]))
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
        from lark import Token

        if isinstance(node, Token):
            return
        kind = node.data
        children = _children(node)
        if kind == "var":
            out.append("Name:" + _name_of(children[0]))
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
            out.append("Name:" + _name_of(children[0]))
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
            out.append("keyword:" + _name_of(children[0].children[0]))
            self.expr(children[1], out)
        elif kind == "double_star_argument":
            out.append("keyword:**")
            self.expr(children[0], out)
        elif kind == "getattr":
            out.append("Attribute:" + _name_of(children[1]))
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
        elif kind in ("tuple", "list", "set", "dict"):
            out.append(kind.capitalize())
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
        prefixes = [_split_string(str(t))[0] for t in node.children]
        if not any("f" in p for p in prefixes):
            out.append("Constant:" + ("bytes" if "b" in prefixes[0] else "str"))
            return
        out.append("JoinedStr")
        for token, prefix in zip(node.children, prefixes):
            if "f" in prefix:
                self.fields(fstring_fields(token), out)

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
