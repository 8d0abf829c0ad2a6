"""torch.nn for gradcli programs: what `torch.nn`, `torch.nn.init` and the extra
`torch.nn.functional` entries offer (wired into gradcli.sandbox.scope)."""

from __future__ import annotations

from gradcli.torch.activations_more import FUNCTIONAL_MORE as _ACTIVATION_FUNCTIONS
from gradcli.torch.losses_more import FUNCTIONAL_LOSSES
from gradcli.torch.nn import hooks, init  # noqa: F401 - hooks registers its op
from gradcli.torch.nn.activation import (
    Dropout,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from gradcli.torch.nn.activation_more import ACTIVATION_MODULES
from gradcli.torch.nn.containers import ModuleDict, ParameterDict, ParameterList
from gradcli.torch.nn.conv import CONV_MODULES
from gradcli.torch.nn.convolution import conv1d, conv2d
from gradcli.torch.nn.flatten import Flatten
from gradcli.torch.nn.functional import FUNCTIONAL_EXTRA
from gradcli.torch.nn.init import INIT_MEMBERS
from gradcli.torch.nn.linear import Bilinear, Identity, Linear
from gradcli.torch.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from gradcli.torch.nn.loss_more import LOSS_MODULES
from gradcli.torch.nn.module import Module, Parameter, RemovableHandle
from gradcli.torch.nn.modules import ModuleList, Sequential
from gradcli.torch.nn.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    LayerNorm,
    batch_norm,
    group_norm,
    layer_norm,
)
from gradcli.torch.nn.pooling import POOLING_FUNCTIONAL, POOLING_MODULES
from gradcli.torch.nn.sparse import Embedding, embedding

NN_MEMBERS = {
    "Module": Module,
    "Parameter": Parameter,
    "Linear": Linear,
    "Bilinear": Bilinear,
    "Identity": Identity,
    "Flatten": Flatten,
    "Sequential": Sequential,
    "ModuleList": ModuleList,
    "ReLU": ReLU,
    "LeakyReLU": LeakyReLU,
    "Tanh": Tanh,
    "Sigmoid": Sigmoid,
    "Softmax": Softmax,
    "LogSoftmax": LogSoftmax,
    "Dropout": Dropout,
    "MSELoss": MSELoss,
    "L1Loss": L1Loss,
    "BCELoss": BCELoss,
    "BCEWithLogitsLoss": BCEWithLogitsLoss,
    "CrossEntropyLoss": CrossEntropyLoss,
    "NLLLoss": NLLLoss,
    **CONV_MODULES,
    **POOLING_MODULES,
    **ACTIVATION_MODULES,
    **LOSS_MODULES,
    "BatchNorm1d": BatchNorm1d,
    "BatchNorm2d": BatchNorm2d,
    "LayerNorm": LayerNorm,
    "Embedding": Embedding,
    "GroupNorm": GroupNorm,
    "ModuleDict": ModuleDict,
    "ParameterDict": ParameterDict,
    "ParameterList": ParameterList,
}
# F.conv1d, F.conv2d and the pooling functions (gradcli/torch/nn/convolution.py, pooling.py)
FUNCTIONAL_EXTRA.update(conv1d=conv1d, conv2d=conv2d, **POOLING_FUNCTIONAL)
FUNCTIONAL_MORE = {**_ACTIVATION_FUNCTIONS, **FUNCTIONAL_LOSSES}

FUNCTIONAL_EXTRA.update({
    "batch_norm": batch_norm,
    "embedding": embedding,
    "group_norm": group_norm,
    "layer_norm": layer_norm,
})

# Where PyTorch defines each class: printed classes and torch.typename() show these paths.
_TORCH_MODULE_OF = {
    "Module": "torch.nn.modules.module", "Parameter": "torch.nn.parameter",
    "Linear": "torch.nn.modules.linear", "Bilinear": "torch.nn.modules.linear",
    "Identity": "torch.nn.modules.linear", "Sequential": "torch.nn.modules.container",
    "ModuleList": "torch.nn.modules.container", "Dropout": "torch.nn.modules.dropout",
    "Flatten": "torch.nn.modules.flatten",
    **{name: "torch.nn.modules.conv" for name in CONV_MODULES},
    **{name: "torch.nn.modules.pooling" for name in POOLING_MODULES},
    "CosineSimilarity": "torch.nn.modules.distance",
    "PairwiseDistance": "torch.nn.modules.distance",
    "BatchNorm1d": "torch.nn.modules.batchnorm", "BatchNorm2d": "torch.nn.modules.batchnorm",
    "LayerNorm": "torch.nn.modules.normalization", "GroupNorm": "torch.nn.modules.normalization",
    "Embedding": "torch.nn.modules.sparse",
    "ModuleDict": "torch.nn.modules.container", "ParameterDict": "torch.nn.modules.container",
    "ParameterList": "torch.nn.modules.container",
}
for _name, _cls in NN_MEMBERS.items():
    _cls.__module__ = _TORCH_MODULE_OF.get(
        _name, "torch.nn.modules.loss" if _name.endswith("Loss") else "torch.nn.modules.activation")
RemovableHandle.__module__ = "torch.utils.hooks"

__all__ = ["FUNCTIONAL_EXTRA", "FUNCTIONAL_MORE", "INIT_MEMBERS", "NN_MEMBERS",
           "RemovableHandle", "init", *NN_MEMBERS]
