"""PyTorch's MT19937 engine (aten/src/ATen/core/MT19937RNGEngine.h) on numpy's MT19937.

Both are the reference Mersenne Twister: PyTorch seeds it with `init_genrand(seed &
0xffffffff)` (its `init_with_uint32`), the same recurrence numpy's legacy seeding uses, so
numpy's raw 32-bit output is PyTorch's `engine_()` draw for draw, and vectorised.

Bookkeeping differs: PyTorch counts `left_` down and `next_` up, numpy keeps `pos`.
After k draws since the last twist PyTorch has left_ = 625 - k, next_ = k, numpy pos = k;
a fresh seed is PyTorch's left_ = 1, next_ = 0 and numpy's pos = 624.
"""

from __future__ import annotations

import numpy as np

STATE_WORDS = 624
_MASK32 = 0xFFFFFFFF


def init_genrand(seed: int) -> np.ndarray:
    """The 624-word key of MT19937's `init_genrand` (PyTorch's init_with_uint32)."""
    key = [seed & _MASK32]
    for j in range(1, STATE_WORDS):
        previous = key[-1]
        key.append((1812433253 * (previous ^ (previous >> 30)) + j) & _MASK32)
    return np.array(key, dtype=np.uint32)


class MT19937:
    """One engine: `seed` is PyTorch's `data_.seed_` (64 bits, only the low 32 used)."""

    __slots__ = ("seed", "_bits", "_words", "_fresh_next")

    def __init__(self, seed: int) -> None:
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._bits = np.random.MT19937(0)
        self._set(init_genrand(seed), STATE_WORDS)
        self._fresh_next = 0

    def _set(self, key: np.ndarray, pos: int) -> None:
        self._words = np.random.Generator(self._bits)
        self._bits.state = {
            "bit_generator": "MT19937",
            "state": {"key": key, "pos": pos},
        }

    def draw32(self, count: int) -> np.ndarray:
        """`count` successive `random()` values as uint32. numpy's bounded integers over the
        whole uint32 range are the raw words, untouched (its `rng == 0xFFFFFFFF` case)."""
        self._fresh_next = None
        if count <= 0:
            return np.zeros(0, dtype=np.uint32)
        return self._words.integers(0, 1 << 32, size=count, dtype=np.uint32)

    def draw64(self, count: int) -> np.ndarray:
        """`count` successive `random64()` values: two 32-bit draws, the first the high word."""
        pairs = self.draw32(2 * count).reshape(count, 2).astype(np.uint64)
        return (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]

    def clone(self) -> MT19937:
        copy = MT19937.__new__(MT19937)
        copy.seed = self.seed
        copy._bits = np.random.MT19937(0)
        copy._bits.state = self._bits.state
        copy._words = np.random.Generator(copy._bits)
        copy._fresh_next = self._fresh_next
        return copy

    # PyTorch's mt19937_data_pod view of the same state.
    def data(self) -> tuple[int, int, int, np.ndarray]:
        """(seed_, left_, next_, state_) as PyTorch's engine holds them."""
        state = self._bits.state["state"]
        pos = int(state["pos"])
        following = pos if pos < STATE_WORDS or self._fresh_next is None else self._fresh_next
        return self.seed, STATE_WORDS + 1 - pos, following, np.asarray(state["key"], np.uint32)

    def set_data(self, seed: int, left: int, following: int, key: np.ndarray) -> None:
        """Restore from PyTorch's fields; `left_` says how far into the twisted block."""
        self.seed = seed
        self._bits = np.random.MT19937(0)
        pos = STATE_WORDS + 1 - left
        self._set(np.asarray(key, dtype=np.uint32), pos)
        self._fresh_next = following if pos == STATE_WORDS else None
