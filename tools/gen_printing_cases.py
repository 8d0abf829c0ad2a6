"""Regenerate tests/data/printing_cases.json from real PyTorch.

Every case records a tensor (values, shape, dtype, autograd state), the print
options in force, and what PyTorch printed for it: repr(t), the bare body
(torch._tensor_str._tensor_str(t, 0)), str(t.shape) and str(t.dtype).
tests/test_printing.py checks gradcli.base.printing against these without torch.

Array encoding ("array"):
  * a flat, row-major list: floats as repr() of the Python float ('nan', 'inf',
    '-0.0', '0.10000000149011612' for float32 0.1 -- exact round trip), ints as
    JSON ints, bools as JSON bools;
  * or, for big tensors, a recipe {"mul", "mod", "offset", "scale", "patch"}:
    value[i] = float64(((i * mul) % mod) + offset) * float(scale), cast to the
    dtype, then patch = [[flat_index, encoded value], ...] overwrites elements.
    Only integer arithmetic and one IEEE multiply, so any numpy rebuilds it
    bit for bit.

Usage: /opt/oracle/bin/python tools/gen_printing_cases.py [output.json]
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "printing_cases.json"
SEED = 2013

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
FLOATING = {"float16", "float32", "float64"}

DEFAULT_OPTIONS = {
    "precision": 4,
    "threshold": 1000,
    "edgeitems": 3,
    "linewidth": 80,
    "sci_mode": None,
}

# Value-preserving differentiable ops (bit for bit, -0.0 and nan included), so a
# case can carry a real grad_fn name. x + 0 would turn -0.0 into 0.0.
GRAD_OPS = {
    "mul": lambda x: x * 1,
    "clone": lambda x: x.clone(),
    "neg": lambda x: x.neg().neg(),
    "view": lambda x: x.view(x.shape),
    "div": lambda x: x / 1,
    "as_strided": lambda x: x.as_strided(x.shape, x.stride()),
    "unsqueeze": lambda x: x.unsqueeze(0).squeeze(0),
}

NAN, INF = math.nan, math.inf


def encode_scalar(v):
    return repr(float(v)) if isinstance(v, float) else v


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


def oracle(arr: np.ndarray, dtype: str, grad: str | None, options: dict) -> dict:
    t = torch.from_numpy(arr.copy())
    assert str(t.dtype) == "torch." + dtype, (t.dtype, dtype)
    grad_fn = None
    requires_grad = False
    if grad == "leaf":
        t.requires_grad_(True)
        requires_grad = True
    elif grad is not None:
        leaf = t.clone().requires_grad_(True)
        t = GRAD_OPS[grad](leaf)
        grad_fn = type(t.grad_fn).__name__
        assert t.detach().numpy().tobytes() == arr.tobytes(), grad
    torch.set_printoptions(**options)
    try:
        expected = repr(t)
        body = torch._tensor_str._tensor_str(t.detach(), 0)
    finally:
        torch.set_printoptions(profile="default", sci_mode=None)
    return {
        "grad_fn": grad_fn,
        "requires_grad": requires_grad,
        "expected": expected,
        "expected_body": body,
        "size_repr": str(t.shape),
        "dtype_repr": str(t.dtype),
    }


class Cases:
    def __init__(self):
        self.cases: list[dict] = []

    def add(self, label, values, dtype="float32", *, shape=None, grad=None, **options):
        """values: anything np.array accepts (cast to dtype), or a recipe dict."""
        opts = {**DEFAULT_OPTIONS, **options}
        if isinstance(values, dict):
            recipe = {"mul": 1, "mod": 2**62, "offset": 0, "scale": "1.0", "patch": [], **values}
            recipe["patch"] = [[i, encode_scalar(v)] for i, v in recipe["patch"]]
            case = {"array": recipe, "shape": list(shape), "dtype": dtype}
            arr = decode(case)
        else:
            arr = np.array(values, dtype=NP_DTYPES[dtype])
            if shape is not None:
                arr = arr.reshape(shape)
            case = {
                "array": [encode_scalar(v) for v in arr.reshape(-1).tolist()],
                "shape": list(arr.shape),
                "dtype": dtype,
            }
            assert decode(case).tobytes() == arr.tobytes()
        case = {"label": label, **case, "options": opts, **oracle(arr, dtype, grad, opts)}
        self.cases.append(case)


def edge_cases(c: Cases) -> None:
    # 0-d
    c.add("0d float", 8.5)
    c.add("0d float int-valued", 3.0)
    c.add("0d float fraction", 1 / 3, "float64")
    c.add("0d float32 0.1", 0.1)
    c.add("0d int64", 5, "int64")
    c.add("0d int64 negative", -42, "int64")
    c.add("0d int32", 7, "int32")
    c.add("0d bool", True, "bool")
    c.add("0d bool false", False, "bool")
    c.add("0d nan", NAN)
    c.add("0d -inf", -INF)
    c.add("0d zero", 0.0)
    c.add("0d negative zero", -0.0)
    c.add("0d small sci", 1e-5)
    c.add("0d large sci", 1e10)
    c.add("0d large int-valued", 123456789.0, "float64")
    c.add("0d requires_grad", 2.5, grad="leaf")
    c.add("0d grad_fn", -1.25, grad="mul")
    c.add("0d float64 grad_fn", 2.0, "float64", grad="clone")

    # 1-d
    c.add("1d int-valued floats", [1.0, 2.0])
    c.add("1d floats", [1.5, 2.25, -3.125])
    c.add("1d float64", [0.1, 0.2, 0.3], "float64")
    c.add("1d ints", [1, -20, 300], "int64")
    c.add("1d int32", [1, -20, 300], "int32")
    c.add("1d bool", [True, False, True], "bool")
    c.add("1d bool all true", [True, True], "bool")
    c.add("1d single", [0.5])
    c.add("1d zeros", [0.0, 0.0, 0.0])
    c.add("1d zeros float64", [0.0, 0.0], "float64")
    c.add("1d precision rounding", [0.12345, 0.99995, 1.00005])

    # 2-d, 3-d, 4-d
    c.add("2d ints", np.arange(9).reshape(3, 3), "int64")
    c.add("2d floats", np.arange(6).reshape(2, 3) / 4)
    c.add("2d int-valued", np.arange(-3, 3).reshape(3, 2))
    c.add("2d column", [[1.5], [2.5], [-3.5]])
    c.add("2d bool", [[True, False], [False, True]], "bool")
    c.add("3d ints", np.arange(24).reshape(2, 3, 4), "int64")
    c.add("3d floats", np.arange(12).reshape(2, 2, 3) / 8 - 0.7, "float64")
    c.add("4d ints", np.arange(16).reshape(2, 2, 2, 2), "int32")
    c.add("4d floats grad_fn", np.arange(24).reshape(2, 3, 2, 2) * 0.3, grad="mul")
    c.add("5d", np.arange(32).reshape(2, 2, 2, 2, 2), "int64")
    c.add("3d single", [[[2.5]]])

    # empty
    for dtype in ("float32", "float64", "int64", "int32", "bool"):
        c.add(f"empty 1d {dtype}", np.zeros(0), dtype)
    c.add("empty (0, 3)", np.zeros((0, 3)))
    c.add("empty (2, 0) bool", np.zeros((2, 0)), "bool")
    c.add("empty (0, 3) int64", np.zeros((0, 3)), "int64")
    c.add("empty (2, 0, 4) float64", np.zeros((2, 0, 4)), "float64")
    c.add("empty requires_grad", np.zeros(0), grad="leaf")
    c.add("empty 2d grad_fn", np.zeros((0, 2)), "float64", grad="clone")
    c.add("empty edgeitems 0", np.zeros((3, 0)), edgeitems=0)

    # scientific notation
    c.add("sci ratio", [3.0, 4.5e-5])
    c.add("sci large", [1e9, 1.0])
    c.add("sci small", [1e-5])
    c.add("sci ratio exactly 1000", [1.0, 1000.0])
    c.add("sci ratio 1000 float32", [0.001, 1.0])
    c.add("sci ratio 1000 float64", [0.001, 1.0], "float64")
    c.add("sci ratio just above 1000", [1.0, 1000.5])
    c.add("sci max 1e8 boundary", [1e8, 2e7])
    c.add("sci max above 1e8", [100000001.0, 2e7], "float64")
    c.add("sci min 1e-4 boundary", [1e-4, 2e-4], "float64")
    c.add("sci min 1e-4 float32", [1e-4, 2e-4])
    c.add("sci negatives", [-1e-6, 2.5, -3e3])
    c.add("sci int-valued", [1.0, 1e10])
    c.add("sci 2d", [[1e-3, 2.0], [3e5, -4.0]])
    c.add("sci huge float64", [1e300, 1e-300], "float64")
    c.add("sci max float32", [3.4028234663852886e38, 1.0])
    c.add("sci subnormal float32", [1e-45, 1.0])
    c.add("sci with zero", [0.0, 1e-6, 1.0])

    # nan / inf / negative zero
    c.add("nan with int-valued", [NAN, 1.0, 2.0])
    c.add("nan with fraction", [NAN, 1.5])
    c.add("inf -inf nan", [INF, -INF, NAN])
    c.add("all nan", [NAN, NAN, NAN])
    c.add("all nan 2d", [[NAN, NAN], [NAN, NAN]], "float64")
    c.add("nan and zero", [NAN, 0.0])
    c.add("inf with sci", [INF, 1e-5, 1.0])
    c.add("-inf mixed", [-INF, 2.5, 100000.0])
    c.add("-inf int-valued wide", [-INF, 1.0, 2.0])
    c.add("nan 2d fractions", [[NAN, 0.25], [-1.75, INF]])
    c.add("negative zero pair", [-0.0, 0.0])
    c.add("negative zero fraction", [-0.0, 1.5])
    c.add("negative zero sci", [-0.0, 1e-5, 3.0])
    c.add("negative zero int-valued", [-0.0, 10.0, -3.0])
    c.add("tiny negative rounds to -0", [-1e-5, 1.0], sci_mode=False)
    c.add("nan grad_fn", [NAN, 1.0], grad="neg")

    # very large ints
    c.add("int64 extremes", [2**63 - 1, -(2**63), 0], "int64")
    c.add("int32 extremes", [2**31 - 1, -(2**31)], "int32")
    c.add("int64 big 2d", [[10**15, -1], [7, 10**12]], "int64")
    c.add("float64 big integers", [2.0**53, 1.0, -3.0], "float64", sci_mode=False)

    # line wrapping
    c.add("wrap 1d floats", np.arange(30) * 1.1)
    c.add("wrap 1d ints", np.arange(50) * 37 - 600, "int64")
    c.add("wrap 1d bool", np.arange(40) % 3 == 0, "bool")
    c.add("wrap 2d rows", np.arange(60).reshape(3, 20) * 0.25 - 4)
    c.add("wrap 3d rows", np.arange(48).reshape(2, 2, 12) * 1.5e-3)
    c.add("wrap float64 suffix", np.arange(13) * 0.5, "float64")
    c.add("wrap exactly 80", np.arange(12) * 0.5)
    c.add("wrap 1d grad_fn", np.arange(11) * 0.5 + 0.25, grad="as_strided")
    c.add("wrap requires_grad", np.arange(12) * 0.5 + 0.25, grad="leaf")
    c.add("wrap 2d float64 grad_fn", np.arange(40).reshape(2, 20) * 0.5, "float64", grad="mul")
    c.add("long grad_fn name", np.arange(10) * 0.5 + 0.25, "float64", grad="unsqueeze")
    c.add("suffix after multiline", np.arange(8).reshape(2, 4) * 0.5, "float64", grad="div")
    for n in range(7, 13):
        c.add(f"suffix fit float64 n={n}", np.arange(n) * 0.5 + 0.25, "float64")

    # summarization
    c.add("summarize 1d 1001", {"scale": "0.5"}, shape=(1001,))
    c.add(
        "summarize 1d ints 2000", {"mul": 7, "mod": 2000, "offset": -1000}, "int64", shape=(2000,)
    )
    c.add("summarize 1d bool", {"mul": 1, "mod": 2}, "bool", shape=(1500,))
    c.add(
        "summarize 1d hidden huge",
        {"scale": "0.25", "patch": [[500, 1e30], [501, NAN]]},
        shape=(1200,),
    )
    c.add(
        "summarize 2d 1000x1000",
        {"mul": 7919, "mod": 1009, "offset": -504, "scale": "0.001", "patch": [[500500, 1e-30]]},
        shape=(1000, 1000),
    )
    c.add("summarize 2d 1000x1000 int64", {"mul": 31, "mod": 997}, "int64", shape=(1000, 1000))
    c.add("summarize 2d wide", {"mul": 3, "mod": 101, "scale": "1.5"}, shape=(10, 200))
    c.add("summarize 2d tall", {"mul": 3, "mod": 101, "scale": "0.125"}, "float64", shape=(400, 3))
    c.add("summarize 3d", {"mul": 13, "mod": 1000, "offset": -500}, "int32", shape=(20, 20, 20))
    c.add("summarize 3d inner only", {"scale": "0.01"}, shape=(2, 3, 500))
    c.add("summarize 4d", {"mul": 11, "mod": 97, "scale": "0.1"}, "float64", shape=(8, 8, 8, 8))
    c.add("summarize 2d grad_fn", {"mul": 5, "mod": 77, "scale": "0.3"}, shape=(40, 40), grad="mul")
    c.add("summarize 1d requires_grad", {"scale": "1e-3"}, shape=(1001,), grad="leaf")
    c.add("not summarized at 1000", {"scale": "1.0"}, "int64", shape=(1000,))

    # options
    frac = [0.123456789, -12.5, 3.14159265]
    for precision in (0, 1, 2, 6, 8):
        c.add(f"precision {precision}", frac, "float64", precision=precision)
        c.add(f"precision {precision} sci", [1e-7, 12345.678], precision=precision)
        c.add(f"precision {precision} int-valued", [1.0, 20.0], precision=precision)
    c.add("sci_mode True", [1.5, 2.25], sci_mode=True)
    c.add("sci_mode True int-valued", [1.0, 2.0], sci_mode=True)
    c.add("sci_mode True all zero", [0.0, 0.0], sci_mode=True)
    c.add("sci_mode True ints", [1, 2], "int64", sci_mode=True)
    c.add("sci_mode False small", [1e-7, 2.5], sci_mode=False)
    c.add("sci_mode False large", [1e12, 2.5], "float64", sci_mode=False)
    c.add("sci_mode False int-valued large", [1e12, 2.0], "float64", sci_mode=False)
    c.add("linewidth 40", np.arange(20) * 0.5, linewidth=40)
    c.add("linewidth 120", np.arange(40).reshape(2, 20) * 0.5, "float64", linewidth=120)
    c.add("linewidth tiny", np.arange(5) * 100, "int64", linewidth=5)
    c.add("linewidth 40 requires_grad", np.arange(6) * 0.5, "float64", grad="leaf", linewidth=40)
    c.add("threshold 5", np.arange(10), "int64", threshold=5)
    c.add("threshold 5 2d", np.arange(12).reshape(3, 4) * 0.5, threshold=5)
    c.add("threshold huge", {"scale": "1.0"}, "int64", shape=(1500,), threshold=10**9)
    c.add("edgeitems 1", np.arange(40).reshape(8, 5) * 1.5, threshold=10, edgeitems=1)
    c.add("edgeitems 2 3d", np.arange(120).reshape(5, 4, 6), "int64", threshold=10, edgeitems=2)
    c.add("edgeitems 5", np.arange(20) * 0.5, threshold=10, edgeitems=5)
    c.add("edgeitems 10 not shortened", np.arange(20), "int64", threshold=10, edgeitems=10)
    c.add("edgeitems 0 summarized 1d", np.arange(20) * 0.5, threshold=10, edgeitems=0)
    c.add(
        "edgeitems 0 summarized 2d", np.arange(20).reshape(4, 5), "int32", threshold=10, edgeitems=0
    )
    c.add("edgeitems 0 not summarized", np.arange(6).reshape(2, 3) * 1.0, edgeitems=0)
    c.add("edgeitems 0 scalar", 1.0, edgeitems=0)
    c.add("edgeitems 0 grad_fn", np.arange(20) * 0.5, threshold=10, edgeitems=0, grad="mul")
    c.add("profile short", np.arange(30) * 0.123, precision=2, edgeitems=2, threshold=10)

    # other dtypes
    c.add("float16", [0.1, 2.5, -1000.0], "float16")
    c.add("float16 sci", [1e-5, 60000.0], "float16")
    c.add("int8", [-128, 0, 127], "int8")
    c.add("int16", [[-300, 2], [5, 7]], "int16")
    c.add("uint8", [0, 255, 17], "uint8")


def random_float_values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    values = rng.standard_normal(shape) * 10.0 ** rng.uniform(-7, 10)
    if rng.random() < 0.3:
        values *= 10.0 ** rng.uniform(-3, 3, shape)
    if rng.random() < 0.3:
        values = np.round(values)
    if rng.random() < 0.1:
        values = np.abs(values)
    if values.size and rng.random() < 0.3:
        specials = np.array([NAN, INF, -INF, 0.0, -0.0])
        mask = rng.random(shape) < 0.25
        values = np.where(mask, rng.choice(specials, size=shape), values)
    return values


def random_cases(c: Cases, count: int) -> None:
    rng = np.random.default_rng(SEED)
    dtypes = ["float32"] * 5 + ["float64"] * 3 + ["int64"] * 2 + ["int32", "bool"]
    for i in range(count):
        dtype = str(rng.choice(dtypes))
        ndim = int(rng.integers(0, 5))
        shape = tuple(int(rng.integers(0 if rng.random() < 0.05 else 1, 7)) for _ in range(ndim))
        if dtype in FLOATING:
            values = random_float_values(rng, shape)
        elif dtype == "bool":
            values = rng.random(shape) < 0.5
        else:
            bits = 63 if dtype == "int64" else 31
            bound = 2 ** int(rng.integers(1, bits))
            values = rng.integers(-bound, bound, size=shape)
        grad = None
        if dtype in FLOATING and rng.random() < 0.4:
            grad = str(rng.choice(["leaf", *GRAD_OPS]))
        options = {}
        if rng.random() < 0.35:
            options = {
                "precision": int(rng.choice([1, 2, 4, 6, 8])),
                "linewidth": int(rng.choice([40, 60, 80, 100, 120])),
                "sci_mode": [None, True, False][int(rng.integers(0, 3))],
                "threshold": int(rng.choice([20, 50, 1000])),
                "edgeitems": int(rng.choice([1, 2, 3, 4])),
            }
        c.add(f"random {i}", values, dtype, shape=shape, grad=grad, **options)


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    c = Cases()
    edge_cases(c)
    random_cases(c, 100)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(c.cases, indent=1) + "\n")
    print(f"wrote {len(c.cases)} cases to {out}")


if __name__ == "__main__":
    main(sys.argv)
