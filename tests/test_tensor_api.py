"""Shape, indexing and linear-algebra functions beyond the core set (gradcli/torch/reshaping.py,
gathering.py, matrices.py, ndarray.py): properties the oracle cases cannot sweep.

- einsum against numpy's einsum over many equations (values in float64), and its gradients
  against central differences (einsum is a composition, so test_ops_gradcheck's per-op
  cases do not reach it);
- chunk/split outputs are views of their input sharing its version counter, and a
  gradient reaching only some outputs gives zeros for the others;
- numpy() shares the tensor's memory both ways.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradcli.autodiff import engine
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.runtime.interpreter import run
from gradcli.torch import functions as api
from gradcli.torch import matrices, reshaping

EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("ij,j->i", [(2, 3), (3,)]),
    ("bqd,bkd->bqk", [(2, 3, 4), (2, 5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("abc,cd,de->abe", [(2, 2, 3), (3, 2), (2, 3)]),
    ("ijk,ikj->i", [(2, 3, 3), (2, 3, 3)]),
    ("ij,kl->ijkl", [(2, 2), (2, 3)]),
    ("iij->j", [(2, 2, 3)]),
    ("ij,ji->", [(3, 2), (2, 3)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
]


def _operands(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, shape) for shape in shapes]


@pytest.mark.parametrize(("equation", "shapes"), EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_values_match_numpy(equation, shapes):
    arrays = _operands(shapes, 0)
    out = matrices.einsum(equation, *[Tensor(a, dtypes.float64) for a in arrays])
    np.testing.assert_allclose(out.array, np.einsum(equation, *arrays), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("equation", "shapes"), EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_gradients_match_central_differences(equation, shapes):
    arrays = _operands(shapes, 1)
    leaves = [Tensor(a.copy(), dtypes.float64, True) for a in arrays]
    out = matrices.einsum(equation, *leaves)
    weights = np.random.default_rng(2).standard_normal(out.shape)
    engine.backward(api.sum(api.mul(out, Tensor(weights, dtypes.float64))))
    eps = 1e-6
    for i, leaf in enumerate(leaves):
        numeric = np.zeros_like(arrays[i])
        for k in range(arrays[i].size):
            values = []
            for sign in (1, -1):
                moved = [a.copy() for a in arrays]
                moved[i].reshape(-1)[k] += sign * eps
                values.append(float((np.einsum(equation, *moved) * weights).sum()))
            numeric.reshape(-1)[k] = (values[0] - values[1]) / (2 * eps)
        np.testing.assert_allclose(leaf.grad.array, numeric, rtol=1e-6, atol=1e-8)


def test_split_outputs_are_views_sharing_the_version_counter():
    x = Tensor(np.arange(6.0), dtypes.float64)
    a, b = reshaping.split(x, [2, 4])
    assert a.version is x.version and b.version is x.version
    x.array[0] = 9.0
    assert a.array[0] == 9.0


def test_a_split_output_without_gradient_gets_zeros():
    x = Tensor(np.arange(6.0), dtypes.float64, True)
    a, b, c = reshaping.chunk(x, 3)
    engine.backward(api.sum(api.mul(b, b)))
    np.testing.assert_array_equal(x.grad.array, [0.0, 0.0, 4.0, 6.0, 0.0, 0.0])
    assert b.grad_fn.name() == "SplitBackward0"


def test_numpy_shares_memory_both_ways():
    result = run("import torch\nx = zeros(3)\na = x.numpy()\na[1] = 7\nx.add_(1)\n"
                 "t = torch.from_numpy(a)\nt[0] = -1\nprint(a)", "<test>")
    assert result.error is None
    bound = {t.name: t.tensor for t in result.tensors}
    assert bound["x"].array.tolist() == [-1.0, 8.0, 1.0]
    assert result.stdout == "[-1.  8.  1.]\n"
