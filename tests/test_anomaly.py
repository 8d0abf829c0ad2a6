"""`eval --detect-anomaly`: the first backward node that makes NaN or inf is reported at
the program line of its forward operation, with PyTorch's anomaly-mode message."""

from __future__ import annotations

import json

from click.testing import CliRunner

from gradcli.cli.group import cli
from gradcli.explain.tracer import Tracer
from gradcli.runtime.interpreter import run

# sqrt'(0) = inf, times the 0 from `* 0` gives NaN: PyTorch's own anomaly mode stops here
# with "Function 'SqrtBackward0' returned nan values in its 0th output."
SQRT = """x = torch.tensor([4.0, 0.0, 1.0], requires_grad=True)
y = torch.sqrt(x)
z = y * 0
loss = z.sum()
loss.backward()
"""
# log'(0) = 1/0 = inf: no NaN, so PyTorch would not stop; gradcli does.
LOG = """import torch
p = torch.tensor([0.5, 0.0], requires_grad=True)
logp = torch.log(p)
loss = -logp.sum()
loss.backward()
print(p.grad)
"""


def detect(source: str):
    return run(source, "<test>", observer=Tracer(source, record=False, detect_anomaly=True))


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_sqrt_of_zero_names_its_line():
    result = detect(SQRT)
    error = result.error
    assert error.type == "RuntimeError"
    assert error.message == "Function 'SqrtBackward0' returned nan values in its 0th output."
    assert (error.line, error.column) == (2, 5)
    assert "`y = torch.sqrt(x)` (line 2)" in error.hint
    assert "for x at index 1" in error.hint
    assert "∂y/∂x = 1/(2·y)" in error.hint
    x = next(r.tensor for r in result.tensors if r.name == "x")
    assert x.grad is None  # the pass stopped before reaching the leaf


def test_log_of_zero_names_its_line():
    result = detect(LOG)
    error = result.error
    assert error.message == "Function 'LogBackward0' returned inf values in its 0th output."
    assert (error.line, error.column) == (3, 8)
    assert "`logp = torch.log(p)` (line 3)" in error.hint
    assert result.stdout == ""  # print(p.grad) never ran


def test_without_the_flag_the_program_runs_on():
    result = run(LOG, "<test>")
    assert result.error is None
    assert result.stdout == "tensor([-2., -inf])\n"


def test_the_first_node_is_reported_not_the_ones_after_it():
    source = """x = torch.tensor([0.0, 1.0], requires_grad=True)
a = torch.sqrt(x)
b = a * 0
c = b.exp()
c.sum().backward()
"""
    error = detect(source).error
    # MulBackward0 (b = a * 0) passes finite zeros; SqrtBackward0 makes 0·inf = NaN.
    assert error.message.startswith("Function 'SqrtBackward0'")
    assert error.line == 2


def test_a_clean_program_is_unaffected():
    source = "w = torch.tensor([1.0, 2.0], requires_grad=True)\n(w * w).sum().backward()\n"
    result = detect(source)
    assert result.error is None
    w = result.tensors[0].tensor
    assert w.grad.array.tolist() == [2.0, 4.0]


def test_command_line_exit_code_and_message():
    out = invoke("eval", "-e", SQRT, "--detect-anomaly", "--no-color")
    assert out.exit_code == 1
    assert out.stderr.splitlines()[:3] == [
        "<string>:2:5: RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th "
        "output.",
        "    y = torch.sqrt(x)",
        "        ^",
    ]
    assert out.stderr.splitlines()[3].startswith("hint: the backward of `y = torch.sqrt(x)`")
    out = invoke("eval", "-e", SQRT, "--detect-anomaly", "--format", "json")
    doc = json.loads(out.stdout)
    assert doc["ok"] is False
    assert doc["error"]["line"] == 2 and doc["error"]["column"] == 5
    assert "hint" in doc["error"]
    out = invoke("eval", "-e", SQRT, "--no-color")
    assert out.exit_code == 0


def test_anomaly_with_trace_shows_the_pass_up_to_the_culprit():
    out = invoke("eval", "-e", LOG, "--detect-anomaly", "--trace", "-q", "--no-color")
    assert out.exit_code == 1
    lines = out.stdout.splitlines()
    assert lines[0].startswith("backward pass 1 · line 5")
    assert any("LogBackward0 · logp = torch.log(p) · line 3" in line for line in lines)
    assert "grad_p = grad/p = [-2., -inf]" in out.stdout
