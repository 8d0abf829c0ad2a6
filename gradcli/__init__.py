"""gradcli: PyTorch's autograd answers for small tensor programs, without PyTorch."""

from gradcli.base.version import __version__  # noqa: F401 - gradcli.__version__


def load_ipython_extension(ipython):
    """`%load_ext gradcli` in IPython/Jupyter: the `%%gradcli` cell magic (gradcli.ipython)."""
    from gradcli.ipython import load_ipython_extension as load

    load(ipython)
