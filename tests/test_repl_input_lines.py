"""Issue 11 item 13 and 16 leftovers: in the repl, traces, graphs and hints name a line by
its input (`input [3], line 2`, IPython's In [3]) since every input starts at line 1; and
gradcli's own messages say `1 second`, `1 step`."""

from __future__ import annotations

import io

from gradcli.base.budget import Limits
from gradcli.base.wording import InputLine, line_text
from gradcli.cli.commands.repl import Repl
from gradcli.runtime.interpreter import run
from gradcli.runtime.session import Session


def session_output(*inputs: str) -> tuple[list[str], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    repl = Repl(Session(), False, out=out, err=err)
    for text in inputs:
        repl.handle(text)
    return out.getvalue().splitlines(), err.getvalue().splitlines()


def test_trace_lines_name_their_inputs():
    out, _ = session_output(
        "import torch\n",
        "x = torch.tensor(2.0, requires_grad=True)\n",
        "y = x * 3\n",
        ":trace",
        "y.backward()\n",
    )
    assert out[1:4] == [
        "backward pass 1 · input [4], line 1 · y.backward()",
        "      root      MulBackward0 (y = x * 3, input [3], line 1), gradient 1.",
        "  [1] MulBackward0 · y = x * 3 · input [3], line 1",
    ]


def test_a_function_from_one_input_called_in_a_loop_of_another():
    out, _ = session_output(
        "import torch\nx = torch.tensor(2.0, requires_grad=True)\n",
        "def f(a):\n    b = a * 2\n    return b\n",
        "for i in range(2):\n    w = f(x)\n",
        ":trace",
        "w.backward()\n",
    )
    start = out.index("  [1] MulBackward0 · b = a * 2")
    assert out[start + 1] == "      input [2], line 2 in f() ← input [3], line 2, i=1"


def test_hints_name_the_input():
    _, err = session_output(
        "import torch\nx = torch.tensor(2.0, requires_grad=True)\nz = x.exp()\n",
        "z.backward()\n",
        "z.backward()\n",
    )
    assert err[-1] == ("hint: the graph's saved tensors were freed by the backward() call on "
                       "input [2], line 1; pass retain_graph=True to that call to run backward "
                       "through it again")


def test_outside_a_session_lines_are_plain():
    assert line_text(4) == "line 4"
    assert line_text(InputLine(4, 7)) == "input [7], line 4"
    assert InputLine(4, 7) == 4 and f"{InputLine(4, 7)}" == "4"


def test_time_limit_and_step_budget_agree_in_number():
    spin = "while True:\n    pass\n"
    one = run(spin, "<t>", limits=Limits(timeout=1)).error.message
    assert one.endswith("time limit of 1 second")
    half = run(spin, "<t>", limits=Limits(timeout=0.2)).error.message
    assert half.endswith("time limit of 0.2 seconds")
    step = run(spin, "<t>", limits=Limits(max_steps=1)).error.message
    assert "budget of 1 step (loop" in step
    steps = run(spin, "<t>", limits=Limits(max_steps=2000)).error.message
    assert "budget of 2,000 steps (loop" in steps


def test_loop_counters_are_not_session_variables():
    session = Session()
    session.execute("for r in [1, 2]:\n    pass\n")
    assert "r" in session.variables
    assert not [name for name in session.variables if name.startswith("_gx_")]
