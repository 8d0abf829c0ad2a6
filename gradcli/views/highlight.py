"""Syntax highlighting for `.expr` programs: a Pygments lexer and the colour switch.

Names the language knows are told apart from the user's own: torch functions and Python
builtins in scope (Name.Builtin), modules (Name.Namespace), dtypes (Keyword.Type), tensor
methods after a dot (Name.Function) and the autograd attributes (Name.Attribute). A name
after a dot that no tensor or module has stays plain, so a typo shows as uncoloured.

The lexer is registered as a Pygments plugin (`pygmentize -l expr`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from pygments.lexer import RegexLexer, bygroups, include
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Token,
    Whitespace,
)

KEYWORDS = ("with", "for", "if", "elif", "else", "pass", "as")
NAMESPACE_KEYWORDS = ("import", "from")
WORD_OPERATORS = ("and", "or", "not", "in", "is")
CONSTANTS = ("True", "False", "None")
AUTOGRAD_ATTRIBUTES = frozenset((
    "grad", "grad_fn", "is_leaf", "requires_grad", "retains_grad", "next_functions",
    "data", "_version", "variable",
))  # fmt: skip
DTYPES = frozenset(("float32", "float64", "double", "int64", "long", "int32", "float16", "bool"))


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[frozenset, frozenset, frozenset]:
    """(bare names in scope, module names, attribute names) from the allow-lists."""
    from gradcli.sandbox import attributes
    from gradcli.sandbox import scope as names

    scope = frozenset(names.global_scope())
    modules = frozenset(("torch", "F", "np", "nn", "functional", "autograd", "numpy"))
    members = set(attributes.TENSOR_METHODS) | set(attributes.TENSOR_PROPERTIES)
    for module in names.MODULES.values():
        members |= set(module.members)
    return scope, modules, frozenset(members)


def _bare_name(lexer, match):
    word = match.group(0)
    scope, modules, _ = _vocabulary()
    if word in modules:
        token = Name.Namespace
    elif word in DTYPES and word != "bool":
        token = Keyword.Type
    elif word in scope:
        token = Name.Builtin
    else:
        token = Name
    yield match.start(), token, word


def _member_name(lexer, match):
    yield match.start(1), Punctuation, match.group(1)
    if match.group(2):
        yield match.start(2), Whitespace, match.group(2)
    word = match.group(3)
    _, modules, members = _vocabulary()
    if word in AUTOGRAD_ATTRIBUTES:
        token = Name.Attribute
    elif word in DTYPES or word in ("float", "int"):
        token = Keyword.Type
    elif word in modules:
        token = Name.Namespace
    elif word in members:
        token = Name.Function
    else:
        token = Name
    yield match.start(3), token, word


def _words(words) -> str:
    return "(" + "|".join(words) + r")\b"


def _string_rules(quote: str, token) -> list:
    """Body of a non-f string: escapes and text, ended by `quote`."""
    return [
        (r"\\(.|\n)", String.Escape),
        (quote, token, "#pop"),
        (r"[^\\'\"\n]+", token),
        (r"['\"]", token),
        (r"\n", token) if len(quote) == 3 else (r"\n", token, "#pop"),
    ]


def _fstring_rules(quote: str) -> list:
    return [
        (r"\{\{|\}\}", String.Escape),
        (r"\{", String.Interpol, "fstring-field"),
        (r"\\(.|\n)", String.Escape),
        (quote, String.Double, "#pop"),
        (r"[^\\'\"{}\n]+", String.Double),
        (r"['\"}]", String.Double),
        (r"\n", String.Double) if len(quote) == 3 else (r"\n", String.Double, "#pop"),
    ]


class ExprLexer(RegexLexer):
    """gradcli's `.expr` language: the Python subset with PyTorch names in scope."""

    name = "gradcli"
    aliases = ["expr", "gradcli"]
    filenames = ["*.expr"]
    mimetypes = ["text/x-gradcli"]
    url = "https://pypi.org/project/gradcli/"

    tokens = {
        "root": [
            (r"\n", Whitespace),
            (r"[ \t\f]+", Whitespace),
            (r"\\\n", Text),
            (r"#.*$", Comment.Single),
            include("expression"),
            (r"(\.)([ \t]*)([A-Za-z_]\w*)", _member_name),
            (r"[;,:]", Punctuation),
        ],
        "expression": [
            include("strings"),
            include("numbers"),
            (r"\.\.\.", Keyword.Constant),
            (_words(CONSTANTS), Keyword.Constant),
            (_words(NAMESPACE_KEYWORDS), Keyword.Namespace),
            (_words(KEYWORDS), Keyword),
            (_words(WORD_OPERATORS), Operator.Word),
            (r"[A-Za-z_]\w*", _bare_name),
            (r"\*\*=?|//=?|[-+*/%@&|^]=?|[<>]=?|[=!]=|~|=", Operator),
            (r"[()\[\]{}]", Punctuation),
        ],
        "numbers": [
            (r"(\d(?:_?\d)*\.(?:\d(?:_?\d)*)?|\.\d(?:_?\d)*)([eE][-+]?\d(?:_?\d)*)?[jJ]?",
             Number.Float),
            (r"\d(?:_?\d)*[eE][-+]?\d(?:_?\d)*[jJ]?", Number.Float),
            (r"0[xX](?:_?[0-9a-fA-F])+", Number.Hex),
            (r"0[oO](?:_?[0-7])+", Number.Oct),
            (r"0[bB](?:_?[01])+", Number.Bin),
            (r"\d(?:_?\d)*[jJ]?", Number.Integer),
        ],
        "strings": [
            (r'(?i)(rf|fr|f)(""")', bygroups(String.Affix, String.Double), "fstring-tdq"),
            (r"(?i)(rf|fr|f)(''')", bygroups(String.Affix, String.Double), "fstring-tsq"),
            (r'(?i)(rf|fr|f)(")', bygroups(String.Affix, String.Double), "fstring-dq"),
            (r"(?i)(rf|fr|f)(')", bygroups(String.Affix, String.Double), "fstring-sq"),
            (r'(?i)(rb|br|r|b|u)?(""")', bygroups(String.Affix, String.Doc), "tdq"),
            (r"(?i)(rb|br|r|b|u)?(''')", bygroups(String.Affix, String.Doc), "tsq"),
            (r'(?i)(rb|br|r|b|u)?(")', bygroups(String.Affix, String.Double), "dq"),
            (r"(?i)(rb|br|r|b|u)?(')", bygroups(String.Affix, String.Single), "sq"),
        ],
        "tdq": _string_rules('"""', String.Doc),
        "tsq": _string_rules("'''", String.Doc),
        "dq": _string_rules('"', String.Double),
        "sq": _string_rules("'", String.Single),
        "fstring-tdq": _fstring_rules('"""'),
        "fstring-tsq": _fstring_rules("'''"),
        "fstring-dq": _fstring_rules('"'),
        "fstring-sq": _fstring_rules("'"),
        # Inside `{...}` of an f-string: an expression, then `=`, `!r` and `:spec` parts.
        "fstring-field": [
            (r"\}", String.Interpol, "#pop"),
            (r"[ \t]+", Whitespace),
            (r"=(?=[ \t]*[!:}])", String.Interpol),
            (r"![rsa]", String.Interpol),
            (r":[^}\n]*", String.Interpol),
            (r"[(\[]", Punctuation, "fstring-brackets"),
            (r"(\.)([ \t]*)([A-Za-z_]\w*)", _member_name),
            (r",", Punctuation),
            include("expression"),
        ],
        "fstring-brackets": [
            (r"[)\]]", Punctuation, "#pop"),
            (r"[(\[]", Punctuation, "#push"),
            (r"[ \t\n]+", Whitespace),
            (r"(\.)([ \t]*)([A-Za-z_]\w*)", _member_name),
            (r"[,:]", Punctuation),
            include("expression"),
        ],
    }

    def __init__(self, **options):
        options.setdefault("stripnl", False)
        options.setdefault("ensurenl", False)
        super().__init__(**options)


