"""normal_fill_16_AVX2 (aten/src/ATen/native/cpu/DistributionTemplates.h) in few numpy passes.

avx_mathfun.py translates PyTorch's `log256_ps` and `sincos256_ps` operation for operation;
this module computes the same float32 values with about half the numpy passes, working
from the raw 24-bit integers of the uniforms, on preallocated buffers, in place. Every
shortcut below is an identity of float arithmetic on this input domain, and the domain is
small: u1 and u2 are k * 2^-24 for an integer k < 2^24, so tests/test_random_fill.py checks
both functions against avx_mathfun (with exactly rounded fused multiply-adds) on all 2^24
inputs each.

Fused multiply-adds. PyTorch's GCC build contracts `a * b + c` into one fma, rounded once.
Here a and b are float32, so a * b has at most 48 significant bits and is exact in float64;
the float64 sum a * b + c is then rounded once to float64 and once more to float32. That
double rounding can differ from the fma's single rounding only when the exact sum is not a
float64 number and its float64 rounding lands on a float32 rounding midpoint. The
exhaustive test compares with the single-rounded fma (round to odd, distributions.fma32) on
every input, so on this domain it never happens.

Layout. A chunk of words is (blocks, 16); the first 8 of each block are u1, the last 8
u2. The two halves are read once each (a strided pass) into (blocks, 8) buffers; everything
after is element-wise, so the pairing u1[b, i] with u2[b, i] is kept.
"""

from __future__ import annotations

import math

import numpy as np

F32, F64, I32 = np.float32, np.float64, np.int32
_MASK24 = (1 << 24) - 1

# ----- log256_ps ---------------------------------------------------------------------------
_LOG_P = [float(F32(c)) for c in (
    7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
    -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
)]
_LOG_P64 = [F64(c) for c in _LOG_P]  # numpy scalars: no conversion in each call
_LOG_Q1 = F32(-2.12194440e-4)
_LOG_Q2 = F32(0.693359375)
# log256_ps splits x into m * 2^e with m in [0.5, 1), then takes m' = 2m, e - 1 when
# m < sqrt(1/2). Adding bits(1.0) - bits(sqrt(1/2)) = 0x004AFB0D to x's bits carries into
# the exponent exactly when m >= sqrt(1/2) (the mantissa field of sqrt(1/2) is 0x3504F3):
# the exponent field then holds e + 127 for the m' of log256_ps, and the mantissa field
# minus the same constant, over bits(1.0)'s exponent, is m' itself (glibc's logf trick).
_SQRTHF_SHIFT = 0x3F800000 - int(np.array(0.707106781186547524, F32).view(I32))
_UNIT_EXPONENT = 0x3F800000 - _SQRTHF_SHIFT
# The input is j * 2^-24 with j = 2^24 - k an integer in [1, 2^24]: its float32 bits are
# float(j)'s minus 24 in the exponent, so e = exponent field - 127 - 24.
_EXPONENT_BIAS = 127 + 24
_TWO24_BITS = int(np.array(2.0 ** 24, F32).view(I32))


# ----- sincos256_ps ------------------------------------------------------------------------
_TWO_PI_ULP = F32(F32(2.0 * math.pi) * F32(2.0 ** -24))  # theta = RN(2pi * k 2^-24), exact scaling
_FOPI_HALF = F32(F32(1.27323954473516) * F32(0.5))
# The octant j = (trunc(x 4/pi) + 1) & ~1 is 2q with q = floor(RN(x 4/pi) / 2 + 1/2):
# below 4 the sum is exact (its ulp is at most that of RN(x 4/pi) / 2), and from 4 up
# rounding cannot cross the integer 4 downwards. So y = j = 2q and the products y * DP
# are q * (2 DP), exact: DP1 and DP2 have 8 and 11 significant bits, q <= 4.
_DP1_2 = F32(-0.78515625 * 2)
_DP2_2 = F32(-2.4187564849853515625e-4 * 2)
_DP3_2 = float(F32(-3.77489497744594108e-8)) * 2
_DP3_2_64 = F64(_DP3_2)
_SINCOF = [float(F32(c)) for c in (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)]
_COSCOF = [float(F32(c)) for c in (
    2.443315711809948e-005, -1.388731625493765e-003, 4.166664568298827e-002)]
# cos's and sin's coefficients stacked, to evaluate both polynomials in one array
_COEFFICIENTS = [np.array([c, s], F64).reshape(2, 1, 1)
                 for c, s in zip(_COSCOF, _SINCOF, strict=True)]


# The four polynomial steps of sincos256_ps stay inside one binade each on this domain
# (tests/test_random_fill.py): |c0 z + c1| and |y z + c2| lie in [2^E, 2^(E+1)] with
# E = -10, -5 for the cosine, -7, -3 for the sine, as does the last step of log256_ps's
# polynomial (E = -2). There float32 rounding needs no conversion: with C = 1.5 * 2^(E+29),
# whose float64 ulp is float32's ulp 2^(E-23) on that binade, (v + C) - C is v rounded to
# that grid, ties to even (C / ulp is even), i.e. RN32(v). For v = a * b + c the add of
# c + C (exact: c is a float32 of that binade or above) rounds the exact sum once: a fused
# multiply-add in two float64 passes, and the value stays in float64 for the next step.
def _magic(binade: int) -> np.float64:
    return F64(1.5 * 2.0 ** (binade + 29))


