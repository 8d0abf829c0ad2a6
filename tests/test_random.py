"""gradcli.random against PyTorch 2.13's CPU generator, bit for bit.

tests/data/random_cases.json holds what real PyTorch returned for each scenario (see
tools/gen_random_cases.py, run under the oracle); here the same steps run on gradcli's
functions and every result must have PyTorch's dtype, shape and exact bytes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.random.generator import Generator, default_generator
from gradcli.runtime.interpreter import run
from gradcli.torch import functions as api
from gradcli.torch import random as R
from gradcli.torch.nn import random_init as init

DOCUMENT = json.loads((Path(__file__).parent / "data" / "random_cases.json").read_text())
CASES = DOCUMENT["cases"]
DTYPES = {"float32": dtypes.float32, "float64": dtypes.float64, "int64": dtypes.int64}


def _dtype(step):
    return DTYPES[step["dtype"] or "float32"]


def _gen(step, generators):
    return generators[step["gen"]] if step["gen"] else None


def _zeros(step):
    dtype = _dtype(step)
    return Tensor(np.zeros(step["shape"], dtype.numpy), dtype)


def _probs(step):
    count = int(np.prod(step["shape"]))
    values = np.linspace(0.0, 1.0, count).reshape(step["shape"])
    return Tensor(values.astype(_dtype(step).numpy), _dtype(step))


def _weights(step):
    count = int(np.prod(step["shape"]))
    values = (np.arange(count) * 37 % 11 + 1).astype(np.float64).reshape(step["shape"])
    return Tensor(values.astype(_dtype(step).numpy), _dtype(step))


def _linear(step, generators):
    fan_in, fan_out, *bias = step["args"]
    weight = Tensor(np.zeros((fan_out, fan_in), np.float32), dtypes.float32)
    bias_tensor = None if bias and not bias[0] else Tensor(np.zeros(fan_out, np.float32),
                                                           dtypes.float32)
    init.reset_linear_(weight, bias_tensor)
    return [weight] if bias_tensor is None else [weight, bias_tensor]


def _forked(step, generators):
    with R.fork_rng():
        return R.randn(step["shape"])


def _state(step, generators):
    generator = generators[step["gen"]] if step["gen"] else default_generator()
    return np.frombuffer(generator.get_state(), dtype=np.uint8)


def _initial_seed(step, generators):
    generator = generators[step["gen"]] if step["gen"] else default_generator()
    return np.array([generator.initial_seed()], dtype=np.uint64)


def _init(name):
    fill = getattr(init, name)
    return lambda s, g: fill(_zeros(s), *s["args"], generator=_gen(s, g))


SLOTS: dict = {}

CALLS = {
    "rand": lambda s, g: R.rand(s["shape"], dtype=_dtype(s), generator=_gen(s, g)),
    "randn": lambda s, g: R.randn(s["shape"], dtype=_dtype(s), generator=_gen(s, g)),
    "rand_like": lambda s, g: R.rand_like(_zeros(s), generator=_gen(s, g)),
    "randn_like": lambda s, g: R.randn_like(_zeros(s), generator=_gen(s, g)),
    "randint": lambda s, g: R.randint(*s["args"], s["shape"], dtype=_dtype(s),
                                      generator=_gen(s, g)),
    "randperm": lambda s, g: R.randperm(s["args"][0], dtype=_dtype(s), generator=_gen(s, g)),
    "normal": lambda s, g: R.normal(*s["args"], s["shape"], dtype=_dtype(s),
                                    generator=_gen(s, g)),
    "uniform_": lambda s, g: R.uniform_(_zeros(s), *s["args"], generator=_gen(s, g)),
    "normal_": lambda s, g: R.normal_(_zeros(s), *s["args"], generator=_gen(s, g)),
    "random_": lambda s, g: R.random_(_zeros(s), *s["args"], generator=_gen(s, g)),
    "exponential_": lambda s, g: R.exponential_(_zeros(s), *s["args"], generator=_gen(s, g)),
    "bernoulli": lambda s, g: R.bernoulli(_probs(s), generator=_gen(s, g)),
    "bernoulli_": lambda s, g: R.bernoulli_(_zeros(s), *s["args"], generator=_gen(s, g)),
    "multinomial": lambda s, g: R.multinomial(_weights(s), *s["args"], generator=_gen(s, g)),
    "init.uniform_": _init("uniform_"),
    "init.normal_": _init("normal_"),
    "init.kaiming_uniform_": _init("kaiming_uniform_"),
    "init.kaiming_normal_": _init("kaiming_normal_"),
    "init.xavier_uniform_": _init("xavier_uniform_"),
    "init.xavier_normal_": _init("xavier_normal_"),
    "dropout": lambda s, g: api.mul(_zeros(s) + 1, init.dropout_noise(_zeros(s), s["args"][0])),
    "linear": _linear,
    "forked_randn": _forked,
    "manual_seed": lambda s, g: R.manual_seed(s["args"][0]) and None,
    "generator_seed": lambda s, g: g[s["gen"]].manual_seed(s["args"][0]) and None,
    "initial_seed": _initial_seed,
    "get_rng_state": _state,
    "save_state": lambda s, g: SLOTS.__setitem__(s["args"][0], R.get_rng_state()),
    "restore_state": lambda s, g: R.set_rng_state(SLOTS[s["args"][0]]),
}


def _record(value) -> dict:
    array = np.ascontiguousarray(value.array if isinstance(value, Tensor) else value)
    return {"dtype": str(array.dtype), "shape": list(array.shape),
            "sha256": hashlib.sha256(array.astype(array.dtype.newbyteorder("<")).tobytes())
            .hexdigest()}


def _replay(case) -> list:
    SLOTS.clear()
    R.manual_seed(case["seed"])
    generators = {name: Generator() if seed is None else Generator().manual_seed(seed)
                  for name, seed in case["generators"].items()}
    results = []
    for step in case["steps"]:
        value = CALLS[step["call"]](step, generators)
        values = value if isinstance(value, list) else [] if value is None else [value]
        results.append([_record(v) for v in values])
    return results


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_same_values_as_pytorch(case):
    got = _replay(case)
    for index, (step, mine, theirs) in enumerate(zip(case["steps"], got, case["results"],
                                                     strict=True)):
        where = f"step {index} {step['call']}{step['args']} {step['shape']} {step['dtype']}"
        assert len(mine) == len(theirs), where
        for one, expected in zip(mine, theirs, strict=True):
            assert one["dtype"] == expected["dtype"], where
            assert one["shape"] == expected["shape"], where
            assert one["sha256"] == expected["sha256"], f"{where}: values differ from " \
                f"PyTorch's, which start and end {expected['edge']}"


def test_the_generator_table_covers_every_size_class_and_dtype():
    sizes = {s["shape"][0] for c in CASES for s in c["steps"] if len(s["shape"]) == 1}
    assert {1, 2, 15, 16, 17, 1000, 100_000} <= sizes
    assert {s["dtype"] for c in CASES for s in c["steps"]} >= {"float32", "float64", "int64"}


PROGRAMS = DOCUMENT["programs"]


@pytest.mark.parametrize("program", PROGRAMS, ids=[str(i) for i in range(len(PROGRAMS))])
def test_programs_print_what_pytorch_prints(program):
    result = run(program["source"], "<test>")
    assert result.error is None, result.error
    assert result.stdout == program["stdout"]


ERRORS = DOCUMENT["errors"]


@pytest.mark.parametrize("program", ERRORS, ids=[e["source"].split("\n")[-2] for e in ERRORS])
def test_errors_are_pytorchs(program):
    result = run(program["source"], "<test>")
    assert result.error is not None
    assert (result.error.type, result.error.message.splitlines()[0]) == (
        program["type"], program["message"])