# ----- colour ----------------------------------------------------------------------------

# 16-colour ANSI, so the terminal's own palette (light or dark) decides the shades.
TERMINAL_COLORS = {
    Token: ("", ""),
    Comment: ("brightblack", "brightblack"),
    Keyword: ("magenta", "brightmagenta"),
    Keyword.Constant: ("magenta", "brightmagenta"),
    Keyword.Namespace: ("magenta", "brightmagenta"),
    Keyword.Type: ("cyan", "brightcyan"),
    Operator.Word: ("magenta", "brightmagenta"),
    Name.Builtin: ("blue", "brightblue"),
    Name.Namespace: ("blue", "brightblue"),
    Name.Function: ("blue", "brightblue"),
    Name.Attribute: ("yellow", "brightyellow"),
    String: ("green", "brightgreen"),
    String.Interpol: ("red", "brightred"),
    String.Escape: ("red", "brightred"),
    Number: ("cyan", "brightcyan"),
}


@lru_cache(maxsize=1)
def _formatter():
    from pygments.formatters import TerminalFormatter

    return TerminalFormatter(colorscheme=TERMINAL_COLORS)


def highlight(source: str, color: bool = True) -> str:
    """The source with ANSI colours (unchanged when colour is off)."""
    if not color or not source:
        return source
    from pygments import highlight as pygments_highlight

    text = pygments_highlight(source, ExprLexer(), _formatter())
    # Pygments ends with a newline only where the source did.
    return text if source.endswith("\n") else text.rstrip("\n")


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return ANSI_ESCAPE.sub("", text)
