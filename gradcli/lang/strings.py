"""String literals and f-strings, decoded by hand (never through Python's eval)."""

from __future__ import annotations

import re
import unicodedata

from gradcli.base.errors import GradcliSyntaxError
from gradcli.lang import ast as A

_SIMPLE_ESCAPES = {
    "\n": "",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}


def unescape(text: str, line: int, column: int) -> str:
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[nxt])
            i += 2
        elif nxt in "01234567":
            digits = re.match(r"[0-7]{1,3}", text[i + 1 :]).group(0)
            out.append(chr(int(digits, 8)))
            i += 1 + len(digits)
        elif nxt in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            digits = text[i + 2 : i + 2 + width]
            if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise GradcliSyntaxError(
                    f"(unicode error) 'unicodeescape' codec can't decode bytes in position "
                    f"{i}-{i + 1 + len(digits)}: truncated \\{nxt}{'X' * width} escape",
                    line,
                    column,
                )
            code = int(digits, 16)
            if code > 0x10FFFF:
                raise GradcliSyntaxError("(unicode error) illegal Unicode character", line, column)
            out.append(chr(code))
            i += 2 + width
        elif nxt == "N":
            match = re.match(r"\{([^}]*)\}", text[i + 2 :])
            try:
                out.append(unicodedata.lookup(match.group(1)))
            except (AttributeError, KeyError):
                raise GradcliSyntaxError(
                    "(unicode error) 'unicodeescape' codec can't decode bytes: "
                    "malformed \\N character escape",
                    line,
                    column,
                ) from None
            i += 2 + len(match.group(0))
        else:
            out.append("\\" + nxt)
            i += 2
    return "".join(out)


def decode_string(token: str, line: int, column: int):
    """-> (prefix incl. opening quotes, body, is_raw, is_fstring). Non-f bodies are decoded."""
    match = re.match(r"([a-zA-Z]*)('''|\"\"\"|'|\")", token)
    letters, quote = match.group(1).lower(), match.group(2)
    body = token[len(match.group(0)) : len(token) - len(quote)]
    if "b" in letters:
        raise GradcliSyntaxError("bytes literals are not supported by gradcli", line, column)
    raw, fstring = "r" in letters, "f" in letters
    if not fstring and not raw:
        body = unescape(body, line, column)
    return match.group(0), body, raw, fstring


def _position(body: str, index: int, line: int, column: int):
    before = body[:index]
    newlines = before.count("\n")
    if newlines:
        return line + newlines, index - before.rfind("\n")
    return line, column + index


def split_fstring(body: str, raw: bool, line: int, column: int, in_spec: bool = False):
    """Literal text and replacement fields of an f-string body, in order.

    Fields come back as (expression text, conversion, spec text or None, echo text or
    None, line, column of the expression)."""
    parts: list = []
    literal: list[str] = []
    i = 0
    n = len(body)

    def flush():
        if literal:
            text = "".join(literal)
            parts.append(text if raw else unescape(text, line, column))
            literal.clear()

    while i < n:
        ch = body[i]
        if ch == "{" and not in_spec and i + 1 < n and body[i + 1] == "{":
            literal.append("{")
            i += 2
            continue
        if ch == "}" and not in_spec and i + 1 < n and body[i + 1] == "}":
            literal.append("}")
            i += 2
            continue
        if ch == "}":
            raise GradcliSyntaxError("f-string: single '}' is not allowed",
                                     *_position(body, i, line, column))
        if ch != "{":
            literal.append(ch)
            i += 1
            continue
        flush()
        start = i + 1
        depth, j, quote = 0, start, None
        conversion = spec = echo = None
        expr_end = None
        while j < n:
            c = body[j]
            if quote:
                if c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c in "([{":
                depth += 1
            elif c in ")]}" and depth:
                depth -= 1
            elif (depth == 0 and c == "=" and body[j + 1 : j + 2] != "="
                  and body[j - 1] not in "=!<>"):
                echo = body[start : j + 1]
                expr_end = expr_end or j
            elif depth == 0 and c == "!" and body[j + 1 : j + 2] != "=":
                expr_end = expr_end or j
                conversion = body[j + 1 : j + 2]
                if conversion not in ("r", "s", "a"):
                    raise GradcliSyntaxError(
                        "f-string: invalid conversion character: expected 's', 'r', or 'a'",
                        *_position(body, j, line, column),
                    )
                j += 1
            elif depth == 0 and c == ":":
                expr_end = expr_end or j
                close = _matching_brace(body, j + 1)
                spec = body[j + 1 : close]
                j = close
                break
            elif depth == 0 and c == "}":
                break
            j += 1
        if j >= n:
            raise GradcliSyntaxError("f-string: expecting '}'", *_position(body, i, line, column))
        expr_end = expr_end if expr_end is not None else j
        expression = body[start:expr_end]
        if not expression.strip():
            raise GradcliSyntaxError(
                "f-string: valid expression required before '}'", *_position(body, i, line, column)
            )
        if "#" in expression:
            raise GradcliSyntaxError(
                "f-string expression part cannot include '#'", *_position(body, i, line, column)
            )
        if "\\" in expression:
            raise GradcliSyntaxError(
                "f-string expression part cannot include a backslash",
                *_position(body, i, line, column),
            )
        expr_line, expr_col = _position(body, start, line, column)
        parts.append((expression, conversion, spec, echo, expr_line, expr_col))
        i = j + 1
    flush()
    return parts


def _matching_brace(body: str, index: int) -> int:
    depth = 0
    for j in range(index, len(body)):
        if body[j] == "{":
            depth += 1
        elif body[j] == "}":
            if depth == 0:
                return j
            depth -= 1
    return len(body)


def fstring_parts(pieces, expression, in_spec: bool = False) -> list:
    """An FString's parts from split_fstring's pieces: adjacent text merged, each field's
    text parsed by `expression(text, line, column)`. A format spec may hold fields of its
    own (`{x:{width}.{prec}f}`); theirs have no spec."""
    built: list = []
    for piece in pieces:
        if isinstance(piece, str):
            if built and isinstance(built[-1], str) and not in_spec:
                built[-1] += piece
            else:
                built.append(piece)
            continue
        text, conversion, spec, echo, line, column = piece
        value = expression(text, line, column)
        if in_spec:
            spec = None
        elif spec is not None:
            spec = fstring_parts(split_fstring(spec, True, line, column, in_spec=True),
                                 expression, in_spec=True)
        built.append(A.FormattedValue(line, column, value, conversion, spec, echo))
    return built
