"""UnbindBackward0 (iteration over a tensor, torch.unbind): one node with an output per
slice. Values and names against PyTorch are in the conformance corpus (cases_python
090, 093, 163-173); here, what only gradcli shows: the trace of the node's outputs."""

from __future__ import annotations

import json

from click.testing import CliRunner

from gradcli.cli.group import cli

SOME_OUTPUTS = """\
import torch
x = torch.tensor([[1., 2.], [3., 4.], [5., 6.]], requires_grad=True)
a, b, c = x
loss = (a * c).sum()
loss.backward()
"""


def run_cli(*args) -> str:
    out = CliRunner().invoke(cli, list(args))
    assert out.exit_code == 0, out.output
    return out.output


def test_trace_shows_one_gradient_per_output():
    lines = run_cli("eval", "-e", SOME_OUTPUTS, "--trace", "--no-color").splitlines()
    start = lines.index("  [3] UnbindBackward0 · a · line 3")
    assert lines[start:start + 10] == [
        "  [3] UnbindBackward0 · a · line 3",
        "      grad in   ∂loss/∂output, one gradient per output",
        "                output 0 (a) = [5., 6.]  from MulBackward0 (a * c, line 4)",
        "                output 1 (b): none (counts as zeros)",
        "                output 2 (c) = [1., 2.]  from MulBackward0 (a * c, line 4)",
        "      rule      unbind along dim 0: each output's grad fills its slice, zeros",
        "                  where none came",
        "                ∂a/∂x = 1 in its slice",
        "      sends     grad_x = output grads stacked along dim 0 = [[5., 6.], [0., 0.],",
        "                  [1., 2.]]  → x.grad",
    ]
    # the product names each factor by its own output, not by the node they share
    assert "                ∂(a * c)/∂a = c,  ∂(a * c)/∂c = a" in lines


def test_json_trace_lists_the_outputs():
    doc = json.loads(run_cli("eval", "-e", SOME_OUTPUTS, "--trace", "--format", "json"))
    step = next(s for s in doc["traces"][0]["steps"] if s["node"] == "UnbindBackward0")
    assert step["grad_in"] is None
    assert [(o["output"], o["name"], o["grad"]) for o in step["outputs"]] == [
        (0, "a", [5.0, 6.0]), (1, "b", None), (2, "c", [1.0, 2.0])]
    assert step["sends"][0]["grad"] == [[5.0, 6.0], [0.0, 0.0], [1.0, 2.0]]


def test_a_hook_on_one_output_changes_that_slot_only():
    source = SOME_OUTPUTS.replace("loss = ", "c.register_hook(lambda g: g * 10)\nloss = ")
    lines = run_cli("eval", "-e", source, "--trace", "--no-color").splitlines()
    assert "                output 2 (c) = [10., 20.]  from MulBackward0 (a * c, line 5)" \
        in lines
    assert "                output 0 (a) = [5., 6.]  from MulBackward0 (a * c, line 5)" in lines


def test_iterating_a_large_tensor_builds_only_the_rows_reached():
    """Rows are made as the loop asks: a loop that stops early, or runs out of budget,
    never builds the others (and gets zeros for them)."""
    source = """\
import torch
x = torch.ones(100000, 2, requires_grad=True)
for row in x:
    first = row
    break
first.sum().backward()
print(x.grad[:2].tolist(), float(x.grad.sum()))
"""
    out = run_cli("eval", "-e", source, "-q")
    assert out.strip() == "[[1.0, 1.0], [0.0, 0.0]] 2.0"
    budget = CliRunner().invoke(cli, ["eval", "-e", "import torch\nfor r in torch.ones(10**6, "
                                      "requires_grad=True):\n    pass\n", "--max-steps", "1000"])
    assert budget.exit_code != 0 and "budget" in budget.output
