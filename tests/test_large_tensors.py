"""Large tensors: native float32 kernels past a size, gradients summed and stolen in place
without aliasing anything a user or the graph can see, and the allocator settings."""

from __future__ import annotations

import numpy as np
import pytest

from gradcli.aten import ops
from gradcli.autodiff import engine
from gradcli.autodiff.tensor import leaf
from gradcli.base import allocator
from gradcli.torch import functions as api

F32 = np.float32
BIG = (300, 300)  # 90000 elements: past NATIVE_FLOAT32_FROM, and past numpy's 256 KiB
# threshold for eliding temporaries


def ulps(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32)).max())


def exact(fn, x: np.ndarray) -> np.ndarray:
    return fn(x.astype(np.float64)).astype(F32)


@pytest.fixture
def x_big():
    return np.random.default_rng(7).uniform(0.1, 3.0, BIG).astype(F32)


def test_small_float32_is_correctly_rounded():
    # numpy's own float32 exp prints 806.8383 here; rounded once from float64, 806.8384.
    x = np.array([6.6931233406066895], F32)
    assert np.exp(x)[0] != exact(np.exp, x)[0]
    out = api.exp(leaf(x))
    assert out.array.dtype == F32 and out.array[0] == exact(np.exp, x)[0]
    assert repr(out) == "tensor([806.8384])"


def test_just_below_the_threshold_is_exact():
    n = ops.NATIVE_FLOAT32_FROM - 1
    x = np.random.default_rng(1).uniform(-3, 3, n).astype(F32)
    for name, fn in (("exp", np.exp), ("sin", np.sin), ("tanh", np.tanh)):
        out = getattr(api, name)(leaf(x)).array
        assert np.array_equal(out, exact(fn, x)), name


@pytest.mark.parametrize(
    "name, fn, bound",
    [("exp", np.exp, 2), ("log", np.log, 4), ("sin", np.sin, 1), ("cos", np.cos, 1),
     ("tanh", np.tanh, 1)],
)
def test_large_float32_is_native_and_close(x_big, name, fn, bound):
    out = getattr(api, name)(leaf(x_big, requires_grad=True))
    assert out.array.dtype == F32 and out.array.shape == BIG
    assert np.array_equal(out.array, fn(x_big))
    assert ulps(out.array, exact(fn, x_big)) <= bound


def test_large_float32_without_simd_kernel_stays_exact(x_big):
    # expm1 and log1p have no vectorised float32 kernel: the exact route costs little.
    for name, fn in (("expm1", np.expm1), ("log1p", np.log1p)):
        assert np.array_equal(getattr(api, name)(leaf(x_big)).array, exact(fn, x_big))


def test_large_float64_unchanged(x_big):
    x = x_big.astype(np.float64)
    assert np.array_equal(api.exp(leaf(x)).array, np.exp(x))


def test_tanh_backward_values_unchanged(x_big):
    t = leaf(x_big, requires_grad=True)
    y = api.tanh(t)
    api.backward(api.sum(y))
    expected = np.ones(BIG, F32) * (1 - y.array * y.array)
    assert np.array_equal(t.grad.array, expected)
    assert t.grad.array.dtype == F32


def test_repeated_input_sums_in_place_without_touching_saved_values(x_big):
    # x reaches the loss three ways: the engine sums three gradients into one buffer.
    x = leaf(x_big, requires_grad=True)
    s, e = api.sin(x), api.exp(x)
    s_before, e_before = s.array.copy(), e.array.copy()
    loss = api.sum(api.add(api.mul(s, e), api.pow(x, 2)))
    api.backward(loss, retain_graph=True)
    first = x.grad.array.copy()
    expected = (np.cos(x_big) * e_before + s_before * e_before) + 2 * x_big
    np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-5)
    assert np.array_equal(s.array, s_before) and np.array_equal(e.array, e_before)
    api.backward(loss)  # the retained graph gives the same gradients, added to .grad
    np.testing.assert_array_equal(x.grad.array, first + first)


def test_shared_gradient_is_never_stolen_twice(x_big):
    # add passes one gradient object to both inputs: each .grad must be its own array.
    a = leaf(x_big.copy(), requires_grad=True)
    b = leaf(x_big.copy(), requires_grad=True)
    g = leaf(np.full(BIG, 2.0, F32))
    api.backward(api.add(a, b), g)
    assert a.grad.array is not b.grad.array
    assert not np.shares_memory(a.grad.array, b.grad.array)
    assert not np.shares_memory(a.grad.array, g.array)
    a.grad.array += 1
    assert (b.grad.array == 2).all() and (g.array == 2).all()


def test_unshared_gradient_becomes_grad_without_copy(monkeypatch, x_big):
    seen = []
    original = engine._owned
    monkeypatch.setattr(engine, "_owned",
                        lambda grad, dtype: seen.append(1) or original(grad, dtype))
    w = leaf(x_big, requires_grad=True)
    inputs = leaf(np.ones((4, BIG[0]), F32))
    api.backward(api.sum(api.matmul(inputs, w)))
    assert seen == []  # the matmul's product was taken as it is
    np.testing.assert_array_equal(w.grad.array, np.full(BIG, 4.0, F32))


def test_user_gradient_and_saved_tensor_are_copied(x_big):
    x = leaf(x_big, requires_grad=True)
    y = api.mul(x, 1.0)
    g = leaf(np.full(BIG, 3.0, F32))
    api.backward(y, g)
    assert not np.shares_memory(x.grad.array, g.array)
    x.grad.array[...] = 0
    assert (g.array == 3).all()


def test_allocator_tuning_is_idempotent_and_guarded(monkeypatch):
    first = allocator.tune()
    assert allocator.tune() is first
    monkeypatch.setattr(allocator, "_tuned", [])
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.tune() is False


def test_pow_backward_graph_keeps_pytorchs_nodes():
    # With create_graph the gradient's graph is PyTorch's: grad * (2 * self.pow(1)).
    x = api.tensor([1.5, -2.0], requires_grad=True)
    (g,) = api.autograd_grad(api.sum(api.pow(x, 2)), x, create_graph=True)
    np.testing.assert_array_equal(g.array, np.array([3.0, -4.0], F32))
    assert g.grad_fn.name() == "MulBackward0"
    inner = [fn for fn, _ in g.grad_fn.next_functions
             if fn is not None and fn.name() == "MulBackward0"]
    assert inner, "exponent * self.pow(1) is a MulBackward0"
    assert any(f is not None and f.name() == "PowBackward0" for f, _ in inner[0].next_functions)
