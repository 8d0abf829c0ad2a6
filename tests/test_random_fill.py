"""fill32's fast normal_fill_16_AVX2 against avx_mathfun's op-for-op translation, on every input.

A float32 normal block takes u1 = k1 2^-24 and u2 = k2 2^-24 for integers k < 2^24, so
both halves of the kernel have exactly 2^24 possible inputs: these tests run all of them
through fill32 and through avx_mathfun (whose fused multiply-adds are rounded once, exactly)
and require the same bits. That is what licenses fill32's shortcuts (float64 rounding
tricks, the doubled log tail, the octant arithmetic), which are identities on this domain
only. tests/test_random.py checks both against PyTorch itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradcli.random import avx_mathfun, distributions, fill32

F32 = np.float32
PIECE = 1 << 20  # inputs per step: bounded memory
BLOCKS = PIECE // 8


def _inputs(start: int) -> np.ndarray:
    """k = start .. start + PIECE - 1 as float32 (exact), shaped as fill32's buffers."""
    return np.arange(start, start + PIECE, dtype=np.int32).astype(F32).reshape(BLOCKS, 8)


def _same_bits(fast: np.ndarray, reference: np.ndarray) -> int:
    return int(np.count_nonzero(fast.view(np.int32) != reference.view(np.int32)))


@pytest.mark.parametrize("start", range(0, 1 << 24, PIECE * 4),
                         ids=lambda s: f"k{s >> 20}M")
def test_radius_matches_log256_ps_on_every_input(start):
    kernel = fill32.Float32Fill(BLOCKS)
    for piece in range(start, start + 4 * PIECE, PIECE):
        k = _inputs(piece)
        u1 = k * F32(2.0 ** -24)
        log = avx_mathfun.log256_ps(F32(1.0) - u1)
        log *= F32(-2.0)
        reference = np.sqrt(log)
        fast, zero = kernel._radius(k.copy())
        assert zero == (piece == 0)
        assert _same_bits(fast, reference) == 0


@pytest.mark.parametrize("start", range(0, 1 << 24, PIECE * 4),
                         ids=lambda s: f"k{s >> 20}M")
def test_sincos_matches_sincos256_ps_on_every_input(start):
    kernel = fill32.Float32Fill(BLOCKS)
    for piece in range(start, start + 4 * PIECE, PIECE):
        k = _inputs(piece)
        theta = F32(2.0 * math.pi) * (k * F32(2.0 ** -24))
        sin_reference, cos_reference = avx_mathfun.sincos256_ps(theta)
        sin, cos = kernel._sincos(k.copy())
        assert _same_bits(sin, sin_reference) == 0
        assert _same_bits(cos, cos_reference) == 0
        # the only zero is sin(0): a zero r is the only source of a -0.0 product
        assert np.count_nonzero(sin == 0) == (piece == 0)
        assert np.count_nonzero(cos == 0) == 0


def test_the_reference_fma_is_rounded_once():
    """avx_mathfun's fma rounds to odd in float64 first: a float64 sum on a float32 midpoint
    that is not exact must not round to even twice. 1 + 2^-24 + 2^-60: float64 rounds it
    to the midpoint 1 + 2^-24, float32 then to 1; the single rounding goes up."""
    out = np.empty(1, F32)
    scratch = np.array([2.0 ** -24 + 2.0 ** -60])  # an exact "product" 2^-24 (1 + 2^-36)
    avx_mathfun._round_fma(scratch, out, 1.0)
    assert out[0] == F32(1.0) + F32(2.0 ** -23)


def _words(blocks: int, seed: int) -> np.ndarray:
    words = np.random.default_rng(seed).integers(0, 1 << 32, size=(blocks, 16), dtype=np.uint32)
    words[0, 0] = 0  # u1 = 0: r = 0
    words[1, 8] = 7 << 24  # u2 = 0 (only the low 24 bits count)
    return words


@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (0.0, 2.5), (0.0, -0.75), (1.5, 1.0),
                                       (-0.0, 1.0), (0.3, 1.7), (-2.0, 1e-3)])
def test_whole_blocks_match_the_op_for_op_fill(mean, std):
    """run() plus _fmadd32's shortcuts against normal_fill_16_AVX2 written op for op."""
    words = _words(4096, 1)
    uniforms = (words & 0xFFFFFF).astype(F32) * F32(2.0 ** -24)
    reference = distributions._normal_16_avx2(uniforms, mean, std)
    out = np.empty((4096, 16), F32)
    zero = fill32.Float32Fill(4096).run(words.copy(), out)
    distributions._fmadd32(out, zero, std, mean)
    assert zero
    assert _same_bits(out, reference) == 0


@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (0.0, 2.5), (0.0, -0.75), (1.5, 1.0),
                                       (-0.0, 1.0), (0.3, 1.7)])
def test_the_float64_fmadd_is_one_rounding(mean, std):
    """normal_fill<double>'s value * std + mean, fused: every shortcut of _fmadd64 against
    the exact rational result rounded once (Fraction to float rounds to nearest even)."""
    from fractions import Fraction

    values = np.random.default_rng(2).standard_normal(2000)
    values[:4] = [0.0, -0.0, 1e-300, -3.0]
    expected = []
    for v in values:
        exact = Fraction(v) * Fraction(std) + Fraction(mean)
        if exact == 0:  # the sign of an exact zero: -0.0 only for (-0.0) + (-0.0)
            product_negative = math.copysign(1.0, v) * math.copysign(1.0, std) < 0
            negative = product_negative and math.copysign(1.0, mean) < 0
            expected.append(-0.0 if negative else 0.0)
        else:
            expected.append(float(exact))
    got = distributions._fmadd64(values.copy(), std, mean)
    assert np.array_equal(got.view(np.int64), np.array(expected).view(np.int64))


def test_the_float32_fma_is_one_rounding():
    """distributions.fma32's fast path against the rounded-to-odd one on values that
    include zeros, tiny and huge numbers, and a sum whose float64 rounding lands on a
    float32 midpoint: 2^-24 (1 + d 2^-47) + 1 with d < 2^18, where rounding twice gives
    1.0 and rounding once 1 + 2^-23."""
    a = np.float32(8390624 * 2.0 ** -47)
    b = np.float32(16773185 * 2.0 ** -24)  # a * b = 2^-24 (1 + 262112 * 2^-47)
    assert distributions.fma32(np.array([a]), b, 1.0)[0] == F32(1.0) + F32(2.0 ** -23)
    assert np.float32(np.float64(a) * np.float64(b) + 1.0) == F32(1.0)  # the trap

    rng = np.random.default_rng(3)
    values = rng.standard_normal(20000).astype(F32)
    values[:6] = [0.0, -0.0, 1e-40, -1e-38, 3e38, 1.0]
    for b, c in [(1.7, 0.3), (-2.5, 1e-30), (1e-3, -1.0), (0.5, 0.0), (1.0, -0.75),
                 (3.0, -0.0), (1e30, 1e38), (2.0 ** -60, 2.0 ** -120)]:
        fast = distributions.fma32(values, b, c)
        exact = distributions._fma32_to_odd(values, F32(b), F32(c)).astype(F32)
        assert np.array_equal(fast.view(np.int32), exact.view(np.int32)), (b, c)
