"""nn.Embedding and F.embedding (torch/nn/modules/sparse.py, torch/nn/functional.py):
a lookup of rows of `weight`, recorded as one EmbeddingBackward0 node whose only input is
the weight. Its gradient adds each looked-up row's gradient back into that row
(embedding_dense_backward); rows looked up as `padding_idx` get none, and with
scale_grad_by_freq each row's gradient is divided by how often the batch looks it up."""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O
from gradcli.aten.ops import op
from gradcli.base import dtypes
from gradcli.base.errors import ProgramError, index_error, runtime_error
from gradcli.torch import functions as api
from gradcli.torch.autograd.grad_mode import no_grad
from gradcli.torch.nn import init
from gradcli.torch.nn.functional import _first_order_only
from gradcli.torch.nn.module import Module, Parameter, typename


@op("embedding", save=lambda inputs, out, p, needs: (), name="EmbeddingBackward0")
def _embedding(xs, p):
    indices, _padding_idx, _scale = p
    return xs[0][indices]


@_embedding.derivative
def _(ctx, grad, xp):
    _first_order_only(xp, "embedding")
    indices, padding_idx, scale_grad_by_freq = ctx.params
    rows = ctx.shapes[0][0]
    flat = indices.reshape(-1)
    g = np.reshape(grad, (flat.size, -1))
    if scale_grad_by_freq:
        counts = np.bincount(flat, minlength=rows)
        g = g / counts[flat][:, None].astype(g.dtype)
    if padding_idx is not None:
        g = np.where((flat == padding_idx)[:, None], 0, g).astype(g.dtype)
    out = np.zeros(ctx.shapes[0], dtype=g.dtype)
    np.add.at(out, flat, g)
    return (out,)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    if max_norm is not None:
        raise ProgramError("NotImplementedError", "gradcli does not support embedding's "
                           "max_norm (renormalising the weight in place) yet")
    if sparse:
        raise ProgramError("NotImplementedError", "gradcli does not support sparse gradients "
                           "(embedding with sparse=True) yet")
    if weight.ndim != 2:
        raise runtime_error("'weight' must be 2-D")
    if input.dtype not in (dtypes.int64, dtypes.int32):
        raise runtime_error(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {_type_text(input)} instead (while checking "
            "arguments for embedding)")
    rows = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= rows:
                raise ProgramError("AssertionError", "Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -rows:
                raise ProgramError("AssertionError", "Padding_idx must be within num_embeddings")
            padding_idx = rows + padding_idx
    indices = np.asarray(input.array, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        raise index_error("index out of range in self")
    return O.call(_embedding, (weight,), (indices, padding_idx, bool(scale_grad_by_freq)))


def _type_text(input) -> str:
    # ATen's toString of the type: torch.FloatTensor, but CPUBoolType for bool
    return "CPUBoolType" if input.dtype is dtypes.bool_ else typename(input)


class Embedding(Module):
    _program_attributes_ = frozenset({
        "num_embeddings", "embedding_dim", "padding_idx", "max_norm", "norm_type",
        "scale_grad_by_freq", "sparse", "weight", "reset_parameters", "from_pretrained",
    })

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None:
            if padding_idx > 0:
                if padding_idx >= num_embeddings:
                    raise ProgramError("AssertionError",
                                       "Padding_idx must be within num_embeddings")
            elif padding_idx < 0:
                if padding_idx < -num_embeddings:
                    raise ProgramError("AssertionError",
                                       "Padding_idx must be within num_embeddings")
                padding_idx = num_embeddings + padding_idx
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if _weight is None:
            self.weight = Parameter(api.empty((num_embeddings, embedding_dim), dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ProgramError(
                    "AssertionError",
                    "Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        self.sparse = sparse

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight.array[self.padding_idx] = 0

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @staticmethod
    def from_pretrained(embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        if embeddings.ndim != 2:
            raise ProgramError("AssertionError",
                               "Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return Embedding(rows, cols, _weight=embeddings, _freeze=freeze,
                         padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                         scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


__all__ = ["Embedding", "embedding"]
