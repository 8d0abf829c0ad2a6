"""PyTorch's AVX2 float32 `log256_ps` and `sincos256_ps` (aten/src/ATen/native/cpu/
avx_mathfun.h, Cephes polynomials by way of Julien Pommier's sse_mathfun), operation for
operation in numpy float32, so `randn` of 16 or more float32 values matches bit for bit.

Every line is one AVX instruction: a float32 multiply or add rounds once, as the
intrinsic does (no fused multiply-add), and numpy's float32 arithmetic rounds the same way.
Inputs are the normal fill's: log of u in (0, 1], sincos of theta in [0, 2*pi).
"""

from __future__ import annotations

import numpy as np

F = np.float32

_SQRTHF = F(0.707106781186547524)
_LOG_P = [F(c) for c in (
    7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
    -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
)]
_LOG_Q1 = F(-2.12194440e-4)
_LOG_Q2 = F(0.693359375)

_DP1, _DP2, _DP3 = F(-0.78515625), F(-2.4187564849853515625e-4), F(-3.77489497744594108e-8)
_SINCOF = [F(-1.9515295891e-4), F(8.3321608736e-3), F(-1.6666654611e-1)]
_COSCOF = [F(2.443315711809948e-005), F(-1.388731625493765e-003), F(4.166664568298827e-002)]
_FOPI = F(1.27323954473516)  # 4 / pi
_ONE, _HALF = F(1.0), F(0.5)


def log256_ps(x: np.ndarray) -> np.ndarray:
    """Natural log of positive float32 values, as log256_ps computes it."""
    x = np.maximum(x, np.array(0x00800000, np.int32).view(F))  # cut off denormals
    bits = x.view(np.int32)
    exponent = ((bits >> 23) - 0x7F).astype(F) + _ONE
    # the mantissa as a value in [0.5, 1)
    x = ((bits & ~0x7F800000) | np.array(_HALF).view(np.int32)).view(F)
    below = x < _SQRTHF  # if x < sqrt(1/2): e -= 1, x = x + x - 1 else x = x - 1
    tmp = np.where(below, x, F(0))
    x = x - _ONE
    exponent = exponent - np.where(below, _ONE, F(0))
    x = x + tmp
    z = x * x
    y = np.full_like(x, _LOG_P[0])
    for coefficient in _LOG_P[1:]:
        y = y * x
        y = y + coefficient
    y = y * x
    y = y * z
    y = y + exponent * _LOG_Q1
    y = y - z * _HALF
    x = x + y
    return x + exponent * _LOG_Q2


def sincos256_ps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sin x, cos x) of float32 values, as sincos256_ps computes them."""
    sign_sin = np.signbit(x)
    x = np.abs(x)
    octant = ((x * _FOPI).astype(np.int32) + 1) & ~1  # j = (j + 1) & ~1, as in Cephes
    y = octant.astype(F)
    swap_sign_sin = (octant & 4) != 0
    poly_mask = (octant & 2) == 0
    # "Extended precision modular arithmetic": x = ((x - y*DP1) - y*DP2) - y*DP3
    x = x + y * _DP1
    x = x + y * _DP2
    x = x + y * _DP3
    sign_cos = ((~(octant - 2)) & 4) != 0
    sign_sin = sign_sin ^ swap_sign_sin

    z = x * x
    cos_poly = z * _COSCOF[0]
    cos_poly = cos_poly + _COSCOF[1]
    cos_poly = cos_poly * z
    cos_poly = cos_poly + _COSCOF[2]
    cos_poly = cos_poly * z
    cos_poly = cos_poly * z
    cos_poly = cos_poly - z * _HALF
    cos_poly = cos_poly + _ONE

    sin_poly = z * _SINCOF[0]
    sin_poly = sin_poly + _SINCOF[1]
    sin_poly = sin_poly * z
    sin_poly = sin_poly + _SINCOF[2]
    sin_poly = sin_poly * z
    sin_poly = sin_poly * x
    sin_poly = sin_poly + x

    sin = np.where(poly_mask, sin_poly, cos_poly)
    cos = np.where(poly_mask, cos_poly, sin_poly)
    return np.where(sign_sin, -sin, sin), np.where(sign_cos, -cos, cos)
