"""Notebooks (SPEC §1.8): reading .ipynb as cells, the cell runner's display rule, and
`gradcli eval lesson.ipynb` (cells, --cell/--cells, errors named by cell, malformed
files). The notebooks under examples/lessons/ and tests/data/lessons/ were executed by
IPython under PyTorch 2.13 (tools/gen_lessons.py); test_lessons.py checks gradcli
against their recorded outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcli.cli.group import cli
from gradcli.runtime.cells import Cell, CellRunner, run_cells
from gradcli.sources.notebook import NotebookError, read_notebook, strip_ipython

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "examples" / "lessons"
DATA = ROOT / "tests" / "data" / "lessons"


def notebook_text(*cells, nbformat=4) -> str:
    """A notebook of ("code"|"markdown", source) cells, sources as lists of lines."""
    return json.dumps({
        "cells": [{"cell_type": kind, "metadata": {}, "source": source.splitlines(True),
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                  for kind, source in cells],
        "metadata": {}, "nbformat": nbformat, "nbformat_minor": 5,
    })


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}") from result.exception
    return result


@pytest.fixture
def notebook(tmp_path):
    def write(*cells, name="lesson.ipynb") -> Path:
        path = tmp_path / name
        path.write_text(notebook_text(*cells), encoding="utf-8")
        return path
    return write


# ----- reading ------------------------------------------------------------------------------


def test_code_cells_are_numbered_and_markdown_is_skipped():
    nb = read_notebook(notebook_text(("markdown", "# title"), ("code", "a = 1\nb = 2"),
                                     ("raw", "raw text"), ("code", "c = 3")), "x.ipynb")
    assert [(c.number, c.position, c.source) for c in nb.cells] == [
        (1, 1, "a = 1\nb = 2"), (2, 3, "c = 3")]
    # The script view puts each cell's line L at first_line + L.
    lines = nb.script.split("\n")
    for cell in nb.cells:
        for offset, code in enumerate(cell.source.split("\n"), 1):
            assert lines[cell.first_line + offset - 1] == code
    assert lines[nb.cells[1].first_line - 1] == "# In [2]:"


def test_source_may_be_one_string_and_nbformat_3_worksheets_are_read():
    text = json.dumps({"worksheets": [{"cells": [
        {"cell_type": "code", "input": "x = 1\nx", "outputs": [], "prompt_number": 4}]}],
        "nbformat": 3})
    nb = read_notebook(text, "old.ipynb")
    assert nb.cells[0].source == "x = 1\nx" and nb.cells[0].execution_count == 4


def test_magics_and_shell_escapes_are_blanked_keeping_line_numbers():
    source, skipped = strip_ipython(
        "%matplotlib inline\nimport torch\n!pip install torch\nfiles = !ls\nx?\n"
        "for i in range(2):\n    %time y = i\nz = (1 +\n%2)\ns = '''\n!not a shell\n'''")
    assert source.split("\n") == [
        "", "import torch", "", "", "", "for i in range(2):", "    pass", "z = (1 +", "%2)",
        "s = '''", "!not a shell", "'''"]
    assert [line for line, _ in skipped] == [1, 3, 4, 5, 7]
    assert skipped[0] == (1, "%matplotlib inline")


def test_cell_magics_skip_the_cell_unless_python_runs_in_it():
    source, skipped = strip_ipython("%%bash\necho hi\nls")
    assert source.strip() == "" and [line for line, _ in skipped] == [1, 2, 3]
    source, skipped = strip_ipython("%%time\nx = 1\nx")
    assert source == "\nx = 1\nx" and skipped == [(1, "%%time")]


@pytest.mark.parametrize("text, message, where", [
    ('{"cells": [', "invalid JSON", (1, 12)),
    ("[1, 2]", "not an object", (1, 1)),
    ('{"nbformat": 4}', 'no "cells" list', (None, None)),
    ('{"cells": [{"source": "x"}]}', 'cell 1 of the file has no "cell_type"', (None, None)),
    ('{"cells": [{"cell_type": "code", "source": 3}]}', "source of cell 1 is not text",
     (None, None)),
    ('{"cells": [{"cell_type": "code", "source": "", "outputs": {}}]}', "not a list",
     (None, None)),
])
def test_malformed_notebooks_raise_a_clear_error(text, message, where):
    with pytest.raises(NotebookError) as info:
        read_notebook(text, "bad.ipynb")
    assert message in info.value.message
    assert (info.value.line, info.value.column) == where


def test_nbval_markers_and_tags():
    text = json.dumps({"cells": [
        {"cell_type": "code", "source": "# NBVAL_IGNORE_OUTPUT\nx = 1", "metadata": {}},
        {"cell_type": "code", "source": "y = 2", "metadata": {"tags": ["raises-exception"]}},
        {"cell_type": "code", "source": "z = 3", "metadata": {"tags": ["nbval-skip"]}},
    ]})
    first, second, third = read_notebook(text, "t.ipynb").cells
    assert first.output_ignored and not first.may_raise
    assert second.may_raise and not second.output_ignored
    assert third.test_skipped


# ----- the cell runner ----------------------------------------------------------------------


def run(*sources, mode="jupyter"):
    results, runner = run_cells([Cell(i, s) for i, s in enumerate(sources, 1)], mode)
    return results, runner


def test_jupyter_display_rule():
    results, _ = run(
        "x = tensor([1., 2.], requires_grad=True)\nx * 2",  # last bare expression shows
        "print('printed')\nx.sum()  # a comment after it",
        "x.grad",  # None shows nothing
        "x.sum();",  # a trailing semicolon silences it
        "y = 3; y",  # the statement after `;` is the last one
        "x * 1\nz = 1",  # the last statement is not an expression: nothing shows
    )
    assert [r.display for r in results] == [
        "tensor([2., 4.], grad_fn=<MulBackward0>)", "tensor(3., grad_fn=<SumBackward0>)",
        None, None, "3", None]
    assert results[1].stdout == "printed\n"
    assert all(r.error is None for r in results)


def test_cells_share_one_namespace_and_grad_mode():
    results, runner = run("a = tensor([1., 2.], requires_grad=True)",
                          "_ = torch.set_grad_enabled(False)", "b = a * 2", "b.requires_grad")
    assert results[-1].display == "False"
    assert [t.name for t in runner.tensors()] == ["a", "b"]


def test_errors_are_named_within_the_cell_and_stop_the_run():
    cells = [Cell(1, "a = 1", 1), Cell(2, "print('before')\nb = a.foo", 3), Cell(3, "c = 2", 6)]
    results, runner = run_cells(cells)
    error = results[1].error
    assert (error.type, error.line, error.column) == ("AttributeError", 2, 5)
    assert results[1].stdout == "before\n"
    assert results[2].ran is False and results[2].error is None


def test_an_error_in_the_displayed_expression_keeps_its_column():
    results, _ = run("a = 1; a.foo")
    assert (results[0].error.line, results[0].error.column) == (1, 8)


def test_interactive_mode_echoes_every_expression_and_script_mode_none():
    results, _ = run("x = 2\nx\nx + 1\nprint('p')\nNone\n[x]", mode="interactive")
    assert results[0].stdout == "2\n3\np\n[2]\n" and results[0].display is None
    results, _ = run("x = 2\nx\nprint('p')", mode="script")
    assert results[0].stdout == "p\n"


def test_evaluate_reads_a_value_without_binding_it():
    runner = CellRunner()
    runner.run(Cell(1, "x = tensor([3.])"), "script")
    value, error = runner.evaluate("x * 2", 1)
    assert error is None and value.array.tolist() == [6.0]
    assert [t.name for t in runner.tensors()] == ["x"]
    value, error = runner.evaluate("nope", 1)
    assert value is None and error.type == "NameError"


# ----- gradcli eval lesson.ipynb ------------------------------------------------------------


def test_eval_groups_output_by_cell(notebook):
    path = notebook(("markdown", "# x"),
                    ("code", "x = tensor([1., 2.], requires_grad=True)\nx * 2"),
                    ("code", "print('hi')\nx.sum().backward()"), ("code", "x.grad"))
    result = invoke("eval", path)
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "In [1]:\nOut[1]: tensor([2., 4.], grad_fn=<MulBackward0>)\n\n"
        "In [2]:\nhi\n\nIn [3]:\nOut[3]: tensor([1., 1.])\n\n")
    assert "req_grad" in result.stdout  # the tensor table follows the cells


def test_eval_json_has_a_cells_list(notebook):
    path = notebook(("code", "x = tensor([1., 2.], requires_grad=True)\nprint(1)\nx * 2"),
                    ("code", "x = 5"))
    doc = json.loads(invoke("eval", path, "--format", "json").stdout)
    assert doc["ok"] is True and doc["stdout"] == ["1"]
    assert doc["cells"] == [
        {"index": 1, "stdout": ["1"], "display": "tensor([2., 4.], grad_fn=<MulBackward0>)"},
        {"index": 2, "stdout": [], "display": None}]
    assert doc["tensors"] == []  # x was rebound to an int


def test_error_in_cell_5_names_cell_line_and_column():
    path = LESSONS / "error_in_cell_5.ipynb"
    result = invoke("eval", path)
    assert result.exit_code == 1
    assert f"{path}:cell 5:line 2:col 1: RuntimeError: Trying to backward through the graph " \
           "a second time" in result.stderr
    assert "    y.backward()\n    ^" in result.stderr
    assert "freed by the backward() call on cell 4 line 1;" in result.stderr
    assert "In [5]:\nagain\n" in result.stdout and "In [6]" not in result.stdout
    assert "never reached" not in result.stdout
    doc = json.loads(invoke("eval", path, "--format", "json").stdout)
    assert doc["ok"] is False and doc["error"]["cell"] == 5 and doc["error"]["line"] == 2
    assert [c["index"] for c in doc["cells"]] == [1, 2, 3, 4, 5]


def test_a_syntax_error_in_a_cell_runs_the_cells_before_it_and_exits_3(notebook):
    path = notebook(("code", "print('first')"), ("code", "a = (1 +"))
    result = invoke("eval", path)
    assert result.exit_code == 3
    assert "In [1]:\nfirst\n" in result.stdout
    assert f"{path}:cell 2:line 1:" in result.stderr and "SyntaxError" in result.stderr


def test_cell_selection_runs_earlier_cells_silently(notebook):
    path = notebook(("code", "print('one')\na = tensor([1.])"), ("code", "print('two')\nb = a + 1"),
                    ("code", "print('three')\nb * 3"), ("code", "print('four')"))
    result = invoke("eval", path, "--cell", "3")
    assert result.exit_code == 0
    assert "In [3]:\nthree\nOut[3]: tensor([6.])" in result.stdout
    lines = result.stdout.splitlines()
    for hidden in ("one", "two", "four", "In [1]:", "In [4]:"):
        assert hidden not in lines
    doc = json.loads(invoke("eval", path, "--cells", "2-3", "--format", "json").stdout)
    assert [c["index"] for c in doc["cells"]] == [2, 3] and doc["stdout"] == ["two", "three"]


@pytest.mark.parametrize("value", ["0", "5", "3-2", "x"])
def test_bad_cell_selection_is_a_usage_error(notebook, value):
    path = notebook(("code", "a = 1"), ("code", "b = 2"))
    result = invoke("eval", path, "--cells", value)
    assert result.exit_code == 2 and "--cells" in result.stderr


def test_set_on_a_notebook_is_a_usage_error(notebook):
    path = notebook(("code", "a = tensor([1.])"))
    result = invoke("eval", path, "--set", "a=2")
    assert result.exit_code == 2 and "--set" in result.stderr


def test_cell_selection_on_a_script_is_a_usage_error(tmp_path):
    path = tmp_path / "p.expr"
    path.write_text("a = 1\n")
    assert invoke("eval", path, "--cell", "1").exit_code == 2


def test_magics_get_one_note_on_stderr_not_a_program_warning(notebook):
    path = notebook(("code", "%matplotlib inline\n!pip install torch\nx = tensor([1.])\nx"))
    result = invoke("eval", path, "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["warnings"] == [] and doc["cells"][0]["display"] == "tensor([1.])"
    notes = [line for line in result.stderr.splitlines() if "note:" in line]
    assert len(notes) == 1
    assert "cell 1 line 1 (%matplotlib inline)" in notes[0]
    assert "cell 1 line 2 (!pip install torch)" in notes[0]


def test_malformed_notebook_exits_3_with_a_clear_message(tmp_path):
    path = tmp_path / "bad.ipynb"
    path.write_text('{"cells": [}')
    result = invoke("eval", path)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"{path}:1:12: SyntaxError: not a Jupyter notebook: "
                                    "invalid JSON")
    doc = json.loads(invoke("eval", path, "--format", "json").stdout)
    assert doc["ok"] is False and doc["error"]["type"] == "SyntaxError"


def test_program_warnings_are_named_by_cell(notebook):
    path = notebook(("code", "a = tensor([1.], requires_grad=True)"), ("code", "b = a * 2\nb.grad"))
    result = invoke("eval", path, "--format", "json")
    doc = json.loads(result.stdout)
    assert [(w["cell"], w["line"]) for w in doc["warnings"]] == [(2, 2)]
    assert f"{path}:cell 2:line 2: UserWarning: The .grad attribute" in result.stderr


def test_trace_shows_each_pass_inside_its_cell(notebook):
    path = notebook(("code", "x = tensor([1., 2.], requires_grad=True)"),
                    ("code", "print('before')\ny = (x * x).sum()\ny.backward()\nprint('after')"))
    result = invoke("eval", path, "--trace")
    assert result.exit_code == 0
    text = result.stdout
    cell2 = text.index("In [2]:")
    assert cell2 < text.index("before") < text.index("backward pass 1 · line 3") \
        < text.index("after")
    doc = json.loads(invoke("eval", path, "--trace", "--format", "json").stdout)
    assert len(doc["traces"]) == 1 and doc["cells"][1]["stdout"] == ["before", "after"]


def test_raises_exception_cells_show_their_error_and_the_run_goes_on():
    path = LESSONS / "pytorch_computational_graphs.ipynb"
    result = invoke("eval", path)
    assert result.exit_code == 0, result.stderr
    assert "RuntimeError: grad can be implicitly created only for scalar outputs" in result.stdout
    assert "t grad: tensor([5.])" in result.stdout  # the notebook's last cell ran


def test_the_source_notebook_gives_the_notebooks_answers():
    doc = json.loads(invoke("eval", LESSONS / "pytorch_computational_graphs.ipynb",
                            "--format", "json").stdout)
    cells = {c["index"]: c for c in doc["cells"]}
    assert cells[3]["stdout"] == ["False", "True"]
    assert cells[5]["error"]["message"] == "grad can be implicitly created only for scalar outputs"
    assert cells[14]["stdout"] == ["<IPython.core.display.Math object>", ""] * 3 + [
        "<IPython.core.display.Math object>"]
    assert cells[15]["stdout"][:3] == ["a is leaf: True", "a grad_fn: None", "a grad: tensor([3.])"]


# ----- --format ipynb -----------------------------------------------------------------------


def test_script_cells_are_the_top_level_blocks():
    from gradcli.sources.notebook import script_cells

    source = ("import torch\n\n# the data\nx = tensor([1.])\ny = x * 2\n\n"
              "for i in range(2):\n    y = y * 2\n\n    print(i)\nz = (1 +\n\n 2)\n\ny\n")
    assert script_cells(source) == [
        "import torch", "# the data\nx = tensor([1.])\ny = x * 2",
        "for i in range(2):\n    y = y * 2\n\n    print(i)\nz = (1 +\n\n 2)", "y"]


def test_format_ipynb_records_gradcli_outputs_in_a_notebook(tmp_path):
    program = tmp_path / "p.expr"
    program.write_text("x = tensor([1., 2.], requires_grad=True)\n\n(x * x).sum().backward()\n"
                       "print(x.grad)\n\nx.grad * 2\n")
    result = invoke("eval", program, "--format", "ipynb")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["nbformat"] == 4
    cells = document["cells"]
    assert ["".join(c["source"]) for c in cells] == [
        "x = tensor([1., 2.], requires_grad=True)", "(x * x).sum().backward()\nprint(x.grad)",
        "x.grad * 2"]
    assert cells[1]["outputs"] == [{"name": "stdout", "output_type": "stream",
                                    "text": ["tensor([2., 4.])\n"]}]
    assert cells[2]["outputs"][0]["data"] == {"text/plain": ["tensor([4., 8.])"]}
    assert [c["execution_count"] for c in cells] == [1, 2, 3]
    # The notebook it wrote passes `gradcli test`.
    notebook = tmp_path / "p.ipynb"
    notebook.write_text(result.stdout)
    check = CliRunner().invoke(cli, ["test", str(notebook)])
    assert check.exit_code == 0 and "3 passed" in check.stdout


def test_format_ipynb_reruns_a_notebook():
    result = invoke("eval", LESSONS / "d2l_autograd.ipynb", "--format", "ipynb")
    assert result.exit_code == 0
    recorded = json.loads((LESSONS / "d2l_autograd.ipynb").read_text())
    rerun = json.loads(result.stdout)

    def plain(doc):
        return [[o.get("data", {}).get("text/plain") for o in c.get("outputs", [])]
                for c in doc["cells"]]

    assert plain(rerun) == plain(recorded)  # PyTorch's recorded displays, cell by cell


def test_show_annotates_each_cell():
    result = invoke("show", LESSONS / "micrograd_neuron.ipynb", "--color", "never")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("In [1]:\n1 │ import torch\n\nIn [2]:\n")
    assert " 7 │ o = torch.tanh(n)" in out and "← o: (1,) float64 TanhBackward0" in out
    assert "In [4]:\n1 │ o\nOut[4]: tensor([0.7071], dtype=torch.float64, " \
           "grad_fn=<TanhBackward0>)\n" in out
    result = invoke("show", LESSONS / "error_in_cell_5.ipynb", "--color", "never")
    assert result.exit_code == 1
    assert "2 │ y.backward()  ← ✗ failed here" in result.stdout
    assert "In [6]:\n(not run)" in result.stdout
    assert ":cell 5:line 2:col 1: RuntimeError" in result.stderr


def test_graph_of_a_notebook():
    result = invoke("graph", LESSONS / "micrograd_neuron.ipynb", "--format", "tree")
    assert result.exit_code == 0
    assert result.stdout.startswith("o = torch.tanh(n)  TanhBackward0  (1,) float64")
    assert "x1*w1  MulBackward0" in result.stdout


def test_graph_of_a_malformed_notebook_exits_3(tmp_path, capsys):
    from gradcli.cli.main import main

    path = tmp_path / "bad.ipynb"
    path.write_text("{")
    with pytest.raises(SystemExit) as info:
        main(["graph", str(path)])  # the real entry point maps SyntaxExit to 3
    assert info.value.code == 3 and "not a Jupyter notebook" in capsys.readouterr().err
