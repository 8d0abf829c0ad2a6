"""torch.Generator for the CPU (aten/src/ATen/CPUGeneratorImpl.cpp): an MT19937 engine plus
the Box-Muller caches, seeded, saved and restored as PyTorch does it."""

from __future__ import annotations

import struct

import numpy as np

from gradcli.base.errors import runtime_error, value_error
from gradcli.random.mt19937 import MT19937, STATE_WORDS

# c10::detail::default_rng_seed_val: what a new torch.Generator() starts from.
DEFAULT_GENERATOR_SEED = 67280421310721
# gradcli's global generator starts at 0 (PyTorch seeds its own from /dev/urandom).
DEFAULT_GLOBAL_SEED = 0

# CPUGeneratorImplState: the legacy THGeneratorState (seed, left, seeded, next,
# uint64 state[624], normal_x, normal_y, normal_rho, normal_is_valid) then the float cache.
_HEAD = struct.Struct("<QiiQ")
_TAIL = struct.Struct("<dddi4xf?3x")
STATE_BYTES = _HEAD.size + 8 * STATE_WORDS + _TAIL.size  # 5056, sizeof(CPUGeneratorImplState)


class Generator:
    """One CPU generator. `next_double_normal` is PyTorch's next_double_normal_sample_:
    the scalar Box-Muller path keeps the sine half of a pair for the following draw."""

    __slots__ = ("engine", "next_double_normal", "next_float_normal")

    def __init__(self, seed: int = DEFAULT_GENERATOR_SEED) -> None:
        self.engine = None
        self.next_double_normal = None
        self.next_float_normal = None
        self.manual_seed(seed)

    # ----- seeding (CPUGeneratorImpl::set_current_seed) --------------------------------
    def manual_seed(self, seed: int) -> Generator:
        if not isinstance(seed, int):  # a program's g.manual_seed(1.5)
            raise runtime_error(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = int(seed)
        if seed < -(1 << 63) or seed >= 1 << 64:
            raise value_error("Overflow when unpacking long long")
        seed &= (1 << 64) - 1  # a negative seed is taken as its uint64 bits, as in PyTorch
        self.next_double_normal = self.next_float_normal = None
        if self.engine is None:
            self.engine = MT19937(seed)
        else:
            self.engine.reseed(seed)
        return self

    def __repr__(self) -> str:
        return f"<torch._C.Generator object at {id(self):#x}>"

    def initial_seed(self) -> int:
        return self.engine.seed

    # ----- draws ---------------------------------------------------------------------
    def random(self, count: int) -> np.ndarray:
        """`count` draws of CPUGeneratorImpl::random(): 32 bits each."""
        return self.engine.draw32(count)

    def random64(self, count: int) -> np.ndarray:
        """`count` draws of CPUGeneratorImpl::random64(): two 32-bit draws, high word first."""
        return self.engine.draw64(count)

    # ----- state (CPUGeneratorImpl::get_state / set_state) -----------------------------
    def get_state(self) -> bytes:
        seed, left, following, key = self.engine.data()
        normal_valid = self.next_double_normal is not None
        float_valid = self.next_float_normal is not None
        return b"".join((
            _HEAD.pack(seed, left, 1, following),
            key.astype("<u8").tobytes(),
            _TAIL.pack(0.0, self.next_double_normal if normal_valid else 0.0, 0.0,
                       int(normal_valid), self.next_float_normal if float_valid else 0.0,
                       float_valid),
        ))

    def set_state(self, state: bytes) -> None:
        if len(state) != STATE_BYTES:
            raise runtime_error(
                f"Expected a CPUGeneratorImplState of size {STATE_BYTES} but found the input "
                f"RNG state size to be {len(state)}")
        seed, left, seeded, following = _HEAD.unpack_from(state, 0)
        key = np.frombuffer(state, "<u8", STATE_WORDS, _HEAD.size).astype(np.uint32)
        _, normal_y, _, normal_valid, float_sample, float_valid = _TAIL.unpack_from(
            state, _HEAD.size + 8 * STATE_WORDS)
        if not (seeded and 0 < left <= STATE_WORDS and following <= STATE_WORDS):
            raise runtime_error("Invalid mt19937 state")
        self.engine.set_data(seed, left, following, key)
        self.next_double_normal = normal_y if normal_valid else None
        self.next_float_normal = float_sample if float_valid else None

    def clone_state(self) -> tuple:
        return self.engine.clone(), self.next_double_normal, self.next_float_normal

    def restore(self, saved: tuple) -> None:
        engine, self.next_double_normal, self.next_float_normal = saved
        self.engine = engine.clone()


_DEFAULT: list[Generator] = []


def default_generator() -> Generator:
    """The global generator (torch.default_generator), made on first use: building it
    imports numpy.random, which a program that draws nothing should not pay for."""
    if not _DEFAULT:
        _DEFAULT.append(Generator(DEFAULT_GLOBAL_SEED))
    return _DEFAULT[0]


def seed_global(seed: int) -> None:
    """Reseed the global generator: torch.manual_seed, and every run's start (--seed)."""
    if _DEFAULT or seed != DEFAULT_GLOBAL_SEED:
        default_generator().manual_seed(seed)
    # else: not made yet, and it will be made with this very seed


def resolve(generator: Generator | None) -> Generator:
    return default_generator() if generator is None else generator
