"""gradcli.base.printing against text recorded from PyTorch 2.13.

tests/data/printing_cases.json is written by tools/gen_printing_cases.py (run
with the oracle interpreter); its docstring describes the array encoding.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from gradcli.base import printing
from gradcli.base.printing import PrintOptions, dtype_repr, size_repr, tensor_body, tensor_repr

CASES_PATH = Path(__file__).resolve().parent / "data" / "printing_cases.json"
CASES = json.loads(CASES_PATH.read_text())

NP_DTYPES = {
    "float16": np.float16,
    "float32": np.float32,
    "float64": np.float64,
    "uint8": np.uint8,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "bool": np.bool_,
}


def decode_scalar(v):
    return float(v) if isinstance(v, str) else v


def decode(case: dict) -> np.ndarray:
    np_dtype = NP_DTYPES[case["dtype"]]
    shape = tuple(case["shape"])
    data = case["array"]
    if isinstance(data, dict):
        n = math.prod(shape)
        base = (np.arange(n, dtype=np.int64) * data["mul"]) % data["mod"] + data["offset"]
        arr = (base.astype(np.float64) * float(data["scale"])).astype(np_dtype)
        for index, value in data["patch"]:
            arr[index] = decode_scalar(value)
    else:
        arr = np.array([decode_scalar(v) for v in data], dtype=np_dtype)
    return arr.reshape(shape)


def options_of(case: dict) -> PrintOptions:
    return PrintOptions(**case["options"])


def case_id(case: dict) -> str:
    return case["label"].replace(" ", "_")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_tensor_repr_matches_torch(case):
    got = tensor_repr(
        decode(case),
        case["dtype"],
        grad_fn=case["grad_fn"],
        requires_grad=case["requires_grad"],
        options=options_of(case),
    )
    assert got == case["expected"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_tensor_body_matches_torch(case):
    assert tensor_body(decode(case), case["dtype"], options_of(case)) == case["expected_body"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_size_and_dtype_repr_match_torch(case):
    assert size_repr(tuple(case["shape"])) == case["size_repr"]
    assert dtype_repr(case["dtype"]) == case["dtype_repr"]


def test_case_file_covers_the_brief():
    assert len(CASES) >= 120
    labels = " ".join(c["label"] for c in CASES)
    for topic in (
        "0d",
        "empty",
        "sci",
        "nan",
        "negative zero",
        "int64 extremes",
        "wrap",
        "summarize 1d",
        "summarize 2d",
        "summarize 3d",
        "precision 2",
        "precision 8",
        "sci_mode",
        "random",
    ):
        assert topic in labels, topic
    assert {c["dtype"] for c in CASES} >= {"float32", "float64", "int64", "int32", "bool"}
    assert any(c["grad_fn"] for c in CASES)
    assert any(c["requires_grad"] for c in CASES)
    assert any("\n\n" in c["expected"] for c in CASES)
    assert any(",\n       grad_fn=" in c["expected"] for c in CASES)


# A few hand-checked spellings, so a regenerated case file cannot silently drift.
@pytest.mark.parametrize(
    ("values", "dtype", "kwargs", "expected"),
    [
        (np.array(8.5), "float32", {}, "tensor(8.5000)"),
        (np.array([1.0, 2.0]), "float32", {}, "tensor([1., 2.])"),
        (np.array([3.0, 4.5e-5]), "float32", {}, "tensor([3.0000e+00, 4.5000e-05])"),
        (np.zeros(0), "float32", {}, "tensor([])"),
        (np.zeros((0, 3)), "float32", {}, "tensor([], size=(0, 3))"),
        (np.zeros(0), "int64", {}, "tensor([], dtype=torch.int64)"),
        (np.array([True, False]), "bool", {}, "tensor([ True, False])"),
        (
            np.array([1.5]),
            "float64",
            {"requires_grad": True},
            "tensor([1.5000], dtype=torch.float64, requires_grad=True)",
        ),
        (
            np.array([1.5]),
            "float32",
            {"grad_fn": "MulBackward0", "requires_grad": True},
            "tensor([1.5000], grad_fn=<MulBackward0>)",
        ),
        (
            np.arange(10),
            "int64",
            {"options": PrintOptions(threshold=5)},
            "tensor([0, 1, 2,  ..., 7, 8, 9])",
        ),
    ],
)
def test_known_spellings(values, dtype, kwargs, expected):
    assert tensor_repr(values, dtype, **kwargs) == expected


@pytest.mark.parametrize(
    ("value", "dtype"),
    [
        (8.5, "float32"),
        (-0.0, "float32"),
        (math.nan, "float64"),
        (-math.inf, "float32"),
        (1e-7, "float32"),
        (1e12, "float64"),
        (3.0, "float32"),
        (-17, "int64"),
        (True, "bool"),
        (2**40, "int64"),
        (0.1, "float64"),
    ],
)
def test_single_element_body_is_the_same_at_every_rank(value, dtype):
    scalar = tensor_body(np.array(value), dtype)
    for shape in [(1,), (1, 1), (1, 1, 1)]:
        body = tensor_body(np.full(shape, value), dtype)
        assert body == "[" * len(shape) + scalar + "]" * len(shape)
        assert scalar in tensor_repr(np.full(shape, value), dtype)


def test_single_line_repr_wraps_the_body():
    rng = np.random.default_rng(0)
    for _ in range(50):
        # At most 3 elements: short enough that no suffix needs its own line.
        values = rng.standard_normal(int(rng.integers(1, 4))) * 10.0 ** rng.integers(-6, 9)
        body = tensor_body(values, "float32")
        assert "\n" not in body
        assert tensor_repr(values, "float32") == f"tensor({body})"
        assert tensor_repr(values, "float32", requires_grad=True) == (
            f"tensor({body}, requires_grad=True)"
        )
        body64 = tensor_body(values, "float64")
        assert tensor_repr(values, "float64") == f"tensor({body64}, dtype=torch.float64)"


def test_values_are_cast_to_the_named_dtype():
    # float32 rounding happens before formatting: 0.1 prints from 0.10000000149...
    assert tensor_repr(np.array([0.1]), "float32", options=PrintOptions(precision=10)) == (
        "tensor([0.1000000015])"
    )
    assert tensor_repr(np.array([1, 2]), "float32") == "tensor([1., 2.])"
    assert tensor_repr(np.array([1.0, 2.0]), "int32") == "tensor([1, 2], dtype=torch.int32)"
    assert dtype_repr("torch.float64") == "torch.float64"


def test_unknown_dtype_is_rejected():
    with pytest.raises(ValueError):
        tensor_repr(np.array([1.0]), "complex64")


def test_print_options_defaults_and_frozen():
    opts = PrintOptions()
    assert opts.astuple() == (4, 1000, 3, 80, None)
    with pytest.raises(AttributeError):
        opts.precision = 2  # type: ignore[misc]


def test_size_repr():
    assert size_repr(()) == "torch.Size([])"
    assert size_repr((3, 3)) == "torch.Size([3, 3])"
    assert size_repr((np.int64(2),)) == "torch.Size([2])"


def test_summarized_print_only_looks_at_edge_elements(monkeypatch):
    seen = []
    real_formatter = printing._Formatter

    def spying_formatter(values, floating, options):
        seen.append(values.size)
        return real_formatter(values, floating, options)

    monkeypatch.setattr(printing, "_Formatter", spying_formatter)
    arr = np.arange(1_000_000, dtype=np.float64).reshape(1000, 1000) % 97 / 8
    start = time.perf_counter()
    text = tensor_repr(arr, "float64")
    elapsed = time.perf_counter() - start
    assert seen == [36]
    assert text.count("\n") == 7  # between 7 row lines, + 1 before dtype=
    assert elapsed < 0.5


def test_hidden_elements_do_not_change_the_text():
    arr = np.ones((50, 50), dtype=np.float32)
    plain = tensor_repr(arr, "float32")
    arr[3:-3, 3:-3] = np.nan
    arr[25, 25] = 1e30
    assert tensor_repr(arr, "float32") == plain
