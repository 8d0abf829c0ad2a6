"""Regenerate tests/data/random_cases.json from real PyTorch's CPU generator.

Each scenario is a sequence of random calls (steps) from one start: the global generator
seeded with `seed`, and torch.Generator objects named in `generators` seeded as given.
For every step PyTorch's result is recorded: dtype, shape, the SHA-256 of its bytes
(little-endian, row-major: the test demands bit-for-bit equality) and its first and last
values (for a readable failure). tests/test_random.py replays the same steps on
gradcli.random without torch.

A step: {"call": name, "shape": [...], "dtype": "float32", "gen": null | "g1",
"args": [...]}. The calls and their torch meaning are CALLS below; the test maps each name
to gradcli's function.

Usage: /opt/oracle/bin/python tools/gen_random_cases.py [output.json]
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "random_cases.json"
SIZES = (1, 2, 15, 16, 17, 1000, 100_000)
EDGE = 4  # values kept at each end for a readable failure


def probs_for(shape, dtype):
    """bernoulli's probabilities: evenly spread over [0, 1]."""
    count = int(np.prod(shape))
    return torch.from_numpy(np.linspace(0.0, 1.0, count).reshape(shape)).to(dtype)


def weights_for(shape, dtype):
    """multinomial's weights: 1 to 11, unnormalised, varied."""
    count = int(np.prod(shape))
    values = (np.arange(count) * 37 % 11 + 1).astype(np.float64).reshape(shape)
    return torch.from_numpy(values).to(dtype)


def _dtype(step):
    return getattr(torch, step.get("dtype") or "float32")


def _gen(step, generators):
    return generators[step["gen"]] if step.get("gen") else None


def _forked(step, generators):
    with torch.random.fork_rng():
        return torch.randn(step["shape"])


def _linear(step, generators):
    layer = torch.nn.Linear(*step["args"])
    return [layer.weight.detach(), layer.bias.detach()] if layer.bias is not None else [
        layer.weight.detach()]


