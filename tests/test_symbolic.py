"""`eval --symbolic`: formulas from the recorded graph, checked against the engine.

Every formula is evaluated here independently of gradcli's own check: its SymPy
expression, with each symbol replaced by the value the replayed engine gave that name,
must equal the engine's gradient at the program's values and at random points.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sympy = pytest.importorskip("sympy")

from symbolic_programs import PROGRAMS, RECORDED, formulas_text  # noqa: E402

from gradcli.explain.capture import random_constant_values, random_leaf_values, replay  # noqa: E402
from gradcli.explain.recording import PassRecorder  # noqa: E402
from gradcli.runtime.interpreter import run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "tests" / "data" / "symbolic"


def analysed(source: str):
    from gradcli.explain.symbolic import analyse_recorded

    recorder = PassRecorder(source)
    recorder.install()
    try:
        result = run(source, "program.expr", observer=recorder)
    finally:
        recorder.uninstall()
    assert result.error is None, result.error
    return result, recorder, analyse_recorded(recorder)


_ELEMENT = re.compile(r"^(.*)\[([\d,]+)\]$")


def _value_of(symbol, values: dict):
    """A symbol's value from the replayed graph: `w` -> values['w'], `w[0,1]` -> ..."""
    name = symbol.name
    match = _ELEMENT.match(name)
    if match and match.group(1) in values:
        index = tuple(int(i) for i in match.group(2).split(","))
        return float(np.asarray(values[match.group(1)], dtype=np.float64)[index])
    return float(np.asarray(values[name], dtype=np.float64).reshape(-1)[0])


def formula_value(expr, values: dict):
    """The formula's value with every symbol (leaf, constant or named intermediate) taken
    from `values`, by SymPy's own substitution and evalf (no lambdify, no gradcli code)."""
    if isinstance(expr, (sympy.MatrixExpr, sympy.MatrixBase)):
        replace = {s: sympy.ImmutableMatrix(np.asarray(values[s.name], dtype=np.float64)
                                            .reshape(s.shape).tolist())
                   for s in expr.free_symbols}
        return np.array(sympy.Matrix(expr.xreplace(replace).doit()).evalf(), dtype=np.float64)
    replace = {s: sympy.Float(_value_of(s, values), 30) for s in expr.free_symbols}
    return float(sympy.N(expr.xreplace(replace), 20))


def _leaf_checks(captured, leaf, values, engine, rtol):
    if leaf.matrix:
        value = formula_value(leaf.formulas[0].expr, values).reshape(np.shape(engine))
        np.testing.assert_allclose(value, engine, rtol=rtol, atol=rtol)
        return
    engine = np.asarray(engine, dtype=np.float64)
    for formula, index in zip(leaf.formulas, np.ndindex(leaf.shape), strict=True):
        assert formula.expr is not None, formula.text
        value = formula_value(formula.expr, values)
        want = float(engine[index])
        assert abs(value - want) <= rtol * max(1.0, abs(want)), (formula.text, value, want)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_formula_equals_the_engine_at_the_program_values_and_random_points(name):
    source = PROGRAMS[name]
    result, recorder, results = analysed(source)
    (captured,), (found,) = recorder.passes, results
    assert found.unsupported is None
    assert found.leaves, name
    grads = {record.name: record.tensor.grad for record in result.tensors}
    # The program's own values: the engine's .grad as the table shows it (float32).
    program = replay(captured, None, np.float64)
    for leaf in found.leaves:
        assert leaf.agrees is True, (name, leaf.name, leaf.problem)
        engine = grads[leaf.name].array if leaf.name in grads else captured.engine[leaf.name]
        _leaf_checks(captured, leaf, program.values, engine, 2e-3)
    # Random points: the engine replayed there, against the formula.
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(12):
        point = replay(captured, random_leaf_values(captured, rng), np.float64,
                       random_constant_values(captured, rng))
        if not _same_branches(found, point.values):
            continue
        for leaf in found.leaves:
            _leaf_checks(captured, leaf, point.values, point.grads[leaf.name], 1e-6)
        checked += 1
        if checked == 3:
            break
    if not any("tie" in note for note in found.notes):
        assert checked >= 1, f"{name}: no random point kept the program's branches"


def _same_branches(found, values) -> bool:
    """Every recorded condition (`x[1] > 0`) still holds at this point."""
    import sympy

    for note in found.notes:
        if "tie" in note:
            return False
    conditions = getattr(found, "conditions", [])
    for condition in conditions:
        replace = {s: sympy.Float(_value_of(s, values)) for s in condition.free_symbols}
        if not bool(condition.xreplace(replace)):
            return False
    return True


def test_the_notebook_example_reads_as_the_notebook_would_write_it():
    _, _, (found,) = analysed(PROGRAMS["notebook_cell_14"])
    formulas = {leaf.name: leaf.formulas[0].plain for leaf in found.leaves}
    assert formulas == {"a": "b", "b": "a", "c": "t", "d": "c/d"}
    assert [(f.lhs, f.plain) for f in found.where] == [("t", "log(d)")]


