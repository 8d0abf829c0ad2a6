"""The benchmark programs, once per engine.

Every function here runs one complete forward + backward and returns the gradients as
numpy arrays, so the harness can check them against the other engines before it
trusts any timing. Engines:

  numpy     the hand-written floor: forward and backward written out by hand in numpy
  gradcli   gradcli's own Python API (gradcli.torch.functions, and Tensor's Python operators)
  torch     PyTorch eager autograd (CPU), when importable
  autograd  HIPS autograd, when importable
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


# ----- scalar chain: `y = y*1.0001 + 0.5`, n steps, then backward ------------------------

MUL, ADD = 1.0001, 0.5


class TapeVar:
    """The numpy floor for per-op overhead: a minimal tape, ~40 lines, float32 0-d values."""

    __slots__ = ("value", "parents", "grad")

    def __init__(self, value, parents=()):
        self.value = value
        self.parents = parents  # ((parent, local derivative), ...)
        self.grad = None


def tape_mul_const(a: TapeVar, c: float) -> TapeVar:
    return TapeVar(a.value * F32(c), ((a, F32(c)),))


def tape_add_const(a: TapeVar, c: float) -> TapeVar:
    return TapeVar(a.value + F32(c), ((a, F32(1.0)),))


def tape_backward(root: TapeVar) -> None:
    # Iterative topological order (no recursion, so any depth works).
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent, _ in node.parents)
    root.grad = F32(1.0)
    for node in reversed(order):
        for parent, local in node.parents:
            contribution = node.grad * local
            parent.grad = contribution if parent.grad is None else parent.grad + contribution


def chain_numpy(n: int):
    x = TapeVar(F32(1.0))
    y = x
    for _ in range(n):
        y = tape_add_const(tape_mul_const(y, MUL), ADD)
    tape_backward(y)
    return [np.asarray(x.grad)]


def chain_gradcli(n: int):
    from gradcli.torch import functions as api

    x = api.tensor(1.0, requires_grad=True)
    y = x
    if hasattr(type(x), "__mul__"):
        for _ in range(n):
            y = y * MUL + ADD
    else:
        mul, add = api.mul, api.add
        for _ in range(n):
            y = add(mul(y, MUL), ADD)
    api.backward(y)
    return [x.grad.array]


def chain_torch(n: int):
    import torch

    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * MUL + ADD
    y.backward()
    return [x.grad.numpy()]


def chain_autograd(n: int):
    from autograd import grad

    def f(x):
        y = x
        for _ in range(n):
            y = y * MUL + ADD
        return y

    return [np.asarray(grad(f)(F32(1.0)))]


def chain_program(n: int, mul: float = MUL) -> str:
    return (
        "x = tensor(1.0, requires_grad=True)\n"
        "y = x\n"
        f"for i in range({n}):\n"
        f"    y = y * {mul!r} + 0.5\n"
        "y.backward()\n"
    )


def chain_language(n: int):
    """The same chain as a `.expr` program, run by gradcli's interpreter (no process)."""
    from gradcli.runtime.interpreter import run

    result = run(chain_program(n), "<bench>")
    if result.error is not None:
        raise RuntimeError(f"gradcli failed: {result.error.type}: {result.error.message}")
    x = next(r.tensor for r in result.tensors if r.name == "x")
    return [x.grad.array]


def chain_torch_loop(n: int):
    """The same loop written in Python with torch (what target 2 compares against)."""
    import torch

    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for i in range(n):  # noqa: B007 - the program's loop variable, as in the .expr file
        y = y * 1.0001 + 0.5
    y.backward()
    return [x.grad.numpy()]


# ----- MLP 512 -> 512 -> 512 -> 1, tanh, batch 256, float32, MSE loss -------------------


def mlp_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((256, 512), dtype=F32)
    t = rng.standard_normal((256, 1), dtype=F32)
    params = [
        (rng.standard_normal((512, 512), dtype=F32) / F32(np.sqrt(512))),
        np.zeros(512, F32) + F32(0.01),
        (rng.standard_normal((512, 512), dtype=F32) / F32(np.sqrt(512))),
        np.zeros(512, F32) - F32(0.01),
        (rng.standard_normal((512, 1), dtype=F32) / F32(np.sqrt(512))),
        np.zeros(1, F32) + F32(0.1),
    ]
    return x, t, params


