"""--trace on hooks and custom Functions (issue 14, item 7), checked line by line.

A hook that replaced a gradient is shown where it fired, with the line that registered
it; a custom Function's node shows the program's backward as its local rule. (The
program defines its Function class itself.)
"""

from __future__ import annotations

from gradcli.explain.tracer import Tracer
from gradcli.runtime.interpreter import run
from gradcli.views.trace import render_trace


def traced(source: str, bindings=None) -> list[str]:
    tracer = Tracer(source)
    result = run(source, "p.expr", bindings=bindings, observer=tracer)
    assert result.error is None, result.error
    return [line.plain for trace in tracer.traces for line in render_trace(trace)]


def test_hook_on_a_leaf_is_shown_where_it_fires():
    lines = traced(
        "x = torch.tensor([1.0, -2.0], requires_grad=True)\n"
        "x.register_hook(torch.neg)\n"
        "(x * 2).sum().backward()\n")
    at = lines.index("  [3] AccumulateGrad · x")
    assert lines[at + 1:at + 3] == [
        "      hook      at line 2 changed the gradient: [2., 2.] → [-2., -2.]",
        "      writes    x.grad = [-2., -2.]  (was None)",
    ]


def test_hook_on_a_non_leaf_shows_the_gradient_before_and_after():
    lines = traced(
        "x = torch.tensor([0.5, 1.5], requires_grad=True)\n"
        "y = x.exp()\n"
        "y.register_hook(torch.square)\n"
        "z = (y * 3).sum()\n"
        "z.backward()\n")
    at = lines.index("  [3] ExpBackward0 · y = x.exp() · line 2")
    assert lines[at + 1:at + 4] == [
        "      grad in   ∂z/∂y = [3., 3.]",
        "      hook      at line 3 changed the gradient: [3., 3.] → [9., 9.]",
        "      rule      exponential: its own derivative, from the saved result",
    ]


def test_hook_returning_none_is_not_a_change():
    lines = traced(
        "x = torch.tensor([1.0], requires_grad=True)\n"
        "x.register_hook(print)\n"
        "(x * 2).sum().backward()\n")
    assert not any("hook" in line for line in lines)


EXP = """\
class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result

"""
OFFSET = EXP.count("\n")


def test_custom_function_node_shows_the_user_backward():
    lines = traced(
        EXP + "x = torch.tensor([1.0, 2.0], requires_grad=True)\n"
        "y = Exp.apply(x)\n"
        "z = (y * 2).sum()\n"
        "z.backward()\n")
    line = 8  # where the program defines backward (its decorator line, as CPython counts)
    at = lines.index(f"  [3] ExpBackward · y = Exp.apply(x) · line {OFFSET + 2}")
    assert lines[at + 1:at + 6] == [
        "      grad in   ∂z/∂y = [2., 2.]",
        f"      rule      user-defined backward (Exp.backward, line {line})",
        "      sends     grad_x = Exp.backward(ctx, grad)[0] = [5.4366, 14.7781]",
        "                  → x.grad",
        "      saved     8 bytes, freed now",
    ]
    assert f"                  → ExpBackward (y = Exp.apply(x), line {OFFSET + 2})" in lines
