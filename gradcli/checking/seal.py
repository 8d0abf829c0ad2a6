"""Sealed expectations: a check that holds without showing its answer.

A visible `# expect: x.grad == tensor([2., 4.])` gives the answer away (nbgrader#869,
otter-grader#953). `gradcli seal` replaces it with

    # expect-sealed: x.grad ~ v1:4:50000:<salt>:<digest>

where the digest is PBKDF2-SHA256 (50,000 rounds, a fresh salt per line) of the value's
shape and its elements quantised to 4 significant digits. `gradcli test` quantises the
program's value the same way and compares digests. A value within allclose's tolerance
of a grid edge (2.50005 against 2.5000|2.5001) could round to either neighbouring cell,
so for each element that close to an edge both cells are tried.

What sealing does and does not do: nobody reads the answer off the file; a scalar sealed
at 4 digits is still a small space (about 10^6 candidates) that a determined student
could search, each try costing the 50,000 rounds (hours, not seconds). Tensors with
several elements are far out of reach.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re

VERSION = "v1"
DIGITS = 4  # significant digits of the grid
ROUNDS = 50_000
MAX_EDGE_ELEMENTS = 10  # elements near a grid edge tried both ways (2**10 digests at most)
SEALED = re.compile(r"^# ?expect-sealed:\s*(.+?)\s+~\s+(\S+)\s*$")


class SealError(Exception):
    pass


def cells_of(value, digits: int = DIGITS, rtol: float = 1e-05, atol: float = 1e-08
             ) -> tuple[tuple, list[set[str]]]:
    """The value's shape and, per element, the grid cells it may fall in (one, or two
    when it is within tolerance of an edge)."""
    import numpy as np

    from gradcli.autodiff.tensor import Tensor

    if isinstance(value, Tensor):
        array = value.array
    elif isinstance(value, (bool, int, float)):
        array = np.asarray(value, dtype=np.float64)
    else:
        raise SealError(f"only tensors and numbers can be sealed, not {type(value).__name__}")
    shape = tuple(array.shape)
    options = []
    for element in _elements(value):
        spread = atol + rtol * abs(element)
        options.append({_cell(element - spread, digits, atol), _cell(element, digits, atol),
                        _cell(element + spread, digits, atol)})
    return shape, options


def _cell(number: float, digits: int, atol: float) -> str:
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if abs(number) <= atol:
        return "0"
    return f"{number:.{digits - 1}e}"


def _digest(shape: tuple, cells: tuple[str, ...], salt: bytes, rounds: int) -> str:
    text = repr(shape) + "|" + ",".join(cells)
    return hashlib.pbkdf2_hmac("sha256", text.encode(), salt, rounds).hex()[:40]


def seal(value, digits: int = DIGITS, rounds: int = ROUNDS) -> str:
    """The sealed form of the expected value: `v1:4:50000:<salt>:<digest>`."""
    shape, _ = cells_of(value, digits)
    cells = tuple(_cell(element, digits, 1e-08) for element in _elements(value))
    salt = os.urandom(8)
    return f"{VERSION}:{digits}:{rounds}:{salt.hex()}:{_digest(shape, cells, salt, rounds)}"


def _elements(value) -> list[float]:
    import numpy as np

    from gradcli.autodiff.tensor import Tensor

    array = value.array if isinstance(value, Tensor) else np.asarray(value)
    return np.asarray(array, dtype=np.float64).reshape(-1).tolist()


def matches(value, sealed: str) -> bool:
    """Whether the value is the sealed one, within allclose's tolerance."""
    try:
        version, digits, rounds, salt, digest = sealed.split(":")
        digits, rounds, salt = int(digits), int(rounds), bytes.fromhex(salt)
    except ValueError:
        raise SealError(f"'{sealed}' is not a sealed value") from None
    if version != VERSION:
        raise SealError(f"sealed with {version}; this gradcli reads {VERSION}")
    shape, options = cells_of(value, digits)
    edges = sum(len(cell) > 1 for cell in options)
    if edges > MAX_EDGE_ELEMENTS:
        raise SealError(f"{edges} elements lie on grid edges; at most {MAX_EDGE_ELEMENTS} "
                        "can be checked")
    for cells in itertools.product(*(sorted(cell) for cell in options)):
        if _digest(shape, cells, salt, rounds) == digest:
            return True
    return False