CALLS = {
    "rand": lambda s, g: torch.rand(s["shape"], dtype=_dtype(s), generator=_gen(s, g)),
    "randn": lambda s, g: torch.randn(s["shape"], dtype=_dtype(s), generator=_gen(s, g)),
    "rand_like": lambda s, g: torch.rand_like(torch.zeros(s["shape"], dtype=_dtype(s)),
                                              generator=_gen(s, g)),
    "randn_like": lambda s, g: torch.randn_like(torch.zeros(s["shape"], dtype=_dtype(s)),
                                                generator=_gen(s, g)),
    "randint": lambda s, g: torch.randint(*s["args"], s["shape"], dtype=_dtype(s),
                                          generator=_gen(s, g)),
    "randperm": lambda s, g: torch.randperm(s["args"][0], dtype=_dtype(s),
                                            generator=_gen(s, g)),
    "normal": lambda s, g: torch.normal(*s["args"], s["shape"], dtype=_dtype(s),
                                        generator=_gen(s, g)),
    "uniform_": lambda s, g: torch.empty(s["shape"], dtype=_dtype(s)).uniform_(
        *s["args"], generator=_gen(s, g)),
    "normal_": lambda s, g: torch.empty(s["shape"], dtype=_dtype(s)).normal_(
        *s["args"], generator=_gen(s, g)),
    "random_": lambda s, g: torch.zeros(s["shape"], dtype=_dtype(s)).random_(
        *s["args"], generator=_gen(s, g)),
    "exponential_": lambda s, g: torch.empty(s["shape"], dtype=_dtype(s)).exponential_(
        *s["args"], generator=_gen(s, g)),
    "bernoulli": lambda s, g: torch.bernoulli(probs_for(s["shape"], _dtype(s)),
                                              generator=_gen(s, g)),
    "bernoulli_": lambda s, g: torch.zeros(s["shape"], dtype=_dtype(s)).bernoulli_(
        *s["args"], generator=_gen(s, g)),
    "multinomial": lambda s, g: torch.multinomial(weights_for(s["shape"], _dtype(s)),
                                                  *s["args"], generator=_gen(s, g)),
    "init.uniform_": lambda s, g: torch.nn.init.uniform_(
        torch.empty(s["shape"], dtype=_dtype(s)), *s["args"], generator=_gen(s, g)),
    "init.normal_": lambda s, g: torch.nn.init.normal_(
        torch.empty(s["shape"], dtype=_dtype(s)), *s["args"], generator=_gen(s, g)),
    "init.kaiming_uniform_": lambda s, g: torch.nn.init.kaiming_uniform_(
        torch.empty(s["shape"], dtype=_dtype(s)), *s["args"], generator=_gen(s, g)),
    "init.kaiming_normal_": lambda s, g: torch.nn.init.kaiming_normal_(
        torch.empty(s["shape"], dtype=_dtype(s)), *s["args"], generator=_gen(s, g)),
    "init.xavier_uniform_": lambda s, g: torch.nn.init.xavier_uniform_(
        torch.empty(s["shape"], dtype=_dtype(s)), *s["args"], generator=_gen(s, g)),
    "init.xavier_normal_": lambda s, g: torch.nn.init.xavier_normal_(
        torch.empty(s["shape"], dtype=_dtype(s)), *s["args"], generator=_gen(s, g)),
    "dropout": lambda s, g: F.dropout(torch.ones(s["shape"], dtype=_dtype(s)), s["args"][0],
                                      True),
    "linear": _linear,
    "forked_randn": _forked,
    "manual_seed": lambda s, g: torch.manual_seed(s["args"][0]) and None,
    "generator_seed": lambda s, g: g[s["gen"]].manual_seed(s["args"][0]) and None,
    "initial_seed": lambda s, g: np.array(
        [(g[s["gen"]] if s.get("gen") else torch.default_generator).initial_seed()],
        dtype=np.uint64),
    "get_rng_state": lambda s, g: (g[s["gen"]].get_state() if s.get("gen")
                                   else torch.get_rng_state()),
}

SLOTS: dict = {}


def _save(step, generators):
    SLOTS[step["args"][0]] = torch.get_rng_state()


def _restore(step, generators):
    torch.set_rng_state(SLOTS[step["args"][0]])


CALLS["save_state"] = _save
CALLS["restore_state"] = _restore


def step(call, shape=(), dtype=None, gen=None, args=()):
    return {"call": call, "shape": list(shape), "dtype": dtype, "gen": gen, "args": list(args)}


