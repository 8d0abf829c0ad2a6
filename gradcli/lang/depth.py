"""How deep a program may nest, and the check: CPython's own limits for brackets and
indentation, and gradcli's for expression trees (compiling and running recurse once per
level)."""

from __future__ import annotations

from gradcli.base.errors import GradcliSyntaxError
from gradcli.lang import ast as A

MAX_NESTED_BRACKETS = 200  # CPython's parser gives up at the same depth
MAX_INDENT_LEVELS = 100  # CPython's tokenizer limit ("too many levels of indentation")
# Compiling and running an expression recurses once per level of its tree (a 20,000-term
# sum is 20,000 levels deep); past this depth a program is refused with a position
# instead of running out of stack in the interpreter thread.
MAX_EXPRESSION_DEPTH = 30_000

SyntaxProblem = GradcliSyntaxError


def check_depth(root: A.Node) -> None:
    """Refuse trees deeper than MAX_EXPRESSION_DEPTH, pointing at the first node past it."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXPRESSION_DEPTH:
            raise SyntaxProblem(
                f"expression nested too deeply (more than {MAX_EXPRESSION_DEPTH:,} levels)",
                node.line,
                node.column,
            )
        for child in node.children():
            stack.append((child, depth + 1))
