"""Batched execution of torch.func: vmap's traced replay and the batched backward pass
(jacrev, jacobian(vectorize=True)) against the per-entry paths they replace.

Each comparison first checks that the batched path really ran (a spy on it), then that
it gives the per-entry values: to the bit for element-wise work, within float32
rounding where a matrix product sums in another order.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.autodiff import batched
from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import ProgramError
from gradcli.torch import functions as api
from gradcli.torch.func import batching, transforms

F32 = np.float32


def t(values, requires_grad=False):
    return Tensor(np.asarray(values, F32), None, requires_grad)


@pytest.fixture
def spy(monkeypatch):
    """Records whether each vmap call ran batched (True) or fell back to the loop."""
    calls: list = []
    original = batching.batched_call

    def recording(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(batching, "batched_call", recording)
    return calls


def loop(fn, *args, in_dims=0):
    """The per-entry reference: fn on each entry, stacked along 0."""
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
    size = next(a.shape[d] for a, d in zip(args, dims, strict=True) if d is not None)
    rows = []
    for b in range(size):
        entry = [a if d is None else Tensor(np.asarray(np.take(a.array, b, axis=d)), a.dtype)
                 for a, d in zip(args, dims, strict=True)]
        rows.append(fn(*entry))
    if isinstance(rows[0], tuple):
        return tuple(np.stack([r[k].array for r in rows]) for k in range(len(rows[0])))
    return np.stack([r.array for r in rows])


# ----- vmap: element-wise functions give the loop's values to the bit ----------------------

UNARY = {
    "exp": api.exp, "log1p_abs": lambda x: api.log1p(api.abs(x)), "sin": api.sin,
    "cos": api.cos, "tanh": api.tanh, "sigmoid": api.sigmoid, "relu": api.relu,
    "neg": api.neg, "square": lambda x: api.mul(x, x), "pow3": lambda x: api.pow(x, 3),
    "scaled": lambda x: api.sub(api.mul(x, 2.5), 1), "rdiv": lambda x: api.div(1.0, api.add(
        api.abs(x), 1)), "clamp": lambda x: api.clamp(x, -0.5, 0.5),
    "sqrt_abs": lambda x: api.sqrt(api.abs(x)), "double": lambda x: api.to(x, "float64"),
}

shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)
finite = st.floats(-3, 3, allow_nan=False, width=32)


@st.composite
def batch_of(draw, extra=()):
    batch = draw(st.integers(2, 5))
    shape = draw(shapes)
    count = int(np.prod((batch,) + shape))
    values = draw(st.lists(finite, min_size=count, max_size=count))
    return t(np.array(values, F32).reshape((batch,) + shape))


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(UNARY)), xs=batch_of())
def test_vmap_of_elementwise_functions_is_the_loop_to_the_bit(name, xs):
    calls = []
    original = batching.batched_call

    def recording(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(result is not None)
        return result

    batching.batched_call = recording
    try:
        got = transforms.vmap(UNARY[name])(xs)
    finally:
        batching.batched_call = original
    assert calls == [True]
    want = loop(UNARY[name], xs)
    assert got.array.dtype == want.dtype
    np.testing.assert_array_equal(got.array, want)


@settings(max_examples=40, deadline=None)
@given(xs=batch_of(), data=st.data())
def test_vmap_of_binary_functions_with_broadcasting(xs, data):
    # The other operand: unbatched, with fewer or as many dimensions as one entry.
    entry = xs.shape[1:]
    tail = entry[data.draw(st.integers(0, len(entry))):]
    other = t(np.asarray(data.draw(st.lists(finite, min_size=int(np.prod(tail)),
                                            max_size=int(np.prod(tail)))), F32).reshape(tail))
    for fn in (api.add, api.mul, api.sub, api.maximum, lambda a, b: api.div(a, api.add(
            api.abs(b), 1))):
        got = transforms.vmap(fn, in_dims=(0, None))(xs, other)
        want = loop(fn, xs, other, in_dims=(0, None))
        np.testing.assert_array_equal(got.array, want)
        got = transforms.vmap(lambda b, a, fn=fn: fn(a, b), in_dims=(None, 0))(other, xs)
        np.testing.assert_array_equal(got.array, want)


def test_vmap_matrix_products_and_reductions(spy):
    rng = np.random.default_rng(1)
    W = t(rng.standard_normal((4, 3)))
    xs = t(rng.standard_normal((6, 3)))
    ms = t(rng.standard_normal((6, 3, 5)))
    cases = [
        (lambda x: api.tanh(api.add(api.matmul(W, x), 1.0)), (xs,), 0),
        (lambda x: api.matmul(x, api.t(W)), (xs,), 0),
        (lambda m: api.matmul(W, m), (ms,), 0),
        (lambda m: api.matmul(api.t(m), m), (ms,), 0),
        (lambda x: api.dot(x, x), (xs,), 0),
        (lambda m, x: api.matmul(x, m), (ms, xs), 0),
        (lambda m: api.sum(m, 1), (ms,), 0),
        (lambda m: api.mean(m, (0, 1), keepdim=True), (ms,), 0),
        (lambda m: api.softmax(m, -1), (ms,), 0),
        (lambda m: api.reshape(api.transpose(m, 0, 1), (-1,)), (ms,), 0),
        (lambda m: api.permute(m, (1, 0)), (ms,), 0),
        (lambda m: api.stack([api.getitem(m, 0), api.getitem(m, 2)], 1), (ms,), 0),
        (lambda m: api.cat([api.getitem(m, 1), api.mul(api.getitem(m, 0), 2)]), (ms,), 0),
        (lambda x: api.unsqueeze(x, 0), (ms,), 2),
    ]
    for fn, args, dim in cases:
        got = transforms.vmap(fn, in_dims=dim)(*args)
        want = loop(fn, *args, in_dims=dim)
        np.testing.assert_allclose(got.array, want, rtol=1e-6, atol=1e-6)
        assert got.array.dtype == want.dtype
    assert spy == [True] * len(cases)


def test_vmap_in_dims_out_dims_and_tuples(spy):
    xs = t(np.arange(24).reshape(2, 3, 4))
    got = transforms.vmap(lambda m: (api.sum(m), api.mul(m, 2)), in_dims=1,
                          out_dims=(0, 2))(xs)
    want_sum = np.stack([xs.array[:, i].sum() for i in range(3)])
    want_double = np.stack([xs.array[:, i] * 2 for i in range(3)], axis=2)
    np.testing.assert_array_equal(got[0].array, want_sum)
    np.testing.assert_array_equal(got[1].array, want_double)
    inner = transforms.vmap(lambda a: api.add(api.mul(a, a), 1))
    nested = transforms.vmap(inner)(xs)
    np.testing.assert_array_equal(nested.array, xs.array * xs.array + 1)
    assert True in spy


def test_functions_the_trace_cannot_stand_for_fall_back_to_the_loop(spy):
    xs = t([[1.0, -2.0], [3.0, 4.0], [-5.0, 0.5]])
    fns = [
        lambda x: api.add(x, api.zeros((2,))),  # a tensor made outside the op table
        lambda x: api.where(api.gt(x, 0), x, 0.0),  # a data-dependent mask in parameters
        lambda x: api.getitem(x, Tensor(np.array([1, 0]))),  # advanced indexing
    ]
    for fn in fns:
        got = transforms.vmap(fn)(xs)
        np.testing.assert_array_equal(got.array, loop(fn, xs))
    assert spy == [False] * len(fns)


def test_tensors_that_require_grad_take_the_loop_and_keep_their_graph(spy):
    xs = t([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = transforms.vmap(lambda x: api.mul(x, x))(xs)
    assert out.grad_fn is not None
    api.backward(api.sum(out))
    np.testing.assert_array_equal(xs.grad.array, 2 * xs.array)
    assert spy == []


@pytest.mark.parametrize("fn, message", [
    (lambda x: api.item(api.sum(x)), "calling .item()"),
    (lambda x: x if api.gt(api.sum(x), 0) else x, "data-dependent control flow"),
    (lambda x: x if api.any_(api.lt(x, 0)) else x, "data-dependent control flow"),
    (lambda x: api.tolist(x), "doesn't have storage"),
    (lambda x: x if api.allclose(x, x) else x, "torch.allclose"),
    (lambda x: x if api.equal(x, x) else x, "aten::equal"),
])
def test_reading_a_batched_value_raises_pytorchs_error(fn, message):
    xs = t([[1.0, -2.0], [3.0, 4.0]])
    with pytest.raises(ProgramError, match=message):
        transforms.vmap(fn)(xs)


def test_reading_an_unbatched_value_inside_vmap_is_allowed(spy):
    xs = t([[1.0, -2.0], [3.0, 4.0]])
    scale = t(2.0)
    got = transforms.vmap(lambda x: api.mul(x, api.item(scale)))(xs)
    np.testing.assert_array_equal(got.array, xs.array * 2)


def test_view_results_share_the_inputs_data(spy):
    xs = t([[1.0, 2.0], [3.0, 4.0]])
    ys = transforms.vmap(lambda x: x)(xs)
    assert np.shares_memory(ys.array, xs.array)
    zs = transforms.vmap(lambda x: api.mul(x, 2))(xs)
    assert not np.shares_memory(zs.array, xs.array)


# ----- batched backward: one pass over N cotangents is N passes -----------------------------

GRAPHS = {
    "layer": lambda x, W: api.tanh(api.add(api.matmul(W, x), 0.5)),
    "elementwise": lambda x, W: api.div(api.mul(api.sigmoid(x), api.exp(x)),
                                        api.add(api.mul(x, x), 1)),
    "broadcast": lambda x, W: api.mul(api.unsqueeze(x, 0), W),
    "reductions": lambda x, W: api.add(api.sum(api.mul(W, x), 1),
                                       api.mean(api.matmul(W, x))),
    "shapes": lambda x, W: api.reshape(api.transpose(api.mul(W, x), 0, 1), (-1,)),
    "select_slice": lambda x, W: api.stack([api.mul(api.getitem(x, 0), api.getitem(x, 2)),
                                            api.sum(api.getitem(x, slice(1, None))),
                                            api.dot(x, x)]),
    "softmax": lambda x, W: api.log_softmax(api.matmul(W, x), 0),
    "cat_expand": lambda x, W: api.cat([api.reshape(api.expand(api.unsqueeze(x, 0), (2, 3)),
                                                    (-1,)), api.relu(x)]),
    "mm": lambda x, W: api.matmul(api.t(W), api.mul(W, x)),
    "clamp_pow": lambda x, W: api.pow(api.clamp(api.matmul(W, x), -0.5, 0.5), 2),
    "permute": lambda x, W: api.permute(api.mul(api.unsqueeze(W, 0), x), (2, 0, 1)),
    "no_rule": lambda x, W: api.prod(api.add(x, 2)),  # per-entry formula
}


def per_row_jacobian(output, inputs):
    rows = []
    size = output.numel()
    for j in range(size):
        basis = np.zeros(size, F32)
        basis[j] = 1
        grads = api.autograd_grad(output, list(inputs), t(basis.reshape(output.shape)),
                                  retain_graph=True, allow_unused=True)
        rows.append([np.zeros(x.shape, F32) if g is None else g.array
                     for g, x in zip(grads, inputs, strict=True)])
    return [np.stack([r[k] for r in rows]).reshape(output.shape + x.shape)
            for k, x in enumerate(inputs)]


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(GRAPHS)),
       values=st.lists(finite, min_size=9, max_size=9))
def test_batched_backward_is_one_pass_per_cotangent(name, values):
    x = t(values[:3], requires_grad=True)
    W = t(np.asarray(values[3:], F32).reshape(2, 3), requires_grad=True)
    out = GRAPHS[name](x, W)
    blocks = transforms.batched_jacobian(out, [x, W])
    assert blocks is not None
    want = per_row_jacobian(out, [x, W])
    for got, expected in zip(blocks, want, strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got.array, expected, rtol=1e-6, atol=1e-6)


def test_batched_backward_declines_what_it_does_not_batch(monkeypatch):
    from gradcli.autodiff import engine, hooks

    x = t([1.0, 2.0], requires_grad=True)
    out = api.exp(api.mul(x, 1.0))
    basis = np.eye(2, dtype=F32)
    unrelated = t([3.0], requires_grad=True)
    handle = hooks.register_hook(unrelated, lambda g: g)  # a hook elsewhere changes nothing
    np.testing.assert_array_equal(batched.batched_vjp(out, [x], basis)[0], np.diag(out.array))
    for hooked in (x, out.grad_fn.next_functions[0][0]):  # a leaf's hook, a node's hook
        extra = (hooks.register_hook(x, lambda g: g) if hooked is x
                 else hooks.register_node_hook(hooked, lambda gi, go: None))
        assert batched.batched_vjp(out, [x], basis) is None
        extra.remove()
    handle.remove()
    monkeypatch.setattr(engine.Observer, "active", engine.Observer())
    assert batched.batched_vjp(out, [x], basis) is None


def test_jacrev_uses_one_batched_pass(monkeypatch):
    passes = []
    original = batched.batched_vjp

    def counting(*args):
        result = original(*args)
        passes.append(result is not None)
        return result

    monkeypatch.setattr(batched, "batched_vjp", counting)
    W = t([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    jac = transforms.jacrev(lambda x: api.tanh(api.matmul(W, x)))(t([0.3, -0.6, 0.9]))
    assert passes == [True]
    assert jac.shape == (2, 3)


def test_batched_backward_keeps_the_in_place_check():
    x = t([1.0, 2.0], requires_grad=True)
    y = api.mul(x, 1.0)
    out = api.exp(y)
    api.add_(y, 1.0)  # exp saved its result, not y: still fine
    blocks = transforms.batched_jacobian(out, [x])
    np.testing.assert_allclose(blocks[0].array, np.diag(out.array), rtol=1e-6)
    z = api.mul(x, 1.0)
    out = api.sin(z)
    api.add_(z, 1.0)  # sin saved z, now modified
    with pytest.raises(ProgramError, match="modified by an inplace operation"):
        transforms.batched_jacobian(out, [x])


ENTRY_FUNCTIONS = {
    "sum": lambda x: api.sum(x),
    "mean_last": lambda x: api.mean(x, -1, keepdim=True) if x.ndim else x,
    "exp_add": lambda x: api.add(api.exp(x), x),
    "flat": lambda x: api.reshape(x, (-1,)),
    "softmax": lambda x: api.softmax(x, -1) if x.ndim else x,
    "log_softmax": lambda x: api.log_softmax(x, 0) if x.ndim else x,
    "permute": lambda x: api.permute(x, tuple(reversed(range(x.ndim)))),
    "select": lambda x: api.getitem(x, 0) if x.ndim else x,
    "slice": lambda x: api.getitem(x, slice(1, None)) if x.ndim else x,
    "prod": lambda x: api.prod(x),
    "transpose": lambda x: api.transpose(x, 0, -1) if x.ndim else x,
    "expand": lambda x: api.expand(x, (2,) + x.shape),
    "stack": lambda x: api.stack([x, api.mul(x, 2)], -1 if x.ndim else 0),
    "greater": lambda x: api.gt(x, 0.1),
    "all": lambda x: api.all_(api.gt(x, -5)),
}
ENTRY_SHAPES = [(), (1,), (3,), (1, 1), (2, 3), (3, 1, 2)]


@pytest.mark.parametrize("shape", ENTRY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(ENTRY_FUNCTIONS))
def test_shapes_from_0d_up_batched_and_per_entry_agree(name, shape, spy):
    fn = ENTRY_FUNCTIONS[name]
    rng = np.random.default_rng(len(shape))
    for size in (1, 2, 5):
        xs = t(rng.standard_normal((size,) + shape))
        got = transforms.vmap(fn)(xs).array
        want = loop(fn, xs)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    x = t(rng.standard_normal(shape), requires_grad=True)
    out = fn(x)
    if out.requires_grad and out.numel():
        blocks = transforms.batched_jacobian(out, [x])
        want = per_row_jacobian(out, [x])[0]
        assert blocks[0].shape == want.shape
        np.testing.assert_allclose(blocks[0].array, want, rtol=1e-5, atol=1e-6)


def test_nested_vmap_runs_the_outer_batch_at_once(spy):
    rng = np.random.default_rng(5)
    xs = t(rng.standard_normal((4, 3, 2)))
    W = t(rng.standard_normal((5, 2)))
    inner = transforms.vmap(lambda v: api.tanh(api.matmul(W, v)))
    got = transforms.vmap(inner)(xs)
    # Only the outer vmap replays: the inner one runs per entry inside its trace, with
    # ops that the outer trace records.
    assert spy == [True]
    want = np.stack([loop(lambda v: api.tanh(api.matmul(W, v)), Tensor(xs.array[i]))
                     for i in range(4)])
    np.testing.assert_allclose(got.array, want, rtol=1e-6, atol=1e-6)
    got = transforms.vmap(transforms.vmap(lambda a: api.mul(a, a)), in_dims=1, out_dims=1)(xs)
    np.testing.assert_array_equal(got.array, xs.array * xs.array)
