"""The backward engine: whole expressions, accumulation, freed graphs, leaves and
non-leaves, broadcasting, gradient dtypes, deep graphs and grad mode.

Expected numbers come from PyTorch 2.13 (recorded here as literals; torch is not
imported by the tests).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradcli.aten import ops
from gradcli.autodiff import engine
from gradcli.autodiff.node import Node
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base import dtypes as D
from gradcli.base.errors import ProgramError
from gradcli.runtime.interpreter import run
from gradcli.torch import functions as api
from gradcli.torch.autograd.grad_mode import enable_grad, no_grad, set_grad_enabled

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


def scalar(value, dtype=D.float64, requires_grad=True) -> Tensor:
    return api.tensor(value, dtype=dtype, requires_grad=requires_grad)


def bound(result) -> dict:
    """Names bound to tensors at the end of an interpreter run."""
    assert result.error is None, result.error
    return {record.name: record.tensor for record in result.tensors}


# ----- whole expressions (micrograd's sanity checks; values from PyTorch) ---------------------


def test_micrograd_sanity_check():
    x = scalar(-4.0)
    z = api.add(api.add(api.mul(2, x), 2), x)
    q = api.add(api.relu(z), api.mul(z, x))
    h = api.relu(api.mul(z, z))
    y = api.add(api.add(h, q), api.mul(q, x))
    engine.backward(y)
    assert float(y.array) == -20.0
    assert float(x.grad.array) == 46.0


def _more_ops(a, b):
    c = api.add(a, b)
    d = api.add(api.mul(a, b), api.pow(b, 3))
    c = api.add(api.add(c, c), 1)
    c = api.add(api.add(api.add(c, 1), c), api.neg(a))
    d = api.add(api.add(d, api.mul(d, 2)), api.relu(api.add(b, a)))
    d = api.add(api.add(d, api.mul(3, d)), api.relu(api.sub(b, a)))
    e = api.sub(c, d)
    f = api.pow(e, 2)
    g = api.div(f, 2.0)
    return api.add(g, api.div(10.0, f))


def test_micrograd_more_ops():
    a, b = scalar(-4.0), scalar(2.0)
    g = _more_ops(a, b)
    engine.backward(g)
    assert math.isclose(float(g.array), 24.70408163265306, rel_tol=1e-12)
    assert math.isclose(float(a.grad.array), 138.83381924198252, rel_tol=1e-12)
    assert math.isclose(float(b.grad.array), 645.5772594752186, rel_tol=1e-12)


def test_micrograd_more_ops_through_the_language():
    """The same program with in-place `+=` on non-leaves, as PyTorch runs it."""
    source = """
a = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
b = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
g.backward()
"""
    t = bound(run(source, "<test>"))
    assert math.isclose(float(t["g"].array), 24.70408163265306, rel_tol=1e-12)
    assert math.isclose(float(t["a"].grad.array), 138.83381924198252, rel_tol=1e-12)
    assert math.isclose(float(t["b"].grad.array), 645.5772594752186, rel_tol=1e-12)
    assert t["g"].grad_fn.name() == "AddBackward0"
    assert t["c"].grad_fn.name() == "AddBackward0"
    assert t["f"].grad_fn.name() == "PowBackward0"


def test_small_mlp_against_closed_form():
    """tanh layer + mse: the engine's gradients equal the hand-derived ones."""
    rng = np.random.default_rng(3)
    xv, wv, bv, yv = (rng.standard_normal(s) for s in ((4, 3), (2, 3), (2,), (4, 2)))
    x = api.tensor(xv.tolist(), dtype=D.float64)
    w = api.tensor(wv.tolist(), dtype=D.float64, requires_grad=True)
    b = api.tensor(bv.tolist(), dtype=D.float64, requires_grad=True)
    h = api.tanh(api.linear(x, w, b))
    loss = api.mse_loss(h, api.tensor(yv.tolist(), dtype=D.float64))
    engine.backward(loss)
    hv = np.tanh(xv @ wv.T + bv)
    dpre = 2 * (hv - yv) / hv.size * (1 - hv**2)
    np.testing.assert_allclose(w.grad.array, dpre.T @ xv, rtol=1e-12)
    np.testing.assert_allclose(b.grad.array, dpre.sum(0), rtol=1e-12)
    assert loss.grad_fn.name() == "MseLossBackward0"


