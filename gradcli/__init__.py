"""gradcli: PyTorch's autograd answers for small tensor programs, without PyTorch."""

__version__ = "0.1.0"
