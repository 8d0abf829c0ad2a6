"""Regenerate tests/data/first_hour.json from real PyTorch: the expectations of
tests/test_first_hour.py that are PyTorch-formatted numbers (issue 11).

- "partials": for the notebook program e = a*b + log(d)*c, each leaf's gradient as
  PyTorch prints the one value in float32 (`tensor(2.3026)` without `tensor(...)`), at
  precisions 4 and 6, and as the shortest text that reads back as the same float32
  (numpy's str of the float32, for LaTeX).

Usage: /opt/oracle/bin/python tools/gen_first_hour.py [output.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "first_hour.json"

NOTEBOOK = """a = torch.tensor([2.0],requires_grad=True)
b = torch.tensor([3.0],requires_grad=True)
c = torch.tensor([5.0],requires_grad=True)
d = torch.tensor([10.0],requires_grad=True)
u = a*b
t = torch.log(d)
v = t*c
t.retain_grad()
e = u+v
e.backward()
"""


def body(value: torch.Tensor, precision: int) -> str:
    torch.set_printoptions(precision=precision)
    try:
        text = repr(value)
    finally:
        torch.set_printoptions(profile="default")
    return text[len("tensor("):-1]


def partials() -> dict:
    scope = {"torch": torch}
    exec(compile(NOTEBOOK, "<program>", "exec"), scope)
    out = {"program": NOTEBOOK, "leaves": []}
    for name in "abcd":
        grad = scope[name].grad
        one = grad.reshape(())
        out["leaves"].append({
            "name": name,
            "precision4": body(one, 4),
            "precision6": body(one, 6),
            "shortest": str(np.float32(one.item())),
        })
    return out


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    data = {"torch": torch.__version__, "partials": partials()}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