_LOG_LAST_MAGIC = _magic(-2)
_LOG_LAST_ADD = _LOG_P64[8] + _LOG_LAST_MAGIC
_POLY_MAGIC = [np.array([_magic(cos_binade), _magic(sin_binade)]).reshape(2, 1, 1)
               for cos_binade, sin_binade in ((-10, -7), (-5, -3))]
_POLY_ADD = [coefficient + magic for coefficient, magic
             in zip(_COEFFICIENTS[1:], _POLY_MAGIC, strict=True)]
# sign and swap of the octant q = j / 2 in 0..4, as bit 0 of (pattern >> q): the cosine is
# negative for q in {1, 2}, the sine for {2, 3}, the polynomials swap for q odd
_MINUS_HALF = F64(-0.5)
_OCTANT_PATTERNS = np.array([0b00110, 0b01100, 0b01010], I32).reshape(3, 1, 1)

_INT = {name: I32(value) for name, value in (
    ("sqrthf_shift", _SQRTHF_SHIFT), ("unit_exponent", _UNIT_EXPONENT), ("23", 23),
    ("mantissa", 0x7FFFFF), ("exponent_bias", _EXPONENT_BIAS), ("31", 31), ("1", 1),
    ("mask24", _MASK24))}
_F32 = {name: F32(value) for name, value in (
    ("one", 1.0), ("half", 0.5), ("two24", 2.0 ** 24), ("zero", 0.0),
    ("log_q1", F32(-2.0) * _LOG_Q1), ("log_q2", F32(2.0) * _LOG_Q2))}


