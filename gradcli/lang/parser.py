"""Source text -> gradcli AST.

Two front ends give the same tree. gradcli.lang.fastparse reads a valid program through
CPython's own parser (C speed; the language is a strict subset of Python 3.11) and gives
up on anything it is not sure of. gradcli.lang.larkparse, the Lark grammar in
grammar/gradcli.lark, defines the language: it parses whatever the fast path gave up on and
is the source of every syntax-error message. It is imported only then, so that a valid
program does not pay for importing Lark at start-up.
"""

from __future__ import annotations

import gc

from gradcli.lang import ast as A
from gradcli.lang import fastparse
from gradcli.lang.depth import MAX_EXPRESSION_DEPTH

# The fast path counts its own nesting as it converts (check_depth's walk would cost a
# fifth of a large parse) and leaves anything near the limit to the Lark path, which checks.
_FAST_DEPTH = MAX_EXPRESSION_DEPTH - 200


# The Lark front end's names, for the tools and tests that use them directly; looked up
# on first use so that importing this module does not import Lark.
_LARK_NAMES = ("lark_parser", "fold_literals", "grammar_path", "ToAst", "Indenter")


def __getattr__(name: str):
    if name in _LARK_NAMES:
        from gradcli.lang import larkparse

        return getattr(larkparse, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse(source: str) -> A.Program:
    """Parse a whole program. Raises SyntaxProblem."""
    # A parse allocates tree nodes by the million, all alive until it ends and none in a
    # reference cycle: the collector's passes over them are pure cost (half the time of a
    # 100,000-line parse), so it pauses.
    enabled = gc.isenabled()
    gc.disable()
    try:
        program = fastparse.parse(source, _FAST_DEPTH)
        if program is not None:
            return program
        from gradcli.lang import larkparse

        return larkparse.parse(source)
    finally:
        if enabled:
            gc.enable()


def parse_expression(text: str, line: int, column: int) -> A.Node:
    """An f-string replacement field (or a --set value): a (tuple) expression starting at
    line:column."""
    node = fastparse.parse_expression(text, line, column, _FAST_DEPTH)
    if node is not None:
        return node
    from gradcli.lang import larkparse

    return larkparse.parse_expression(text, line, column)
