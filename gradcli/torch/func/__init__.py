"""torch.func: function transforms (see transforms.py)."""

from gradcli.torch.func.transforms import MEMBERS

__all__ = ["MEMBERS"]
