"""torch.func: function transforms (see transforms.py) and functional_call."""

from gradcli.torch.func.functional_call import functional_call
from gradcli.torch.func.transforms import MEMBERS

MEMBERS["functional_call"] = functional_call

__all__ = ["MEMBERS"]