def test_shared_subexpression_sums_both_paths():
    x = scalar(3.0)
    y = api.mul(x, x)  # dy/dx = 2x through two edges to the same leaf
    z = api.add(y, api.mul(y, x))  # x^2 + x^3
    engine.backward(z)
    assert float(x.grad.array) == 2 * 3 + 3 * 9


# ----- accumulation and freed graphs ---------------------------------------------------------


def test_gradients_accumulate_across_backward_calls():
    a = api.tensor([1.0, 2.0], requires_grad=True)
    engine.backward(api.sum(api.mul(a, a)))
    np.testing.assert_array_equal(a.grad.array, [2.0, 4.0])
    first = a.grad
    engine.backward(api.sum(api.mul(a, 3.0)))
    np.testing.assert_array_equal(a.grad.array, [5.0, 7.0])
    assert a.grad is first, "PyTorch accumulates into the existing .grad in place"


def test_second_backward_without_retain_graph_fails_with_pytorch_message():
    a = api.tensor([1.0, 2.0], requires_grad=True)
    y = api.sum(api.mul(a, a))
    engine.backward(y)
    with pytest.raises(ProgramError) as info:
        engine.backward(y)
    assert info.value.type_name == "RuntimeError"
    assert info.value.message == FREED
    np.testing.assert_array_equal(a.grad.array, [2.0, 4.0])


def test_retain_graph_allows_a_second_backward():
    a = api.tensor([1.0, 2.0], requires_grad=True)
    y = api.sum(api.mul(a, a))
    engine.backward(y, retain_graph=True)
    engine.backward(y, retain_graph=True)
    np.testing.assert_array_equal(a.grad.array, [4.0, 8.0])
    engine.backward(y)  # the last one frees
    np.testing.assert_array_equal(a.grad.array, [6.0, 12.0])
    with pytest.raises(ProgramError, match=r"^Trying to backward through the graph a second"):
        engine.backward(y)


def test_graph_that_saves_nothing_can_backward_twice():
    a = api.tensor([1.0, 2.0], requires_grad=True)
    b = api.tensor([3.0, 4.0], requires_grad=True)
    y = api.sum(api.add(a, b))
    engine.backward(y)
    engine.backward(y)
    np.testing.assert_array_equal(a.grad.array, [2.0, 2.0])
    np.testing.assert_array_equal(b.grad.array, [2.0, 2.0])


def test_freed_message_through_the_language():
    source = (
        "a = torch.tensor([1.0, 2.0], requires_grad=True)\n"
        "y = (a * a).sum()\ny.backward()\ny.backward()\n"
    )
    result = run(source, "<test>")
    assert result.error is not None
    assert (result.error.type, result.error.message, result.error.line) == (
        "RuntimeError",
        FREED,
        4,
    )


def test_backward_error_messages():
    a = api.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        ProgramError, match="^grad can be implicitly created only for scalar outputs$"
    ):
        engine.backward(api.mul(a, 2))
    with pytest.raises(
        ProgramError,
        match="^element 0 of tensors does not require grad and does not have a grad_fn$",
    ):
        engine.backward(api.sum(api.tensor([1.0])))


def test_backward_with_explicit_gradient():
    a = api.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = api.mul(a, 2)
    engine.backward(y, api.tensor([1.0, 0.1, 0.01]))
    np.testing.assert_allclose(a.grad.array, [2.0, 0.2, 0.02], rtol=1e-6)


def test_backward_of_a_leaf_accumulates_into_itself():
    a = api.tensor(2.0, requires_grad=True)
    engine.backward(a)
    assert float(a.grad.array) == 1.0


# ----- leaves and non-leaves -----------------------------------------------------------------