def scenarios():
    """Every function, dtype and size class; sequences sharing a generator; interleavings;
    generator objects beside the global one."""
    out = []

    def add(name, steps, seed=0, generators=None):
        out.append({"name": name, "seed": seed, "generators": generators or {}, "steps": steps})

    for dtype in ("float32", "float64"):
        for n in SIZES:
            for call, args in (("rand", ()), ("randn", ()), ("uniform_", (-2.5, 0.75)),
                               ("normal_", (0.3, 1.7)), ("exponential_", (1.5,)),
                               ("bernoulli", ()), ("bernoulli_", (0.3,)),
                               ("random_", ()), ("random_", (17,)), ("randint", (-5, 9))):
                # three calls in a row: the generator's state carries from one to the next
                add(f"{call}{list(args)} {dtype} n={n}",
                    [step(call, (n,), dtype, args=args) for _ in range(3)])
    for n in SIZES:
        add(f"randint int64 n={n}", [step("randint", (n,), "int64", args=(0, 10)),
                                     step("randint", (n,), "int64", args=(-3, 1 << 40)),
                                     step("randint", (n,), "int64", args=(1 << 33,))])
        add(f"random_ int64 n={n}", [step("random_", (n,), "int64"),
                                     step("random_", (n,), "int64", args=(1000,)),
                                     step("random_", (n,), "int64", args=(-7, 1 << 35))])
        add(f"randperm n={n}", [step("randperm", dtype="int64", args=(n,)),
                                step("randperm", dtype="float32", args=(n,))])
        add(f"bernoulli_ int64 n={n}", [step("bernoulli_", (n,), "int64", args=(0.6,))])
    for shape in ((2, 3), (4, 16), (3, 5, 7), (10, 10, 10)):
        for dtype in ("float32", "float64"):
            add(f"shaped {shape} {dtype}", [step("randn", shape, dtype), step("rand", shape, dtype),
                                          step("randn_like", shape, dtype),
                                          step("rand_like", shape, dtype)])
    for dtype in ("float32", "float64"):
        for shape in ((5,), (3, 4), (2, 100), (1000,)):
            add(f"multinomial {shape} {dtype}", [
                step("multinomial", shape, dtype, args=(1,)),
                step("multinomial", shape, dtype, args=(3,)),
                step("multinomial", shape, dtype, args=(1, True)),
                step("multinomial", shape, dtype, args=(7, True)),
                step("multinomial", shape, dtype, args=(min(5, shape[-1]), False))])
    add("normal(mean, std, size)", [step("normal", (n,), dtype, args=(1.5, 0.25))
                                    for n in SIZES for dtype in ("float32", "float64")])
    # the scalar Box-Muller pair: an odd count leaves r sin(theta) cached for the next call
    add("box-muller cache", [step("randn", (1,)), step("randn", (1,)), step("randn", (3,)),
                             step("randn", (2,), "float64"), step("rand", (2,)),
                             step("randn", (1,)), step("randn", (16,)), step("randn", (1,)),
                             step("manual_seed", args=(0,)), step("randn", (1,)),
                             step("randn", (5,)), step("randn", (15,), "float64")])
    add("interleaved", [step("randn", (3,)), step("rand", (5,), "float64"),
                        step("randint", (4,), "int64", args=(0, 100)), step("randn", (17,)),
                        step("randperm", dtype="int64", args=(9,)), step("randn", (1,)),
                        step("bernoulli_", (6,), "float32", args=(0.5,)), step("randn", (1,)),
                        step("multinomial", (4,), "float32", args=(2,)),
                        step("normal_", (33,), "float64", args=(0.0, 2.0)),
                        step("uniform_", (20,), "float32", args=(-1.0, 1.0))])
    add("generators are independent", [
        step("randn", (3,), gen="g1"), step("randn", (3,)), step("randn", (3,), gen="g2"),
        step("rand", (20,), gen="g1"), step("rand", (20,)), step("randn", (1,), gen="g1"),
        step("randn", (1,)), step("randn", (1,), gen="g1"), step("randn", (1,)),
        step("randint", (5,), "int64", gen="g2", args=(0, 7)),
        step("randperm", dtype="int64", gen="g1", args=(12,)),
        step("multinomial", (6,), "float64", gen="g2", args=(4, True)),
        step("generator_seed", gen="g1", args=(5,)), step("randn", (18,), gen="g1"),
        step("initial_seed", gen="g1"), step("initial_seed", gen="g2"),
        step("initial_seed"), step("get_rng_state", gen="g1"),
    ], seed=3, generators={"g1": 42, "g2": None})
    for seed in (0, 1, 7, 2**32 + 5, 2**63 - 1, -1):
        add(f"seed {seed}", [step("initial_seed"), step("randn", (4,)),
                             step("rand", (3,), "float64"), step("get_rng_state")], seed=seed)
    add("rng state bytes", [step("get_rng_state"), step("randn", (1,)), step("get_rng_state"),
                            step("rand", (623,)), step("get_rng_state"), step("rand", (1,)),
                            step("get_rng_state"), step("rand", (1,)), step("get_rng_state"),
                            step("randn", (1,), "float64"), step("get_rng_state")])
    add("save and restore", [step("randn", (5,)), step("save_state", args=("a",)),
                             step("randn", (1,)), step("rand", (700,)),
                             step("restore_state", args=("a",)), step("randn", (1,)),
                             step("rand", (700,)), step("forked_randn", (8,)),
                             step("randn", (8,))])
    for dtype in ("float32", "float64"):
        for shape in ((3, 5), (16, 20), (64, 1000), (4, 3, 2, 2)):
            add(f"nn.init {shape} {dtype}", [
                step("init.kaiming_uniform_", shape, dtype, args=(5 ** 0.5,)),
                step("init.kaiming_uniform_", shape, dtype, args=(0, "fan_out", "relu")),
                step("init.xavier_uniform_", shape, dtype),
                step("init.xavier_uniform_", shape, dtype, args=(2.0,)),
                step("init.kaiming_normal_", shape, dtype),
                step("init.xavier_normal_", shape, dtype),
                step("init.uniform_", shape, dtype, args=(-0.1, 0.1)),
                step("init.normal_", shape, dtype, args=(0.0, 0.02))])
    add("nn.Linear", [step("linear", args=(4, 3)), step("linear", args=(20, 16)),
                      step("linear", args=(5, 2, False)), step("linear", args=(300, 7))])
    for dtype in ("float32", "float64"):
        add(f"dropout {dtype}", [step("dropout", (n,), dtype, args=(p,))
                                 for n in (1, 17, 1000) for p in (0.1, 0.5, 0.9)])
    return out


