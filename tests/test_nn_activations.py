"""The activations and losses beyond SPEC §1.7 (gradcli/torch/activations_more.py,
losses_more.py, torch/nn/activation_more.py, loss_more.py): the sandbox's promise over the
new surface, and properties of the formulas the conformance cases do not pin one by one
(third-order derivatives of the piecewise-linear ones, second derivatives against finite
differences)."""

from __future__ import annotations

import numpy as np
import pytest

from gradcli.runtime.interpreter import run

ESCAPES = [
    "F.elu.__globals__",
    "F.glu.__code__",
    "F.smooth_l1_loss.__globals__",
    "F.kl_div.__defaults__",
    "torch.selu.__closure__",
    "torch.selu_.__globals__",
    "torch.threshold_.__code__",
    "nn.GELU().__dict__",
    "nn.SELU.function",
    "nn.SELU().function",
    "nn.Mish().forward.__func__",
    "nn.PReLU().__class__.__bases__",
    "nn.Softshrink.function.__globals__",
    "nn.HuberLoss.__subclasses__()",
    "nn.CosineSimilarity().forward.__globals__",
    "torch.ones(2).hardshrink.__self__",
    "torch.ones(2).prelu.func",
    "F.hardsigmoid(torch.ones(2, requires_grad=True)).grad_fn.op",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_escape_through_activation_surface_is_refused(expression: str) -> None:
    source = (f"import torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
              f"value = {expression}\nprint(value)\n")
    result = run(source, "<hostile>")
    assert result.error is not None, expression
    assert result.error.type in ("AttributeError", "NameError"), result.error
    assert result.error.line == 4
    assert result.stdout == ""
    assert "/" not in result.error.message


def _run(source: str) -> list[str]:
    result = run("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
                 + source, "<program>")
    assert result.error is None, result.error
    return result.stdout.splitlines()


@pytest.mark.parametrize(("call", "node", "slope"), [
    ("F.hardtanh(x, -1.0, 0.5)", "HardtanhBackwardBackward0", [0, 1, 1, 0, 0]),
    ("F.relu6(x)", "HardtanhBackwardBackward0", [0, 0, 1, 1, 0]),
    ("F.softshrink(x, 0.3)", "SoftshrinkBackwardBackward0", [1, 0, 1, 1, 1]),
    ("F.hardshrink(x, 0.3)", "HardshrinkBackwardBackward0", [1, 0, 1, 1, 1]),
    ("F.threshold(x, 0.5, 2.0)", "ThresholdBackwardBackward0", [0, 0, 0, 1, 1]),
])
def test_piecewise_linear_activations_have_zero_second_derivative(call, node, slope) -> None:
    lines = _run(
        "x = torch.tensor([-1.5, -0.2, 0.4, 0.7, 7.0], requires_grad=True)\n"
        f"g, = torch.autograd.grad({call}.sum(), x, create_graph=True)\n"
        "h, = torch.autograd.grad(g.sum(), x)\n"
        "print(g.grad_fn.name())\n"
        "print(g.tolist())\n"
        "print(h.tolist())\n")
    assert lines[0] == node
    assert eval(lines[1]) == slope  # noqa: S307 - our own program's printed list
    assert eval(lines[2]) == [0.0] * 5  # noqa: S307


SECOND_ORDER = [
    ("F.elu(x, 0.7)", "F.elu(x + d, 0.7)"),
    ("F.celu(x, 2.0)", "F.celu(x + d, 2.0)"),
    ("F.selu(x)", "F.selu(x + d)"),
    ("F.hardswish(x)", "F.hardswish(x + d)"),
    ("F.logsigmoid(x)", "F.logsigmoid(x + d)"),
    ("F.mish(x)", "F.mish(x + d)"),
    ("F.glu(x, 0)", "F.glu(x + d, 0)"),
    ("F.smooth_l1_loss(x, t, beta=2.0, reduction='none')",
     "F.smooth_l1_loss(x + d, t, beta=2.0, reduction='none')"),
    ("F.huber_loss(x, t, delta=1.4, reduction='sum')",
     "F.huber_loss(x + d, t, delta=1.4, reduction='sum')"),
    ("F.soft_margin_loss(x, s)", "F.soft_margin_loss(x + d, s)"),
]


@pytest.mark.parametrize(("call", "shifted"), SECOND_ORDER)
def test_second_derivative_matches_finite_differences(call: str, shifted: str) -> None:
    """create_graph=True through each backward op: the gradient of sum(first derivative)
    against central differences of the first derivative (float64)."""
    lines = _run(
        "x = torch.tensor([-1.3, -0.4, 0.35, 0.8, 1.7, 2.6], dtype=torch.float64, "
        "requires_grad=True)\n"
        "t = torch.tensor([0.2, 0.1, -0.3, 0.5, 0.4, -0.2], dtype=torch.float64)\n"
        "s = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0, -1.0], dtype=torch.float64)\n"
        f"g, = torch.autograd.grad(({call}).pow(2).sum(), x, create_graph=True)\n"
        "h, = torch.autograd.grad(g.sum(), x)\n"
        "print(h.tolist())\n"
        "numeric = []\n"
        "for i in range(6):\n"
        "    sums = []\n"
        "    for step in [1e-6, -1e-6]:\n"
        "        d = torch.zeros(6, dtype=torch.float64)\n"
        "        d[i] = step\n"
        "        xd = x.detach().requires_grad_()\n"
        f"        gd, = torch.autograd.grad(({shifted.replace('x + d', 'xd + d')})"
        ".pow(2).sum(), xd)\n"
        "        sums.append(gd.sum().item())\n"
        "    numeric.append((sums[0] - sums[1]) / 2e-6)\n"
        "print(numeric)\n")
    analytic = np.array(eval(lines[0]))  # noqa: S307 - our own program's printed list
    numeric = np.array(eval(lines[1]))  # noqa: S307
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


def test_module_reprs_and_parameters() -> None:
    lines = _run(
        "m = nn.Sequential(nn.PReLU(3, init=0.1), nn.Softshrink(0.25), nn.Threshold(0.1, 2),"
        " nn.GLU(dim=0))\n"
        "print(m)\n"
        "print([p.shape for p in m.parameters()])\n"
        "print(nn.ELU(alpha=2).alpha, nn.Hardtanh(-2.0, 2.0).max_val, nn.GELU('tanh').approximate)\n")
    assert lines[:6] == [
        "Sequential(",
        "  (0): PReLU(num_parameters=3)",
        "  (1): Softshrink(0.25)",
        "  (2): Threshold(threshold=0.1, value=2)",
        "  (3): GLU(dim=0)",
        ")",
    ]
    assert lines[6] == "[torch.Size([3])]"
    assert lines[7] == "2 2.0 tanh"