class Float32Fill:
    """Buffers for `blocks` blocks of 16 and the kernel that fills them."""

    def __init__(self, blocks: int) -> None:
        self.blocks = blocks
        half = (blocks, 8)
        self.q = np.empty(half, I32)
        self.x = np.empty(half, F32)
        self.r = np.empty(half, F32)
        self.z = np.empty(half, F32)
        self.e = np.empty(half, F32)
        self.y = np.empty(half, F32)
        self.a = np.empty(half, F32)
        self.d1 = np.empty(half, F64)
        self.d2 = np.empty(half, F64)
        self.both = np.empty((2, *half), F32)
        self.both_wide = np.empty((2, *half), F64)
        self.factors = np.empty((2, *half), F64)
        self.octant = np.empty((3, *half), I32)

    def run(self, words: np.ndarray, out: np.ndarray) -> bool:
        """Turn (blocks, 16) uint32 words (masked in place) into (blocks, 16) float32 normals
        r cos | r sin, before the fmadd with std and mean. Returns whether some r is 0
        (a u1 of 0: r is -0.0 there), the only way a value can be -0.0."""
        # k = w & (2^24 - 1) for both halves in place: one contiguous pass
        ints = words.view(I32)
        np.bitwise_and(ints, _INT["mask24"], ints)
        radius, zero = self._radius(ints[:, :8])
        sin, cos = self._sincos(ints[:, 8:])
        np.multiply(radius, cos, out[:, :8])
        np.multiply(radius, sin, out[:, 8:])
        return zero

    # ----- r = sqrt(-2 log256_ps(1 - u1)) --------------------------------------------------
    def _radius(self, k: np.ndarray) -> tuple[np.ndarray, bool]:
        """k: the (blocks, 8) integers of u1 (int32, or float32 holding them exactly)."""
        add, subtract, multiply, copyto = np.add, np.subtract, np.multiply, np.copyto
        x, z, e, y, ints = self.r, self.z, self.e, self.y, self.q
        c = _F32
        # j = 2^24 - k, 1 - u1 = j 2^-24. k converts to float32 exactly, inside the call:
        # numpy's buffered cast makes the strided read cheaper than a pass of its own
        subtract(c["two24"], k, x, dtype=F32)
        zero = bool(x.view(I32).max() == _TWO24_BITS)  # positive floats order as their bits
        bits = x.view(I32)
        add(bits, _INT["sqrthf_shift"], bits)
        np.right_shift(bits, _INT["23"], ints)
        np.bitwise_and(bits, _INT["mantissa"], bits)
        add(bits, _INT["unit_exponent"], bits)
        subtract(x, c["one"], x)  # x = m' - 1: exact (m' in [0.70, 1.42))
        subtract(_INT["exponent_bias"], ints, ints)  # e' = -e >= 0
        e[...] = ints
        multiply(x, x, z)

        # y = p0; y = fma(y, x, p_i) for p1 ... p8, in float64, rounded to float32 between
        x64, t = self.d1, self.d2
        x64[...] = x
        multiply(x64, _LOG_P64[0], t)
        add(t, _LOG_P64[1], t)
        for coefficient in _LOG_P64[2:8]:
            copyto(y, t, "unsafe")
            t[...] = y
            multiply(t, x64, t)
            add(t, coefficient, t)
        copyto(y, t, "unsafe")
        t[...] = y
        multiply(t, x64, t)
        add(t, _LOG_LAST_ADD, t)
        subtract(t, _LOG_LAST_MAGIC, t)  # rounded: the last step stays in one binade
        multiply(t, x64, t)  # y * x, exact in float64
        copyto(y, t, "unsafe")

        # The rest of log256_ps is y = fma(y, z, e q1); y -= z * 0.5; x += y; x += e q2,
        # then r = sqrt(-2 x). Scaling by 2 commutes with every rounding here, so it is
        # computed doubled and negated: fma(y, 2z, -2 e q1) = 2 fma(y, z, e q1), then
        # 2y = that - z (no z * 0.5 pass), 2x + 2y, and -2x = e' (2 q2) - (2x + 2y).
        t[...] = y
        add(z, z, x64)  # 2z, exact, as float64
        multiply(t, x64, t)
        multiply(e, c["log_q1"], x64)  # -2 e q1 = e' (2 q1), rounded once in float32
        add(t, x64, t)
        copyto(y, t, "unsafe")  # 2 fma(y, z, e q1)
        subtract(y, z, y)
        add(x, x, x)
        add(x, y, x)  # 2 (x + y)
        multiply(e, c["log_q2"], e)  # e' (2 q2): exact (9-bit constant, e' <= 24)
        subtract(e, x, x)  # -2 (x + y + e q2)
        np.sqrt(x, x)
        if zero:
            x[x == 0] = -0.0  # PyTorch's r = sqrt(-2 * +0.0) is -0.0
        return x, zero

    # ----- sincos256_ps(2 pi u2) -----------------------------------------------------------
    def _sincos(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """k: the (blocks, 8) integers of u2 (as in _radius)."""
        add, subtract, multiply, copyto = np.add, np.subtract, np.multiply, np.copyto
        q, a, x, z, theta = self.q, self.a, self.x, self.z, self.e
        c = _F32
        multiply(k, _TWO_PI_ULP, theta, dtype=F32)
        multiply(theta, _FOPI_HALF, a)
        add(a, c["half"], a)
        q[...] = a  # q = j / 2: a >= 0.5, so truncation is floor
        a[...] = q
        # x = ((theta - y DP1) - y DP2) - y DP3, the last product fused
        multiply(a, _DP1_2, x)
        add(theta, x, x)
        multiply(a, _DP2_2, theta)
        add(x, theta, x)
        t = self.d1
        multiply(a, _DP3_2_64, t)  # float64 loop: q * 2 DP3, exact
        add(t, x, t)
        copyto(x, t, "unsafe")
        multiply(x, x, z)
        factors = self.factors  # (z, x) as float64: the two last fmas' multipliers
        z64 = factors[0]
        z64[...] = z

        # both polynomials: (c0 z + c1) z + c2, each step fused and rounded in float64
        wide, both = self.both_wide, self.both
        multiply(z64, _COEFFICIENTS[0], wide)
        add(wide, _POLY_ADD[0], wide)
        subtract(wide, _POLY_MAGIC[0], wide)
        multiply(wide, z64, wide)
        add(wide, _POLY_ADD[1], wide)
        subtract(wide, _POLY_MAGIC[1], wide)
        multiply(wide, z64, wide)  # times z: exact in float64, then rounded
        copyto(both, wide, "unsafe")
        wide[...] = both
        # cos = fma(y, z, -z * 0.5) + 1 and sin = fma(y, x, x), side by side
        t = self.d1
        multiply(z64, _MINUS_HALF, t)
        factors[1] = x
        multiply(wide, factors, wide)
        wide_cos, wide_sin = wide
        add(wide_cos, t, wide_cos)
        add(wide_sin, factors[1], wide_sin)
        copyto(both, wide, "unsafe")
        cos, sin = both
        add(cos, c["one"], cos)

        # Octants 1-2 and 5-6 (q odd) swap the polynomials, then the signs: the AVX code's
        # bit masks, from bit 0 of each pattern shifted right by q.
        octant = self.octant
        np.right_shift(_OCTANT_PATTERNS, q, octant)
        signs, swap = octant[:2], octant[2]
        np.left_shift(signs, _INT["31"], signs)
        both_bits = both.view(I32)
        cos_bits, sin_bits = both_bits
        np.bitwise_and(swap, _INT["1"], swap)
        mixed = q
        np.bitwise_xor(cos_bits, sin_bits, mixed)
        multiply(mixed, swap, mixed)  # (cos ^ sin) where the octant swaps, else 0
        np.bitwise_xor(signs, mixed, signs)
        np.bitwise_xor(both_bits, signs, both_bits)
        return sin, cos