def test_non_leaf_grad_stays_none_without_retain_grad():
    a = api.tensor([1.0, 2.0], requires_grad=True)
    h = api.mul(a, 3.0)
    y = api.sum(h)
    engine.backward(y)
    assert h.grad is None and not h.is_leaf and h.retains_grad is False
    assert y.grad is None
    np.testing.assert_array_equal(a.grad.array, [3.0, 3.0])


def test_retain_grad_keeps_the_non_leaf_gradient():
    a = api.tensor([1.0, 2.0], requires_grad=True)
    h = api.mul(a, 3.0)
    api.retain_grad(h)
    y = api.sum(api.mul(h, h))
    engine.backward(y)
    assert h.retains_grad is True
    np.testing.assert_array_equal(h.grad.array, [6.0, 12.0])
    np.testing.assert_array_equal(a.grad.array, [18.0, 36.0])


def test_retain_grad_and_non_leaf_warning_through_the_language():
    source = """a = torch.tensor([1.0, 2.0], requires_grad=True)
h = a * 3
k = a * 4
h.retain_grad()
y = (h + k).sum()
y.backward()
g = k.grad
"""
    result = run(source, "<test>")
    t = bound(result)
    np.testing.assert_array_equal(t["h"].grad.array, [1.0, 1.0])
    assert t["k"].grad is None
    assert [w.line for w in result.warnings] == [7]
    assert "is not a leaf Tensor is being accessed" in result.warnings[0].message


def test_binding_one_tensor_to_two_names():
    """`r = x` binds the same object: PyTorch shows it twice, one leaf, no new node."""
    source = "x = torch.ones(2, 2, requires_grad=True)\nr = x\ns = x.float()\n"
    t = bound(run(source, "<test>"))
    assert t["r"] is t["x"] and t["s"] is t["x"]
    assert t["r"].is_leaf and t["r"].grad_fn is None


def test_leaf_flags():
    a = api.tensor([1.0], requires_grad=True)
    c = api.tensor([1.0])
    y = api.mul(a, c)
    assert a.is_leaf and c.is_leaf and not y.is_leaf
    assert y.requires_grad and not c.requires_grad
    assert api.mul(c, c).is_leaf, "a result that needs no grad is a leaf"
    d = api.detach(y)
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None


# ----- broadcasting and dtypes --------------------------------------------------------------


def test_broadcast_gradient_is_summed_back_to_the_leaf_shape():
    a = api.tensor([[1.0], [2.0]], requires_grad=True)  # (2, 1)
    b = api.tensor([10.0, 20.0, 30.0], requires_grad=True)  # (3,)
    y = api.add(a, b)
    assert y.shape == (2, 3)
    engine.backward(api.sum(api.mul(y, api.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))))
    assert a.grad.shape == (2, 1) and b.grad.shape == (3,)
    np.testing.assert_array_equal(a.grad.array, [[6.0], [15.0]])
    np.testing.assert_array_equal(b.grad.array, [5.0, 7.0, 9.0])


def test_broadcast_against_0d_and_keepdim_shapes():
    a = api.tensor([[1.0, 2.0, 3.0]], requires_grad=True)  # (1, 3)
    s = api.tensor(2.0, requires_grad=True)  # ()
    y = api.mul(api.expand(a, 4, 3), s)
    engine.backward(api.sum(y))
    assert a.grad.shape == (1, 3) and s.grad.shape == ()
    np.testing.assert_array_equal(a.grad.array, [[8.0, 8.0, 8.0]])
    assert float(s.grad.array) == 24.0


def test_grad_dtype_follows_each_leaf():
    x = api.ones(3, requires_grad=True)  # float32
    b = api.tensor(2.0, dtype=D.float64, requires_grad=True)  # float64, 0-d
    r = api.mul(x, b)
    assert r.dtype is D.float32, "a 0-d tensor does not promote a dimensioned float32"
    engine.backward(api.sum(r))
    assert x.grad.dtype is D.float32 and x.grad.array.dtype == np.float32
    assert b.grad.dtype is D.float64 and b.grad.array.dtype == np.float64
    assert float(b.grad.array) == 3.0
    np.testing.assert_array_equal(x.grad.array, [2.0, 2.0, 2.0])


