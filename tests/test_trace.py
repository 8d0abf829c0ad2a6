"""`eval --trace`, `--partials` and `--format latex`: the backward pass node by node, in
the engine's order, in the program's own names; and the source positions behind them."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from gradcli.cli.group import cli
from gradcli.explain.labels import Labeller, SourceText
from gradcli.explain.provenance import expression_text
from gradcli.explain.tracer import Tracer
from gradcli.lang.parser import parse
from gradcli.runtime.interpreter import run
from gradcli.views.trace import latex_lines, partial_lines, render_trace, trace_json

NOTEBOOK = """a = torch.tensor([2.0],requires_grad=True)
b = torch.tensor([3.0],requires_grad=True)
c = torch.tensor([5.0],requires_grad=True)
d = torch.tensor([10.0],requires_grad=True)
u = a*b
t = torch.log(d)
v = t*c
t.retain_grad()
e = u+v
e.backward()
"""

# The notebook's "is_leaf() and retain_grad()" example: e = a*b + log(d)*c.
NOTEBOOK_TRACE = """\
backward pass 1 · line 10 · e.backward()
      root      AddBackward0 (e = u+v, line 9), gradient [1.]
  [1] AddBackward0 · e = u+v · line 9
      grad in   ∂e/∂e = [1.]
      rule      sum: each input receives the incoming gradient unchanged
                ∂e/∂u = 1,  ∂e/∂v = 1
      sends     grad_u = grad = [1.]  → MulBackward0 (u = a*b, line 5)
                grad_v = grad = [1.]  → MulBackward0 (v = t*c, line 7)
  [2] MulBackward0 · v = t*c · line 7
      grad in   ∂e/∂v = [1.]
      rule      product: each factor receives grad times the other factor
                ∂v/∂t = c,  ∂v/∂c = t
      sends     grad_t = grad·c = [5.]
                  → LogBackward0 (t = torch.log(d), line 6)
                grad_c = grad·t = [2.3026]  → c.grad
      saved     8 bytes, freed now
  [3] AccumulateGrad · c
      writes    c.grad = [2.3026]  (was None)
  [4] LogBackward0 · t = torch.log(d) · line 6
      grad in   ∂e/∂t = [5.]
      retained  t.grad = [5.]  (t.retain_grad())
      rule      natural log: ∂ln(x)/∂x = 1/x
                ∂t/∂d = 1/d
      sends     grad_d = grad/d = [0.5000]  → d.grad
      saved     4 bytes, freed now
  [5] AccumulateGrad · d
      writes    d.grad = [0.5000]  (was None)
  [6] MulBackward0 · u = a*b · line 5
      grad in   ∂e/∂u = [1.]
      rule      product: each factor receives grad times the other factor
                ∂u/∂a = b,  ∂u/∂b = a
      sends     grad_a = grad·b = [3.]  → a.grad
                grad_b = grad·a = [2.]  → b.grad
      saved     8 bytes, freed now
  [7] AccumulateGrad · a
      writes    a.grad = [3.]  (was None)
  [8] AccumulateGrad · b
      writes    b.grad = [2.]  (was None)
      done      gradients in a.grad, b.grad, c.grad, d.grad, t.grad
                saved tensors: 20 bytes, freed
"""


def traced(source: str, ok: bool = True):
    tracer = Tracer(source)
    result = run(source, "<test>", observer=tracer)
    if ok:
        assert result.error is None, result.error
    return tracer.traces, result


def plain(trace, full: bool = False) -> list[str]:
    return [line.plain for line in render_trace(trace, full)]


def invoke(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input)


# ----- the notebook example, line by line ------------------------------------------------------


def test_notebook_trace_line_by_line():
    traces, _ = traced(NOTEBOOK)
    assert len(traces) == 1
    expected = NOTEBOOK_TRACE.splitlines()
    got = plain(traces[0])
    for number, (want, have) in enumerate(zip(expected, got, strict=False), 1):
        assert have == want, f"line {number}"
    assert len(got) == len(expected)


def test_notebook_steps_follow_the_engine_order():
    traces, _ = traced(NOTEBOOK)
    steps = traces[0].steps
    assert [s.node for s in steps] == [
        "AddBackward0", "MulBackward0", "AccumulateGrad", "LogBackward0", "AccumulateGrad",
        "MulBackward0", "AccumulateGrad", "AccumulateGrad"]
    assert [s.variable for s in steps] == ["e", "v", "c", "t", "d", "u", "a", "b"]
    mul_u = steps[5]
    assert mul_u.expression == "a*b" and mul_u.line == 5
    assert mul_u.partials == ["∂u/∂a = b", "∂u/∂b = a"]
    assert [s.formula for s in mul_u.sends] == ["grad·b", "grad·a"]
    assert [float(s.grad[0]) for s in mul_u.sends] == [3.0, 2.0]


def test_trace_output_is_placed_where_backward_ran():
    source = 'x = torch.tensor(2.0, requires_grad=True)\nprint("before")\n' \
             "(x * x).backward()\nprint(\"after\")\n"
    out = invoke("eval", "-e", source, "--trace", "-q", "--no-color")
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[0] == "before"
    assert lines[1].startswith("backward pass 1 · line 3 · (x * x).backward()")
    assert lines[-1] == "after"


# ----- broadcasting, shared sub-expressions, retained and repeated passes ----------------------


def test_broadcasting_is_summed_back_to_the_leaf_shape():
    source = """x = torch.arange(12.0).reshape(4, 3)
