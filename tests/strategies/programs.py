"""gradcli programs as hypothesis strategies, in one place so that they grow with the
language (issue 13 brings def, class, if, while, try...: add new statements to
subset_programs, and take them off GIVE_UP_BY_DESIGN).

Three families:

- broad_expressions / broad_programs: Python-looking text of every kind, valid or not,
  inside gradcli's language or not (keywords as names, `00`, `3j`, `b''`, `<<`, `{}`,
  lambda, walrus, `def`...).  Most are syntax errors or constructs the fast parser leaves
  to Lark: they check that whatever the fast path returns is Lark's tree.
- grammar_programs: text drawn from the Lark grammar itself (valid for Lark).
- subset_expressions / subset_programs: only the constructs the fast parser
  (gradcli/lang/fastparse.py) claims: it must accept each, and give Lark's tree.

GIVE_UP_BY_DESIGN lists what the fast parser leaves to Lark on purpose, with the reason;
tests/test_fastparse.py checks each inside generated programs.
"""

from __future__ import annotations

import re

from hypothesis import strategies as st

NAMES = ["x", "y", "a_1", "torch", "F", "αβ", "ﬁ", "ｘ", "é", "_", "match", "print", "None",
         "True", "lambda", "if", "not", "in"]
NUMBERS = ["0", "1", "42", "1_000", "00", "0_0", "0x_ff", "0o17", "0b101", "1.", ".5", "1e5",
           "2.5e-3", "1_0.0_1", "3j", "1if", "0else"]
STRINGS = ["'a'", '"b"', "'é\\n'", "r'\\d'", "u'x'", "b'x'", "rb'x'", "'''x\ny'''", "'\\x41'",
           "'\\N{BULLET}'", "'\\777'", "'\\q'", "f'{x}'", "f'{x!r:>{w}}'", "f'{x=}'",
           "f'{x:.3f} {{}}'", "f'{ x + 1 }'", "f'{\"s\"}'", "F'{x}y'", "rf'{x}\\n'",
           "f'{x}' 'y'", "'a' 'b'", "'a' f'{b}'", "f'{}'", "f'{x!z}'", "'\\'x'", "'ü' 'ß'"]
BINARY = ["+", "-", "*", "/", "//", "%", "**", "@", "|", "^", "&", "<<", ">>", "<", ">", "==",
          "!=", "<=", ">=", "in", "not in", "is", "is not", "and", "or"]
SPACE = st.sampled_from(["", " ", " ", "  ", "\t"])


def _join(*parts):
    return st.tuples(*parts).map("".join)


def _list_of(strategy, separator=", ", min_size=0):
    return st.lists(strategy, min_size=min_size, max_size=3).map(separator.join)


def broad_expressions():
    atom = st.one_of(
        st.sampled_from(NAMES),
        st.sampled_from(NUMBERS),
        st.sampled_from(STRINGS),
        st.sampled_from(["None", "True", "False", "...", "()", "[]", "{}"]),
    )

    def extend(inner):
        return st.one_of(
            _join(inner, SPACE, st.sampled_from(BINARY), SPACE, inner),
            _join(st.sampled_from(["-", "+", "~", "not ", "*"]), inner),
            _join(st.just("("), inner, st.sampled_from([")", ",)", "\n)", " # c\n)"])),
            _join(inner, st.just(" if "), inner, st.just(" else "), inner),
            _join(inner, st.just("."), st.sampled_from(NAMES)),
            _join(inner, st.just("("), _list_of(st.one_of(
                inner, _join(st.sampled_from(NAMES), st.just("="), inner),
                _join(st.sampled_from(["*", "**"]), inner))),
                st.sampled_from([")", ",)", "\n)"])),
            _join(inner, st.just("["), _list_of(st.one_of(
                inner, _join(inner, st.just(":"), inner),
                st.sampled_from([":", "::2", "1:", ":-1", "None"])), min_size=1),
                st.sampled_from(["]", ",]"])),
            _join(st.just("["), _list_of(inner), st.sampled_from(["]", ",]", "\n]"])),
            _join(st.just("("), _list_of(inner, min_size=2), st.just(")")),
            _join(st.just("["), inner, st.just(" for "),
                  st.sampled_from(["x", "x, y", "(a, b)", "x.y"]), st.just(" in "), inner,
                  st.sampled_from(["", " if y", " if x if y", " for z in w"]), st.just("]")),
            _join(st.sampled_from(["lambda: ", "(y := ", "await "]), inner,
                  st.sampled_from(["", ")"])),
        )

    return st.recursive(atom, extend, max_leaves=12)


