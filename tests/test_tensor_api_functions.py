"""The pointwise, scan, sorting and reduction functions of gradcli/torch/tensor_api.py
beyond what the op-table gradcheck covers: the two-output nodes (std_mean, var_mean,
aminmax) checked against finite differences, unique's failing backward, the replayed
libstdc++ algorithms checked as sorting/selection algorithms, and the sandbox's promise
for the new surface."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from gradcli.autodiff import engine
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base import dtypes
from gradcli.base.errors import ProgramError
from gradcli.runtime.interpreter import run
from gradcli.torch import functions as api
from gradcli.torch import stl_order
from gradcli.torch import tensor_api as TAPI

F = TAPI.FUNCTIONS
t64 = dtypes.float64


def _numeric_grad(fn, array, weights, eps=1e-6):
    previous = GradMode.enabled
    GradMode.enabled = False
    try:
        out = np.zeros_like(array)
        for k in range(array.size):
            plus, minus = array.copy(), array.copy()
            plus.reshape(-1)[k] += eps
            minus.reshape(-1)[k] -= eps
            total = 0.0
            for value, w in zip(fn(Tensor(plus, t64)), weights, strict=True):
                total += float(np.sum(value.array * w))
            for value, w in zip(fn(Tensor(minus, t64)), weights, strict=True):
                total -= float(np.sum(value.array * w))
            out.reshape(-1)[k] = total / (2 * eps)
        return out
    finally:
        GradMode.enabled = previous


TWO_OUTPUTS = [
    ("std_mean_all", lambda x: F["std_mean"](x)),
    ("std_mean_dim", lambda x: F["std_mean"](x, 1)),
    ("std_mean_keepdim_c0", lambda x: F["std_mean"](x, 0, keepdim=True, correction=0)),
    ("var_mean_all", lambda x: F["var_mean"](x)),
    ("var_mean_dims", lambda x: F["var_mean"](x, (0, 1), correction=2)),
    ("aminmax_all", lambda x: tuple(F["aminmax"](x))),
    ("aminmax_dim", lambda x: tuple(F["aminmax"](x, dim=1))),
    ("aminmax_keepdim", lambda x: tuple(F["aminmax"](x, dim=0, keepdim=True))),
]


@pytest.mark.parametrize(("label", "fn"), TWO_OUTPUTS, ids=[c[0] for c in TWO_OUTPUTS])
@pytest.mark.parametrize("which", ["both", "first", "second"])
def test_two_output_nodes_match_finite_differences(label, fn, which):
    rng = np.random.default_rng(7)
    array = rng.permutation(12).reshape(3, 4) * 0.37 + rng.uniform(0.05, 0.1, (3, 4))
    leaf = Tensor(array.copy(), t64, True)
    outputs = fn(leaf)
    assert outputs[0].grad_fn is outputs[1].grad_fn  # one node, two outputs
    weights = [rng.standard_normal(o.shape) for o in outputs]
    if which == "first":
        weights[1] = np.zeros_like(weights[1])
    if which == "second":
        weights[0] = np.zeros_like(weights[0])
    used = [i for i, w in enumerate(weights) if np.any(w)]
    loss = None
    for i in used:
        term = api.sum(api.mul(outputs[i], Tensor(weights[i].copy(), t64)))
        loss = term if loss is None else api.add(loss, term)
    engine.backward(loss)
    numeric = _numeric_grad(fn, array, weights)
    assert np.allclose(leaf.grad.array, numeric, rtol=1e-5, atol=1e-7), (leaf.grad.array, numeric)


def test_two_output_node_names():
    x = Tensor(np.arange(6.0).reshape(2, 3), t64, True)
    assert F["std_mean"](x)[0].grad_fn.name() == "StdMeanBackward0"
    assert F["var_mean"](x, 1)[1].grad_fn.name() == "VarMeanBackward0"
    assert F["aminmax"](x)[1].grad_fn.name() == "AminmaxBackward0"


@pytest.mark.parametrize(("call", "overload"), [
    (lambda x: F["unique"](x), "_unique2"),
    (lambda x: F["unique"](x, dim=0), "unique_dim"),
])
def test_unique_records_a_node_whose_backward_raises(call, overload):
    x = Tensor(np.array([[1.0, 2.0], [1.0, 2.0], [0.5, 3.0]]), t64, True)
    out = call(x)
    with pytest.raises(ProgramError) as raised:
        engine.backward(api.sum(out))
    assert raised.value.type_name == "NotImplementedError"
    assert raised.value.message == f"the derivative for '{overload}' is not implemented."


# ----- the replayed algorithms are correct sorts and selections -------------------------


def _pairs(rng, n, distinct_values):
    values = [rng.randrange(distinct_values) + 0.0 for _ in range(n)]
    if n > 2 and rng.random() < 0.3:
        values[rng.randrange(n)] = math.nan
    return [(v, i) for i, v in enumerate(values)]


def _rank(pair, largest):
    v = pair[0]
    if largest:
        return (0 if v != v else 1, -v if v == v else 0)
    return (1 if v != v else 0, v if v == v else 0)


@pytest.mark.parametrize("seed", range(40))
def test_replayed_std_algorithms_order_values(seed):
    rng = random.Random(seed)
    n = rng.randrange(1, 90)
    pairs = _pairs(rng, n, rng.choice([3, 10, 1000]))
    for largest, comp in ((True, stl_order.larger_first), (False, stl_order.smaller_first)):
        expected = sorted(pairs, key=lambda p: _rank(p, largest))
        expected_ranks = [_rank(p, largest) for p in expected]
        a = list(pairs)
        stl_order.std_sort(a, 0, n, comp)
        assert [_rank(p, largest) for p in a] == expected_ranks
        assert sorted(i for _, i in a) == list(range(n))
        k = rng.randrange(1, n + 1)
        a = list(pairs)
        stl_order.nth_element(a, 0, k - 1, n, comp)
        assert _rank(a[k - 1], largest) == expected_ranks[k - 1]
        assert all(_rank(p, largest) <= expected_ranks[k - 1] for p in a[:k - 1])
        a = list(pairs)
        stl_order.partial_sort(a, 0, k, n, comp)
        assert [_rank(p, largest) for p in a[:k]] == expected_ranks[:k]
    k = rng.randrange(1, n + 1)
    a = list(pairs)
    stl_order.quick_select(a, k - 1, stl_order.greater_or_nan)
    ascending = [_rank(p, False) for p in sorted(pairs, key=lambda p: _rank(p, False))]
    assert _rank(a[k - 1], False) == ascending[k - 1]


def test_topk_kthvalue_mode_values_agree_with_numpy_on_ties():
    rng = np.random.default_rng(3)
    x = Tensor(rng.integers(0, 4, (3, 150)).astype(np.float64), t64)
    top = F["topk"](x, 5)
    assert np.array_equal(top.values.array, -np.sort(-x.array, axis=1)[:, :5])
    assert np.array_equal(np.take_along_axis(x.array, top.indices.array, 1), top.values.array)
    kth = F["kthvalue"](x, 40)
    assert np.array_equal(kth.values.array, np.sort(x.array, axis=1)[:, 39])
    assert np.array_equal(np.take_along_axis(x.array, kth.indices.array[:, None], 1)[:, 0],
                          kth.values.array)
    mode = F["mode"](x)
    for row, value, index in zip(x.array, mode.values.array, mode.indices.array, strict=True):
        counts = {v: int(np.sum(row == v)) for v in np.unique(row)}
        best = max(counts.values())
        assert value == min(v for v, c in counts.items() if c == best)
        assert row[index] == value


# ----- the sandbox: nothing of Python reachable through the new surface -----------------

ESCAPES = [
    "torch.cumsum.__globals__",
    "torch.erf.__closure__",
    "torch.sort.__code__",
    "torch.sort(torch.tensor([2., 1.])).__class__.__init__",
    "torch.sort(torch.tensor([2., 1.])).fields",
    "torch.sort(torch.tensor([2., 1.])).kind",
    "torch.aminmax(torch.tensor([2., 1.])).__class__.__mro__",
    "torch.aminmax(torch.tensor([2., 1.])).values",
    "torch.std_mean(torch.tensor([2., 1.], requires_grad=True))[0].grad_fn._outputs",
    "torch.std_mean(torch.tensor([2., 1.], requires_grad=True))[0].grad_fn.op",
    "torch.unique(torch.tensor([2., 1.], requires_grad=True)).grad_fn.params",
    "torch.tensor([2., 1.]).cumsum_.__self__",
    "torch.tensor([2., 1.]).floor_.__closure__",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_escape_through_tensor_api_surface_is_refused(expression: str) -> None:
    source = f"import torch\nx = 1\nvalue = {expression}\nprint(value)\n"
    result = run(source, "<hostile>")
    assert result.error is not None, expression
    assert result.error.type in ("AttributeError", "NameError"), result.error
    assert result.error.line == 3
    assert result.stdout == ""
    assert "/" not in result.error.message


def test_return_types_fields_are_reachable() -> None:
    source = ("import torch\nr = torch.aminmax(torch.tensor([2., 1., 3.]))\n"
              "s = torch.sort(torch.tensor([2., 1.]))\n"
              "print(r.min.item(), r.max.item(), s.values.tolist(), s.indices.tolist())\n")
    result = run(source, "<program>")
    assert result.error is None, result.error
    assert result.stdout.splitlines() == ["1.0 3.0 [1.0, 2.0] [1, 0]"]


# ----- second derivatives: the ops the formulas record under create_graph ---------------

SECOND_ORDER = [
    ("cumsum_flip", lambda x: F["cumsum"](x, 1)),
    ("cumprod", lambda x: F["cumprod"](x, 0)),
    ("sort_scatter", lambda x: F["sort"](x, 1).values),
    ("topk_scatter", lambda x: F["topk"](x, 2, 0).values),
    ("cummax_scatter_add", lambda x: F["cummax"](x, 1).values),
    ("logcumsumexp", lambda x: F["logcumsumexp"](x, 1)),
    ("atan2", lambda x: F["atan2"](x, api.add(x, 3.0))),
    ("erf_lerp", lambda x: F["lerp"](F["erf"](x), api.mul(x, x), 0.3)),
]


def _first_gradient(fn, array, w, create_graph):
    leaf = Tensor(array.copy(), t64, True)
    out = fn(leaf)
    cubed = api.mul(api.mul(out, out), api.mul(out, Tensor(w, t64)))
    (g,) = engine.grad(api.sum(cubed), leaf, create_graph=create_graph)
    return leaf, g


@pytest.mark.parametrize(("label", "fn"), SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_second_derivatives_match_finite_differences(label, fn):
    rng = np.random.default_rng(11)
    array = rng.permutation(6).reshape(2, 3) * 0.4 + rng.uniform(0.05, 0.1, (2, 3))
    w = rng.standard_normal((2, 3))
    v = rng.standard_normal((2, 3))
    leaf, g = _first_gradient(fn, array, w, True)
    engine.backward(api.sum(api.mul(g, Tensor(v.copy(), t64))))
    eps = 1e-6
    numeric = np.zeros_like(array)
    for k in range(array.size):
        plus, minus = array.copy(), array.copy()
        plus.reshape(-1)[k] += eps
        minus.reshape(-1)[k] -= eps
        hp = float(np.sum(_first_gradient(fn, plus, w, False)[1].array * v))
        hm = float(np.sum(_first_gradient(fn, minus, w, False)[1].array * v))
        numeric.reshape(-1)[k] = (hp - hm) / (2 * eps)
    assert np.allclose(leaf.grad.array, numeric, rtol=1e-5, atol=1e-6), (leaf.grad.array, numeric)
