"""torch.autograd.forward_ad (the machinery is gradcli/autodiff/forward.py)."""

from gradcli.autodiff.forward import MEMBERS

__all__ = ["MEMBERS"]