def test_grad_dtype_through_to_copy():
    x = api.tensor([1.5, 2.5], requires_grad=True)  # float32
    y = api.sum(api.mul(api.double(x), api.tensor([1.0, 3.0], dtype=D.float64)))
    assert y.dtype is D.float64
    engine.backward(y)
    assert x.grad.array.dtype == np.float32
    np.testing.assert_array_equal(x.grad.array, [1.0, 3.0])


# ----- deep graphs ---------------------------------------------------------------------------


def test_100000_node_chain_needs_no_recursion():
    x = api.tensor(1.0, dtype=D.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = api.mul(y, 1.0)
    engine.backward(y)
    assert float(x.grad.array) == 1.0


def test_deep_chain_through_the_language():
    source = """x = torch.tensor(2.0, requires_grad=True)
y = x
for i in range(100000):
    y = y * 1.0 + 0.0
y.backward()
"""
    t = bound(run(source, "<test>"))
    assert float(t["x"].grad.array) == 1.0
    assert t["y"].grad_fn.name() == "AddBackward0"


# ----- grad mode -----------------------------------------------------------------------------


@pytest.fixture
def count_nodes(monkeypatch):
    created = []

    class CountingNode(Node):
        __slots__ = ()

        def __init__(self, *args):
            created.append(1)
            super().__init__(*args)

    monkeypatch.setattr(ops, "Node", CountingNode)
    return created


def test_no_grad_records_nothing(count_nodes):
    a = api.tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert GradMode.enabled is False
        y = api.sum(api.exp(api.mul(a, a)))
        v = api.getitem(a, 0)
        w = api.reshape(a, (2, 1))
    assert GradMode.enabled is True
    for t in (y, v, w):
        assert t.grad_fn is None and t.requires_grad is False and t.is_leaf
    assert count_nodes == []
    z = api.mul(a, a)  # grad mode is back: recorded
    assert z.grad_fn is not None and count_nodes == [1]


def test_grad_mode_contexts_nest():
    a = api.tensor([1.0], requires_grad=True)
    with no_grad():
        with enable_grad():
            inner = api.mul(a, 2)
        outer = api.mul(a, 2)
        with set_grad_enabled(True):
            again = api.mul(a, 2)
    assert inner.requires_grad and again.requires_grad and not outer.requires_grad


def test_no_grad_in_the_language_records_nothing():
    source = """a = torch.tensor([1.0, 2.0], requires_grad=True)
with torch.no_grad():
    b = a * 2
    c = b.sum()
d = (a * 2).sum()
"""
    t = bound(run(source, "<test>"))
    for name in ("b", "c"):
        assert t[name].grad_fn is None and not t[name].requires_grad
    assert t["d"].grad_fn.name() == "SumBackward0"


INPLACE_MESSAGE = (
    "one of the variables needed for gradient computation has been modified by an inplace "
    "operation: [torch.FloatTensor [2]], which is output 0 of Mul, is at version 1; expected "
    "version 0 instead. Hint: enable anomaly detection to find the operation that failed to "
    "compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
)


def _modified_saved_input():
    a = api.tensor([1.0, 2.0], requires_grad=True)
    h = api.mul(a, 2)
    z = api.sin(h)  # sin saves its input h
    api.mul_(h, 2)
    return a, z


def test_inplace_modification_of_a_saved_input_is_detected():
    a, z = _modified_saved_input()
    with pytest.raises(ProgramError, match="modified by an inplace operation") as info:
        engine.backward(api.sum(z))
    assert info.value.type_name == "RuntimeError"
    assert a.grad is None


def test_inplace_modification_message_is_pytorchs():
    a, z = _modified_saved_input()
    with pytest.raises(ProgramError) as info:
        engine.backward(api.sum(z))
    assert info.value.message == INPLACE_MESSAGE


def test_inplace_modification_of_a_saved_result_is_detected():
    a = api.tensor([1.0, 2.0], requires_grad=True)
    h = api.mul(a, 2)
    z = api.exp(h)  # exp saves its result z
    api.mul_(z, 2)
    with pytest.raises(ProgramError, match="modified by an inplace operation"):
        engine.backward(api.sum(z))


def test_expression_statement_with_a_tensor_value():
    """`h.mul_(3)` and `h + 1` as statements: the value is discarded, never bool()-ed."""
    source = """a = torch.tensor([1.0, 2.0], requires_grad=True)
h = a * 2
h.mul_(3)
h + 1
h.sum().backward()
"""
    t = bound(run(source, "<test>"))
    np.testing.assert_array_equal(t["a"].grad.array, [6.0, 6.0])
    assert t["h"].grad_fn.name() == "MulBackward0"


def test_leaf_inplace_is_refused():
    a = api.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ProgramError) as info:
        api.add_(a, 1)
    assert info.value.message == (
        "a leaf Variable that requires grad is being used in an in-place operation."
    )
    with no_grad():
        api.add_(a, 1)
    np.testing.assert_array_equal(a.array, [2.0, 3.0])


