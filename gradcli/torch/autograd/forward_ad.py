"""torch.autograd.forward_ad (the machinery is gradcli/torch/autograd/forward_mode.py)."""

from gradcli.torch.autograd.forward_mode import MEMBERS

__all__ = ["MEMBERS"]
