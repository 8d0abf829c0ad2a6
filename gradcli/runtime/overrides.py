"""`--set NAME=VALUE`: the program text with NAME's first binding given VALUE.

The binding may be a plain number or list (`lr = 0.1`), a `tensor(...)` declaration
(its data is replaced; dtype and requires_grad are kept, the dtype inferred from the old
data when not written), or a creation call with a size (`torch.zeros(3,
requires_grad=True)`: replaced by a tensor of VALUE with the call's dtype and
requires_grad). VALUE is a number or a (nested) list; a VALUE whose shape differs from
the declaration's is refused (`w = tensor(1.0)` with `--set 'w=[[1]]'` would change w's
shape from () to (1, 1)), as is a binding of any other kind. The rewrite keeps every
line where it was, so errors still point at the user's lines.

Programs are Python syntax, so Python's own parser finds the binding; a program it
cannot parse is left alone (running it reports the syntax error)."""

from __future__ import annotations

import ast

# Functions whose positional arguments (or one tuple/list argument) are the size.
_SIZED = frozenset({"zeros", "ones", "empty", "rand", "randn"})
_FILLED = frozenset({"full"})  # full(size, fill_value)
_DATA = frozenset({"tensor"})


class OverrideError(ValueError):
    """--set names nothing it can change, or a value it cannot take: a usage error."""


def apply(source: str, overrides: dict[str, str]) -> str:
    if not overrides:
        return source
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return source
    edits = []
    for name, text in overrides.items():
        value = _value(name, text)
        statement = _first_binding(tree.body, name)
        if statement is None:
            raise OverrideError(f"--set {name}: no `{name} = ...` binding in the program")
        edits.append(_edit(source, name, text, value, statement.value))
    return _rewrite(source, edits)


def _value(name: str, text: str):
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = None
    if value is None or _shape(value) is None:
        raise OverrideError(f"--set {name}: '{text}' is not a number or list")
    return value


def _shape(value) -> tuple | None:
    """The shape of a number or a rectangular nested list of numbers, else None."""
    if isinstance(value, (bool, int, float)):
        return ()
    if isinstance(value, (list, tuple)):
        shapes = {_shape(item) for item in value}
        if len(shapes) > 1 or None in shapes:
            return None
        inner = shapes.pop() if shapes else ()
        return (len(value), *inner)
    return None


def _first_binding(body, name: str):
    for statement in body:
        if isinstance(statement, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == name
                for target in statement.targets):
            return statement
        for block in ("body", "orelse", "finalbody"):
            inner = getattr(statement, block, None)
            if isinstance(inner, list):
                found = _first_binding(inner, name)
                if found is not None:
                    return found
        for handler in getattr(statement, "handlers", ()):
            found = _first_binding(handler.body, name)
            if found is not None:
                return found
    return None


def _function_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _literal(node):
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if _shape(value) is not None else None


def _edit(source, name, text, value, node):
    """(start, end, replacement): the span of the old value and what replaces it."""
    old = _literal(node)
    if old is not None:  # lr = 0.1, sizes = [1, 2]
        _same_shape(name, text, value, _shape(old))
        return (*_span(source, node), text.strip())
    function = _function_name(node) if isinstance(node, ast.Call) else None
    keywords = {k.arg: k.value for k in getattr(node, "keywords", ()) if k.arg}
    if function in _DATA:
        data = node.args[0] if node.args else keywords.get("data")
        if data is None:
            raise OverrideError(f"--set {name}: `{name} = {function}(...)` has no data")
        old = _literal(data)
        if old is not None:
            _same_shape(name, text, value, _shape(old))
        replacement = text.strip()
        if "dtype" not in keywords and old is not None:
            # The dtype the old data gave the tensor stays (`[1.0]` -> float32 even when
            # VALUE is written with ints).
            replacement += f", dtype=torch.{_inferred_dtype(old)}"
        return (*_span(source, data), replacement)
    if function in _SIZED or function in _FILLED:
        size = _size(node, function)
        if size is not None:
            _same_shape(name, text, value, size)
        parts = [text.strip()]
        for keyword in ("dtype", "requires_grad"):
            if keyword in keywords:
                parts.append(f"{keyword}={ast.get_source_segment(source, keywords[keyword])}")
            elif keyword == "dtype":
                parts.append(f"dtype=torch.{_creation_dtype(node, function, keywords)}")
        return (*_span(source, node), "torch.tensor(" + ", ".join(parts) + ")")
    shown = ast.get_source_segment(source, node) or "..."
    raise OverrideError(
        f"--set {name}: `{name} = {shown}` is not a number, a list, tensor(...) or a "
        "creation call with a size (zeros, ones, full, empty, rand, randn)")


def _creation_dtype(call: ast.Call, function: str, keywords: dict) -> str:
    """The dtype the call gives without `dtype=`: float32, except full(), whose fill value
    decides as torch.tensor's data would (full((2,), 7) is int64)."""
    if function in _FILLED:
        fill = call.args[1] if len(call.args) > 1 else keywords.get("fill_value")
        value = _literal(fill) if fill is not None else None
        if value is not None:
            return _inferred_dtype(value)
    return "float32"


def _size(call: ast.Call, function: str) -> tuple | None:
    args = call.args[:1] if function in _FILLED else call.args
    if not args:
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        args = [keywords["size"]] if "size" in keywords else []
    values = [_literal(arg) for arg in args]
    if not values or any(v is None for v in values):
        return None
    if len(values) == 1 and isinstance(values[0], (list, tuple)):
        values = list(values[0])
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    return tuple(values)


def _same_shape(name, text, value, shape) -> None:
    new = _shape(value)
    if new != shape:
        raise OverrideError(
            f"--set {name}: '{text.strip()}' has shape {_text(new)}, but {name} is declared "
            f"with shape {_text(shape)}; give a value of that shape")


def _text(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _inferred_dtype(value) -> str:
    """torch.tensor's dtype for Python data: any float -> float32, else any int -> int64,
    else bool."""
    flat, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            flat.append(item)
    if any(isinstance(v, float) for v in flat):
        return "float32"
    if any(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        return "int64"
    return "bool" if flat else "float32"


def _span(source: str, node) -> tuple[int, int]:
    """Character offsets of node in source (ast's columns count UTF-8 bytes)."""
    starts = [0]
    for line in source.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    lines = source.split("\n")

    def offset(line: int, byte_column: int) -> int:
        text = lines[line - 1]
        return starts[line - 1] + len(text.encode("utf-8")[:byte_column].decode("utf-8"))

    return (offset(node.lineno, node.col_offset),
            offset(node.end_lineno, node.end_col_offset))


def _rewrite(source: str, edits) -> str:
    for start, end, replacement in sorted(edits, reverse=True):
        newlines = source.count("\n", start, end)
        if newlines:
            # Keep the following lines where they were: the value spanned several lines.
            replacement = "(" + replacement + "\n" * newlines + ")"
        source = source[:start] + replacement + source[end:]
    return source
