"""How long `eval --symbolic` spends working out formulas, against its time budget.

    python bench/symbolic_budget.py

For nested tanh chains of growing depth (the case that makes simplify() take minutes)
and the linear-regression example: seconds spent in gradcli.explain.symbolic.analyse
(the run itself excluded), the operation count, and whether the formula was written or
reported as too large. The budget is TIME_BUDGET seconds per backward pass.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gradcli.explain import symbolic  # noqa: E402
from gradcli.explain.recording import PassRecorder  # noqa: E402
from gradcli.runtime.interpreter import run  # noqa: E402


def chain(depth: int) -> str:
    return ("w = torch.tensor(0.3, requires_grad=True)\n"
            f"L = {'torch.tanh(' * depth}w * 2{')' * depth}\nL.backward()\n")


def loop(depth: int) -> str:
    """The same chain with every step bound to a name (h, h_1, h_2, ... in the formula)."""
    return ("w = torch.tensor(0.3, requires_grad=True)\nh = w * 2\n"
            f"for i in range({depth}):\n    h = torch.tanh(h)\nh.backward()\n")


def measure(name: str, source: str) -> None:
    recorder = PassRecorder(source)
    recorder.install()
    try:
        run(source, name, observer=recorder)
    finally:
        recorder.uninstall()
    started = time.perf_counter()
    (result,) = symbolic.analyse_recorded(recorder)
    seconds = time.perf_counter() - started
    formula = result.leaves[0].formulas[0]
    shown = (f"too large ({formula.too_large} ops)" if formula.too_large
             else f"{len(formula.plain)} characters")
    print(f"{name:24s} {seconds:6.2f} s  budget {symbolic.TIME_BUDGET:.0f} s  {shown}, "
          f"agrees={result.leaves[0].agrees}")


def main() -> None:
    for depth in (1, 3, 10, 25, 60, 150):  # the parser allows 200 nested brackets
        measure(f"tanh chain, depth {depth}", chain(depth))
    for depth in (40, 400):
        measure(f"tanh loop h = tanh(h), {depth}", loop(depth))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "examples", "linear_regression.expr"), encoding="utf-8") as f:
        measure("linear_regression.expr", f.read())


if __name__ == "__main__":
    main()
