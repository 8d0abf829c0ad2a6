"""The normalisation, embedding, container and torch.nn.utils surface keeps the sandbox's
promise: each escape attempt through it ends in the error Python gives for a missing
attribute, at its line, with nothing of the host printed."""

from __future__ import annotations

import pytest

from gradcli.runtime.interpreter import run

ESCAPES = [
    "nn.LayerNorm(3).__dict__",
    "nn.LayerNorm(3).forward.__func__",
    "nn.BatchNorm1d(3).running_mean.__class__.__init__",
    "nn.BatchNorm2d.__subclasses__()",
    "nn.BatchNorm1d(2).__class__.__bases__",
    "nn.GroupNorm(1, 2).reset_parameters.__globals__",
    "nn.Embedding(3, 2).__class__.__mro__",
    "nn.Embedding.from_pretrained.__globals__",
    "nn.Embedding.from_pretrained.__code__",
    "nn.ModuleDict()._modules.__class__.__subclasses__",
    "nn.ModuleDict({'a': nn.ReLU()}).keys().mapping",
    "nn.ModuleDict().update.__self__.__class__",
    "nn.ParameterList()._size.__class__.__subclasses__",
    "nn.ParameterList().append.__func__",
    "nn.ParameterDict()._keys.__class__.__subclasses__",
    "nn.ParameterDict().items.__globals__",
    "nn.utils.clip_grad_norm_.__globals__",
    "nn.utils.clip_grad_value_.__code__",
    "torch.nn.utils.parameters_to_vector.__closure__",
    "torch.nn.utils.__dict__",
    "nn.functional.layer_norm.__globals__",
    "nn.functional.batch_norm.__defaults__",
    "nn.functional.embedding.__kwdefaults__",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_escape_through_norm_surface_is_refused(expression: str) -> None:
    source = f"import torch\nfrom torch import nn\nvalue = {expression}\nprint(value)\n"
    result = run(source, "<hostile>")
    assert result.error is not None, expression
    assert result.error.type in ("AttributeError", "NameError"), result.error
    assert result.error.line == 3
    assert result.stdout == ""
    assert "/" not in result.error.message  # no host path or object in the message


def test_torch_nn_utils_imports_as_a_module_and_by_name() -> None:
    source = (
        "import torch.nn.utils\n"
        "from torch.nn.utils import clip_grad_norm_\n"
        "from torch.nn import utils\n"
        "w = torch.tensor([3.0, 4.0], requires_grad=True)\n"
        "(w * w).sum().backward()\n"
        "print(clip_grad_norm_([w], 1.0), utils.clip_grad_norm_ is clip_grad_norm_)\n"
    )
    result = run(source, "<program>")
    assert result.error is None, result.error
    assert result.stdout.splitlines() == ["tensor(10.) True"]


def test_parameter_list_keeps_other_objects_as_plain_entries() -> None:
    source = (
        "import torch\nfrom torch import nn\n"
        "pl = nn.ParameterList([1, 'a', torch.ones(2)])\n"
        "print(pl)\n"
        "print(len(list(pl.parameters())), pl[0] + 1)\n"
    )
    result = run(source, "<program>")
    assert result.error is None, result.error
    assert result.stdout.splitlines() == [
        "ParameterList(",
        "    (0): Object of type: int",
        "    (1): Object of type: str",
        "    (2): Parameter containing: [torch.float32 of size 2]",
        ")",
        "1 2",
    ]
