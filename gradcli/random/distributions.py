"""PyTorch's CPU sampling kernels over a Generator, vectorised with numpy: each function
draws exactly the raw 32-bit words PyTorch's kernel draws, in the same order, and applies
the same transformation (aten/src/ATen/core/TransformationHelper.h, DistributionsHelper.h,
native/cpu/DistributionTemplates.h). They return flat numpy arrays in draw order
(row-major), the order in which PyTorch's serial kernels fill a contiguous tensor."""

from __future__ import annotations

import math

import numpy as np

from gradcli.random.avx_mathfun import log256_ps, sincos256_ps
from gradcli.random.fill32 import Float32Fill
from gradcli.random.generator import Generator

F32, F64 = np.float32, np.float64
_MASK24 = np.int32((1 << 24) - 1)
_MASK53 = np.uint64((1 << 53) - 1)
# normal_kernel takes the 16-wide fill from this many elements on (contiguous tensors)
NORMAL_FILL_MIN = 16


# ----- uniform_real_distribution -----------------------------------------------------------

_UNIT_CHUNK = 1 << 16
_ULP24 = F32(2.0 ** -24)


def unit_float(gen: Generator, count: int) -> np.ndarray:
    """uniform_real_distribution<float>(0, 1): (random() & (2^24 - 1)) * 2^-24, drawn a
    chunk at a time (the words stay in cache) and converted inside the multiply (below
    2^24 an int32 is exact in float32, and the scaling by 2^-24 is exact)."""
    values = np.empty(count, F32)
    for start in range(0, count, _UNIT_CHUNK):
        stop = min(start + _UNIT_CHUNK, count)
        words = gen.random(stop - start).view(np.int32)
        words &= _MASK24
        np.multiply(words, _ULP24, out=values[start:stop], dtype=F32)
    return values


def unit_double(gen: Generator, count: int) -> np.ndarray:
    """uniform_real_distribution<double>(0, 1): (random64() & (2^53 - 1)) * 2^-53."""
    return (gen.random64(count) & _MASK53).astype(F64) * 2.0 ** -53


def uniform(gen: Generator, count: int, dtype, low: float = 0.0, high: float = 1.0):
    """uniform_kernel: x * (to - from) + from in the tensor's own type (float for float32),
    from and to first cast to it; GCC fuses the multiply and the add."""
    dtype = np.dtype(dtype)
    if dtype == F32:
        low, high = F32(low), F32(high)
        if high == 1 and low == 0 and not np.signbit(low):
            return unit_float(gen, count)  # u * 1 + 0 is u (never -0.0)
        return fma32(unit_float(gen, count), high - low, low)
    low, high = F64(low), F64(high)
    return _fmadd64(unit_double(gen, count), high - low, low)


# ----- fused multiply-add -------------------------------------------------------------------
# PyTorch is built with GCC's default floating-point contraction: `a * b + c` in its
# kernels is one fused multiply-add, rounded once. numpy has no fma, so:

def fma32(a, b, c) -> np.ndarray:
    """float32 fma of float32 values a (an array), b and c (numbers), rounded once.

    a * b is exact in float64 (48 significant bits at most), so the float64 sum is the
    exact value x rounded once to float64, and rounding that to float32 gives RN32(x)
    unless RN64(x) is a float32 rounding midpoint (a float64 number: RN64 cannot cross
    one, so x and RN64(x) round alike on either side of it). Those values, recognised by
    their bits (the 29 bits below float32's last are 1000...0), and any below float32's
    normal range (where that pattern moves) are redone exactly: rounded to odd in
    float64 first, which a single rounding to float32 cannot tell from x (Boldo and
    Melquiond)."""
    a = np.asarray(a, F32)
    b, c = F32(b), F32(c)
    if c == 0 and not np.signbit(c):
        product = np.multiply(a, b)  # RN32(a * b); + 0.0 gives fma's sign of a zero
        product += F32(0.0)
        return product
    if b == 1:
        return a + c  # a * 1 is exact: one rounding of the sum
    total = a.astype(F64)
    total *= F64(b)
    total += F64(c)
    bits = total.view(np.int64)
    risky = (bits & _BELOW_FLOAT32) == _FLOAT32_MIDPOINT
    risky |= np.abs(total) < 2.0 ** -126
    if risky.any():
        total[risky] = _fma32_to_odd(a[risky], b, c)
    return total.astype(F32)


_BELOW_FLOAT32 = np.int64((1 << 29) - 1)  # float64 mantissa bits under float32's
_FLOAT32_MIDPOINT = np.int64(1 << 28)


