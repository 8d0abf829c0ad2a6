"""PyTorch's Python-level packages (torch.nn, torch.optim) written over gradcli's tensors.

They are ordinary Python classes working through gradcli.torch.functions, never through the engine,
so a program's own `class Net(nn.Module)` subclasses them directly.
"""