def mlp_numpy(x, t, params):
    """Hand-written forward and backward, reusing buffers where a careful person would."""
    W1, b1, W2, b2, W3, b3 = params
    h1 = x @ W1
    h1 += b1
    np.tanh(h1, out=h1)
    h2 = h1 @ W2
    h2 += b2
    np.tanh(h2, out=h2)
    out = h2 @ W3
    out += b3
    diff = out - t
    _loss = np.mean(diff * diff)
    g_out = diff * F32(2.0 / diff.size)
    gW3 = h2.T @ g_out
    gb3 = g_out.sum(axis=0)
    g = g_out @ W3.T  # d loss / d h2
    h2 *= h2
    np.subtract(F32(1.0), h2, out=h2)
    g *= h2  # d loss / d (pre-tanh 2)
    gW2 = h1.T @ g
    gb2 = g.sum(axis=0)
    g = g @ W2.T  # d loss / d h1
    h1 *= h1
    np.subtract(F32(1.0), h1, out=h1)
    g *= h1
    gW1 = x.T @ g
    gb1 = g.sum(axis=0)
    return [gW1, gb1, gW2, gb2, gW3, gb3]


def mlp_gradcli(x, t, params):
    from gradcli.autodiff.tensor import leaf
    from gradcli.torch import functions as api

    ps = [leaf(p, requires_grad=True) for p in params]
    W1, b1, W2, b2, W3, b3 = ps
    xt, tt = leaf(x), leaf(t)
    h1 = api.tanh(api.add(api.matmul(xt, W1), b1))
    h2 = api.tanh(api.add(api.matmul(h1, W2), b2))
    out = api.add(api.matmul(h2, W3), b3)
    loss = api.mean(api.pow(api.sub(out, tt), 2))
    api.backward(loss)
    return [p.grad.array for p in ps]


def mlp_torch(x, t, params):
    import torch

    ps = [torch.from_numpy(p).requires_grad_() for p in params]
    W1, b1, W2, b2, W3, b3 = ps
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    h1 = torch.tanh(xt @ W1 + b1)
    h2 = torch.tanh(h1 @ W2 + b2)
    out = h2 @ W3 + b3
    loss = ((out - tt) ** 2).mean()
    loss.backward()
    return [p.grad.numpy() for p in ps]


def mlp_autograd(x, t, params):
    import autograd.numpy as anp
    from autograd import grad

    def loss(ps):
        W1, b1, W2, b2, W3, b3 = ps
        h1 = anp.tanh(anp.dot(x, W1) + b1)
        h2 = anp.tanh(anp.dot(h1, W2) + b2)
        out = anp.dot(h2, W3) + b3
        return anp.mean((out - t) ** 2)

    return list(grad(loss)(list(params)))


# ----- element-wise: (sin(x)*exp(x) + x**2).sum() on (1000, 1000) float32 ---------------


def ew_data(seed: int = 1):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (1000, 1000)).astype(F32)


def ew_fused(x):
    """The hand-fused floor: the fewest passes and temporaries numpy allows."""
    s = np.sin(x)
    e = np.exp(x)
    flat = x.reshape(-1)
    _loss = np.dot(s.reshape(-1), e.reshape(-1)) + np.dot(flat, flat)
    g = np.cos(x)
    g += s
    g *= e  # d/dx sin(x) exp(x) = (cos x + sin x) exp x
    np.add(x, x, out=s)
    g += s  # d/dx x**2 = 2x
    return [g]


def ew_op_by_op(x):
    """Numpy op by op, as a tape would run it: one fresh array per operation."""
    s = np.sin(x)
    e = np.exp(x)
    m = s * e
    p = x**2
    a = m + p
    _loss = a.sum()
    g = np.ones_like(a)
    g_s = g * e
    g_e = g * s
    g_x = g_s * np.cos(x)
    g_x = g_x + g_e * e
    g_x = g_x + g * F32(2.0) * x
    return [g_x]


def ew_gradcli(x):
    from gradcli.autodiff.tensor import leaf
    from gradcli.torch import functions as api

    xt = leaf(x, requires_grad=True)
    loss = api.sum(api.add(api.mul(api.sin(xt), api.exp(xt)), api.pow(xt, 2)))
    api.backward(loss)
    return [xt.grad.array]


def ew_torch(x):
    import torch

    xt = torch.from_numpy(x).requires_grad_()
    loss = (torch.sin(xt) * torch.exp(xt) + xt**2).sum()
    loss.backward()
    return [xt.grad.numpy()]


