"""PyTorch's AVX2 float32 `log256_ps` and `sincos256_ps` (aten/src/ATen/native/cpu/
avx_mathfun.h: Cephes polynomials by way of Julien Pommier's sse_mathfun), operation for
operation in numpy, so `randn` of 16 or more float32 values matches PyTorch bit for bit.

Each AVX multiply or add rounds to float32 once, as numpy's float32 arithmetic does. But
GCC builds PyTorch with floating-point contraction on, and it fuses a multiply into the
add or subtract that alone uses it (the first such multiply in program order) into one
fused multiply-add, rounded once. Those are `_round_fma` here: a product of two float32
values is exact in float64, and the float64 sum is rounded to odd before the one rounding to
float32, which makes it the fused result exactly (53 >= 2 * 24 + 2 bits; Boldo and
Melquiond, "Emulation of FMA and correctly rounded sums", 2008).

This is the readable, slow form: the normal fill runs fill32, which computes the same
values in fewer passes; tests/test_random_fill.py checks that the two agree on every input
(there are 2^24 of each), and tests/test_random.py that both agree with PyTorch.
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
# cos's and sin's coefficients, stacked to evaluate both polynomials in one array
_COEFFICIENTS = [np.array([c, s], F64).reshape(2, 1, 1) for c, s in zip(_COSCOF, _SINCOF,
                                                                          strict=True)]
_HALF_BITS = int(np.array(0.5, F32).view(np.int32))


def _round_fma(scratch: np.ndarray, out: np.ndarray, c) -> np.ndarray:
    """out = scratch + c rounded once to float32, where scratch holds an exact float64
    product of two float32 values; c is a float32 constant or a float64 array. The float64
    sum is rounded to odd: an inexact sum whose last bit is even moves one ulp towards the
    exact value (Knuth's TwoSum gives the error)."""
    product = scratch.copy()
    np.add(scratch, c, out=scratch)
    virtual = scratch - product
    error = (product - (scratch - virtual)) + (c - virtual)
    even = (scratch.view(np.int64) & 1) == 0
    fix = (error != 0) & even
    if fix.any():
        scratch[fix] = np.nextafter(scratch[fix], np.where(error[fix] > 0, np.inf, -np.inf))
    np.copyto(out, scratch, casting="unsafe")
    return out


def _horner_step(y: np.ndarray, x64: np.ndarray, c, scratch: np.ndarray) -> np.ndarray:
    """y = fma(y, x, c) in place (float32 y, x given in float64)."""
    np.copyto(scratch, y)
    np.multiply(scratch, x64, out=scratch)
    return _round_fma(scratch, y, c)


def log256_ps(x: np.ndarray) -> np.ndarray:
    """Natural log of positive float32 values, as log256_ps computes it. (Its first step,
    raising denormals to the smallest normal float, is left out: the fill's 1 - u is never
    below 2^-24.)"""
    bits = x.view(np.int32)
    mantissa = bits & ~0x7F800000
    mantissa |= _HALF_BITS  # the mantissa as a value m in [0.5, 1)
    # below = m < sqrt(1/2), as all-ones or zero: positive floats order as their bits
    below = mantissa - np.array(_SQRTHF).view(np.int32)
    below >>= 31
    exponent = bits >> 23
    exponent -= 0x7F - 1  # + 1 for the mantissa in [0.5, 1) ...
    exponent += below  # ... - 1 if m < sqrt(1/2)
    e = exponent.astype(F32)
    # x = m - 1, plus m again if below (the AVX code adds x & mask)
    x = mantissa.view(F32) - F32(1.0)
    below &= mantissa
    x += below.view(F32)
    z = x * x
    x64 = x.astype(F64)
    scratch = x64 * _LOG_P[0]
    y = _round_fma(scratch, np.empty_like(x), _LOG_P[1])  # p0 * x + p1, then Horner
    for coefficient in _LOG_P[2:]:
        _horner_step(y, x64, coefficient, scratch)
    y *= x
    # y * z + e * q1: the first multiply is fused
    _horner_step(y, z.astype(F64), (e * F32(_LOG_Q1)).astype(F64), scratch)
    z *= F32(0.5)
    y -= z  # y - z * 0.5: exact product, so the fused form rounds the same
    x += y
    e *= F32(_LOG_Q2)  # e * q2 is exact (9-bit constant, small integer e)
    x += e
    return x


def sincos256_ps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sin x, cos x) of non-negative float32 values, as sincos256_ps computes them
    (the normal fill's theta = 2 pi u is never negative, so the sign of x is not kept)."""
    octant = (x * _FOPI).astype(np.int32)
    octant += 1
    octant &= ~1  # j = (j + 1) & ~1, as in Cephes
    y = octant.astype(F32)
    # "Extended precision modular arithmetic": x = ((x - y*DP1) - y*DP2) - y*DP3. y is an
    # even integer up to 8, so y*DP1 and y*DP2 (8- and 11-bit constants) are exact and
    # their fused adds are plain float32 adds; y*DP3 is not.
    x = x + y * F32(_DP1)
    x += y * F32(_DP2)
    scratch = y.astype(F64)
    scratch *= _DP3
    _round_fma(scratch, x, x.astype(F64))
    z = x * x
    z64 = z.astype(F64)

    # The two polynomials' first steps side by side, one array: (c0 z + c1) z + c2, times z
    both_wide = np.multiply(z64, _COEFFICIENTS[0])
    both = _round_fma(both_wide, np.empty(both_wide.shape, F32), _COEFFICIENTS[1])
    _horner_step(both, z64, _COEFFICIENTS[2], both_wide)
    both *= z
    cos_poly, sin_poly = both
    _horner_step(cos_poly, z64, -(z * F32(0.5)).astype(F64), scratch)  # y * z - z * 0.5
    cos_poly += F32(1.0)
    x64 = x.astype(F64)
    _horner_step(sin_poly, x64, x64, scratch)  # y * x + x

    # Octants 1-2 and 5-6 swap the polynomials; the signs follow the octant: bit 4 of the
    # octant for the sine, bit 4 of ~(octant - 2) for the cosine. Done on the bits, as the
    # AVX code does: `swap` is all ones where octant & 2.
    sin_bits, cos_bits = sin_poly.view(np.int32), cos_poly.view(np.int32)
    swap = octant << 30
    swap >>= 31
    swap &= sin_bits ^ cos_bits
    sin_bits ^= swap
    cos_bits ^= swap
    sign = octant & 4
    sign <<= 29
    sin_bits ^= sign
    octant -= 2
    np.invert(octant, out=octant)
    octant &= 4
    octant <<= 29
    cos_bits ^= octant
    sin, cos = sin_poly, cos_poly
    return sin, cos
