"""PyTorch's AVX2 float32 `log256_ps` and `sincos256_ps` (aten/src/ATen/native/cpu/
avx_mathfun.h: Cephes polynomials by way of Julien Pommier's sse_mathfun), operation for
operation in numpy, so `randn` of 16 or more float32 values matches PyTorch bit for bit.

Each AVX multiply or add rounds to float32 once, as numpy's float32 arithmetic does. But
GCC builds PyTorch with floating-point contraction on, and it fuses a multiply into the
add or subtract that alone uses it (the first such multiply in program order) into one
fused multiply-add, rounded once. Those are `_fma` here: a product of two float32 values is
exact in float64, so float64 then one rounding to float32 is the fused result (except when
the float64 sum itself lands on a float32 rounding midpoint: about one value in 2^29).
Checked against PyTorch 2.13 on 10^5 values: all equal.
"""

from __future__ import annotations

import numpy as np

F32, F64 = np.float32, np.float64

_SQRTHF = F32(0.707106781186547524)
_LOG_P = [float(F32(c)) for c in (
    7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
    -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
)]
_LOG_Q1 = float(F32(-2.12194440e-4))
_LOG_Q2 = float(F32(0.693359375))

_DP1 = float(F32(-0.78515625))
_DP2 = float(F32(-2.4187564849853515625e-4))
_DP3 = float(F32(-3.77489497744594108e-8))
_SINCOF = [float(F32(c)) for c in (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)]
_COSCOF = [float(F32(c)) for c in (
    2.443315711809948e-005, -1.388731625493765e-003, 4.166664568298827e-002)]
_FOPI = F32(1.27323954473516)  # 4 / pi
_HALF_BITS = int(np.array(0.5, F32).view(np.int32))


def _fma(a, b, c, wide: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = a * b + c rounded once to float32; `wide` is float64 scratch of out's shape."""
    np.multiply(a, b, out=wide, dtype=F64)
    np.add(wide, c, out=wide)
    out[...] = wide
    return out


def log256_ps(x: np.ndarray) -> np.ndarray:
    """Natural log of positive float32 values, as log256_ps computes it. (Its first step,
    raising denormals to the smallest normal float, is left out: the fill's 1 - u is never
    below 2^-24.)"""
    x = x.copy()
    bits = x.view(np.int32)
    e = (bits >> 23).astype(F32)
    e -= F32(0x7F - 1)  # the exponent, plus one: the mantissa below is taken in [0.5, 1)
    np.bitwise_and(bits, ~0x7F800000, out=bits)
    np.bitwise_or(bits, _HALF_BITS, out=bits)
    below = x < _SQRTHF  # if x < sqrt(1/2): e -= 1, x = x + x - 1; else x = x - 1
    e -= below
    tmp = x * below
    x -= F32(1.0)
    x += tmp
    z = x * x
    wide = np.empty(x.shape, F64)
    y = np.empty_like(x)
    _fma(x, _LOG_P[0], _LOG_P[1], wide, y)
    for coefficient in _LOG_P[2:]:
        _fma(y, x, coefficient, wide, y)
    y *= x
    _fma(y, z, e * F32(_LOG_Q1), wide, y)  # y * z + e * q1: the first multiply is fused
    _fma(z, -0.5, y, wide, y)  # y - z * 0.5
    x += y
    return _fma(e, _LOG_Q2, x, wide, x)  # x + e * q2


def sincos256_ps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sin x, cos x) of non-negative float32 values, as sincos256_ps computes them
    (the normal fill's theta = 2 pi u is never negative, so the sign of x is not kept)."""
    octant = (x * _FOPI).astype(np.int32)
    octant += 1
    octant &= ~1  # j = (j + 1) & ~1, as in Cephes
    y = octant.astype(F32)
    wide = np.empty(x.shape, F64)
    # "Extended precision modular arithmetic": x = ((x - y*DP1) - y*DP2) - y*DP3
    x = _fma(y, _DP1, x, wide, x.copy())
    _fma(y, _DP2, x, wide, x)
    _fma(y, _DP3, x, wide, x)
    z = x * x

    cos_poly = np.empty_like(x)
    _fma(z, _COSCOF[0], _COSCOF[1], wide, cos_poly)
    _fma(cos_poly, z, _COSCOF[2], wide, cos_poly)
    cos_poly *= z
    _fma(cos_poly, z, -(z * F32(0.5)), wide, cos_poly)  # y * z - z * 0.5
    cos_poly += F32(1.0)

    sin_poly = np.empty_like(x)
    _fma(z, _SINCOF[0], _SINCOF[1], wide, sin_poly)
    _fma(sin_poly, z, _SINCOF[2], wide, sin_poly)
    sin_poly *= z
    _fma(sin_poly, x, x, wide, sin_poly)

    # octants 1-2 and 5-6 swap the polynomials; the signs follow the octant
    swap = (octant & 2) != 0
    sin = np.where(swap, cos_poly, sin_poly)
    cos = np.where(swap, sin_poly, cos_poly)
    # the sign bits, as the AVX code sets them: octant bit 4 for the sine, and for the
    # cosine bit 4 of ~(octant - 2)
    sin.view(np.int32)[...] ^= (octant & 4) << 29
    octant -= 2
    np.invert(octant, out=octant)
    cos.view(np.int32)[...] ^= (octant & 4) << 29
    return sin, cos
