"""Differential testing of SPEC §1.6 on plain Python: generated programs with functions,
branches, loops, comprehensions, classes and exceptions print the same text under gradcli
as under CPython, and fail with the same error type and message where CPython fails."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcli.runtime.interpreter import run

NAMES = ["a", "b", "c", "n"]
small = st.integers(min_value=-6, max_value=6)


@st.composite
def expressions(draw, depth=0):
    if depth > 2 or draw(st.booleans()):
        return draw(st.one_of(small.map(str), st.sampled_from(NAMES)))
    kind = draw(st.sampled_from(["binop", "call", "cond", "compare", "list", "index"]))
    left, right = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    if kind == "binop":
        op = draw(st.sampled_from(["+", "-", "*", "//", "%"]))
        return f"({left} {op} {right})"
    if kind == "call":
        return f"f({left}, {right})"
    if kind == "cond":
        return f"({left} if {right} > 0 else {right} - 1)"
    if kind == "compare":
        op = draw(st.sampled_from(["<", "<=", "==", "!="]))
        return f"int({left} {op} {right})"
    if kind == "list":
        return f"len([i * {left} for i in range(abs({right}) % 4) if i != 1])"
    return f"[{left}, {right}, 3][{right} % 3]"


@st.composite
def statements(draw, indent=0, depth=0):
    pad = "    " * indent
    kind = draw(st.sampled_from(
        ["assign", "print", "if", "for", "while", "try", "aug", "method"]
        if depth < 2 else ["assign", "print", "aug"]))
    name = draw(st.sampled_from(NAMES))
    expr = draw(expressions())
    if kind == "assign":
        return [f"{pad}{name} = {expr}"]
    if kind == "aug":
        op = draw(st.sampled_from(["+=", "-=", "*="]))
        return [f"{pad}{name} {op} {expr}"]
    if kind == "print":
        return [f"{pad}print({expr}, {name!r}, sep=':')"]
    if kind == "method":
        return [f"{pad}box.put({expr})", f"{pad}print(box.total(), len(box))"]
    body = draw(blocks(indent + 1, depth + 1))
    if kind == "if":
        other = draw(blocks(indent + 1, depth + 1))
        return [f"{pad}if {expr} > 0:", *body, f"{pad}else:", *other]
    if kind == "for":
        return [f"{pad}for {name} in range({draw(st.integers(0, 4))}):", *body]
    if kind == "while":
        counter = f"k{indent}"
        return [f"{pad}{counter} = 0", f"{pad}while {counter} < {draw(st.integers(0, 3))}:",
                f"{pad}    {counter} += 1", *body]
    handler = draw(st.sampled_from(["ZeroDivisionError", "IndexError", "Exception"]))
    return [f"{pad}try:", *body, f"{pad}    print(10 // {expr})",
            f"{pad}except {handler} as e:", f"{pad}    print('caught', type(e).__name__, e)"]


@st.composite
def blocks(draw, indent=0, depth=0):
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        lines += draw(statements(indent, depth))
    return lines


PRELUDE = """\
a, b, c, n = 1, 2, 3, 4
def f(x, y=2):
    if x > y:
        return x - y
    return x * y + 1
class Box:
    def __init__(self):
        self.items = []
    def put(self, v):
        self.items.append(v)
    def total(self):
        return sum(self.items)
    def __len__(self):
        return len(self.items)
box = Box()
"""


def run_cpython(text: str) -> tuple[str, str | None]:
    printed: list[str] = []

    def capture(*values, sep=" ", end="\n"):
        printed.append(sep.join(str(v) for v in values) + end)

    scope = {"__name__": "__main__", "print": capture}
    try:
        exec(compile(text, "<program>", "exec"), scope)  # noqa: S102 - the reference run
    except Exception as exc:  # noqa: BLE001 - compared with gradcli's error
        return "".join(printed), f"{type(exc).__name__}: {exc}"
    return "".join(printed), None


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(blocks())
def test_same_output_as_cpython(lines):
    text = PRELUDE + "\n".join(lines) + "\n"
    expected_out, expected_error = run_cpython(text)
    result = run(text, "<program>")
    error = None if result.error is None else f"{result.error.type}: {result.error.message}"
    assert (result.stdout, error) == (expected_out, expected_error), text