def ew_autograd(x):
    import autograd.numpy as anp
    from autograd import grad

    return [grad(lambda v: anp.sum(anp.sin(v) * anp.exp(v) + v**2))(x)]


# ----- parsing ---------------------------------------------------------------------------

_STATEMENTS = [
    "a{i} = tensor([1.0, 2.0, 3.0], requires_grad=True)",
    "w{i} = torch.randn(3, 3, dtype=torch.float32) * 0.5",
    "b{i} = (a{i} * 2 + 1).sum()",
    "c{i} = torch.exp(a{i}).mean(dim=0, keepdim=True) @ w{i}",
    "loss{i} = ((c{i} - 1.0) ** 2).sum() / 3; loss{i}.backward()",
    "print(a{i}.grad, a{i}.grad_fn, b{i}.grad_fn.next_functions[0][0])",
    "d{i} = F.softmax(c{i}, dim=-1)[0, 1:3] if b{i} > 0 else -c{i}",
    "# a comment line about step {i}",
    "with torch.no_grad():",
    "    e{i} = a{i}.detach().clone() + 1e-3",
    "for j in range(3):",
    "    e{i} = e{i} * 0.5 - j",
    "",
    "v{i}, k{i} = a{i}.max(dim=0)",
    "msg{i} = 'step ' + str({i})",
]


def parse_program(lines: int) -> str:
    out = []
    i = 0
    while len(out) < lines:
        for template in _STATEMENTS:
            out.append(template.format(i=i))
        i += 1
    # Never end inside a block header.
    text = out[:lines]
    while text and text[-1].endswith(":"):
        text.pop()
    return "\n".join(text) + "\n"


# ----- random numbers: 10^7 float32 normals from seed 0 (issue 15) -------------------------

NORMALS = 10_000_000


def normals_gradcli(n: int = NORMALS):
    from gradcli.torch import random as functions

    functions.manual_seed(0)
    return [functions.randn(n).array]


def normals_torch(n: int = NORMALS):
    import torch

    torch.manual_seed(0)
    return [torch.randn(n).numpy()]


def normals_numpy(n: int = NORMALS):
    """numpy's own normals (other numbers, other algorithm): what the draw costs natively."""
    return [np.random.default_rng(0).standard_normal(n, dtype=F32)]


# ----- torch.nn + torch.optim: a 2-layer classifier trained with Adam (issue 14) ----------

TRAIN_STEPS = 200

TRAIN_PROGRAM = f"""import torch
import torch.nn as nn
model = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 10))
with torch.no_grad():
    model[0].weight.copy_(w1)
    model[0].bias.copy_(b1)
    model[2].weight.copy_(w2)
    model[2].bias.copy_(b2)
loss_fn = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters(), lr=0.001)
for step in range({TRAIN_STEPS}):
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
w_out = model[0].weight.detach()
"""


def train_data(seed: int = 2):
    """Batch 32 of 64 features, 10 classes, and the initial weights (so both engines
    start from the same model and their trained weights can be compared)."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((32, 64), dtype=F32),
        "y": rng.integers(0, 10, 32).astype(np.int64),
        "w1": (rng.uniform(-1, 1, (128, 64)) / 8).astype(F32),
        "b1": (rng.uniform(-1, 1, 128) / 8).astype(F32),
        "w2": (rng.uniform(-1, 1, (10, 128)) / np.sqrt(128)).astype(F32),
        "b2": (rng.uniform(-1, 1, 10) / np.sqrt(128)).astype(F32),
    }


def train_gradcli(data):
    """The program run by gradcli's interpreter, the data bound as its variables."""
    from gradcli.autodiff.tensor import leaf
    from gradcli.runtime.interpreter import run

    bindings = {name: leaf(array.copy()) for name, array in data.items()}
    result = run(TRAIN_PROGRAM, "<bench>", bindings=bindings)
    if result.error is not None:
        raise RuntimeError(f"gradcli failed: {result.error.type}: {result.error.message}")
    return [next(r.tensor for r in result.tensors if r.name == "w_out").array]


def train_torch(data):
    """The same text executed by Python with torch."""
    import torch

    scope = {name: torch.from_numpy(array.copy()) for name, array in data.items()}
    exec(compile(TRAIN_PROGRAM, "<bench>", "exec"), scope)  # noqa: S102 - our own text
    return [scope["w_out"].numpy()]
