"""A node made inside a loop names the iteration (issue 13: `i=3`): after its line in
--trace titles, in `gradcli graph`'s tree, dot and mermaid labels and the html page's data.
An integer loop target shows its value, a loop with none (`for row in m`, `while`) its
iteration count from 1; a node made by a function shows the caller's loop by the call."""

from __future__ import annotations

import json

from click.testing import CliRunner

from gradcli.cli.group import cli
from gradcli.explain.tracer import Tracer
from gradcli.runtime.interpreter import run
from gradcli.views.trace import render_trace


def titles(source: str) -> list[str]:
    tracer = Tracer(source)
    result = run(source, "<test>", observer=tracer)
    assert result.error is None, result.error
    return [line.plain for trace in tracer.traces for line in render_trace(trace)
            if line.plain.startswith("  [")]


def invoke(*args) -> str:
    out = CliRunner().invoke(cli, list(args))
    assert out.exit_code == 0, out.output
    return out.output


RANGE_LOOP = """\
import torch
w = torch.tensor(2.0, requires_grad=True)
y = w
for i in range(2):
    y = y * w
y.backward()
"""


def test_a_range_loop_names_its_index():
    assert titles(RANGE_LOOP) == [
        "  [1] MulBackward0 · y = y * w · line 5, i=1",
        "  [2] MulBackward0 · y = y * w · line 5, i=0",
        "  [3] AccumulateGrad · w",
    ]


def test_outside_any_loop_nothing_is_added():
    source = "import torch\nw = torch.tensor(2.0, requires_grad=True)\ny = w * 3\ny.backward()\n"
    assert titles(source)[0] == "  [1] MulBackward0 · y = w * 3 · line 3"


def test_while_and_tensor_iteration_count_from_one():
    source = """\
import torch
m = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
total = 0
for row in m:
    total = total + row.sum()
n = 0
while n < 2:
    total = total * 2
    n += 1
total.backward()
"""
    assert titles(source) == [
        "  [1] MulBackward0 · total = total * 2 · line 8, iteration 2",
        "  [2] MulBackward0 · total = total * 2 · line 8, iteration 1",
        "  [3] AddBackward0 · total = total + row.sum() · line 5, iteration 2",
        "  [4] SumBackward0 · row.sum() · line 5, iteration 2",
        "  [5] AddBackward0 · total = total + row.sum() · line 5, iteration 1",
        "  [6] SumBackward0 · row.sum() · line 5, iteration 1",
        "  [7] UnbindBackward0 · row · line 4",
        "  [8] AccumulateGrad · m",
    ]


NESTED = """\
import torch
w = torch.tensor(2.0, requires_grad=True)
def mse(a, b):
    d = a - b
    return (d * d).mean()
total = 0
for epoch in range(2):
    for k, x in enumerate([1.0, 3.0]):
        if epoch == 1 and k == 0:
            total = total + mse(w * x, torch.tensor(1.0))
total.backward()
"""


def test_nested_loops_and_a_function_called_in_them():
    assert titles(NESTED) == [
        # the expression gives way to the line and the iteration
        "  [1] AddBackward0 · total = total + mse(w * x, torch.t… · line 10, epoch=1, k=0",
        "  [2] MeanBackward0 · (d * d).mean() · line 5 in mse() ← line 10, epoch=1, k=0",
        "  [3] MulBackward0 · d * d · line 5 in mse() ← line 10, epoch=1, k=0",
        "  [4] SubBackward0 · d = a - b · line 4 in mse() ← line 10, epoch=1, k=0",
        "  [5] MulBackward0 · w * x · line 10, epoch=1, k=0",
        "  [6] AccumulateGrad · w",
    ]


def test_a_loop_inside_the_function_and_one_around_the_call():
    source = """\
import torch
w = torch.tensor(1.5, requires_grad=True)
def power(x, n):
    out = x
    for j in range(1, n):
        out = out * x
    return out
for step in range(3):
    if step == 2:
        y = power(w, 3)
y.backward()
"""
    assert titles(source) == [
        "  [1] MulBackward0 · out = out * x · line 6, j=2 in power() ← line 10, step=2",
        "  [2] MulBackward0 · out = out * x · line 6, j=1 in power() ← line 10, step=2",
        "  [3] AccumulateGrad · w",
    ]


def test_a_function_defined_in_a_loop_is_not_inside_it():
    """The def's body belongs to the function: its nodes show the loop of the call."""
    source = """\
import torch
w = torch.tensor(2.0, requires_grad=True)
for i in range(2):
    def f(x):
        return x * 3
y = f(w)
y.backward()
"""
    assert titles(source)[0] == "  [1] MulBackward0 · y = x * 3 · line 5 in f() ← line 6"


def test_float_targets_fall_back_to_the_count():
    source = """\
import torch
w = torch.tensor(2.0, requires_grad=True)
total = 0
for x in [0.5, 1.5]:
    total = total + w * x
total.backward()
"""
    assert titles(source)[1] == "  [2] MulBackward0 · w * x · line 5, iteration 2"


def test_graph_tree_dot_and_mermaid_show_the_iteration():
    tree = invoke("graph", "-e", RANGE_LOOP, "--no-color").splitlines()
    assert tree[0] == "y = y * w  MulBackward0  () float32  line 5, i=1"
    assert tree[1] == "├── y = y * w  MulBackward0  () float32  line 5, i=0"
    dot = invoke("graph", "-e", RANGE_LOOP, "--format", "dot")
    assert "line 5, i=1" in dot and "line 5, i=0" in dot
    mermaid = invoke("graph", "-e", RANGE_LOOP, "--format", "mermaid")
    assert "line 5, i=1" in mermaid and "line 5, i=0" in mermaid


def test_json_trace_carries_the_iteration():
    out = invoke("eval", "-e", RANGE_LOOP, "--trace", "--format", "json")
    steps = json.loads(out)["traces"][0]["steps"]
    assert [s.get("where") for s in steps] == ["i=1", "i=0", None]


def test_the_counter_is_out_of_the_programs_reach():
    """The iteration counter is a reserved name: a program can neither name it nor see it
    among its variables."""
    out = CliRunner().invoke(cli, ["eval", "-e", "for r in [1, 2]:\n    print(_gx_n1)\n"])
    assert out.exit_code != 0
    assert "reserved by gradcli" in out.output
    source = "import torch\nfor r in [1, 2]:\n    t = torch.ones(1, requires_grad=True) * r\n"
    out = invoke("eval", "-e", source, "--format", "json")
    assert "_gx" not in out
    assert [t["name"] for t in json.loads(out)["tensors"]] == ["t"]