def _fma32_to_odd(a, b, c) -> np.ndarray:
    """a * b + c in float64 rounded to odd (an inexact sum with an even last bit moves one
    ulp towards the exact value), so that one rounding to float32 is the fma's."""
    product = np.asarray(a, F64) * F64(b)
    total = product + F64(c)
    error = _two_sum_error(product, F64(c), total)
    bits = total.view(np.int64)
    fix = (error != 0) & ((bits & 1) == 0)
    if fix.any():
        total[fix] = np.nextafter(total[fix], np.where(error[fix] > 0, np.inf, -np.inf))
    return total


def fma64(a, b, c) -> np.ndarray:
    """float64 fma: Dekker's exact product p + e = a * b (Veltkamp's split), Knuth's exact
    sum s + t = p + c, then s + (t + e). Correctly rounded except when t + e itself rounds
    across a tie of the final sum: far rarer than one value in 2^50."""
    a = np.asarray(a, F64)
    b, c = F64(b), F64(c)
    product = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    total = product + c
    return total + (_two_sum_error(product, c, total) + error)


def _split(x):
    scaled = x * 134217729.0  # 2^27 + 1
    high = scaled - (scaled - x)
    return high, x - high


def _two_sum_error(a, b, total):
    """The rounding error of total = a + b, exactly (Knuth's TwoSum)."""
    b_virtual = total - a
    return (a - (total - b_virtual)) + (b - b_virtual)


# ----- normal -----------------------------------------------------------------------------

def normal(gen: Generator, count: int, dtype, mean: float = 0.0, std: float = 1.0,
           contiguous: bool = True) -> np.ndarray:
    """normal_kernel: the 16-wide fill for 16 or more contiguous elements, else the scalar
    Box-Muller of normal_distribution<double>, one element after another."""
    dtype = np.dtype(dtype)
    if count < NORMAL_FILL_MIN or not contiguous:
        return scalar_normal(gen, count, mean, std).astype(dtype)
    if dtype == F32:
        return _normal_fill32(gen, count, mean, std)
    return _normal_fill(gen, count, unit_double, _normal_16_double, mean, std)


def scalar_normal(gen: Generator, count: int, mean: float, std: float) -> np.ndarray:
    """normal_distribution<double>: u1, u2 uniform doubles, r = sqrt(-2 log1p(-u2)),
    theta = 2 pi u1; returns r cos(theta) and caches r sin(theta) for the next call, on the
    generator, across tensors. Under 16 values: libm's own functions through `math`."""
    out = np.empty(count, dtype=F64)
    if count == 0:
        return out
    for i in range(count):
        value = gen.next_double_normal
        if value is not None:
            gen.next_double_normal = None
        else:
            u1, u2 = unit_double(gen, 2)
            radius = math.sqrt(-2.0 * math.log1p(-float(u2)))
            theta = 2.0 * math.pi * float(u1)
            gen.next_double_normal = radius * math.sin(theta)
            value = radius * math.cos(theta)
        out[i] = value
    # fma(x, 1, 0) is x, except that -0.0 (r = 0) becomes +0.0
    return out + 0.0 if std == 1.0 and mean == 0.0 else fma64(out, std, mean)


# Values per step of the fill: numpy's many passes then stay in the CPU's cache.
_FILL_CHUNK = 1 << 15
# Blocks of 16 per step of the float32 fill (fill32's buffers: about 3 MB; 2^11 and 2^13
# measured slower)
_FILL32_BLOCKS = 1 << 12


def _normal_fill(gen, count, unit, fill_16, mean, std) -> np.ndarray:
    """normal_fill<double>: `count` uniforms, then each block of 16 turns its first 8 into
    r cos and its last 8 into r sin; a ragged end draws 16 fresh uniforms for the last 16
    slots and transforms them again (the recomputed tail). The uniforms are drawn chunk by
    chunk here: the same words in the same order."""
    data = np.empty(count, dtype=F64)
    whole = count - count % 16
    for start in range(0, whole, _FILL_CHUNK * 16):  # draws in fewer, larger calls
        stop = min(start + _FILL_CHUNK * 16, whole)
        data[start:stop] = unit(gen, stop - start)
        for begin in range(start, stop, _FILL_CHUNK):
            end = min(begin + _FILL_CHUNK, stop)
            blocks = data[begin:end].reshape(-1, 16)
            data[begin:end] = fill_16(blocks, mean, std).reshape(-1)
    if whole != count:
        # the remaining uniforms are drawn, then overwritten by the tail
        unit(gen, count - whole)
        tail = unit(gen, 16).reshape(1, 16)
        data[count - 16:] = fill_16(tail, mean, std).reshape(-1)
    return data