def test_a_leaf_and_its_grad_are_freed_without_the_cycle_collector():
    # The leaf's AccumulateGrad refers to the leaf; the leaf refers back only weakly (as
    # PyTorch's does), so dropping the names frees both at once.
    import gc
    import weakref

    enabled = gc.isenabled()
    gc.disable()
    try:
        w = api.ones(100, 100, requires_grad=True)
        loss = api.sum(api.mul(w, w))
        loss.backward()
        first = w.grad_fn, loss.grad_fn.next_functions[0][0].next_functions[0][0]
        assert first[0] is None and first[1] is w.accumulator  # one node per leaf
        gone = weakref.ref(w), weakref.ref(w.grad)
        del w, loss, first
        assert gone[0]() is None and gone[1]() is None
    finally:
        if enabled:
            gc.enable()


# ----- the engine's own buffers ----------------------------------------------------------


def test_gradients_summed_in_place_never_touch_a_callers_array():
    # y feeds three nodes, so its gradient is summed from three contributions; the first
    # is the caller's own `gradient` array (AddBackward passes it through unchanged).
    x = api.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = api.mul(x, 2.0)
    z = api.add(api.add(y, y), y)
    seed = api.tensor([1.0, 10.0, 100.0])
    api.backward(z, seed, retain_graph=True)
    assert seed.array.tolist() == [1.0, 10.0, 100.0]
    assert x.grad.array.tolist() == [6.0, 60.0, 600.0]
    first = x.grad.array.copy()
    api.backward(z, seed)  # accumulates into .grad; the first result must not alias it
    assert first.tolist() == [6.0, 60.0, 600.0]
    assert x.grad.array.tolist() == [12.0, 120.0, 1200.0]


def test_a_captured_gradient_is_not_the_engines_buffer():
    x = api.tensor([1.0, 2.0], requires_grad=True)
    y = api.mul(x, 3.0)
    api.retain_grad(y)
    loss = api.sum(api.add(api.add(y, y), y))
    (gx,) = engine.grad(loss, [x], retain_graph=True)
    api.backward(loss)
    assert gx.array.tolist() == [9.0, 9.0]
    assert x.grad.array.tolist() == [9.0, 9.0] and y.grad.array.tolist() == [3.0, 3.0]
    assert not np.shares_memory(gx.array, x.grad.array)


def test_a_long_scalar_chain_runs_without_the_queue():
    x = api.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(2000):
        y = api.add(api.mul(y, 1.0001), 0.5)
    api.backward(y)
    assert x.grad.dtype is D.float32
    assert math.isclose(float(x.grad.array), 1.0001**2000, rel_tol=1e-4)
    with pytest.raises(ProgramError, match="second time"):
        api.backward(y)
