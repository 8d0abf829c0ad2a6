"""gradcli check: finite differences against autograd, in float64."""

import json
import subprocess
import sys

import pytest

from gradcli.runtime.gradcheck import CheckError, check

CORRECT = """
w = torch.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
x = torch.tensor([1.0, 2.0])
b = torch.tensor([0.1, -0.2], requires_grad=True)
h = torch.tanh(w @ x + b)
L = (h ** 2).sum() + F.mse_loss(h, torch.tensor([0.0, 1.0]))
L.backward()
"""

DETACH_MISUSE = """
w = torch.tensor([0.5, -1.5, 2.0], requires_grad=True)
L = (w * w.detach()).sum()
L.backward()
"""

KINK = """
x = torch.tensor([0.0, 1.0, -2.0], requires_grad=True)
L = (x.relu() + x.abs()).sum()
L.backward()
"""

FLOAT32 = """
x = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
L = (x.exp() * x.sin()).sum()
L.backward()
"""


def statuses(report):
    return {(leaf.name, e.index): e.status for leaf in report.leaves for e in leaf.elements}


def test_correct_program_passes():
    report = check(CORRECT, "c.expr")
    assert report.passed
    assert report.output == "L"
    assert {leaf.name for leaf in report.leaves} == {"w", "b"}
    assert all(s == "ok" for s in statuses(report).values())


def test_detach_misuse_fails_and_names_the_worst_element():
    report = check(DETACH_MISUSE, "d.expr")
    assert not report.passed
    leaf, element = report.worst()
    # d/dw of w*stop(w) is w, the true derivative of w**2 is 2w: the error is |w|, largest at 2.0
    assert (leaf.name, element.index) == ("w", "(2,)")
    assert element.analytic == pytest.approx(2.0)
    assert element.numeric == pytest.approx(4.0, rel=1e-6)


def test_kinks_are_reported_as_non_differentiable():
    report = check(KINK, "k.expr")
    assert report.passed
    assert statuses(report)[("x", "(0,)")] == "kink"
    assert statuses(report)[("x", "(1,)")] == "ok"


def test_float32_program_is_checked_in_float64():
    report = check(FLOAT32, "f.expr")
    assert report.passed
    # float64 differences agree far below float32 resolution
    assert max(e.abs_error for leaf in report.leaves for e in leaf.elements) < 1e-8


def test_of_and_wrt_options():
    report = check(CORRECT, "c.expr", of="L", wrt=("b",))
    assert [leaf.name for leaf in report.leaves] == ["b"]
    with pytest.raises(CheckError):
        check(CORRECT, "c.expr", of="nope")


def test_large_leaf_uses_random_projections():
    program = ("w = torch.linspace(-1, 1, 100, requires_grad=True)\n"
               "L = (w.tanh() * w).sum()\nL.backward()\n")
    report = check(program, "p.expr")
    assert report.leaves[0].method == "projection"
    assert report.passed


def run_cli(args, source):
    return subprocess.run([sys.executable, "-m", "gradcli", "check", *args], input=source,
                          capture_output=True, text=True, timeout=120)


def test_cli_exit_codes_and_json():
    ok = run_cli(["-"], CORRECT)
    assert ok.returncode == 0, ok.stderr
    bad = run_cli(["--format", "json", "-"], DETACH_MISUSE)
    assert bad.returncode == 1
    document = json.loads(bad.stdout)
    assert document["ok"] is False and document["worst"] == {"leaf": "w", "element": "(2,)"}
    assert "Traceback" not in bad.stderr


def test_cli_reports_a_failing_program():
    result = run_cli(["-"], "x = torch.ones(2, requires_grad=True)\ny = x + torch.ones(3)\n")
    assert result.returncode == 1
    assert "the program fails" in result.stderr and "Traceback" not in result.stderr