def test_named_intermediates_are_the_common_subexpressions():
    _, _, (found,) = analysed(PROGRAMS["linear_named_residual"])
    assert [leaf.formulas[0].plain for leaf in found.leaves] == ["2*r*x", "2*r"]
    assert [(f.lhs, f.plain) for f in found.where] == [("r", "b + w*x - y")]


def test_linear_regression_gets_a_matrix_formula():
    _, _, (found,) = analysed(PROGRAMS["linear_regression_matrix"])
    (leaf,) = found.leaves
    assert leaf.matrix and leaf.agrees
    assert leaf.formulas[0].plain == "2*X.T*(X*W - y)"
    assert leaf.formulas[0].latex_rhs == "2 X^{T} \\left(X W - y\\right)"


def test_pytorch_conventions_at_kinks():
    _, _, (relu,) = analysed(PROGRAMS["relu_at_zero"])
    assert [f.plain for f in relu.leaves[0].formulas] == ["0", "2", "0"]  # relu'(0) = 0
    assert "x[0] ≤ 0" in relu.notes[0]
    _, _, (absolute,) = analysed(PROGRAMS["abs_at_zero"])
    assert absolute.leaves[0].formulas[0].plain == "3*sign(x[0])"  # sign(0) = 0
    _, _, (ties,) = analysed(PROGRAMS["maximum_tie"])
    assert [leaf.formulas[0].plain for leaf in ties.leaves] == ["2", "2"]  # 3/2 + 1/2 each
    _, _, (where,) = analysed(PROGRAMS["where_on_data"])
    assert any("valid where x > 0 is [True, False, True]" in note for note in where.notes)


def test_an_if_on_data_is_noted_with_the_branch_taken():
    _, _, (found,) = analysed(PROGRAMS["if_on_data"])
    assert [leaf.formulas[0].plain for leaf in found.leaves] == ["-w", "-x"]
    assert "valid where not (x > 0) (the branch line 4 took)" in found.notes


def test_large_tensors_get_numbers_only_and_say_so():
    source = """
w = torch.arange(40.0, requires_grad=True)
L = torch.tanh(w).sum()
L.backward()
"""
    _, _, (found,) = analysed(source)
    (leaf,) = found.leaves
    assert leaf.numbers_only and "40 elements" in leaf.numbers_only
    assert leaf.formulas == []


def test_a_deep_tanh_chain_is_too_large_before_any_differentiation():
    depth = 150
    source = ("w = torch.tensor(0.3, requires_grad=True)\n"
              f"L = {'torch.tanh(' * depth}w * 2{')' * depth}\nL.backward()\n")
    _, _, (found,) = analysed(source)
    (leaf,) = found.leaves
    (formula,) = leaf.formulas
    assert formula.too_large and formula.too_large > 150
    assert "formula too large (over" in formula.text
    # Stopped by the operation count before SymPy differentiated anything.
    assert leaf.derivatives is None
    text = formulas_text(source)
    assert "∂L/∂w = formula too large" in text


def test_a_moderate_tanh_chain_is_too_large_after_differentiation():
    depth = 25
    source = ("w = torch.tensor(0.3, requires_grad=True)\n"
              f"L = {'torch.tanh(' * depth}w * 2{')' * depth}\nL.backward()\n")
    _, _, (found,) = analysed(source)
    (formula,) = found.leaves[0].formulas
    assert formula.too_large and formula.too_large > 150
    assert re.search(r"formula too large \(\d+ operations\)", formula.text)
    assert found.leaves[0].agrees is True  # still checked numerically


@pytest.mark.parametrize("name", RECORDED)
def test_printed_formulas_match_the_recording(name):
    text = formulas_text(PROGRAMS[name].lstrip("\n"), f"{name}.expr")
    expected = (RECORDINGS / f"{name}.txt").read_text(encoding="utf-8")
    assert text == expected, f"re-record with tools/record_symbolic.py and review: {name}"


@pytest.mark.parametrize("name", RECORDED)
def test_every_printed_number_is_the_engines_gradient(name):
    source = PROGRAMS[name].lstrip("\n")
    result = run(source, f"{name}.expr")
    grads = {r.name: r.tensor.grad.array for r in result.tensors if r.tensor.grad is not None}
    text = (RECORDINGS / f"{name}.txt").read_text(encoding="utf-8")
    seen = 0
    for match in re.finditer(r"∂\w+/∂(\w+)(?:\[([\d,]+)\])? = .*?  = (\S+)  ✓", text):
        leaf, index, number = match.group(1), match.group(2), float(match.group(3))
        grad = grads[leaf]
        want = grad[tuple(int(i) for i in index.split(","))] if index else grad.reshape(-1)[0]
        assert number == pytest.approx(float(want), rel=1e-6, abs=1e-7), match.group(0)
        seen += 1
    for match in re.finditer(r"    = (\[\[.*\]\])", text):  # a matrix formula's value
        values = [float(v) for v in re.findall(r"-?\d+\.\d+", match.group(1))]
        (grad,) = grads.values()
        np.testing.assert_allclose(values, grad.reshape(-1), rtol=1e-4)
        seen += 1
    assert seen, text
    assert "✗" not in text


