"""torch.autograd.forward_ad (filled in by gradcli/autodiff/forward.py)."""

MEMBERS: dict = {}
