"""Error and warning text as gradcli prints it: `file:line:col: Type: message`, the
source line, a caret or CPython's ^^^ span, the hint and the "Did you mean"."""

from __future__ import annotations


def source_line(source: str, line: int | None) -> str | None:
    if not line:
        return None
    lines = source.split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else None


def format_error(filename: str, source: str, error, color: bool = False, scope=()) -> str:
    """`file:line:col: Type: message`, CPython's "Did you mean" for a misspelt name, the
    source line and a caret under the culprit (^^^^ under its span when the error
    record has one); `scope`: the program's variable names, for NameError."""
    code = source_line(source, error.line)
    column = max(error.column or 1, 1)
    end = getattr(error, "end_column", None)
    close = None
    if error.phase != "parse":
        from gradcli.sandbox.suggestions import culprit_span, suggestion

        close = suggestion(error.type, error.message, scope)
        if code is not None:
            # The misspelt word itself when the message names one; else the span the
            # runtime reported (CPython 3.11's ^^^^ under the failing expression).
            column, end = culprit_span(error.type, error.message, code, column) or (column, end)
    where = f"{filename}:{error.line}:{column}" if error.line else filename
    kind = f"\x1b[1;31m{error.type}\x1b[0m" if color else error.type
    text = f"{where}: {kind}: {error.message}"
    if close is not None:
        text += f". Did you mean: '{close}'?"
    if code is not None:
        stripped = code.lstrip()
        indent = len(code) - len(stripped)
        same_line = getattr(error, "end_line", None) in (None, error.line)
        width = end - column if end and same_line and end > column else 1
        width = max(min(width, len(code) - (column - 1)), 1)
        caret = "^" * width
        caret = f"\x1b[1;31m{caret}\x1b[0m" if color else caret
        pad = " " * max(column - 1 - indent, 0)
        if color:
            from gradcli.views.highlight import highlight  # Pygments: only when colouring

            stripped = highlight(stripped, color)
        text += f"\n    {stripped}\n    {pad}{caret}"
    stack = getattr(error, "stack", None)
    if stack and len(stack) > 1:
        # Inside functions: where it happened, then the calls that led there.
        function, line = stack[-1]
        text += f"\n  in {function}(), line {line}"
        for function, line in reversed(stack[:-1]):
            where_from = "" if function == "<module>" else f"{function}(), "
            text += f"\n  called from {where_from}line {line}"
    if getattr(error, "hint", None):
        text += f"\nhint: {error.hint}"
    return text


def format_warning(filename: str, source: str, warning) -> str:
    # Python's own warning format: file:line: Category: message, then the source line.
    text = f"{filename}:{warning.line}: {warning.category}: {warning.message}"
    code = source_line(source, warning.line)
    if code is not None:
        text += f"\n  {code.strip()}"
    return text
