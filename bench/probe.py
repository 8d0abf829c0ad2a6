"""Measurements that need a fresh process: memory per graph node, peak RSS, deep chains.

    python bench/probe.py chain ENGINE STEPS MULTIPLIER
    python bench/probe.py lang-chain STEPS MULTIPLIER
    python bench/probe.py parse REPEATS LINES...
    python bench/probe.py tanh ENGINE grad|nograd LAYERS SIZE [SAVE.npy]

Prints one JSON object on its last line. ENGINE is gradcli, torch or numpy. `tanh`
saves its result (the full gradient of x, or the loss under no_grad) to SAVE.npy after
the peak is read, for the runner to compare with the other engines'.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


def reset_peak() -> bool:
    """Restart the kernel's peak-RSS counter (VmHWM) from the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ----- a long scalar chain: bytes per recorded node ---------------------------------------


def chain(engine: str, steps: int, mul: float) -> dict:
    import workloads as W

    if engine == "gradcli":
        from gradcli.torch import functions as api

        x = api.tensor(1.0, requires_grad=True)

        def forward(y):
            times, add = api.mul, api.add
            for _ in range(steps):
                y = add(times(y, mul), W.ADD)
            return y

        def backward(y):
            api.backward(y)
            return float(x.grad.array)
    elif engine == "torch":
        import torch

        x = torch.tensor(1.0, requires_grad=True)

        def forward(y):
            for _ in range(steps):
                y = y * mul + W.ADD
            return y

        def backward(y):
            y.backward()
            return float(x.grad)
    elif engine == "numpy":
        x = W.TapeVar(W.F32(1.0))

        def forward(y):
            for _ in range(steps):
                y = W.tape_add_const(W.tape_mul_const(y, mul), W.ADD)
            return y

        def backward(y):
            W.tape_backward(y)
            return float(x.grad)
    else:
        raise SystemExit(f"unknown engine {engine}")
    gc.collect()
    before = rss()
    start = time.perf_counter()
    y = forward(x)
    forward_s = time.perf_counter() - start
    after_forward = rss()
    start = time.perf_counter()
    grad = backward(y)
    backward_s = time.perf_counter() - start
    del y
    gc.collect()
    return {
        "engine": engine,
        "steps": steps,
        "nodes": 2 * steps,
        "forward_s": forward_s,
        "backward_s": backward_s,
        "bytes_per_node": (after_forward - before) / (2 * steps),
        "graph_bytes": after_forward - before,
        "rss_after_backward_release": rss() - before,
        "grad": grad,
    }


def lang_chain(steps: int, mul: float) -> dict:
    import workloads as W

    from gradcli.runtime.interpreter import run

    before = rss()
    reset_peak()
    start = time.perf_counter()
    result = run(W.chain_program(steps, mul), "<bench>")
    elapsed = time.perf_counter() - start
    if result.error is not None:
        return {"ok": False, "error": f"{result.error.type}: {result.error.message}",
                "seconds": elapsed}
    x = next(r.tensor for r in result.tensors if r.name == "x")
    return {"ok": True, "steps": steps, "seconds": elapsed, "grad": float(x.grad.array),
            "peak_increase": peak() - before}


# ----- a 20-layer tanh chain on big tensors: peak memory ---------------------------------


def tanh_chain(engine: str, mode: str, layers: int, size: int, save: str | None = None) -> dict:
    rng = np.random.default_rng(3)
    data = rng.uniform(-1.0, 1.0, (size, size)).astype(np.float32)
    grad_mode = mode == "grad"
    if engine == "gradcli":
        from gradcli.autodiff.tensor import GradMode, leaf
        from gradcli.torch import functions as api

        x = leaf(data, requires_grad=True)
        del data

        def work():
            previous = GradMode.enabled
            GradMode.enabled = grad_mode
            try:
                y = x
                for _ in range(layers):
                    y = api.tanh(y)
                loss = api.sum(y)
                del y
                if grad_mode:
                    api.backward(loss)
                    return x.grad.array
                return loss.array
            finally:
                GradMode.enabled = previous
    elif engine == "torch":
        import torch

        x = torch.from_numpy(data).requires_grad_()

        def work():
            with torch.set_grad_enabled(grad_mode):
                y = x
                for _ in range(layers):
                    y = torch.tanh(y)
                loss = y.sum()
                del y
                if grad_mode:
                    loss.backward()
                    return x.grad.numpy()
                return loss.detach().numpy()
    elif engine == "numpy":
        # The floor: keep every tanh output (backward needs them), free each as it is used.
        x = data

        def work():
            outs = []
            y = x
            for _ in range(layers):
                y = np.tanh(y)
                if grad_mode:
                    outs.append(y)
            if not grad_mode:
                return y.sum()
            del y
            g = np.ones_like(x)
            while outs:
                out = outs.pop()
                out *= out
                np.subtract(np.float32(1.0), out, out=out)
                g *= out
                del out
            return g
    else:
        raise SystemExit(f"unknown engine {engine}")
    gc.collect()
    baseline = rss()
    exact = reset_peak()
    result = work()
    increase = peak() - baseline
    if save:
        np.save(save, np.asarray(result))
    return {
        "engine": engine,
        "mode": mode,
        "tensor_bytes": size * size * 4,
        "baseline": baseline,
        "peak_increase": increase,
        "peak_is_exact": exact,
    }


# ----- parsing: lines per second, in a process that holds nothing else ------------------


def parse_bench(repeats: int, sizes: list[int]) -> dict:
    import ast

    import workloads as W
    from harness import interleave

    from gradcli.lang.parser import lark_parser, parse

    programs = {n: W.parse_program(n) for n in sizes}
    simple = "".join(f"y{i} = y * 1.0001 + 0.5\n" for i in range(sizes[0]))
    statements = {n: len(parse(text).body) for n, text in programs.items()}
    lark_parser()
    cases, lines = {}, {}
    for n, text in programs.items():
        name = f"gradcli parse + AST, {n:,} lines"
        cases[name], lines[name] = (lambda text=text: parse(text)), n
    name = f"gradcli parse + AST, {sizes[0]:,} simple lines (`yN = y * 1.0001 + 0.5`)"
    cases[name], lines[name] = (lambda: parse(simple)), sizes[0]
    text = programs[sizes[0]]
    name = f"Lark parse tree only (no AST, collector on), {sizes[0]:,} lines"
    cases[name], lines[name] = (lambda: lark_parser().parse(text, start="start")), sizes[0]
    python_text = programs[sizes[0]].replace("tensor(", "f(")
    name = f"CPython ast.parse of the same text, {sizes[0]:,} lines"
    cases[name], lines[name] = (lambda: ast.parse(python_text)), sizes[0]
    times = interleave(cases, repeats)
    return {"times": times, "lines": lines, "statements": statements}


def main(argv: list[str]) -> None:
    kind = argv[0]
    if kind == "chain":
        out = chain(argv[1], int(argv[2]), float(argv[3]))
    elif kind == "lang-chain":
        out = lang_chain(int(argv[1]), float(argv[2]))
    elif kind == "parse":
        out = parse_bench(int(argv[1]), [int(n) for n in argv[2:]])
    elif kind == "tanh":
        out = tanh_chain(argv[1], argv[2], int(argv[3]), int(argv[4]),
                         argv[5] if len(argv) > 5 else None)
    else:
        raise SystemExit(__doc__)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
