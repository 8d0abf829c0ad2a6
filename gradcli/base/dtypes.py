"""torch's dtypes on numpy, and torch's type-promotion rule."""

from __future__ import annotations

import numpy as np


class DType:
    __slots__ = ("name", "numpy", "category", "itemsize", "scalar_meta",
                 "scalar_number_metas")

    def __init__(self, name: str, numpy_dtype, category: int):
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.category = category  # 0 bool, 1 integer, 2 floating
        self.itemsize = self.numpy.itemsize
        # What a node records of a 0-d input of this dtype, (shape, dtype), and of the
        # inputs of `0-d tensor op Python number`; shared by every such node.
        self.scalar_meta = ((), self)
        self.scalar_number_metas = (self.scalar_meta, None)

    @property
    def is_floating_point(self) -> bool:
        return self.category == FLOATING

    def __repr__(self) -> str:
        return f"torch.{self.name}"


BOOL, INTEGRAL, FLOATING = 0, 1, 2

bool_ = DType("bool", np.bool_, BOOL)
int32 = DType("int32", np.int32, INTEGRAL)
int64 = DType("int64", np.int64, INTEGRAL)
float32 = DType("float32", np.float32, FLOATING)
float64 = DType("float64", np.float64, FLOATING)

ALL = (bool_, int32, int64, float32, float64)
BY_NUMPY = {d.numpy: d for d in ALL}
BY_NAME = {d.name: d for d in ALL}
DEFAULT_FLOAT = float32
# gradcli check re-runs programs with every float32 tensor made float64.
FORCE_FLOAT64 = False

# Within one category the wider dtype wins (torch's promoteTypes table restricted to ours).
_RANK = {bool_: 0, int32: 1, int64: 2, float32: 3, float64: 4}


def from_numpy(np_dtype) -> DType:
    return BY_NUMPY[np.dtype(np_dtype)]


def promote_pair(a: DType, b: DType) -> DType:
    return a if _RANK[a] >= _RANK[b] else b


def scalar_category(value) -> int:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INTEGRAL
    return FLOATING


_DEFAULT_FOR_CATEGORY = {BOOL: bool_, INTEGRAL: int64, FLOATING: float32}


def result_type(tensors_dtypes_dims, scalars=()) -> DType:
    """torch.result_type: dimensioned tensors outrank 0-d tensors, which outrank Python
    scalars; a lower-priority operand only matters when its category is higher
    (int tensor + 2.5 -> float32, float32 vector + float64 0-d -> float32)."""
    dimensioned = zero_dim = None
    for dtype, ndim in tensors_dtypes_dims:
        if ndim:
            dimensioned = dtype if dimensioned is None else promote_pair(dimensioned, dtype)
        else:
            zero_dim = dtype if zero_dim is None else promote_pair(zero_dim, dtype)
    result = dimensioned
    if zero_dim is not None:
        if result is None or zero_dim.category > result.category:
            result = zero_dim
    for value in scalars:
        category = scalar_category(value)
        if result is None or category > result.category:
            result = DEFAULT_FLOAT if category == FLOATING else _DEFAULT_FOR_CATEGORY[category]
    return result


# torch.FloatTensor, ...: the legacy tensor type names (`x.type()`, torch.typename).
LEGACY_TYPE_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
                     "bool": "Bool"}