def broad_programs():
    expression = broad_expressions()
    target = st.sampled_from(["x", "a.b", "x[0]", "a, b", "(a, b)", "[a, b]", "*a, b", "x[1:]",
                              "f(x)", "1", "é", "αβ.γ"])
    simple = st.one_of(
        expression,
        _join(target, st.sampled_from([" = ", "=", " = y = "]), expression),
        _join(target, st.sampled_from([" += ", " -= ", " *= ", " @= ", " **= ", " //= ",
                                       " |= ", " <<= "]), expression),
        st.sampled_from(["pass", "import torch", "import torch.nn as nn, numpy",
                         "from torch import nn as n, optim", "from torch.nn import (F,)",
                         "from . import x", "from math import *", "del x", "return x",
                         "global x", "assert x"]),
    )
    line = st.one_of(
        simple,
        _join(simple, st.just("; "), simple),
        _join(simple, st.sampled_from(["  # note", " \\\n  + 1", ";"])),
    )
    header = st.one_of(
        _join(st.just("if "), expression, st.just(":")),
        _join(st.just("elif "), expression, st.just(":")),
        st.just("else:"),
        _join(st.just("for "), st.sampled_from(["x", "x, y", "(a, b)", "x.y", "*x"]),
              st.just(" in "), expression, st.just(":")),
        _join(st.just("with "), expression,
              st.sampled_from(["", " as c", " as (c)", " as c.d", ", d as e"]), st.just(":")),
        st.sampled_from(["with (a, b):", "with (a as b):", "def f():", "while x:"]),
    )

    def block(lines, depth):
        return st.lists(st.one_of(
            lines.map(lambda text: [text]),
            st.tuples(header, st.lists(lines, min_size=1, max_size=3)).map(
                lambda pair: [pair[0]] + ["    " + text for text in pair[1]]),
            st.sampled_from([[""], ["# a comment"], ["   # indented comment"]]),
        ), min_size=1, max_size=6).map(lambda groups: [text for group in groups for text in group])

    return block(line, 0).map(lambda lines: "\n".join(lines) + "\n")


def grammar_programs():
    """Programs from the Lark grammar itself (as tests/test_fuzz.py builds them): valid
    for Lark by construction, so these are the fast path's positive cases."""
    from hypothesis.extra.lark import from_lark
    from lark import Lark

    from gradcli.lang import larkparse

    starts = ["start", "simple_stmt", "compound_stmt"]
    source = "\n".join(line for line in larkparse.lark_parser().source_grammar.splitlines()
                       if not line.startswith("%ignore"))
    grammar = Lark(source, parser="lalr", start=starts)
    words = lambda values: st.sampled_from([f" {value} " for value in values])  # noqa: E731
    explicit = {
        "_INDENT": st.just("    "),
        "_DEDENT": st.just(""),
        "_NEWLINE": st.sampled_from(["\n", "\n", "\n    ", "  # note\n"]),
        "NAME": words([n for n in NAMES if n.isidentifier() and n not in (
            "None", "True", "lambda", "if", "not", "in")]),
        "DEC_NUMBER": words(["0", "1", "42", "1_000"]),
        "FLOAT_NUMBER": words(["1.", ".5", "1e5", "2.5e-3", "1_0.0_1"]),
        "HEX_NUMBER": st.just(" 0xff "),
        "OCT_NUMBER": st.just(" 0o17 "),
        "BIN_NUMBER": st.just(" 0b101 "),
        "IMAG_NUMBER": st.just(" 2j "),
        "STRING": words(STRINGS),
        "LONG_STRING": st.just(' """long\nstring""" '),
    }
    for terminal in grammar.terminals:
        value = terminal.pattern.value
        if terminal.pattern.type == "str" and value.isalpha():
            explicit.setdefault(terminal.name, st.just(f" {value} "))
    pieces = st.one_of([from_lark(grammar, start=start, explicit=explicit) for start in starts])
    return st.lists(pieces, min_size=1, max_size=6).map(
        lambda texts: re.sub(r"(?m)^((?:    )*) (?=\S)", r"\1", "".join(texts)))


# ----- the subset the fast parser claims --------------------------------------------------
#
# Statements: expression, assignment (chained too), augmented assignment (not |= ^= &=
# <<= >>=), pass, import / from-import (absolute, ASCII, no trailing comma inside
# parentheses), if/elif/else, for (no else), with (items `expr` or `expr as NAME`, not
# parenthesised).  Expressions: names (NFKC-stable), numbers with Lark's spelling, string
# and f-string literals, None/True/False/..., list and tuple displays, attributes,
# subscripts (not a one-element tuple index), slices, calls (no **kwargs, no repeated
# keyword), + - * / // % ** @ | ^ &, unary - + ~ not, comparisons (chained), and/or,
# conditional expressions, list comprehensions with one `for`.

SUBSET_NAMES = ["x", "y", "z", "a_1", "torch", "F", "w", "αβ", "é", "_", "match", "print",
                "tensor", "grad"]
