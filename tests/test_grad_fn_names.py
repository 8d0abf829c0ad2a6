"""Golden test for grad_fn names: what PyTorch 2.13 records for ~160 surface expressions.

tests/data/grad_fn_names.json is written by tools/gen_grad_fn_names.py under real
PyTorch (torch is not imported here).  Each expression runs through gradcli's
interpreter as the program ``setup + "r = <expr>"``; the grad_fn class name of ``r``,
the class names one level down in ``r.grad_fn.next_functions`` (None for a wrapped
number or an input that needs no grad), ``requires_grad`` and the shape must all be
PyTorch's.  This guards the names gradcli derives from the op table and the lowering of
each call (``2 - a`` is RsubBackward1, ``2 / a`` is MulBackward0 over
ReciprocalBackward0, ``a @ x`` is SqueezeBackward4 over MmBackward0, ...).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradcli.runtime.interpreter import run

DATA = json.loads(
    (Path(__file__).resolve().parent / "data" / "grad_fn_names.json").read_text(encoding="utf-8")
)
SETUP = DATA["setup"]

# Expressions where gradcli is known to differ from PyTorch, with why: strict xfails, so
# that a fix shows up as an unexpected pass and the entry is removed. None at present.
KNOWN_BUGS: dict[str, str] = {}


def actual(expression: str) -> dict:
    result = run(SETUP + f"r = {expression}\n", "<program>", seed=0)
    if result.error is not None:
        e = result.error
        return {"error": f"{e.type}: {e.message} (line {e.line})"}
    r = {record.name: record.tensor for record in result.tensors}["r"]
    fn = r.grad_fn
    return {
        "shape": list(r.shape),
        "requires_grad": r.requires_grad,
        "grad_fn": fn.name() if fn is not None else None,
        "next_functions": (
            [n.name() if n is not None else None for n, _ in fn.next_functions]
            if fn is not None
            else None
        ),
    }


def params():
    out = []
    for case in DATA["cases"]:
        expression = case["expr"]
        marks = ()
        if expression in KNOWN_BUGS:
            marks = pytest.mark.xfail(reason=KNOWN_BUGS[expression], strict=True)
        out.append(pytest.param(case, id=expression, marks=marks))
    return out


@pytest.mark.parametrize("case", params())
def test_grad_fn_names_match_pytorch(case):
    expected = {k: case[k] for k in ("shape", "requires_grad", "grad_fn", "next_functions")}
    assert actual(case["expr"]) == expected


def test_known_bugs_name_recorded_expressions():
    recorded = {case["expr"] for case in DATA["cases"]}
    assert set(KNOWN_BUGS) <= recorded


def test_data_covers_the_brief():
    """The golden file keeps covering the expressions the derived names depend on."""
    recorded = {case["expr"] for case in DATA["cases"]}
    required = {
        "a + b", "2 - a", "2 / a", "2 ** a", "a ** 2", "a.square()", "x.T", "x.t()",
        "x.max()", "x.max(0)[0]", "x.reshape(9)", "x.sum()", "x.sum(0)", "x.mean(1)",
        "x[0]", "x[:, 1]", "x[1:]", "x[None]", "x[[0, 2]]", "a @ b", "x @ a", "a @ x",
        "x @ x", "B @ C", "F.linear(x, w)", "F.linear(x, w, c)", "F.cross_entropy(x, y)",
        "x.softmax(1)", "x.log_softmax(1)", "torch.outer(a, b)", "a.clamp(min=0)",
    }  # fmt: skip
    assert required <= recorded, sorted(required - recorded)
    assert len(recorded) >= 80
