"""The `%%gradcli` cell magic (an optional extra: these tests run only where IPython is
installed)."""

from __future__ import annotations

import pytest

IPython = pytest.importorskip("IPython")


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "gradcli")
    return ip


def test_cell_magic_shows_the_table_and_the_trace(shell, capsys):
    shell.run_cell_magic("gradcli", "--trace --no-color",
                         "x = tensor([1., 2.], requires_grad=True)\n(x * x).sum().backward()\n"
                         "print(x.grad)\n")
    out = capsys.readouterr().out
    assert "backward pass 1 · line 2" in out
    assert "tensor([2., 4.])" in out
    assert "req_grad" in out and "[2., 4.]" in out


def test_cell_magic_reports_errors_without_a_traceback(shell, capsys):
    shell.run_cell_magic("gradcli", "--no-color", "y = tensor([1., 2.], requires_grad=True)\n"
                                                  "y.backward()\n")
    captured = capsys.readouterr()
    assert "<string>:2:1: RuntimeError: grad can be implicitly created only for scalar " \
           "outputs" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_cell_magic_usage_errors(shell, capsys):
    shell.run_cell_magic("gradcli", "--format nope", "x = 1\n")
    assert "Invalid value for '--format'" in capsys.readouterr().err
