"""PyTorch's CPU random numbers (placeholder docstring, completed below)."""