def record(value) -> dict:
    array = value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    array = np.ascontiguousarray(array)
    flat = array.reshape(-1)
    edge = flat[:EDGE].tolist() + flat[max(EDGE, flat.size - EDGE):].tolist()
    return {"dtype": str(array.dtype), "shape": list(array.shape),
            "sha256": hashlib.sha256(array.astype(array.dtype.newbyteorder("<")).tobytes())
            .hexdigest(), "edge": [repr(v) if isinstance(v, float) else v for v in edge]}


def run(scenario) -> list:
    SLOTS.clear()
    torch.manual_seed(scenario["seed"])
    generators = {}
    for name, seed in scenario["generators"].items():
        generators[name] = torch.Generator() if seed is None else torch.Generator().manual_seed(
            seed)
    results = []
    for one in scenario["steps"]:
        value = CALLS[one["call"]](one, generators)
        values = value if isinstance(value, list) else [] if value is None else [value]
        results.append([record(v) for v in values])
    return results


# Whole programs, run as gradcli runs them (the test compares everything printed).
# gradcli starts every run at seed 0; PyTorch would start at random, so each seeds first.
PROGRAMS = [
    "import torch\ntorch.manual_seed(0)\nprint(torch.randn(3))\nprint(torch.rand(2, 2))\n"
    "print(torch.randint(0, 10, (5,)))\n",
    "import torch\ntorch.manual_seed(0)\ng = torch.Generator().manual_seed(42)\n"
    "print(torch.rand(3, generator=g))\nprint(torch.randn(2))\n"
    "print(g.initial_seed(), torch.initial_seed())\n"
    "with torch.random.fork_rng():\n    print(torch.rand(2))\nprint(torch.rand(2))\n"
    "s = torch.get_rng_state()\nprint(s.shape)\na = torch.randn(4)\n"
    "torch.set_rng_state(s)\nprint(torch.equal(a, torch.randn(4)))\n",
    "import torch\ntorch.manual_seed(7)\nx = torch.zeros(2, 3)\nx.uniform_(-1, 1)\n"
    "print(x)\nx.normal_(2.0, 0.5)\nprint(x)\nprint(x.bernoulli_(0.3))\n"
    "print(torch.empty(4, dtype=torch.int64).random_(5, 9))\nprint(torch.randperm(8))\n"
    "print(torch.multinomial(torch.tensor([0.1, 0.2, 0.7]), 2))\n"
    "print(torch.normal(0.0, 2.0, (3,)))\nprint(torch.bernoulli(torch.full((5,), 0.5)))\n"
    "print(torch.rand_like(x), torch.randn_like(x, dtype=torch.float64))\n",
    "import torch\ntorch.manual_seed(0)\nw = torch.randn(3, 2, requires_grad=True)\n"
    "x = torch.randn(4, 3)\nloss = (x @ w).pow(2).mean()\nloss.backward()\n"
    "print(loss)\nprint(w.grad)\n",
    # views: PyTorch fills in memory order, a transposed view in its base's layout
    "import torch\ntorch.manual_seed(0)\nx = torch.zeros(3, 4)\nx.t().uniform_()\nprint(x)\n"
    "y = torch.zeros(4, 5)\ny.t().normal_()\nprint(y)\nz = torch.zeros(20, 3)\n"
    "z.t().normal_(1.0, 2.0)\nprint(z[:3])\nw = torch.zeros(2, 3, 4)\n"
    "w.permute(2, 0, 1).random_(0, 100)\nprint(w)\n",
    # torch.normal with tensors: N(0, std) or N(0, 1) drawn, then scaled and shifted
    "import torch\ntorch.manual_seed(0)\nm = torch.arange(4.0)\ns = torch.full((4,), 0.5)\n"
    "print(torch.normal(m, 2.0))\nprint(torch.normal(1.0, s))\nprint(torch.normal(m, s))\n"
    "print(torch.normal(torch.zeros(20), torch.ones(20))[-3:])\n"
    "print(torch.randint_like(m, 10))\n"
    "print(torch.empty(5, dtype=torch.float64).exponential_(2.0))\n"
    "g = torch.Generator()\nprint(g.initial_seed())\nprint(torch.randn(2, generator=g))\n"
    "print(torch.multinomial(torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]), 2))\n"
    "print(torch.multinomial(torch.tensor([1.0, 2.0, 3.0]), 6, replacement=True))\n",
]