def _cli(*args, env=None, stdin=None):
    return subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, input=stdin, timeout=120)


def test_cli_json_and_latex(tmp_path):
    program = tmp_path / "lr.expr"
    program.write_text(PROGRAMS["linear_named_residual"], encoding="utf-8")
    done = _cli("eval", str(program), "--symbolic", "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["symbolic"]["w"]["formula"] == "2*r*x"
    assert doc["symbolic"]["w"]["latex"] == "2 r x"
    assert doc["symbolic"]["w"]["agrees"] is True
    assert doc["symbolic"]["w"]["where"] == {"r": "b + w*x - y"}
    assert doc["symbolic"]["b"]["value"] == 11.0
    assert [t["name"] for t in doc["tensors"]][:2] == ["w", "b"]  # the contract is unchanged
    latex = _cli("eval", str(program), "--symbolic", "--format", "latex")
    assert latex.returncode == 0, latex.stderr
    assert "\\frac{\\partial L}{\\partial w} = 2 r x = 33.0 \\quad \\checkmark" in latex.stdout
    assert "\\text{where } r = b + w x - y" in latex.stdout
    assert "formulas ·" not in latex.stdout
    traced = json.loads(_cli("eval", str(program), "--symbolic", "--trace", "--format",
                             "json").stdout)
    (steps,) = traced["symbolic_steps"]
    assert {"node": "SubBackward0 (r = w * x + b - y, line 6)",
            "formulas": {"∂L/∂r": "2*r"}} in steps["steps"]


def test_cli_trace_shows_the_local_rules_composed(tmp_path):
    program = tmp_path / "lr.expr"
    program.write_text(PROGRAMS["linear_named_residual"], encoding="utf-8")
    done = _cli("eval", str(program), "--symbolic", "--trace", "--no-color")
    assert done.returncode == 0, done.stderr
    assert "the chain rule node by node (local rules composed):" in done.stdout
    assert "SubBackward0 (r = w * x + b - y, line 6)" in done.stdout
    assert "∂L/∂r = 2⋅r" in done.stdout


def test_without_sympy_symbolic_exits_2_with_the_install_hint(tmp_path):
    program = tmp_path / "lr.expr"
    program.write_text(PROGRAMS["linear_named_residual"], encoding="utf-8")
    # sitecustomize runs at start-up: None in sys.modules makes `import sympy` fail.
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['sympy'] = None\n")
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    done = _cli("eval", str(program), "--symbolic", env=env)
    assert done.returncode == 2
    assert "pip install 'gradcli[symbolic]'" in done.stderr
    assert "Traceback" not in done.stderr
    plain = _cli("eval", str(program), env=env)  # everything else still works
    assert plain.returncode == 0 and "SubBackward0" in plain.stdout


def test_no_other_command_imports_sympy(tmp_path):
    program = tmp_path / "lr.expr"
    program.write_text(PROGRAMS["linear_named_residual"], encoding="utf-8")
    script = (
        "import sys, io, contextlib\n"
        "from gradcli.cli.main import main\n"
        "for argv in {argvs!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "print('sympy' in sys.modules)\n"
    )
    argvs = [["eval", str(program)], ["eval", str(program), "--trace", "--partials"],
             ["eval", str(program), "--format", "json"],
             ["eval", str(program), "--format", "latex"],
             ["check", str(program)], ["graph", str(program)],
             ["quiz", str(program), "--wrt", "w", "--answer", "2*x*r"]]
    done = subprocess.run([sys.executable, "-c", script.format(argvs=argvs)],
                          capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout + done.stderr


EXAMPLES = sorted((ROOT / "examples").glob("*.expr"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_no_example_gets_a_disagreeing_formula(path):
    """Every example under --symbolic: formulas (or an honest "numbers only"), never a ✗
    (a pass that stopped with the program's error is not checked)."""
    text = formulas_text(path.read_text(encoding="utf-8"), path.name)
    assert "✗" not in text, text
    assert "this is a bug" not in text, text


def test_a_pass_that_raised_is_not_checked():
    text = formulas_text((ROOT / "examples" / "gallery_inplace_saved_tensor_error.expr")
                         .read_text(encoding="utf-8"))
    assert "numbers only: this backward pass stopped with an error" in text


def test_formulas_offer_mathml_for_an_html_view():
    _, _, (found,) = analysed(PROGRAMS["linear_named_residual"])
    markup = found.leaves[0].formulas[0].mathml()
    assert markup.startswith("<math><mrow><mi>∂L/∂w</mi><mo>=</mo>")
    assert "<mi>r</mi>" in markup and "<mi>x</mi>" in markup


def test_symbolic_and_html_together(tmp_path):
    program = tmp_path / "lr.expr"
    program.write_text(PROGRAMS["linear_named_residual"], encoding="utf-8")
    page = tmp_path / "page.html"
    done = _cli("eval", str(program), "--symbolic", "--html", str(page), "-q")
    assert done.returncode == 0, done.stderr
    assert "∂L/∂w = 2⋅r⋅x  = 33.0  ✓" in done.stdout
    assert page.exists() and "MulBackward0" in page.read_text(encoding="utf-8")