def _normal_fill32(gen, count, mean, std) -> np.ndarray:
    """normal_fill_AVX2: as _normal_fill, each block through normal_fill_16_AVX2 (fill32's
    kernel), then fmadd(value, std, mean). The kernel reads the words' low 24 bits
    (uniform_real_distribution<float>).

    PyTorch first draws one uniform per element, so the words are drawn in one call, and
    each chunk is transformed in place: the kernel has read a chunk's words into its own
    buffers before it writes the chunk's values. One allocation for the whole fill, where
    a fresh array per chunk cost a page fault per 4 KiB (a fifth of the time, measured)."""
    words = gen.random(count)
    data = words.view(F32)
    total = count // 16
    kernel = Float32Fill(min(total, _FILL32_BLOCKS))
    for start in range(0, total, kernel.blocks):
        blocks = min(kernel.blocks, total - start)
        if blocks < kernel.blocks:
            kernel = Float32Fill(blocks)
        chunk = words[16 * start:16 * (start + blocks)].reshape(blocks, 16)
        values = chunk.view(F32)
        _fmadd32(values, kernel.run(chunk, values), std, mean)
    if total * 16 != count:
        # the last count % 16 uniforms were drawn above, and are overwritten by the
        # recomputed tail: 16 fresh uniforms for the last 16 slots
        out = np.empty((1, 16), F32)
        _fmadd32(out, Float32Fill(1).run(gen.random(16).reshape(1, 16), out), std, mean)
        data[count - 16:] = out.reshape(-1)
    return data


def _fmadd32(values: np.ndarray, zero: bool, std: float, mean: float) -> None:
    """values = _mm256_fmadd_ps(values, std, mean) in place: the product of two float32
    values rounded once with the sum. `zero` says a value may be -0.0, which the fmadd
    turns into +0.0 (-0.0 * 1 + 0 = +0.0)."""
    std, mean = F32(std), F32(mean)
    if std == 1 and mean == 0 and not np.signbit(mean):
        if zero:
            values += F32(0.0)
    elif mean == 0 and not np.signbit(mean):
        # fma(v, std, +0) is the product rounded once: float32's own multiply, then + 0
        # for the sign of a zero product
        values *= std
        values += F32(0.0)
    elif std == 1:
        values += mean  # fma(v, 1, mean): v * 1 is exact, one rounding of the sum
    else:
        values[...] = fma32(values, std, mean)


def _normal_16_avx2(blocks: np.ndarray, mean: float, std: float) -> np.ndarray:
    """normal_fill_16_AVX2, op for op: float32 throughout, avx_mathfun's log and sincos.
    (The fill itself runs fill32's equal but faster kernel; this is its readable form.)"""
    u1 = F32(1.0) - blocks[:, :8]
    log = log256_ps(u1)
    log *= F32(-2.0)
    radius = np.sqrt(log, out=log)
    theta = F32(2.0 * math.pi) * blocks[:, 8:]
    sin, cos = sincos256_ps(theta)
    out = np.empty_like(blocks)
    out[:, :8] = _fma32(np.multiply(radius, cos, out=cos), std, mean)
    out[:, 8:] = _fma32(np.multiply(radius, sin, out=sin), std, mean)
    return out


def _fma32(value: np.ndarray, std: float, mean: float) -> np.ndarray:
    """_mm256_fmadd_ps(value, std, mean): the float32 product is exact in float64."""
    if std == 1.0 and mean == 0.0 and not math.copysign(1.0, mean) < 0:
        return value + F32(0.0)  # fma(x, 1, 0): x, but -0.0 (r = 0 when u = 0) is +0.0
    return fma32(value, F32(std), F32(mean))


def _normal_16_double(blocks: np.ndarray, mean: float, std: float) -> np.ndarray:
    """normal_fill_16<double>: std::log, std::cos, std::sin."""
    u1 = 1.0 - blocks[:, :8]
    u2 = blocks[:, 8:]
    radius = np.sqrt(-2.0 * libm_log(u1))
    theta = 2.0 * math.pi * u2
    out = np.empty_like(blocks)
    np.multiply(radius, np.cos(theta), out=out[:, :8])
    np.multiply(radius, np.sin(theta), out=out[:, 8:])
    return _fmadd64(out, std, mean)


def _fmadd64(values: np.ndarray, std: float, mean: float) -> np.ndarray:
    """fma(values, std, mean) (GCC's contraction of value * std + mean). A unit std or a
    zero mean leave one rounding, which is numpy's own multiply or add: no emulation."""
    if std == 1 and mean == 0 and not math.copysign(1.0, mean) < 0:
        values += 0.0  # fma(v, 1, +0): v, but -0.0 (r = 0) becomes +0.0
        return values
    if mean == 0 and not math.copysign(1.0, mean) < 0:
        values *= std  # the product rounded once; + 0.0 for the sign of a zero product
        values += 0.0
        return values
    if std == 1:
        values += mean
        return values
    return fma64(values, std, mean)


