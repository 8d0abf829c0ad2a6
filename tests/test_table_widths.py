"""The table at terminal widths (issue 11 item 1): every example at 60, 80 and 120
columns, with no line wider than the width, no number split across lines or cells, no
trailing whitespace and no blank line at the top."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradcli.base.printing import PrintOptions, tensor_body
from gradcli.runtime.interpreter import run
from gradcli.views.table import cut, table_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.expr"))
NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:e[+-]?\d+)?|nan|inf")


def _numbers(text: str) -> list[str]:
    return NUMBER.findall(text)


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_fits_the_width(path, width):
    result = run(path.read_text(), str(path), seed=0)
    text = table_text(result, 4, width)
    lines = text.split("\n")
    assert lines[0].strip(), "no blank line at the top"
    for line in lines:
        assert len(line) <= width, line
        assert line == line.rstrip(), f"trailing whitespace: {line!r}"
    # Every tensor's values appear whole somewhere: in its cell or in the section below.
    flat = " ".join(text.split())
    for record in result.tensors:
        for array in (record.tensor.array, getattr(record.tensor.grad, "array", None)):
            if array is None or array.size > 1000:
                continue
            dtype = str(array.dtype) if array.dtype != bool else "bool"
            body = tensor_body(array, dtype, PrintOptions(precision=4, linewidth=10**9))
            for number in _numbers(body):
                assert number in flat


def test_no_number_is_split_in_a_cell():
    # A cut ends after a whole element: every number in it is one of the value's numbers.
    text = "[[0.1257, -0.1321, 0.6404, 0.1049], [-0.5357, 0.3616, 1.3040, 0.9471]]"
    for width in range(1, len(text) + 1):
        shown = cut(text, width)
        assert len(shown) <= width
        assert set(_numbers(shown)) <= set(_numbers(text))
    assert cut(text, 26) == "[[0.1257, -0.1321, …], …]"
    assert cut(text, 52) == "[[0.1257, -0.1321, 0.6404, 0.1049], [-0.5357, …]]"
    assert cut("[1., 2., 3.]", 9) == "[1., …]"


def test_a_long_vector_is_summarised_in_its_cell_and_printed_below():
    result = run("x = torch.arange(1000.)\n", "v.expr")
    text = table_text(result, 4, 80)
    assert len(text.split("\n")) < 150
    assert "x = \n" not in text and "x =\n" in text
    assert "999." in text


def test_a_piped_table_fits_80_columns_without_columns_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    out = subprocess.run(
        [sys.executable, "-m", "gradcli", "eval",
         str(ROOT / "examples/mlp_tanh_cross_entropy.expr")],
        capture_output=True, text=True, env=env, cwd=ROOT,
    ).stdout
    quiet = subprocess.run(
        [sys.executable, "-m", "gradcli", "eval", "-q",
         str(ROOT / "examples/mlp_tanh_cross_entropy.expr")],
        capture_output=True, text=True, env=env, cwd=ROOT,
    ).stdout
    table = out[len(quiet):]
    assert table.startswith("\n")
    assert max(len(line) for line in table.split("\n")) <= 80


def test_precision_and_full_reach_the_section_below():
    result = run("x = torch.arange(2000.) / 3\n", "v.expr")
    assert "..." in table_text(result, 4, 80)
    assert "..." not in table_text(result, 4, 80, full=True)
    assert "3.333333e-01" in table_text(result, 6, 80)
    assert "3.3333e-01" in table_text(result, 4, 80)
