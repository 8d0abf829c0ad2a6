"""Special functions on numpy arrays, which numpy lacks: erf, erfc, erfinv, lgamma, digamma
and trigamma (digamma's derivative). Each computes in float64; the caller rounds once to
the result dtype (so float32 results are correctly rounded, as PyTorch's usually are).
"""

from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def erf(x):
    return _erf(np.asarray(x, np.float64))


def erfc(x):
    return _erfc(np.asarray(x, np.float64))


def _lgamma_one(v: float) -> float:
    if math.isnan(v):
        return v
    try:
        return math.lgamma(v)
    except ValueError:  # a pole: 0 and the negative integers
        return math.inf


_lgamma = np.vectorize(_lgamma_one, otypes=[np.float64])


def lgamma(x):
    return _lgamma(np.asarray(x, np.float64))


def erfinv(x):
    """The inverse of erf: a rational first guess refined by Newton's method on erf (three
    steps reach float64's precision), ±inf at ±1, nan outside [-1, 1]."""
    y = np.asarray(x, np.float64)
    inside = np.abs(y) < 1
    safe = np.where(inside, y, 0.0)
    # Giles' single-precision approximation as the starting point
    w = -np.log((1.0 - safe) * (1.0 + safe))
    small = w < 5.0
    ws = np.where(small, w - 2.5, np.sqrt(np.where(small, 5.0, w)) - 3.0)
    p_small = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
               0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
    p_large = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]
    ps, pl = p_small[0], p_large[0]
    for a, b in zip(p_small[1:], p_large[1:], strict=True):
        ps = a + ps * ws
        pl = b + pl * ws
    guess = np.where(small, ps, pl) * safe
    for _ in range(3):
        guess = guess - (erf(guess) - safe) / (2 / math.sqrt(math.pi) * np.exp(-guess * guess))
    out = np.where(inside, guess, np.nan)
    out = np.where(y == 1, np.inf, out)
    return np.where(y == -1, -np.inf, out)


def _shift_to_six(y, term):
    """Sum of term(y + i) while y + i < 6, and the shifted y (at most six steps: y > 0)."""
    acc = np.zeros_like(y)
    for _ in range(6):
        small = y < 6
        if not small.any():
            break
        acc = acc + np.where(small, term(np.where(small, y, 1.0)), 0.0)
        y = np.where(small, y + 1, y)
    return acc, y


def digamma(x):
    """psi(x): the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 6, then the asymptotic
    series; reflection psi(1 - x) - pi / tan(pi x) below 0. PyTorch gives -inf at +0 (inf
    at -0) and nan at the negative integers."""
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        negative = x < 0
        y = np.where(negative, 1 - x, np.where(x > 0, x, 1.0))
        acc, y = _shift_to_six(y, lambda v: -1 / v)
        inv2 = 1 / (y * y)
        series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (
            1 / 240 - inv2 * (1 / 132)))))
        value = acc + np.log(y) - 0.5 / y - series
        value = np.where(negative, value - np.pi / np.tan(np.pi * x), value)
        value = np.where(negative & (x == np.floor(x)), np.nan, value)
        value = np.where(x == 0, np.where(np.signbit(x), np.inf, -np.inf), value)
        value = np.where(x == np.inf, np.inf, value)
        return np.where(np.isnan(x), np.nan, value)


def trigamma(x):
    """psi'(x) (polygamma(1, x)): recurrence up to x >= 6, then the asymptotic series;
    reflection psi'(1 - x) + psi'(x) = pi^2 / sin^2(pi x) below 0; inf at the poles."""
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        negative = x < 0
        y = np.where(negative, 1 - x, np.where(x > 0, x, 1.0))
        acc, y = _shift_to_six(y, lambda v: 1 / (v * v))
        inv = 1 / y
        inv2 = inv * inv
        series = inv + inv2 / 2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (
            1 / 42 - inv2 / 30)))
        value = acc + series
        value = np.where(negative, -value + (np.pi / np.sin(np.pi * x)) ** 2, value)
        value = np.where((x <= 0) & (x == np.floor(x)), np.inf, value)
        return np.where(np.isnan(x), np.nan, value)