# Programs that must fail as PyTorch fails: the error's type and first line.
ERROR_PROGRAMS = [
    "import torch\ntorch.rand(3, dtype=torch.int64)\n",
    "import torch\ntorch.randn(3, dtype=torch.int64)\n",
    "import torch\ntorch.randint(5, 5, (3,))\n",
    "import torch\ntorch.zeros(3).bernoulli_(1.5)\n",
    "import torch\ntorch.multinomial(torch.tensor([0.5, 0.5]), 3)\n",
    "import torch\ntorch.multinomial(torch.tensor([0.0, 0.0]), 1)\n",
    "import torch\ntorch.multinomial(torch.tensor([-1.0, 2.0]), 1)\n",
    "import torch\ntorch.normal(0.0, -1.0, (3,))\n",
    "import torch\ntorch.zeros(3).uniform_(2, 1)\n",
    "import torch\ntorch.randperm(-1)\n",
    "import torch\ntorch.bernoulli(torch.tensor([0.5, 1.5]))\n",
    "import torch\ntorch.set_rng_state(torch.get_rng_state()[:10])\n",
    "import torch\nw = torch.zeros(3, requires_grad=True)\nw.normal_()\n",
]


def run_program(source: str) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(source, "<program>", "exec"), {"__name__": "__program__"})
    return buffer.getvalue()


def run_error_program(source: str) -> dict:
    try:
        run_program(source)
    except Exception as error:  # noqa: BLE001 - recording what PyTorch raises
        return {"source": source, "type": type(error).__name__,
                "message": str(error).splitlines()[0]}
    raise SystemExit(f"expected an error from {source!r}")


def main() -> None:
    torch.set_num_threads(1)
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    cases = []
    for scenario in scenarios():
        cases.append({**scenario, "results": run(scenario)})
    programs = [{"source": source, "stdout": run_program(source)} for source in PROGRAMS]
    errors = [run_error_program(source) for source in ERROR_PROGRAMS]
    document = {"torch": torch.__version__, "cases": cases, "programs": programs,
                "errors": errors}
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{len(cases)} scenarios, {sum(len(c['steps']) for c in cases)} steps -> {out}")


if __name__ == "__main__":
    main()
