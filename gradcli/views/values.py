"""Tensor values as plain data (JSON) and as short text (table cells)."""

from __future__ import annotations

import math

import numpy as np

from gradcli.base.printing import PrintOptions, tensor_body


def _number(value):
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def to_data(array: np.ndarray):
    """Nested lists of Python numbers; NaN and infinities as strings (SPEC §2.1)."""
    values = array.tolist()
    if isinstance(values, list):
        return _walk(values)
    return _number(values)


def _walk(values):
    return [_walk(v) if isinstance(v, list) else _number(v) for v in values]


def cell(array: np.ndarray, dtype: str, precision: int = 4, linewidth: int = 80) -> str:
    """PyTorch's own layout of the values, summarised like PyTorch for long tensors."""
    options = PrintOptions(precision=precision, linewidth=linewidth)
    return tensor_body(array, dtype, options)
