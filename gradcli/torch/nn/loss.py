"""Loss modules (torch/nn/modules/loss.py): each stores its options and calls F.*."""

from __future__ import annotations

from gradcli.torch import functions as api
from gradcli.torch.nn import functional as NF
from gradcli.torch.nn.module import Module


class _Loss(Module):
    _program_attributes_ = frozenset({"reduction"})

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    _program_attributes_ = frozenset({"weight"})

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


def _legacy_reduction(size_average, reduce) -> str:
    # torch.nn._reduction.legacy_get_string (its deprecation warning aside)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


class MSELoss(_Loss):
    def forward(self, input, target):
        return api.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    def forward(self, input, target):
        return api.l1_loss(input, target, reduction=self.reduction)


class BCELoss(_WeightedLoss):
    def forward(self, input, target):
        return api.binary_cross_entropy(input, target, weight=self.weight,
                                        reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    _program_attributes_ = frozenset({"weight", "pos_weight"})

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return NF.binary_cross_entropy_with_logits(
            input, target, self.weight, pos_weight=self.pos_weight, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    _program_attributes_ = frozenset({"ignore_index"})

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return api.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                            reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    _program_attributes_ = frozenset({"ignore_index", "label_smoothing"})

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return api.cross_entropy(input, target, weight=self.weight,
                                 ignore_index=self.ignore_index, reduction=self.reduction,
                                 label_smoothing=self.label_smoothing)