# PyTorch's scalar loops call libm. numpy's float64 sin and cos agree with it bit for bit;
# its SIMD log and log1p do not (about 1 value in 300 differs in the last bit), so those two
# go through Python's math module, which is libm.
_log = np.frompyfunc(math.log, 1, 1)
_log1p = np.frompyfunc(math.log1p, 1, 1)


def libm_log(x: np.ndarray) -> np.ndarray:
    return _log(x).astype(F64)


def libm_log1p(x: np.ndarray) -> np.ndarray:
    return _log1p(x).astype(F64)


# ----- integers ----------------------------------------------------------------------------

def random_from_to(gen: Generator, count: int, low: int, high: int, wide: bool) -> np.ndarray:
    """uniform_int_from_to_distribution: (v % range) + from, v from random64() when
    range >= 2^32 and the dtype is 64-bit (or float/double), else from random()."""
    span = high - low
    if span <= 0:
        raise ValueError("empty range")
    draws = gen.random64(count) if (wide and span >= 1 << 32) else gen.random(count)
    offsets = draws.astype(np.uint64) % np.uint64(span)
    # (val % range) + base in uint64, wrapping, then read as int64: PyTorch's casts
    offsets += np.uint64(low & ((1 << 64) - 1))
    return offsets.view(np.int64)


def random_full(gen: Generator, count: int, dtype) -> np.ndarray:
    """random_kernel (random_() without bounds): [0, max] for integers, [0, 2^digits] for
    floating types; 64-bit draws for int64 and double."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return (gen.random(count) & np.uint64(1)).astype(np.bool_)
    if dtype == np.int64:
        return (gen.random64(count) % np.uint64(1 << 63)).astype(np.int64)
    if dtype == F64:
        return (gen.random64(count) % np.uint64((1 << 53) + 1)).astype(F64)
    if dtype == F32:
        return (gen.random(count) % np.uint64((1 << 24) + 1)).astype(F32)
    bound = int(np.iinfo(dtype).max) + 1
    return (gen.random(count) % np.uint64(bound)).astype(dtype)


def randperm(gen: Generator, n: int) -> np.ndarray:
    """randperm_cpu for n < 2^32 / 20: Fisher-Yates, swap r[i] and r[i + random() % (n-i)]."""
    if n < 2:
        return np.arange(n, dtype=np.int64)
    offsets = (gen.random(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
    perm = list(range(n))
    for i, z in enumerate(offsets):  # each swap depends on the previous ones
        j = i + z
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)


# ----- bernoulli, exponential, multinomial -------------------------------------------------

def bernoulli_scalar(gen: Generator, count: int, p: float) -> np.ndarray:
    """bernoulli_(p) with a number p: bernoulli_distribution<double>, u < p per element
    (the kernel without MKL, which PyTorch takes on every CPU not made by Intel)."""
    return unit_double(gen, count) < p


def bernoulli_tensor(gen: Generator, p: np.ndarray) -> np.ndarray:
    """bernoulli(p) with a tensor p: a double p draws a 53-bit double, any other p the
    24-bit float of bernoulli_distribution<float>, each compared as u < p."""
    flat = np.ascontiguousarray(p).reshape(-1)
    if flat.dtype == F64:
        return unit_double(gen, flat.size) < flat
    return unit_float(gen, flat.size) < flat.astype(F32)


def exponential(gen: Generator, count: int, lambd: float = 1.0) -> np.ndarray:
    """exponential_distribution<double>: -1/lambda * log1p(-u), u a uniform double."""
    u = unit_double(gen, count)
    return (-1.0 / lambd) * libm_log1p(-u)


def multinomial(gen: Generator, probs: np.ndarray, samples: int, replacement: bool):
    """torch.multinomial on rows of `probs` (2-d). Without replacement, or for one sample,
    PyTorch's Gumbel trick: q = exponential_(1) like probs, then topk/argmax of probs / q.
    With replacement: per row, the cumulative sum in the row's dtype divided by the sum,
    then a binary search of one uniform double per sample."""
    rows, categories = probs.shape
    if not replacement or samples == 1:
        q = exponential(gen, probs.size).astype(probs.dtype).reshape(probs.shape)
        keys = probs / q
        # topk: largest first; stable argsort on the negated keys orders ties by index
        order = np.argsort(-keys, axis=-1, kind="stable")
        return order[:, :samples].astype(np.int64)
    out = np.empty((rows, samples), dtype=np.int64)
    for row in range(rows):
        cumulative = np.cumsum(probs[row], dtype=probs.dtype)
        cumulative = cumulative / cumulative[-1]
        cumulative[-1] = 1
        u = unit_double(gen, samples)
        out[row] = np.searchsorted(cumulative.astype(F64), u, side="left")
    return out
