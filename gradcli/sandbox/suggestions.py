""""Did you mean" for a misspelt name, attribute or keyword, as CPython 3.10+ adds to
NameError and AttributeError (`Did you mean: 'requires_grad'?`) and click to a mistyped
command. The error's message stays PyTorch's/Python's; the suggestion is shown after it.
Candidates come from the allow-lists the interpreter itself uses, so a suggestion always
names something a program can reach."""

from __future__ import annotations

import difflib
import inspect
import re

_NAME = re.compile(r"name '(\w+)' is not defined")
_TENSOR_ATTRIBUTE = re.compile(r"'Tensor' object has no attribute '(\w+)'")
_MODULE_ATTRIBUTE = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
_KEYWORD = re.compile(r"(\w+)\(\) got an unexpected keyword argument '(\w+)'")


def suggestion(error_type: str, message: str, scope=()) -> str | None:
    """The closest existing name to the one the message says is missing, or None.
    `scope`: the program's own variable names (for NameError)."""
    wrong, candidates = _candidates(error_type, message, scope)
    if wrong is None:
        return None
    # CPython suggests names within about a third of the name's length in edits; difflib's
    # ratio 0.6 is close to that, and never suggests the name itself.
    found = difflib.get_close_matches(wrong, [c for c in candidates if c != wrong], n=1,
                                      cutoff=0.6)
    return found[0] if found else None


def _candidates(error_type: str, message: str, scope):
    from gradcli.sandbox import attributes
    from gradcli.sandbox import scope as names

    if error_type == "NameError" and (match := _NAME.fullmatch(message)):
        return match.group(1), [*scope, *names.global_scope()]
    if error_type == "AttributeError":
        if match := _TENSOR_ATTRIBUTE.fullmatch(message):
            members = set(attributes.TENSOR_METHODS) | set(attributes.TENSOR_PROPERTIES)
            return match.group(1), sorted(m for m in members if not m.startswith("_"))
        if match := _MODULE_ATTRIBUTE.fullmatch(message):
            module = names.MODULES.get(match.group(1))
            if module is not None:
                return match.group(2), sorted(module.members)
    if error_type == "TypeError" and (match := _KEYWORD.fullmatch(message)):
        return match.group(2), _keywords(match.group(1))
    return None, ()


def _keywords(function: str) -> list[str]:
    """The keyword parameters of the torch function or tensor method called `function`."""
    from gradcli.sandbox import attributes
    from gradcli.sandbox import scope as names

    found = []
    for table in (names.global_scope(), attributes.TENSOR_METHODS):
        target = table.get(function) if hasattr(table, "get") else None
        if target is None:
            continue
        try:
            parameters = inspect.signature(target).parameters.values()
        except (TypeError, ValueError):
            continue
        found += [p.name for p in parameters
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return found


def culprit_span(error_type: str, message: str, code: str, column: int) -> tuple[int, int] | None:
    """(column, end column), 1-based and end-exclusive, of the misspelt word the message
    names, found on the source line at or after the error's column: the caret then
    underlines `backwards` in `x.backwards()` rather than pointing at `x`. None when the
    word is not there (the error's own position is kept). Used only when the runtime
    gives no end position of its own."""
    wrong, _ = _wrong_word(error_type, message)
    if wrong is None:
        return None
    patterns = {"AttributeError": rf"\.\s*({wrong})\b", "NameError": rf"\b({wrong})\b",
                "TypeError": rf"\b({wrong})\s*="}
    match = re.compile(patterns[error_type]).search(code, max(column - 1, 0))
    if match is None:
        return None
    return match.start(1) + 1, match.end(1) + 1


def _wrong_word(error_type: str, message: str):
    if error_type == "NameError" and (match := _NAME.fullmatch(message)):
        return match.group(1), None
    if error_type == "AttributeError":
        if match := _TENSOR_ATTRIBUTE.fullmatch(message):
            return match.group(1), None
        if match := _MODULE_ATTRIBUTE.fullmatch(message):
            return match.group(2), None
    if error_type == "TypeError" and (match := _KEYWORD.fullmatch(message)):
        return match.group(2), None
    return None, None
