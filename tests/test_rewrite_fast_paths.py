"""The rewriter's fast paths (issue 13's micrograd benchmark) give what the guards give:
a method of Python's own values read natively only where its allow-list has it, no stamp
on calls of builtins that cannot return a tensor unless the program rebinds the name, the
step budget counted exactly, and no walk over the tree for positions."""

from __future__ import annotations

import ast
import contextlib
import io

import pytest

from gradcli.base.budget import Limits
from gradcli.base.wording import steps
from gradcli.explain.tracer import Tracer
from gradcli.runtime.interpreter import run
from gradcli.runtime.rewrite import PLAIN_BUILTINS, bound_names, compile_program


def outcome(source: str, **limits):
    result = run(source, "<test>", limits=Limits(**limits) if limits else None)
    if result.error is not None:
        return result.error.type, result.error.message
    return result.stdout


@pytest.mark.parametrize(("source", "expected"), [
    ("s = set()\ns.add(3)\nprint(s)\n", "{3}\n"),
    ("xs = [1]\nxs.append(2)\nprint(xs)\n", "[1, 2]\n"),
    ("d = {}\nprint(d.get('a', 1))\n", "1\n"),
    ("t = 'ab'\nprint(t.upper())\n", "AB\n"),
    # refused names stay refused: the native read only happens for allowed classes
    ("xs = [1]\nxs.nosuch()\n", ("AttributeError", "'list' object has no attribute 'nosuch'")),
    ("s = 'x'\nf = s.format\nprint(f('{}', 1))\n", "x\n"),
    ("f = len\nf.append(1)\n", ("AttributeError",
                                "'builtin_function_or_method' object has no attribute 'append'")),
])
def test_methods_of_python_values(source, expected):
    assert outcome(source) == expected


def test_a_program_class_with_a_list_method_name_goes_through_its_own_rules():
    source = """\
class Bag:
    def __init__(self):
        self.items = []
    def add(self, x):
        self.items.append(x)
b = Bag()
b.add(3)
print(b.items)
"""
    assert outcome(source) == "[3]\n"


def test_bound_names_see_every_binding_form():
    tree = ast.parse(
        "len = 1\ndef f(set, *zip, **dict): pass\nclass sorted: pass\nimport math as list\n"
        "try:\n    pass\nexcept E as print:\n    pass\nfor str in []: pass\n"
        "lambda repr: 0\n[int for int in []]\n(float := 2)\n")
    assert {"len", "set", "zip", "dict", "sorted", "list", "print", "str", "repr", "int",
            "float", "f"} <= bound_names(tree)
    assert bound_names(ast.parse("from math import *\n")) == PLAIN_BUILTINS


def stamped_calls(source: str) -> list[str]:
    text = ast.unparse(compile_program(source).tree)
    return [line.strip() for line in text.splitlines() if "_gx_s(" in line]


def test_plain_builtins_are_not_stamped_unless_rebound():
    assert stamped_calls("n = len([1, 2])\n") == []
    assert stamped_calls("def len(x):\n    return x\nn = len([1, 2])\n") != []


def test_a_rebound_builtin_still_names_its_tensor_in_traces():
    source = """\
import torch
def len(t):
    return t * 2
x = torch.tensor(1.0, requires_grad=True)
y = len(x)
y.backward()
"""
    tracer = Tracer(source)
    result = run(source, "<test>", observer=tracer)
    assert result.error is None
    assert tracer.traces[0].steps[0].variable == "y"


@pytest.mark.parametrize("budget", [1, 5, 1023, 1024, 1025, 3000])
def test_the_step_budget_is_exact(budget):
    """A loop of `budget` iterations fits a budget of `budget` steps, one more does not
    (each iteration is a step; the fast path compares with the next count that needs
    attention)."""
    ok = f"for i in range({budget}):\n    pass\nprint('done')\n"
    assert outcome(ok, max_steps=budget) == "done\n"
    over = f"for i in range({budget + 1}):\n    pass\n"
    error = outcome(over, max_steps=budget)
    assert error[0] == "TimeoutError" and f"budget of {steps(budget)} (loop" in error[1]


def test_a_spent_budget_stays_spent():
    """Catching the budget error is impossible, and every later step fails again."""
    source = """\
def f():
    for i in range(100):
        pass
try:
    f()
except BaseException:
    pass
print('after')
"""
    error = outcome(source, max_steps=50)
    assert error[0] == "TimeoutError"


def test_every_rewritten_node_has_a_position():
    """compile() gets the tree without fix_missing_locations: the rewriter placed all."""
    source = """\
import torch
class A:
    def __init__(self):
        self.v = [1]
    def go(self, k):
        self.v[0] += k
        self.v.append(k)
        return [x * 2 for x in self.v if x]
a = A()
n = 0
while n < 3:
    n += 1
    a.go(n)
for i, (p, q) in enumerate(zip([1], [2])):
    a.v[i] -= p
print(a.go(1), f"{n:>3}", n in range(5), n not in {1, 2})
"""
    tree = compile_program(source).tree
    for node in ast.walk(tree):
        if "lineno" in node._attributes:
            assert hasattr(node, "lineno"), ast.dump(node)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source.replace("import torch\n", ""), "<cpython>", "exec"), {})  # noqa: S102
    assert outcome(source) == printed.getvalue()  # CPython's answer
