"""Every place in gradcli/ that builds a program error with literal text.

A *site* is a call of one of the error constructors below whose message
argument is a string literal, an f-string, or a ``+``/implicit concatenation
of those.  Its message becomes a regular expression in which every f-string
hole (and every non-literal operand of a ``+``) matches anything, so a site
is *pinned* when some expected message generated from PyTorch matches it.

    python3 tests/raise_sites.py            # list the sites no case pins

(imported by tests/test_error_messages.py; no torch needed).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gradcli"

# constructor name -> (Python exception type unless an argument names it,
# index of the message argument, index of the argument naming the type)
CONSTRUCTORS: dict[str, tuple[str, int, int | None]] = {
    "runtime_error": ("RuntimeError", 0, None),
    "type_error": ("TypeError", 0, None),
    "value_error": ("ValueError", 0, None),
    "index_error": ("IndexError", 0, None),
    "name_error": ("NameError", 0, None),
    "attribute_error": ("AttributeError", 0, None),
    "resource_error": ("MemoryError", 0, None),
    "budget_error": ("TimeoutError", 0, None),
    "ProgramError": ("", 1, 0),
    "GradcliSyntaxError": ("SyntaxError", 0, 3),
    "SyntaxProblem": ("SyntaxError", 0, 3),
}

SYNTAX_TYPES = ("SyntaxError", "IndentationError", "TabError")
HOLE = "\x00"  # stands for an f-string hole until the pattern is built


@dataclass(frozen=True)
class Site:
    path: str  # relative to the repository root
    line: int
    type_name: str
    text: str  # the message with every hole shown as {…}

    @property
    def pattern(self) -> re.Pattern[str]:
        parts = self.text.split("{…}")
        return re.compile(".*".join(re.escape(p) for p in parts), re.DOTALL)

    @property
    def literal_chars(self) -> int:
        return len(self.text.replace("{…}", ""))

    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def matches(self, type_name: str, message: str) -> bool:
        # the SPEC §2.1 document names every compile-time error SyntaxError
        mine = "SyntaxError" if self.type_name in SYNTAX_TYPES else self.type_name
        return (type_name in (mine, "*")) and self.pattern.fullmatch(message) is not None


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def message_text(node: ast.expr) -> str | None:
    """The literal text of a message expression, holes as HOLE; None if not literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                out.append(str(part.value))
            else:
                out.append(HOLE)
        return "".join(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = message_text(node.left), message_text(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else HOLE) + (right if right is not None else HOLE)
    return None


def _collapse(text: str) -> str:
    return re.sub(f"{HOLE}+", "{…}", text)


def sites_in(path: Path) -> list[Site]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = path.relative_to(ROOT).as_posix()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _callee_name(node.func)
        if name not in CONSTRUCTORS:
            continue
        type_name, index, type_index = CONSTRUCTORS[name]
        if type_index is not None and len(node.args) > type_index:
            if not isinstance(node.args[type_index], ast.Constant):
                continue
            type_name = str(node.args[type_index].value)
        if not type_name:
            continue
        if len(node.args) <= index:
            continue
        text = message_text(node.args[index])
        if text is None or not text.replace(HOLE, "").strip():
            continue  # the message is computed elsewhere (a variable, str(exc))
        found.append(Site(rel, node.lineno, type_name, _collapse(text)))
    return found


def all_sites() -> list[Site]:
    sites = []
    for path in sorted(PACKAGE.rglob("*.py")):
        sites.extend(sites_in(path))
    return sites


def expected_errors() -> list[tuple[str, str, str]]:
    """(case, type, message) of every error and warning in the conformance corpus."""
    import json

    out = []
    for doc_path in sorted((ROOT / "tests" / "conformance").glob("cases*/*.json")):
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        if doc["error"]:
            out.append((doc_path.stem, doc["error"]["type"], doc["error"]["message"]))
        for w in doc["warnings"]:
            out.append((doc_path.stem, "UserWarning", w["message"]))
        # A program that catches PyTorch's error prints its message (`print(e)`): the
        # printed line pins the message, whatever its type.
        for line in doc["stdout"]:
            out.append((doc_path.stem, "*", line))
            if ": " in line:
                out.append((doc_path.stem, "*", line.split(": ", 1)[1]))
    out.extend(_oracle_data_errors())
    return out


def _oracle_data_errors() -> list[tuple[str, str, str]]:
    """Errors recorded by the other oracle scripts (tools/gen_random_cases.py,
    tools/gen_autograd_scenarios.py): PyTorch's messages too, as `Type: message` strings
    or {"type": ..., "message": ...} records."""
    import json
    import re

    shaped = re.compile(r"^[\"']?(\w+(?:Error|Exception|Warning)): (.*?)[\"']?$", re.S)
    out = []

    def walk(value, source):
        if isinstance(value, dict):
            if isinstance(value.get("type"), str) and isinstance(value.get("message"), str):
                out.append((source, value["type"], value["message"]))
            for item in value.values():
                walk(item, source)
        elif isinstance(value, list):
            for item in value:
                walk(item, source)
        elif isinstance(value, str):
            match = shaped.match(value)
            if match:
                out.append((source, match.group(1), match.group(2)))

    for name in ("random_cases.json", "autograd_scenarios.json"):
        path = ROOT / "tests" / "data" / name
        walk(json.loads(path.read_text(encoding="utf-8")), path.stem)
    return out


if __name__ == "__main__":
    errors = expected_errors()
    sites = all_sites()
    missing = [s for s in sites if not any(s.matches(t, m) for _, t, m in errors)]
    for s in missing:
        print(f"{s.where():32} {s.type_name}: {s.text}")
    print(f"{len(sites)} sites, {len(missing)} not pinned by a conformance case")