bias = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
s = torch.tensor(0.5, requires_grad=True)
out = (x + bias) * s
loss = out.sum()
loss.backward()
"""
    traces, _ = traced(source)
    steps = traces[0].steps
    add = next(s for s in steps if s.node == "AddBackward0")
    to_x, to_bias = add.sends
    assert to_x.target is None and to_x.input == "x"  # x does not require grad
    assert to_bias.reduced_from == (4, 3) and to_bias.grad.shape == (3,)
    np.testing.assert_allclose(to_bias.grad, [2.0, 2.0, 2.0])
    mul = next(s for s in steps if s.node == "MulBackward0")
    assert mul.sends[1].reduced_from == (4, 3) and mul.sends[1].grad.shape == ()
    text = "\n".join(plain(traces[0]))
    assert "grad_bias = grad, summed (4, 3) → (3,) = [2., 2., 2.]" in text
    assert "nothing to x  (needs no gradient)" in text
    assert "grad_s = grad·(x + bias), summed (4, 3) → () = 68.4000  → s.grad" in text


def test_shared_subexpression_accumulates_two_contributions():
    source = """a = torch.tensor(2.0, requires_grad=True)
u = a * a
v = u * 3 + u.exp()
v.backward()
"""
    traces, result = traced(source)
    steps = traces[0].steps
    mul_u = next(s for s in steps if s.variable == "u")
    assert len(mul_u.contributions) == 2
    total = sum(float(g) for _, g in mul_u.contributions)
    assert float(mul_u.grad_in) == pytest.approx(total)
    assert float(mul_u.grad_in) == pytest.approx(3 + np.exp(4.0), rel=1e-6)
    leaf = steps[-1]
    assert leaf.kind == "accumulate" and leaf.variable == "a"
    assert len(leaf.contributions) == 2  # a is used twice by a * a
    assert float(leaf.total) == pytest.approx(sum(float(g) for _, g in leaf.contributions))
    a = next(r.tensor for r in result.tensors if r.name == "a")
    assert float(leaf.total) == pytest.approx(float(a.grad.array))
    text = "\n".join(plain(traces[0]))
    assert "∂v/∂u = sum of 2 contributions" in text
    assert "from ExpBackward0 (u.exp(), line 3)" in text
    assert "from MulBackward0 (u * 3, line 3)" in text
    assert "∂(u * 3)/∂u = 3" in text


def test_retain_grad_shows_the_non_leaf_gradient():
    traces, _ = traced(NOTEBOOK)
    log = next(s for s in traces[0].steps if s.node == "LogBackward0")
    name, previous, total = log.retained
    assert name == "t" and previous is None
    np.testing.assert_array_equal(total, [5.0])


def test_retain_graph_then_second_backward_accumulates_and_frees():
    source = """w = torch.tensor([1.0, 2.0], requires_grad=True)
y = (w ** 2).sum()
y.backward(retain_graph=True)
y.backward()
y.backward()
"""
    traces, result = traced(source, ok=False)
    assert result.error is not None and "second time" in result.error.message
    first, second, third = traces
    assert first.retain_graph and not second.retain_graph
    pow_first = next(s for s in first.steps if s.node == "PowBackward0")
    pow_second = next(s for s in second.steps if s.node == "PowBackward0")
    assert pow_first.saved_state == "kept" and pow_second.saved_state == "freed"
    assert pow_first.saved_bytes == 8
    leaf = second.steps[-1]
    np.testing.assert_array_equal(leaf.previous, [2.0, 4.0])
    np.testing.assert_array_equal(leaf.total, [4.0, 8.0])
    # The third pass stops at the first node whose buffers were freed.
    assert [s.node for s in third.steps] == ["SumBackward0"]
    text = "\n".join(plain(second))
    assert "adds      w.grad += [2., 4.] → [4., 8.]  (was [2., 4.])" in text
    assert "saved tensors: 8 bytes, freed" in text
    assert "saved tensors: 8 bytes, kept (retain_graph=True)" in "\n".join(plain(first))
    assert partial_lines(second) == ["∂y/∂w = [2., 4.]   (w.grad = [4., 8.] after accumulating)"]


def test_create_graph_and_autograd_grad():
    source = """x = torch.tensor(3.0, requires_grad=True)
