"""torch.autograd.graph: saved-tensor hooks (the machinery is gradcli/autodiff/saved.py)."""

from gradcli.autodiff.node import Node
from gradcli.autodiff.saved import save_on_cpu, saved_tensors_hooks

MEMBERS = {
    "saved_tensors_hooks": saved_tensors_hooks,
    "save_on_cpu": save_on_cpu,
    "Node": Node,
}
