"""torch.utils: only torch.utils.data (gradcli.torch.utils.data)."""