y = x ** 3
g, = torch.autograd.grad(y, x, create_graph=True)
g.backward()
"""
    traces, result = traced(source)
    first, second = traces
    assert first.kind == "grad"
    assert first.steps[0].sends[0].target_label == "returned for x"
    assert float(first.steps[0].sends[0].grad) == 27.0
    # The second pass runs through the nodes the first one recorded (3x² -> 6x).
    assert second.steps[-1].kind == "accumulate"
    assert float(second.steps[-1].total) == 18.0
    assert any(s.inside for s in second.steps)
    x = next(r.tensor for r in result.tensors if r.name == "x")
    assert float(x.grad.array) == 18.0


# ----- partials and LaTeX ----------------------------------------------------------------------


def test_partials_of_the_notebook():
    # Values as PyTorch prints them in float32 (and, in LaTeX, the shortest float32 text),
    # recorded from PyTorch by tools/gen_first_hour.py.
    expected = json.loads((Path(__file__).parent / "data" / "first_hour.json").read_text())
    leaves = expected["partials"]["leaves"]
    assert expected["partials"]["program"] == NOTEBOOK
    traces, _ = traced(NOTEBOOK)
    assert partial_lines(traces[0]) == [f"∂e/∂{x['name']} = {x['precision4']}" for x in leaves]
    assert partial_lines(traces[0], 6) == [
        f"∂e/∂{x['name']} = {x['precision6']}" for x in leaves]
    assert latex_lines(traces[0]) == [
        f"\\frac{{\\partial e}}{{\\partial {x['name']}}} = {x['shortest']}" for x in leaves]


def test_partials_and_latex_from_the_command_line():
    expected = json.loads((Path(__file__).parent / "data" / "first_hour.json").read_text())
    leaves = expected["partials"]["leaves"]
    out = invoke("eval", "-e", NOTEBOOK, "--partials", "-q", "--no-color")
    assert out.exit_code == 0
    assert out.stdout.splitlines() == [f"∂e/∂{x['name']} = {x['precision4']}" for x in leaves]
    out = invoke("eval", "-e", NOTEBOOK, "--partials", "-q", "--precision", "6")
    assert out.stdout.splitlines() == [f"∂e/∂{x['name']} = {x['precision6']}" for x in leaves]
    out = invoke("eval", "-e", NOTEBOOK, "--format", "latex")
    assert out.exit_code == 0
    assert out.stdout.splitlines()[2] == (
        f"\\frac{{\\partial e}}{{\\partial c}} = {leaves[2]['shortest']}")
    assert len(out.stdout.splitlines()) == 4
    vector = "w = torch.tensor([1.0, 2.0], requires_grad=True)\n(w * w).sum().backward()\n"
    out = invoke("eval", "-e", vector, "--format", "latex")
    assert out.stdout == ("\\frac{\\partial (w * w).sum()}{\\partial w} = "
                          "\\begin{bmatrix} 2.0 & 4.0 \\end{bmatrix}\n")


# ----- JSON ------------------------------------------------------------------------------------


def test_json_traces_only_with_trace():
    out = invoke("eval", "-e", NOTEBOOK, "--format", "json")
    assert "traces" not in json.loads(out.stdout)
    out = invoke("eval", "-e", NOTEBOOK, "--format", "json", "--trace")
    doc = json.loads(out.stdout)
    assert out.exit_code == 0 and doc["ok"]
    (trace,) = doc["traces"]
    assert trace["call"] == "e.backward()" and trace["line"] == 10
    assert trace["saved_bytes"] == 20 and trace["retain_graph"] is False
    names = [(s["node"], s["variable"]) for s in trace["steps"]]
    assert names[0] == ("AddBackward0", "e") and names[-1] == ("AccumulateGrad", "b")
    mul = trace["steps"][1]
    assert mul["rule"].startswith("product")
    assert mul["sends"][0] == {"input": "t", "formula": "grad·c", "to": "LogBackward0",
                               "to_label": "LogBackward0 (t = torch.log(d), line 6)",
                               "grad": [5.0], "reduced_from": None}
    assert trace["steps"][3]["retained"] == {"name": "t", "grad": [5.0]}
    assert trace["partials"][0] == {"leaf": "a", "grad": [3.0], "total": [3.0]}


def test_json_trace_matches_the_recorded_trace():
    traces, _ = traced(NOTEBOOK)
    doc = trace_json(traces[0])
    assert len(doc["steps"]) == len(traces[0].steps)
    json.dumps(doc, allow_nan=False)


def test_nan_and_inf_values_in_json_traces_are_strings():
    source = "p = torch.tensor([0.5, 0.0], requires_grad=True)\ntorch.log(p).sum().backward()\n"
    out = invoke("eval", "-e", source, "--format", "json", "--trace")
    doc = json.loads(out.stdout)
    assert doc["traces"][0]["steps"][-1]["total"] == [2.0, "inf"]


# ----- values --------------------------------------------------------------------------------


def test_long_tensors_are_summarised_unless_full():
    source = "x = torch.ones(100, requires_grad=True)\n(x * 2).sum().backward()\n"
    traces, _ = traced(source)
    short = "\n".join(plain(traces[0]))
    assert "[2., 2., ..., 2., 2.]" in short
    full = "\n".join(plain(traces[0], full=True))
    assert "..." not in full and full.count("2.,") >= 99
    out = invoke("eval", "-e", source, "--trace", "--trace-values", "full", "-q", "--no-color")
    assert out.exit_code == 0 and "..." not in out.stdout


# ----- every view fits 80 columns ---------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(glob.glob("examples/*.expr")))
def test_traces_of_the_examples_fit_80_columns(path):
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    traces, _ = traced(source, ok=False)
    for trace in traces:
        for full in (False, True):
            for line in plain(trace, full) + partial_lines(trace):
                assert cell_len(line) <= 80, line


# ----- source positions and text ----------------------------------------------------------------


def test_nodes_know_their_line_expression_and_name():
    _, result = traced(NOTEBOOK)
    tensors = {r.name: r.tensor for r in result.tensors}
    assert tensors["u"].grad_fn.source == (5, 5, "a*b", "u")  # the exact text of the expression
    assert tensors["t"].grad_fn.source == (6, 5, "torch.log(d)", "t")
    labeller = Labeller(NOTEBOOK)
    assert labeller.expression(tensors["u"].grad_fn) == "a*b"  # the user's own spacing
    assert labeller.definition(tensors["e"].grad_fn) == "e = u+v"


def test_nodes_inside_one_expression_are_marked():
    source = """import torch.nn.functional as F
