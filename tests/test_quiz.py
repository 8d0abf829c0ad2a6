"""`gradcli quiz`: typed derivatives against autograd, and where a wrong one departs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from symbolic_programs import PROGRAMS

from gradcli.explain.quiz import AnswerError, check, pick_pass
from gradcli.explain.recording import PassRecorder
from gradcli.lang.parser import parse_expression
from gradcli.runtime.interpreter import run

ROOT = Path(__file__).resolve().parent.parent

TANH = """
w = torch.tensor(0.5, requires_grad=True)
x = torch.tensor(2.0)
y = torch.tensor(3.0)
z = y - w * x
L = torch.tanh(z) ** 2
L.backward()
"""


def quiz(source: str, wrt: str, answer: str):
    recorder = PassRecorder(source)
    recorder.install()
    try:
        result = run(source, "program.expr", observer=recorder)
    finally:
        recorder.uninstall()
    assert result.error is None, result.error
    captured = pick_pass(recorder.passes, wrt, None)
    return check(captured, wrt, parse_expression(answer, 1, 1), answer, recorder.labeller)


@pytest.mark.parametrize(("program", "wrt", "answer"), [
    ("linear_named_residual", "w", "2*x*(w*x+b-y)"),
    ("linear_named_residual", "w", "2*r*x"),
    ("linear_named_residual", "w", "2*x**2*w + 2*x*(b - y)"),
    ("linear_named_residual", "w", "(w*x + b - y) * x * 2"),
    ("linear_named_residual", "b", "2*(w*x+b-y)"),
    ("broadcast_scalar_weights", "w", "(2*x*(w*x+b-y)).sum()"),
    ("broadcast_scalar_weights", "b", "torch.sum(2*(w*x + b - y))"),
    ("two_paths", "w", "x + 2*w"),
    ("sigmoid", "w", "x * torch.sigmoid(w*x + b) * (1 - torch.sigmoid(w*x + b))"),
    ("sigmoid", "w", "x*exp(-(w*x+b))/(1+exp(-(w*x+b)))**2"),
    ("tanh_named", "w", "2*h*(1 - h**2)*x"),
    ("linear_regression_matrix", "W", "2 * X.T @ (X @ W - y)"),
    ("relu_at_zero", "x", "(x > 0) * 2.0"),  # only x[1] > 0, and its weight is 2
    ("notebook_cell_14", "d", "c / d"),
])
def test_right_answers_in_different_forms_pass(program, wrt, answer):
    verdict = quiz(PROGRAMS[program], wrt, answer)
    assert verdict.right, verdict.lines
    assert verdict.lines[0].startswith("✓ right")


def test_a_missing_chain_factor_names_the_node():
    verdict = quiz(PROGRAMS["linear_named_residual"], "w", "2*(w*x+b-y)")
    assert not verdict.right
    assert verdict.node == "MulBackward0 (w * x, line 6)"
    assert "∂(w * x)/∂w = x" in "\n".join(verdict.lines)
    # The missing tanh' factor, one level up a chain.
    verdict = quiz(TANH, "w", "-2*torch.tanh(z)*x")
    assert verdict.node == "TanhBackward0 (torch.tanh(z), line 6)"
    assert "1 - torch.tanh(z)²" in "\n".join(verdict.lines)


def test_a_sign_error_names_the_node_that_flips_the_sign():
    verdict = quiz(TANH, "w", "2*torch.tanh(z)*(1-torch.tanh(z)**2)*x")
    assert not verdict.right
    assert verdict.node == "SubBackward0 (z = y - w * x, line 5)"
    assert "Sign error" in verdict.lines[1]
    assert "∂z/∂(w * x) = -1" in verdict.lines[1]


def test_a_wrong_constant_names_the_node_it_comes_from():
    verdict = quiz(PROGRAMS["linear_named_residual"], "w", "x*(w*x+b-y)")
    assert verdict.node == "PowBackward0 (L = r ** 2, line 7)"
    assert "your answer has 1, the chain rule gives 2" in verdict.lines[1]


def test_a_forgotten_broadcast_sum_names_the_broadcast():
    verdict = quiz(PROGRAMS["broadcast_scalar_weights"], "b", "2*(w*x+b-y)")
    assert not verdict.right
    assert verdict.node == "AddBackward0 (w * x + b, line 6)"
    text = "\n".join(verdict.lines)
    assert "shape (3,), but b has shape ()" in text
    assert "Summed back to (), your answer is right" in text


def test_a_forgotten_path_is_named():
    verdict = quiz(PROGRAMS["two_paths"], "w", "x")
    assert not verdict.right
    assert verdict.node == "PowBackward0 (w ** 2, line 4)"
    assert "leaves out the path through PowBackward0 (w ** 2, line 4)" in verdict.lines[-1]


def test_a_right_value_only_at_the_program_point_is_caught():
    # 33 at the program's values (w=2, x=3, b=0.5, y=1) but not elsewhere.
    verdict = quiz(PROGRAMS["linear_named_residual"], "w", "33 + 0*w")
    assert not verdict.right
    verdict = quiz(PROGRAMS["linear_named_residual"], "w", "6*r")  # 2*r*x with x = 3
    assert not verdict.right
    assert "random point" in verdict.lines[0]


def test_unknown_names_are_an_answer_error():
    with pytest.raises(AnswerError, match="name 'q' is not a tensor of the graph"):
        quiz(PROGRAMS["linear_named_residual"], "w", "2*q")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "gradcli", "quiz", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_exit_codes(tmp_path):
    program = tmp_path / "p.expr"
    program.write_text(PROGRAMS["linear_named_residual"], encoding="utf-8")
    right = _cli(str(program), "--wrt", "w", "--answer", "2*x*(w*x+b-y)")
    assert right.returncode == 0, right.stderr
    assert right.stdout.startswith("✓ right: ∂L/∂w = 2*x*(w*x+b-y) matches autograd")
    wrong = _cli(str(program), "--wrt", "w", "--answer", "2*(w*x+b-y)")
    assert wrong.returncode == 1
    assert "departs at MulBackward0 (w * x, line 6)" in wrong.stdout
    typo = _cli(str(program), "--wrt", "w", "--answer", "2*(w*x+b-y")
    assert typo.returncode == 2 and "SyntaxError" in typo.stderr
    assert "Traceback" not in typo.stderr
    unused = _cli(str(program), "--wrt", "x", "--answer", "1")
    assert unused.returncode == 2 and "no backward pass reached 'x'" in unused.stderr


def test_a_forgotten_mean_names_the_mean():
    source = (ROOT / "examples" / "gradient_descent_loop.expr").read_text(encoding="utf-8")
    right = quiz(source, "w", "(2*(w*x+b-y)*x).mean()")
    assert right.right, right.lines
    wrong = quiz(source, "w", "(2*(w*x+b-y)*x).sum()")
    assert wrong.node.startswith("MeanBackward0 (loss = ((w * x + b - y) ** 2).mean()")
    assert "your answer has 2, the chain rule gives 0.4" in wrong.lines[1]


def _scalar_formulas():
    """(program, leaf, formula) for every one-element leaf --symbolic writes a formula for,
    in SymPy's own spelling (`exp(-b - w*x)`, `Abs(x)`, `p[1]`)."""
    pytest.importorskip("sympy")
    from gradcli.explain.symbolic import analyse_recorded

    found = []
    for name, source in sorted(PROGRAMS.items()):
        recorder = PassRecorder(source)
        recorder.install()
        try:
            run(source, "program.expr", observer=recorder)
        finally:
            recorder.uninstall()
        for result in analyse_recorded(recorder):
            for leaf in result.leaves:
                if len(leaf.formulas) == 1 and not leaf.matrix and leaf.formulas[0].plain:
                    found.append((name, leaf.name, leaf.formulas[0].plain))
    return found


def test_symbolic_formulas_pass_the_quiz():
    """Two independent evaluators agree: SymPy's formula, typed back as an answer and
    evaluated with numpy by quiz, matches autograd at the program's values and random
    points."""
    checked = 0
    for name, leaf, formula in _scalar_formulas():
        verdict = quiz(PROGRAMS[name], leaf, formula)
        assert verdict.right, (name, leaf, formula, verdict.lines)
        checked += 1
    assert checked >= 25
