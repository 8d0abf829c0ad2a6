"""`gradcli test` (issue 16): notebooks with recorded outputs, transcripts and scripts
with `# expect:` comments, in a tree; the pytest-like report, --update's round trip,
JSON, JUnit XML and Gradescope reports, exit codes. The lessons under examples/lessons/
were recorded by PyTorch 2.13 (tools/gen_lessons.py), so their passing is gradcli
agreeing with PyTorch cell by cell."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcli.checking.expect import comparison, find_expectations
from gradcli.cli.group import cli

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "examples" / "lessons"
DATA = ROOT / "tests" / "data" / "lessons"


def invoke(*args):
    result = CliRunner().invoke(cli, ["test", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}") from result.exception
    return result


@pytest.fixture
def tree(tmp_path):
    """A copy of every lesson: notebooks, transcripts and expect scripts, in two folders."""
    root = tmp_path / "lessons"
    shutil.copytree(LESSONS, root)
    shutil.copytree(DATA, root / "more")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_the_lessons_pytorch_recorded_pass():
    result = invoke(LESSONS)
    assert result.exit_code == 0, result.stdout
    assert " failed" not in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert " passed" in last and "skipped" in last  # the SKIP examples


def test_a_tree_mixing_all_three_kinds(tree):
    result = invoke(tree, "--format", "json")
    doc = json.loads(result.stdout)
    kinds = {Path(f["path"]).suffix: f["kind"] for f in doc["files"]}
    assert kinds == {".ipynb": "notebook", ".txt": "transcript", ".expr": "script"}
    assert result.exit_code == 1 and doc["ok"] is False
    failed = [t["id"] for f in doc["files"] for t in f["tests"] if t["status"] == "failed"]
    assert failed == [f"{tree / 'more' / 'autograd_basics_altered.txt'}::line 15"]
    assert doc["summary"]["failed"] == 1 and doc["summary"]["passed"] > 80


def test_the_text_report_reads_like_pytest(tree):
    result = invoke(tree, "--no-color")
    out = result.stdout
    assert f"{tree / 'd2l_autograd.ipynb'} ..........\n" in out
    assert "= FAILURES =" in out
    assert f"_ {tree / 'more' / 'autograd_basics_altered.txt'}::line 15 _" in out
    assert "    >>> a.grad\n--- expected\n+++ gradcli\n@@ -1 +1 @@\n" \
           "-tensor([ 6.,  9., 10.])\n+tensor([ 6.,  8., 10.])\n" in out
    assert f"FAILED {tree / 'more' / 'autograd_basics_altered.txt'}::line 15 - output differs" \
        in out
    assert out.rstrip().splitlines()[-1].strip("= ").startswith("1 failed, ")


def test_a_notebook_cell_whose_output_changed_fails_with_a_diff(tmp_path):
    source = json.loads((LESSONS / "d2l_autograd.ipynb").read_text())
    code = [c for c in source["cells"] if c["cell_type"] == "code"]
    code[4]["outputs"][0]["data"]["text/plain"] = ["tensor([ 0.,  4.,  8., 13.])"]
    path = tmp_path / "d2l.ipynb"
    path.write_text(json.dumps(source))
    result = invoke(path, "--no-color")
    assert result.exit_code == 1
    assert f"FAILED {path}::cell 5 - output differs from the recorded output" in result.stdout
    assert "-tensor([ 0.,  4.,  8., 13.])\n+tensor([ 0.,  4.,  8., 12.])" in result.stdout


def test_update_round_trip(tree):
    # Alter one recorded output of each kind.
    notebook = tree / "micrograd_neuron.ipynb"
    notebook.write_text(notebook.read_text().replace('"x2 0.5000001283844369', '"x2 0.6'))
    script = tree / "grad_accumulation_checked.expr"
    script.write_text(script.read_text().replace("# 1 tensor([ 8., 12.])", "# 1 tensor([8., 1.])")
                      .replace("== 39.0", "== 40.0"))
    before = invoke(tree, "--format", "json")
    failed = [t["id"] for f in json.loads(before.stdout)["files"] for t in f["tests"]
              if t["status"] == "failed"]
    assert len(failed) == 4 and before.exit_code == 1
    updated = invoke(tree, "--update")
    assert sorted(line.split()[1] for line in updated.stdout.splitlines()
                  if line.startswith("updated ")) == sorted({i.split("::")[0] for i in failed})
    after = snapshot(tree)
    again = invoke(tree, "--update")
    assert again.exit_code == 0, again.stdout
    assert "updated" not in again.stdout and snapshot(tree) == after  # changes nothing
    # The updates restored what PyTorch recorded.
    assert (tree / "more" / "autograd_basics_altered.txt").read_text() == \
        (LESSONS / "autograd_basics_docs.txt").read_text()
    assert script.read_text() == (LESSONS / "grad_accumulation_checked.expr").read_text()
    assert '"x2 0.5000001283844369' in notebook.read_text()


def test_junit_xml_parses_and_counts(tree, tmp_path):
    report = tmp_path / "junit.xml"
    result = invoke(tree, "--junit-xml", report)
    suite = ET.parse(report).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases) > 80
    failures = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures")) == 1 == len(failures)
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert int(suite.get("skipped")) == len(skipped) >= 2
    (failed,) = [c for c in cases if c.find("failure") is not None]
    assert failed.get("classname").endswith("autograd_basics_altered.txt")
    assert failed.get("name") == "line 15"
    assert "+tensor([ 6.,  8., 10.])" in failed.find("failure").text
    assert result.exit_code == 1


def test_gradescope_results(tree):
    doc = json.loads(invoke(tree, "--format", "gradescope").stdout)
    assert doc["score"] == sum(t["score"] for t in doc["tests"]) == len(doc["tests"]) - 1
    assert all(t["max_score"] == 1 and t["visibility"] == "visible" for t in doc["tests"])


def test_exit_codes(tmp_path):
    assert invoke(LESSONS / "d2l_autograd.ipynb").exit_code == 0
    assert invoke(DATA / "autograd_basics_altered.txt").exit_code == 1
    assert invoke(tmp_path / "missing").exit_code == 2


def test_a_malformed_notebook_is_an_error_not_a_crash(tmp_path):
    (tmp_path / "bad.ipynb").write_text("{")
    result = invoke(tmp_path)
    assert result.exit_code == 1
    assert "1 error" in result.stdout and "invalid JSON" in result.stdout


# ----- # expect: ----------------------------------------------------------------------------


def expect_run(tmp_path, text: str):
    path = tmp_path / "prog.expr"
    path.write_text(text)
    result = invoke(path, "--format", "json")
    return result, json.loads(result.stdout)["files"][0]["tests"]


def test_expect_comments_are_found():
    items = find_expectations("a = 1\n# expect: a == 1\nprint(a)\n# expect:\n# 1\n#\n# x\nb = 2\n")
    assert [(i.line, i.expression, i.printed, i.end) for i in items] == [
        (2, "a == 1", [], 2), (4, None, ["1", "", "x"], 7)]
    assert comparison("x.grad == tensor([2., 4.])") == ("x.grad", "tensor([2., 4.])")
    assert comparison("a < b") is None and comparison("a == b == c") is None


def test_expect_allclose_tolerance(tmp_path):
    result, tests = expect_run(tmp_path, (
        "x = tensor([1., 2.], requires_grad=True)\n(x * x).sum().backward()\n"
        "# expect: x.grad == tensor([2.000001, 4.])\n"  # within rtol 1e-5
        "# expect: x.grad == tensor([2.001, 4.])\n"  # not within
        "# expect: x.grad.sum().item() == 6.0\n"
        "# expect: x.grad == tensor([[2., 4.]])\n"  # shapes differ
        "# expect: (x.grad > 1).all()\n"
        "# expect: x.grad[0] > 3\n"))
    assert [t["status"] for t in tests] == ["passed", "failed", "passed", "failed", "passed",
                                            "failed"]
    assert "differ by up to 0.001" in tests[1]["message"]
    assert result.exit_code == 1


def test_expect_printed_blocks_and_errors(tmp_path):
    _, tests = expect_run(tmp_path, (
        "print('one')\nprint('two')\n# expect:\n# one\n# two\n"
        "print('three')\n# expect:\n# four\n"
        "y = nope\n# expect: True\n# expect: True\n"))
    assert [t["status"] for t in tests] == ["passed", "failed", "failed", "skipped"]
    assert tests[2]["message"] == "line 9: NameError: name 'nope' is not defined"
    assert tests[3]["message"] == "not reached: line 9 raised"


# ----- sealed expectations ------------------------------------------------------------------


def seal_invoke(*args):
    result = CliRunner().invoke(cli, ["seal", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}") from result.exception
    return result


def test_seal_hides_the_values_and_test_still_checks_them(tmp_path):
    source = LESSONS / "chain_rule_checked.expr"
    sealed = tmp_path / "sealed.expr"
    result = seal_invoke(source, "-o", sealed)
    assert result.exit_code == 0
    text = sealed.read_text()
    assert text.count("# expect-sealed: ") == 4 and "# expect: b.grad ==" not in text
    assert "0.9900662899" not in text and "0.297019" not in text  # the values are gone
    assert "# expect-sealed: x.grad ~ v1:4:50000:" in text
    assert invoke(sealed).exit_code == 0
    # A wrong program fails the sealed checks.
    wrong = tmp_path / "wrong.expr"
    wrong.write_text(text.replace("w = tensor([0.3, 0.1, -0.4]", "w = tensor([0.3, 0.1, -0.41]"))
    doc = json.loads(invoke(wrong, "--format", "json").stdout)
    statuses = {t["name"]: (t["status"], t["message"]) for t in doc["files"][0]["tests"]}
    assert statuses["line 10"] == ("failed", "x.grad is not the sealed value")
    assert [statuses[f"line {n}"][0] for n in (7, 9, 11)] == ["failed"] * 3


def test_sealed_values_match_within_tolerance_across_grid_edges():
    from gradcli.checking.seal import cells_of, matches, seal
    from gradcli.torch.functions import tensor

    sealed = seal(tensor([2.5004999, -1.0]), rounds=10)
    assert matches(tensor([2.5004999, -1.0]), sealed)
    # 2.5005001 rounds to the next cell (2.501), but it is within rtol of the sealed value.
    assert cells_of(2.5005001)[1] == [{"2.500e+00", "2.501e+00"}]
    assert matches(tensor([2.5005001, -1.0]), sealed)
    assert not matches(tensor([2.5016, -1.0]), sealed)
    assert not matches(tensor([2.5004999]), sealed)  # the shape is part of the seal
    assert seal(3.0, rounds=10) != seal(3.0, rounds=10)  # a fresh salt every time
    assert matches(3.0000001, seal(3.0, rounds=10)) and matches(0.0, seal(1e-12, rounds=10))


def test_seed_rerolls_the_data_and_expressions_recompute(tmp_path):
    path = tmp_path / "student.expr"
    path.write_text("x = randn(3, requires_grad=True)\n(x * x).sum().backward()\n"
                    "# expect: x.grad == 2 * x\n")
    for seed in ("1", "2", "12345"):
        assert invoke(path, "--seed", seed).exit_code == 0
    literal = tmp_path / "literal.expr"
    literal.write_text("x = randn(3)\n# expect: x.sum().item() == 0.5\n")
    doc = json.loads(invoke(literal, "--seed", "7", "--format", "json").stdout)
    assert doc["files"][0]["tests"][0]["status"] == "failed"


def test_update_records_outputs_into_a_notebook_never_run(tmp_path):
    from test_notebooks import notebook_text

    path = tmp_path / "fresh.ipynb"
    path.write_text(notebook_text(("markdown", "# t"), ("code", "x = tensor([1., 2.])\nx * 2"),
                                  ("code", "print('hi')\nx.sum();")))
    first = invoke(path, "--update")
    assert first.exit_code == 0 and f"updated {path}" in first.stdout
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in cells] == [1, 2]
    assert cells[0]["outputs"][0]["data"]["text/plain"] == ["tensor([2., 4.])"]
    assert cells[1]["outputs"] == [{"name": "stdout", "output_type": "stream", "text": ["hi\n"]}]
    written = path.read_bytes()
    again = invoke(path, "--update")
    assert again.exit_code == 0 and "updated" not in again.stdout
    assert path.read_bytes() == written
