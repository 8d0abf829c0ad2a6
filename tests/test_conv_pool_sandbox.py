"""nn.Conv1d/2d, the pooling modules and their F functions keep the sandbox's promise:
each escape attempt through them ends in the error Python gives for a missing attribute,
at its line, with nothing of the host printed; an oversized convolution or pooling is
refused before its windows are copied."""

from __future__ import annotations

import pytest

from gradcli.runtime.interpreter import run

SETUP = (
    "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
    "x = torch.ones(1, 1, 4, 4, requires_grad=True)\n"
)

ESCAPES = [
    "F.conv2d.__globals__",
    "F.conv1d.__code__",
    "F.max_pool2d.__globals__",
    "F.avg_pool2d.__closure__",
    "F.adaptive_avg_pool2d.__defaults__",
    "nn.Conv2d(1, 1, 3).__dict__",
    "nn.Conv2d(1, 1, 3)._nd",
    "nn.Conv2d(1, 1, 3).forward.__func__",
    "nn.Conv2d(1, 1, 3).reset_parameters.__globals__",
    "nn.Conv1d.__subclasses__()",
    "nn.Conv2d.__bases__",
    "nn.MaxPool2d(2).__class__.__init__.__globals__",
    "nn.AvgPool2d(2).__dict__",
    "nn.AdaptiveAvgPool2d(1).forward.__globals__",
    "F.conv2d(x, torch.ones(1, 1, 3, 3)).grad_fn.params",
    "F.conv2d(x, torch.ones(1, 1, 3, 3)).grad_fn.op",
    "F.max_pool2d(x, 2).grad_fn.params",
    "F.avg_pool2d(x, 2).grad_fn.op.forward",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_escape_through_conv_and_pool_is_refused(expression: str) -> None:
    source = f"{SETUP}value = {expression}\nprint(value)\n"
    result = run(source, "<hostile>")
    assert result.error is not None, expression
    assert result.error.type in ("AttributeError", "NameError"), result.error
    assert result.error.line == 5
    assert result.stdout == ""
    assert "/" not in result.error.message  # no host path or object in the message


@pytest.mark.parametrize("expression", [
    "F.conv2d(torch.ones(1, 1, 3000, 3000), torch.ones(1, 1, 200, 200))",
    "F.conv1d(torch.ones(1, 1, 10 ** 7), torch.ones(1, 1, 10 ** 4))",
    "nn.MaxPool2d(300, stride=1)(torch.ones(1, 1, 3000, 3000))",
    "F.avg_pool2d(torch.ones(1, 1, 3000, 3000), 300, stride=1)",
])
def test_oversized_windows_are_refused_before_allocation(expression: str) -> None:
    result = run(f"{SETUP}value = {expression}\n", "<hostile>")
    assert result.error is not None
    assert result.error.type == "MemoryError"
    assert "over gradcli's memory limit" in result.error.message