SUBSET_NUMBERS = ["0", "1", "42", "1_000", "0x_ff", "0o17", "0b101", "1.", ".5", "1e5",
                  "2.5e-3", "1_0.0_1", "0.0", "3.14"]
SUBSET_STRINGS = ["'a'", '"b"', "'é\\n'", "r'\\d'", "u'x'", "'''x\ny'''", "'\\x41'",
                  "'\\N{BULLET}'", "f'{x}'", "f'{x!r:>{w}}'", "f'{x=}'", "f'{x:.3f} {{}}'",
                  "f'{ x + 1 }'", "F'{x}y'", "rf'{x}\\n'", "f'{x}' 'y'", "'a' 'b'",
                  "'a' f'{z}'", "'\\'x'", "'ü' 'ß'", '""', "''"]
SUBSET_BINARY = ["+", "-", "*", "/", "//", "%", "**", "@", "|", "^", "&"]
SUBSET_COMPARE = ["<", ">", "==", "!=", "<=", ">=", "in", "not in", "is", "is not"]
SUBSET_AUGMENTED = ["+=", "-=", "*=", "/=", "//=", "%=", "**=", "@="]
SUBSET_KEYWORDS = ["dim", "keepdim", "requires_grad", "dtype", "é"]
SUBSET_SPACE = st.sampled_from(["", " ", "  "])


def _parenthesised(inner):
    return inner.map(lambda text: f"({text})")


def subset_expressions(max_leaves: int = 10):
    """Expressions the fast parser must accept.  A composite operand is parenthesised, so
    every draw is valid Python whatever the precedence of its parts."""
    atom = st.one_of(
        st.sampled_from(SUBSET_NAMES),
        st.sampled_from(SUBSET_NUMBERS),
        st.sampled_from(SUBSET_STRINGS),
        st.sampled_from(["None", "True", "False", "...", "()", "[]"]),
    )

    def extend(inner):
        operand = st.one_of(atom, _parenthesised(inner))
        primary = st.one_of(st.sampled_from(SUBSET_NAMES), _parenthesised(inner))
        arguments = st.tuples(
            st.lists(st.one_of(inner, _join(st.just("*"), operand)), max_size=3),
            st.lists(st.tuples(st.sampled_from(SUBSET_KEYWORDS), inner), max_size=3,
                     unique_by=lambda pair: pair[0]),
        ).map(lambda parts: ", ".join(parts[0] + [f"{k}={v}" for k, v in parts[1]]))
        index = st.one_of(
            inner.filter(lambda text: not (text.startswith("(") and text.endswith(",)"))),
            st.sampled_from([":", "::2", "1:", ":-1", "None", "...", "0, 1", ":, None"]),
            _join(operand, st.just(":"), operand),
            st.lists(inner, min_size=2, max_size=3).map(", ".join),
        )
        return st.one_of(
            _join(operand, SUBSET_SPACE, st.sampled_from(SUBSET_BINARY), SUBSET_SPACE, operand),
            st.lists(st.tuples(st.sampled_from(SUBSET_COMPARE), operand), min_size=1,
                     max_size=3).flatmap(lambda rest: operand.map(
                         lambda first: first + "".join(f" {op} {x}" for op, x in rest))),
            _join(operand, st.sampled_from([" and ", " or "]), operand),
            _join(st.sampled_from(["-", "+", "~", "not "]), operand),
            _join(operand, st.just(" if "), operand, st.just(" else "), operand),
            _join(primary, st.just("."), st.sampled_from(SUBSET_NAMES)),
            _join(primary, st.just("("), arguments, st.sampled_from([")", "\n)"])),
            _join(primary, st.just("["), index, st.just("]")),
            _join(st.just("["), _list_of(inner, min_size=1), st.sampled_from(["]", ",]", "\n]"])),
            _join(st.just("("), inner, st.just(",)")),
            _join(st.just("("), _list_of(inner, min_size=2), st.just(")")),
            _join(st.just("["), inner, st.just(" for "),
                  st.sampled_from(["x", "x, y", "(a, b)", "x.y", "x[0]"]), st.just(" in "),
                  operand, st.sampled_from(["", " if y", " if x if y"]), st.just("]")),
        )

    return st.recursive(atom, extend, max_leaves=max_leaves)


SUBSET_TARGETS = ["x", "a.b", "x[0]", "a, b", "(a, b)", "[a, b]", "x[1:]", "é", "αβ.γ",
                  "f(x).y", "x[i].z", "a, (b, c)"]
SUBSET_IMPORTS = ["import torch", "import torch.nn as nn, numpy",
                     "from torch import nn as n, optim", "from torch.nn import (F, G)",
                     "from math import *", "import torch.nn.functional as F"]


