"""String literals as CPython 3.11 reads them: prefixes, the escapes that are errors
(a truncated \\x, \\u, \\U, an unknown \\N{name}), and f-strings, scanned as
Parser/string_parser.c scans them, each field's expression parsed by the grammar.
"""

from __future__ import annotations

import re
import unicodedata

from gradcli.base.errors import GradcliSyntaxError


def split_string(token: str):
    quote = re.search(r"['\"]", token).start()
    prefix = token[:quote].lower()
    delimiter = token[quote:quote + 3] if token[quote:quote + 3] in ('"""', "'''") else token[
        quote]
    body = token[quote + len(delimiter):len(token) - len(delimiter)]
    return prefix, body, "r" in prefix


_ESCAPE = re.compile(r"\\(N\{[^}]*\}?|N|x[0-9A-Fa-f]{0,2}|u[0-9A-Fa-f]{0,4}|U[0-9A-Fa-f]{0,8}|"
                     r"[\s\S])")


def check_escapes(body, is_bytes, fail):
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
            fail("(unicode error) 'unicodeescape' codec can't decode bytes")


def _known_character(name: str) -> bool:
    try:
        unicodedata.lookup(name)
    except KeyError:
        return False
    return True


class FString:
    """CPython 3.11's f-string scanner (Parser/string_parser.c): literal text with `{{`
    and `}}`, and `{expression[=][!conversion][:spec]}` fields, the expression parsed by
    the grammar as `(expression)`, the spec holding fields one level deeper."""

    def __init__(self, fail, parse_field, body, raw):
        self.fail, self.parse_field, self.body, self.raw = fail, parse_field, body, raw
        self.fields = []  # (expression tree, conversion, spec fields or None, self_doc)

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
            check_escapes(text.replace("{{", "{").replace("}}", "}"), False, self.fail)

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
            return self.parse_field(text)
        except GradcliSyntaxError as exc:
            self.fail("f-string: " + exc.message)


def fstring_fields(token, parse_field):
    """The fields of an f-string token the checks have passed."""

    def fail(message):
        raise ValueError(f"{message}: {token}")

    prefix, body, raw = split_string(str(token))
    return FString(fail, parse_field, body, raw).check()
