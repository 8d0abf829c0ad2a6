"""Record PyTorch's grad_fn names for surface expressions: tests/data/grad_fn_names.json.

    /opt/oracle/bin/python tools/gen_grad_fn_names.py           # rewrite the JSON
    /opt/oracle/bin/python tools/gen_grad_fn_names.py --check   # fail if it is stale

Each expression is evaluated under real PyTorch 2.13 after SETUP, exactly as the
program ``SETUP + "r = <expr>"`` would run (the names of SPEC §1.3 in scope, via
tools/oracle.py), and the file records ``type(r.grad_fn).__name__`` and the class
names in ``r.grad_fn.next_functions`` (one level; ``null`` for ``(None, 0)``).
tests/test_grad_fn_names.py runs the same program text through gradcli and compares:
it is the golden test guarding gradcli's derived grad_fn names.

Only this generator imports torch; the test reads the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "data" / "grad_fn_names.json"

SETUP = """\
a = torch.tensor([0.5, -1.2, 2.0], requires_grad=True)
b = torch.tensor([1.5, 0.3, -0.7], requires_grad=True)
s = torch.tensor(0.8, requires_grad=True)
x = torch.tensor([[0.2, -0.5, 1.1], [-1.3, 0.7, 0.4], [0.9, -0.1, -2.2]], requires_grad=True)
w = torch.randn(4, 3, requires_grad=True)
c = torch.randn(4, requires_grad=True)
B = torch.randn(2, 3, 3, requires_grad=True)
C = torch.randn(2, 3, 3, requires_grad=True)
p = torch.rand(3, requires_grad=True)
q = torch.rand(3)
u = torch.randn(3)
y = torch.tensor([0, 2, 1])
"""

EXPRESSIONS = [
    # arithmetic and the wrapped-number overloads
    "a + b",
    "a + 2",
    "2 + a",
    "a - b",
    "a - 2",
    "2 - a",
    "a * b",
    "a * 2",
    "2 * a",
    "a / b",
    "a / 2",
    "2 / a",
    "a ** 2",
    "a ** 0.5",
    "2 ** a",
    "a ** b",
    "-a",
    "a * u",
    "u * a",
    "u - a",
    "s * a",
    "a.add(b, alpha=2)",
    "torch.add(a, 2)",
    "torch.mul(a, b)",
    "torch.sub(2, a)",
    "a.div(b)",
    "a.true_divide(2)",
    "torch.pow(2, a)",
    "a.pow(b)",
    "a.square()",
    "a.neg()",
    "a.reciprocal()",
    "a % 1.5",
    "a % b",
    "a // 2",
    "torch.floor_divide(a, b)",
    "a.div(2, rounding_mode='floor')",
    "a.div(b, rounding_mode='trunc')",
    # element-wise functions
    "a.exp()",
    "torch.exp(a)",
    "p.log()",
    "log(p)",
    "p.log2()",
    "p.log10()",
    "p.log1p()",
    "a.expm1()",
    "p.sqrt()",
    "p.rsqrt()",
    "a.sin()",
    "a.cos()",
    "a.tan()",
    "a.tanh()",
    "F.tanh(a)",
    "a.sigmoid()",
    "F.sigmoid(a)",
    "a.relu()",
    "F.relu(a)",
    "a.abs()",
    "abs(a)",
    "a.sign()",
    "a.clamp(min=0)",
    "a.clamp(-0.5, 0.5)",
    "a.clamp(max=0)",
    "a.clip(-1, 1)",
    "torch.maximum(a, b)",
    "torch.minimum(a, b)",
    "torch.where(a > 0, a, b)",
    "torch.where(a > 0, a, 0.0)",
    "torch.where(a > 0, 1.0, a)",
    "torch.clamp(a, min=b)",
    "torch.clamp(a, min=b, max=s)",
    "torch.add(2, a)",
    "torch.mul(2, a)",
    "torch.div(2, a)",
    # reductions
    "x.sum()",
    "sum(a)",
    "x.sum(0)",
    "x.sum(dim=1, keepdim=True)",
    "x.sum((0, 1))",
    "a.sum(())",
    "x.mean(())",
    "x.mean()",
    "x.mean(1)",
    "x.prod()",
    "x.prod(0)",
    "x.max()",
    "max(a)",
    "x.max(0)[0]",
    "x.max(dim=1).values",
    "x.max(0, keepdim=True)[0]",
    "x.min()",
    "x.min(1)[0]",
    "x.amax(1)",
    "x.amin()",
    "x.norm()",
    "a.norm(p=1)",
    "x.norm(dim=1)",
    "x.norm(p='fro')",
    "x.var()",
    "x.var(unbiased=False)",
    "x.std(1)",
    "x.logsumexp(1)",
    "torch.logsumexp(x, dim=(0, 1))",
    "x.argmax()",
    # shape and views
    "x.T",
    "x.t()",
    "a.t()",
    "s.t()",
    "s.T",
    "a.T",
    "s.transpose(0, 0)",
    "x.reshape(9)",
    "x.reshape(-1)",
    "x.reshape(3, 3)",
    "x.t().reshape(9)",
    "x.view(9)",
    "x.view(-1, 3)",
    "x.flatten()",
    "x.flatten(0, 0)",
    "s.flatten()",
    "x.T.flatten()",
    "B.flatten(1)",
    "x.unsqueeze(0)",
    "a.unsqueeze(1)",
    "x[None].squeeze()",
    "x[None].squeeze(0)",
    "x.squeeze(0)",
    "x.squeeze()",
    "s.squeeze()",
    "x.transpose(0, 1)",
    "B.transpose(1, 2)",
    "x.permute(1, 0)",
    "B.permute(2, 0, 1)",
    "a.expand(3, 3)",
    "a.expand(3)",
    "a.repeat(2)",
    "x.repeat(2, 1)",
    "torch.cat([a, b])",
    "torch.cat([a])",
    "torch.cat([x, x], 1)",
    "torch.stack([a, b])",
    "torch.stack([a, b], dim=1)",
    "x.clone()",
    "x.double()",
    "x.float()",
    "x.to(torch.float64)",
    # indexing
    "x[0]",
    "x[:, 1]",
    "x[1:]",
    "x[::2]",
    "x[0, 1]",
    "x[0][1]",
    "x[None]",
    "x[..., None]",
    "x[:]",
    "x[:, :]",
    "x[...]",
    "x[0:3]",
    "x[-5:]",
    "x[1:1]",
    "x[:, None]",
    "x[..., 0]",
    "a[None, ..., None]",
    "s[...]",
    "s[None]",
    "x[[0, 2]]",
    "x[x > 0]",
    "x[torch.arange(3), y]",
    # matrix products in each rank combination
    "a @ b",
    "x @ a",
    "a @ x",
    "x @ x",
    "B @ x",
    "B @ a",
    "a @ B",
    "x @ B",
    "B @ C",
    "x.mm(x)",
    "x.mv(a)",
    "a.dot(b)",
    "torch.matmul(x, x)",
    "torch.outer(a, b)",
    # nn
    "F.linear(x, w)",
    "F.linear(x, w, c)",
    "F.linear(a, w, c)",
    "x.softmax(1)",
    "F.softmax(x, dim=0)",
    "torch.softmax(x, 1)",
    "x.log_softmax(1)",
    "F.log_softmax(x, dim=1)",
    "F.cross_entropy(x, y)",
    "F.cross_entropy(x, y, reduction='sum')",
    "F.cross_entropy(x, x.detach().softmax(1))",
    "F.cross_entropy(a, b.detach().softmax(0))",
    "F.cross_entropy(x, x.detach().softmax(1), reduction='none')",
    "F.nll_loss(x.log_softmax(1), y)",
    "F.mse_loss(a, b)",
    "F.mse_loss(a, b, reduction='none')",
    "F.l1_loss(a, b)",
    "F.binary_cross_entropy(p, q)",
    "F.binary_cross_entropy(p.sigmoid(), q)",
    # in-place on a non-leaf, and views written in place
    "x.clone().mul_(2)",
    "x.clone().add_(a)",
    "x.clone().sub_(a, alpha=2)",
    "x.clone().div_(2)",
    "x.clone().zero_()",
    "x.clone().fill_(2.0)",
    "x.clone().clamp_(min=0)",
    "x.clone().copy_(a)",
    "x.detach().requires_grad_()",
    "x.detach()",
    # composites
    "(a * b).sum()",
    "a.sum() + s",
    "(x @ a).relu().sum()",
]


def grad_fn_names(expression: str, make_builtins) -> dict:
    import torch

    env = {"__builtins__": make_builtins(), "__name__": "__main__"}
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(SETUP + f"r = {expression}\n", "<program>", "exec"), env)
    r = env["r"]
    fn = r.grad_fn
    return {
        "expr": expression,
        "shape": list(r.shape),
        "requires_grad": r.requires_grad,
        "grad_fn": type(fn).__name__ if fn is not None else None,
        "next_functions": (
            [type(n).__name__ if n is not None else None for n, _ in fn.next_functions]
            if fn is not None
            else None
        ),
    }


def generate() -> str:
    try:
        import torch
    except ImportError:
        sys.exit("gen_grad_fn_names.py needs PyTorch: run it with /opt/oracle/bin/python")
    sys.path.insert(0, str(ROOT / "tools"))
    from oracle import make_builtins

    if len(set(EXPRESSIONS)) != len(EXPRESSIONS):
        sys.exit("duplicate expressions in EXPRESSIONS")
    document = {
        "torch": torch.__version__,
        "setup": SETUP,
        "cases": [grad_fn_names(e, make_builtins) for e in EXPRESSIONS],
    }
    return json.dumps(document, indent=1) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the JSON is stale")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale; regenerate it", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
        OUTPUT.write_text(text, encoding="utf-8")
    print(f"{len(EXPRESSIONS)} expressions -> {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
