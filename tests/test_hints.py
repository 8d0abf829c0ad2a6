"""gradcli's hints: PyTorch's message is kept, a hint names the variable and the line."""

from gradcli.runtime.interpreter import run


def error_of(program):
    result = run(program, "h.expr")
    assert result.error is not None
    return result.error


def test_inplace_modification_names_variable_and_line():
    error = error_of(
        "x = tensor([1.0, 2.0], requires_grad=True)\na = x.exp()\na.add_(1)\na.sum().backward()\n"
    )
    assert error.message.startswith("one of the variables needed for gradient computation")
    assert error.hint.startswith("'a' (shape (2,)) was modified in place on line 3")


def test_freed_buffers_name_the_backward_call():
    error = error_of(
        "x = tensor([1.0, 2.0], requires_grad=True)\ny = (x * x).sum()\n"
        "y.backward()\ny.backward()\n"
    )
    assert error.message.startswith("Trying to backward through the graph a second time")
    assert "backward() call on line 3" in error.hint


def test_non_scalar_output_is_named():
    error = error_of("x = tensor([1.0, 2.0], requires_grad=True)\nL = x * 3\nL.backward()\n")
    assert error.message == "grad can be implicitly created only for scalar outputs"
    assert error.hint.startswith("L has shape (2,) (2 elements)")


def test_no_hint_where_the_message_is_clear():
    error = error_of("x = tensor([1.0, 2.0]) + tensor([1.0, 2.0, 3.0])\n")
    assert error.hint is None