z = torch.tensor([[1.0, 2.0, 0.5]], requires_grad=True)
loss = F.cross_entropy(z, torch.tensor([1]))
"""
    _, result = traced(source)
    loss = next(r.tensor for r in result.tensors if r.name == "loss")
    inner = loss.grad_fn.next_functions[0][0]
    assert inner.name() == "LogSoftmaxBackward0"
    assert inner.source[:2] == (3, 8) and inner.source[3] == ""
    labeller = Labeller(source)
    assert labeller.definition(inner) == "part of F.cross_entropy(z, torch.tensor([1]))"
    assert labeller.short(inner) == "log_softmax(…)"


@pytest.mark.parametrize("text, rebuilt", [
    ("(10 -d).sum()", "(10 - d).sum()"),
    ("-x ** 2", "-x ** 2"),
    ("(-x) ** 2", "(-x) ** 2"),
    ("a - (b - c)", "a - (b - c)"),
    ("(a - b) - c", "a - b - c"),
    ("x[0, 1:3]", "x[0, 1:3]"),
    ("f(*xs, dim=1)", "f(*xs, dim=1)"),
    ("2 ** x ** 3", "2 ** x ** 3"),
    ("(2 ** x) ** 3", "(2 ** x) ** 3"),
])
def test_expression_text_keeps_python_meaning(text, rebuilt):
    program = parse(f"y = {text}\n")
    assert expression_text(program.body[0].value) == rebuilt


def test_source_text_recovers_the_users_spelling():
    source = "y = ((a*b)) + c\nz = (10 -d).sum()  # comment\nw = f(x,\n      y)\n"
    text = SourceText(source)
    assert text.segment(1, 5, "a * b + c") == "((a*b)) + c"
    assert text.segment(1, 7, "a * b") == "a*b"
    assert text.segment(2, 5, "(10 - d).sum()") == "(10 -d).sum()"
    assert text.segment(3, 5, "f(x, y)") == "f(x, y)"  # lines joined
    assert text.segment(1, 5, "something else") == "something else"


def test_expression_text_of_a_huge_expression_is_bounded():
    source = "y = " + " + ".join(f"x{i}" for i in range(5000)) + "\n"
    program = parse(source)
    text = expression_text(program.body[0].value)
    assert len(text) <= 101 and text.endswith("…")