def subset_programs(max_statements: int = 6):
    expression = subset_expressions()
    simple = st.one_of(
        expression,
        _join(st.sampled_from(SUBSET_TARGETS), st.sampled_from([" = ", "=", " = y = "]),
              expression),
        _join(st.sampled_from(["x", "a.b", "x[0]", "é"]),
              st.sampled_from([f" {op} " for op in SUBSET_AUGMENTED]), expression),
        st.just("pass"),
    )
    line = st.one_of(
        simple,
        _join(simple, st.just("; "), simple),
        _join(simple, st.sampled_from(["  # note", ";"])),
        st.sampled_from(SUBSET_IMPORTS),  # alone on its line: an ASCII line
    )
    with_item = st.one_of(_parenthesised(expression).map(lambda e: "x + " + e),
                          _join(st.sampled_from(SUBSET_NAMES), st.just(" as "),
                                st.sampled_from(SUBSET_NAMES)),
                          st.just("torch.no_grad()"))
    headers = st.one_of(
        _join(st.just("if "), expression, st.just(":")),
        _join(st.just("for "), st.sampled_from(["x", "x, y", "(a, b)", "x.y", "x[0]"]),
              st.just(" in "), expression, st.just(":")),
        _join(st.just("with "), st.lists(with_item, min_size=1, max_size=2).map(", ".join),
              st.just(":")),
    )

    def indent(lines):
        return ["    " + text for text in lines]

    body = st.lists(line, min_size=1, max_size=3)
    compound = st.one_of(
        st.tuples(headers, body).map(lambda p: [p[0], *indent(p[1])]),
        st.tuples(expression, body, expression, body, body).map(lambda p: [
            f"if {p[0]}:", *indent(p[1]), f"elif {p[2]}:", *indent(p[3]), "else:",
            *indent(p[4])]),
        st.tuples(headers, headers, body).map(lambda p: [
            p[0], "    " + p[1], *indent(indent(p[2]))]),
    )
    groups = st.lists(st.one_of(
        line.map(lambda text: [text]),
        compound,
        st.sampled_from([[""], ["# a comment"], ["   # indented comment"]]),
    ), min_size=1, max_size=max_statements)
    return groups.map(lambda gs: "\n".join(text for g in gs for text in g) + "\n")


# What the fast parser leaves to Lark on purpose (constructs, each with why).  Each text
# is a statement; the test puts it among generated subset statements and checks that the
# fast parser gives up on the program and that the front end (Lark) still decides it.
GIVE_UP_BY_DESIGN: list[tuple[str, str]] = [
    ("*a, b = x", "starred targets and expressions are not in the language"),
    ("import torch; é = 1", "an import on a line with non-ASCII text (Lark's NAME differs)"),
    ("x = 1\r", "a carriage return: CPython normalises line ends, Lark keeps them"),
    ("x = 1\f", "a form feed"),
    ("if x:\n \ty = 1", "an indentation mixing tabs and spaces: the tokenizers measure it"
     " differently"),
    ("x = 00", "a leading zero: CPython's `00`, not Lark's DEC_NUMBER"),
    ("x = 0_0", "likewise"),
    ("x = 1j", "complex numbers: refused by gradcli, which words its own error"),
    ("x = b'bytes'", "bytes: likewise"),
    ("x = a << 1", "shifts are not in gradcli's language"),
    ("x |= 1", "augmented bitwise assignment is not in the language"),
    ("x = {}", "dict displays are not in the language"),
    ("x[a,]", "`x[a,]` and `x[(a,)]` are one tree for CPython, two for Lark"),
    ("x[(a,)]", "likewise"),
    ("x = lambda: 1", "lambda is not in the language"),
    ("x = [y for y in z for w in y]", "a comprehension with two `for`"),
    ("f(**kw)", "**mapping arguments are not in the language"),
    ("f(a=1, a=2)", "a repeated keyword: CPython's compiler refuses it, not its parser"),
    ("with (a, b):\n    pass", "CPython's parenthesised with-items; Lark reads a tuple"),
    ("with a as (b):\n    pass", "Lark's with-item takes a bare NAME after `as`"),
    ("for x in y:\n    pass\nelse:\n    pass", "for-else is not in the language"),
    ("from . import x", "relative imports"),
    ("from a import (b,)", "an LALR conflict makes Lark refuse the trailing comma"),
    ("def f():\n    pass", "def is not in the language (yet: issue 13)"),
    ("x: int = 1", "annotations are not in the language"),
    ("(y := 1)", "assignment expressions are not in the language"),
    ("s = 'a\\\nb'", "a backslash-newline inside a one-quote string"),
    ("x = é\u0301", "a combining mark: an identifier for CPython, not Lark's \\w+"),
    ("tensor([" + ", ".join(["1.5"] * 800) + "])", "a literal long enough for Lark's folding"),
]
