"""The surface added for the tutorials (nn.Flatten, torch.func.functional_call,
torch.movedim/moveaxis/diag, set/get_default_device) keeps the sandbox's promise: each
escape attempt through it ends in the error Python gives for a missing attribute, at its
line, with nothing of the host printed."""

from __future__ import annotations

import pytest

from gradcli.runtime.interpreter import run
from tests.sandbox_escapes import assert_escape_refused

ESCAPES = [
    "torch.func.functional_call.__globals__",
    "torch.func.functional_call.__code__",
    "torch.movedim.__globals__",
    "torch.diag.__closure__",
    "torch.set_default_device.__globals__",
    "torch.get_default_device().__class__.__init__.__globals__",
    "nn.Flatten().__dict__",
    "nn.Flatten().forward.__func__",
    "nn.Flatten.__subclasses__()",
    "nn.Flatten().__class__.__bases__",
    "nn.Flatten()._modules.__class__.__subclasses__",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_escape_through_tutorial_surface_is_refused(expression: str) -> None:
    assert_escape_refused("import torch\nfrom torch import nn\n", expression)


def test_functional_call_restores_the_module_when_the_call_fails() -> None:
    source = (
        "import torch\nfrom torch.func import functional_call\n"
        "m = torch.nn.Linear(2, 1)\n"
        "w = m.weight\n"
        "try:\n"
        "    functional_call(m, {'weight': torch.ones(3, 3)}, torch.ones(2))\n"
        "except RuntimeError as e:\n"
        "    print('failed')\n"
        "print(m.weight.shape, m.weight is w, isinstance(m.weight, torch.nn.Parameter))\n"
    )
    result = run(source, "<program>")
    assert result.error is None, result.error
    assert result.stdout.splitlines() == ["failed", "torch.Size([1, 2]) True True"]
