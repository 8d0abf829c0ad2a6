"""Run every benchmark of issue 5 and write bench/RESULTS.md.

    python bench/run.py            # the full run (several minutes)
    python bench/run.py --quick    # fewer repeats, smaller deep chains (about a minute or two)
    python bench/run.py --only startup,mlp

Engines: gradcli, the hand-written numpy floor, and, when importable in this
interpreter, torch and HIPS autograd. Run it with a Python that has all four (see
bench/README.md) to get every ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _threads(argv: list[str]) -> str:
    # Read before numpy and torch load: their thread pools size themselves at import.
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "1"


THREADS = _threads(sys.argv[1:])
if THREADS != "0":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = THREADS

import harness as H  # noqa: E402
import numpy as np  # noqa: E402
import workloads as W  # noqa: E402

SECTIONS = ("startup", "scalar", "language", "mlp", "elementwise", "depth", "memory", "parse",
            "random", "python", "micrograd", "nn", "func")


class Config:
    def __init__(self, quick: bool, torch_python: str | None):
        self.quick = quick
        self.have_torch = H.importable("torch")
        self.have_autograd = H.importable("autograd")
        self.torch_python = torch_python or (sys.executable if self.have_torch else None)
        self.env = H.bench_env()

    def reps(self, quick: int, full: int) -> int:
        return quick if self.quick else full


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def gradcli_command() -> list[str]:
    script = Path(sys.executable).parent / "gradcli"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gradcli"]


CLOCK_WORDS = {"cpu": "CPU time of the child process", "wall": "wall time"}


# ----- 1. start-up -----------------------------------------------------------------------

TINY_EXPR = """a = tensor([2.0, 3.0], requires_grad=True)
b = (a * a).sum()
b.backward()
"""

TINY_TORCH = """import json
import torch

a = torch.tensor([2.0, 3.0], requires_grad=True)
b = (a * a).sum()
b.backward()
print(json.dumps({"grad": a.grad.tolist()}))
"""


def bench_startup(cfg: Config) -> H.Section:
    section = H.Section(
        "1. Start-up",
        f"Whole processes, spawn to exit ({CLOCK_WORDS[H.Clock.kind]}; stdout to a pipe). "
        "The program "
        "(`tiny.expr`): `a = tensor([2.0, 3.0], requires_grad=True); b = (a * a).sum(); "
        "b.backward()`; the torch script does the same and prints `a.grad` as JSON.",
        baseline="python -c \"import numpy\"",
    )
    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="gradcli-bench-"))
    try:
        (tmp / "tiny.expr").write_text(TINY_EXPR)
        (tmp / "tiny_torch.py").write_text(TINY_TORCH)
        gradcli = gradcli_command()
        commands = {
            "python -c pass": [py, "-c", "pass"],
            'python -c "import numpy"': [py, "-c", "import numpy"],
            'python -c "import numpy, lark, rich.console, rich.table, click"':
                [py, "-c", "import numpy, lark, rich.console, rich.table, click"],
            "gradcli eval tiny.expr --format json":
                gradcli + ["eval", "tiny.expr", "--format", "json"],
            "gradcli eval tiny.expr (table)": gradcli + ["eval", "tiny.expr"],
        }
        if cfg.torch_python:
            commands["torch script doing the same"] = [cfg.torch_python, "tiny_torch.py"]
        # Warm-up: writes bytecode caches and gradcli's parser cache, as any second run sees.
        outputs = {}
        for name, argv in commands.items():
            for _ in range(2):
                _, code, out = H.time_process(argv, cfg.env, str(tmp))
            outputs[name] = (code, out)
        # d/da sum(a * a) = 2a, exactly representable: the reference for every engine
        grads = {"exact": [[4.0, 6.0]], "gradcli": None, "torch": None}
        code, out = outputs["gradcli eval tiny.expr --format json"]
        doc = json.loads(out)
        grads["gradcli"] = [next(t["grad"] for t in doc["tensors"] if t["name"] == "a")]
        code_t, out_t = outputs["gradcli eval tiny.expr (table)"]
        if code != 0 or code_t != 0 or "[4., 6.]" not in out_t:
            raise RuntimeError(f"gradcli start-up program failed: {out!r} {out_t!r}")
        if "torch script doing the same" in outputs:
            grads["torch"] = [json.loads(outputs["torch script doing the same"][1])["grad"]]
        else:
            del grads["torch"]
        samples = H.interleave(
            {name: (lambda argv=argv: H.time_process(argv, cfg.env, str(tmp))[0])
             for name, argv in commands.items()},
            cfg.reps(10, 30),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name in commands:
        # the bare interpreters compute nothing to check; every other row is checked below
        section.rows.append(H.Row(name, samples[name],
                                  no_gradient=name.startswith("python -c")))
    H.check_gradients(section, grads, "exact", 0.0, rows={
        "gradcli": ["gradcli eval tiny.expr --format json", "gradcli eval tiny.expr (table)"],
        "torch": ["torch script doing the same"]})
    base = 'python -c "import numpy"'
    section.targets.append(H.Target(
        "1a. start-up, `--format json` / `import numpy`",
        section.ratio("gradcli eval tiny.expr --format json", base), 1.3))
    section.targets.append(H.Target(
        "1b. start-up, table output / `import numpy`",
        section.ratio("gradcli eval tiny.expr (table)", base), 1.9))
    section.targets.append(H.Target(
        "1c. start-up, torch script / gradcli json (times faster)",
        section.ratio("torch script doing the same", "gradcli eval tiny.expr --format json"),
        10.0, at_least=True))
    section.notes.append(
        "Child processes run without PYTHONDONTWRITEBYTECODE (bytecode cached, as after "
        "any install) and with NO_COLOR=1; two warm-up runs of each command precede timing."
    )
    return section


# ----- 2a. per-op overhead through the Python API -----------------------------------------


def bench_scalar(cfg: Config) -> H.Section:
    n = 10_000
    section = H.Section(
        "2a. Per-op overhead: the engine's Python API",
        f"0-d float32 chain: {n:,} steps of `y = y*1.0001 + 0.5` from a leaf, then "
        f"backward; time of forward + backward divided by the {2 * n:,} ops.",
        baseline="torch", per=2 * n, per_unit="µs/op",
    )
    cases = {"numpy": lambda: W.chain_numpy(n), "gradcli": lambda: W.chain_gradcli(n)}
    if cfg.have_torch:
        cases["torch"] = lambda: W.chain_torch(n)
    if cfg.have_autograd:
        cases["autograd"] = lambda: W.chain_autograd(n)
    _timed(section, cases, cfg.reps(5, 15), rtol=1e-5, reference="numpy")
    section.rows[0].note = "a 40-line numpy tape (bench/workloads.py), iterative topological sort"
    if not cfg.have_torch:
        section.baseline = "numpy"
    section.targets.append(H.Target(
        "2a. per-op, gradcli API / torch", section.ratio("gradcli", "torch"), 0.5))
    return section


# ----- 2b. per-op overhead through the language ------------------------------------------


def bench_language(cfg: Config) -> H.Section:
    n = cfg.reps(20_000, 100_000)
    section = H.Section(
        "2b. Per-op overhead: through the language",
        f"The same chain as a `.expr` program with a `for` loop of {n:,} steps, run by "
        "`gradcli.runtime.interpreter.run` (parse, compile, execute, backward; no process "
        "start-up), "
        "against the same loop written in Python with torch.",
        baseline="torch (Python loop)", per=2 * n, per_unit="µs/op",
    )
    cases = {"gradcli (.expr program)": lambda: W.chain_language(n),
             "gradcli (Python API)": lambda: W.chain_gradcli(n)}
    if cfg.have_torch:
        cases["torch (Python loop)"] = lambda: W.chain_torch_loop(n)
    _timed(section, cases, cfg.reps(3, 7), rtol=1e-5, reference="gradcli (Python API)")
    if not cfg.have_torch:
        section.baseline = "gradcli (Python API)"
    section.targets.append(H.Target(
        "2b. per-op, gradcli `.expr` loop / torch Python loop",
        section.ratio("gradcli (.expr program)", "torch (Python loop)"), 1.0))
    return section


# ----- 3. tensor work --------------------------------------------------------------------


def bench_mlp(cfg: Config) -> H.Section:
    x, t, params = W.mlp_data()
    section = H.Section(
        "3a. MLP 512→512→512→1",
        "tanh MLP, batch 256, float32, MSE loss against a fixed target; forward + backward "
        "to all six parameters (the input needs no gradient).",
        baseline="numpy",
    )
    cases = {"numpy": lambda: W.mlp_numpy(x, t, params),
             "gradcli": lambda: W.mlp_gradcli(x, t, params)}
    if cfg.have_torch:
        cases["torch"] = lambda: W.mlp_torch(x, t, params)
    if cfg.have_autograd:
        cases["autograd"] = lambda: W.mlp_autograd(x, t, params)
    _timed(section, cases, cfg.reps(10, 30), rtol=2e-4, reference="numpy")
    section.rows[0].note = "hand-written forward + backward, buffers reused"
    section.targets.append(H.Target(
        "3a. MLP, gradcli / numpy floor", section.ratio("gradcli", "numpy"), 1.10))
    torch_ratio = section.ratio("torch", "numpy")
    gradcli_ratio = section.ratio("gradcli", "numpy")
    if torch_ratio is not None and gradcli_ratio is not None:
        section.targets.append(H.Target(
            "3a'. MLP, gradcli ratio / torch ratio (ahead of torch)",
            gradcli_ratio / torch_ratio, 1.0))
    return section


def bench_elementwise(cfg: Config) -> H.Section:
    x = W.ew_data()
    section = H.Section(
        "3b. Element-wise `(sin(x)*exp(x)+x**2).sum()`",
        "x of shape (1000, 1000), float32, requires_grad; forward + backward.",
        baseline="numpy (hand-fused)",
    )
    cases = {"numpy (hand-fused)": lambda: W.ew_fused(x),
             "numpy (op by op)": lambda: W.ew_op_by_op(x),
             "gradcli": lambda: W.ew_gradcli(x)}
    if cfg.have_torch:
        cases["torch"] = lambda: W.ew_torch(x)
    if cfg.have_autograd:
        cases["autograd"] = lambda: W.ew_autograd(x)
    _timed(section, cases, cfg.reps(10, 30), rtol=1e-5, reference="numpy (hand-fused)")
    section.targets.append(H.Target(
        "3b. element-wise, gradcli / hand-fused numpy",
        section.ratio("gradcli", "numpy (hand-fused)"), 1.5))
    return section


def _timed(section: H.Section, cases: dict, repeats: int, rtol: float, reference: str) -> None:
    grads = {}
    for name, fn in cases.items():  # warm-up run, whose gradients are checked
        grads[name] = [a.copy() for a in (fn())]
        section.rows.append(H.Row(name))
    H.check_gradients(section, grads, reference, rtol)
    samples = H.interleave(cases, repeats)
    for name in cases:
        section.row(name).samples = samples[name]


def bench_nn(cfg: Config) -> H.Section:
    data = W.train_data()
    section = H.Section(
        "3c. torch.nn + torch.optim: 2-layer classifier, Adam",
        f"`nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 10))`, "
        f"`CrossEntropyLoss`, `Adam(lr=0.001)`, {W.TRAIN_STEPS} steps on a batch of 32: the "
        "same program text run by `gradcli.runtime.interpreter.run` and by Python's `exec` with "
        "torch (imports done, so start-up is excluded); the trained first-layer weights "
        "are compared.",
        baseline="torch (Python)",
    )
    cases = {"gradcli (program)": lambda: W.train_gradcli(data)}
    if cfg.have_torch:
        cases["torch (Python)"] = lambda: W.train_torch(data)
    _timed(section, cases, cfg.reps(3, 7), rtol=1e-3,
           reference="torch (Python)" if cfg.have_torch else "gradcli (program)")
    if not cfg.have_torch:
        section.baseline = "gradcli (program)"
    section.targets.append(H.Target(
        "3c. nn + optim training loop, gradcli / torch",
        section.ratio("gradcli (program)", "torch (Python)"), 1.0))
    return section


def bench_func(cfg: Config) -> H.Section:
    import func_transforms as FT

    calls = 20
    data = FT.inputs()
    section = H.Section(
        "3d. torch.func: jacrev and vmap of tanh(W x + b)",
        "f(x) = tanh(W x + b), W (100, 100), float32: `torch.func.jacrev(f)` at one x "
        "(R^100 -> R^100) and `torch.func.vmap(f)` over a batch of 256, through the Python "
        f"API of each engine, {calls} calls per sample; the Jacobian and the batched values "
        "are compared. (bench/func_transforms.py times the same against torch in the "
        "oracle interpreter: bench/RESULTS_func.md.)",
        baseline=None, per=calls, per_unit="µs/call",
    )
    jac, vmapped = FT.gradcli_workloads(*data, calls)
    cases = {"gradcli jacrev": jac}
    if cfg.have_torch:
        cases["torch jacrev"] = FT.torch_workloads(*data, calls)[0]
    cases["gradcli vmap"] = vmapped
    if cfg.have_torch:
        cases["torch vmap"] = FT.torch_workloads(*data, calls)[1]
    repeats = cfg.reps(5, 15)
    for kind in ("jacrev", "vmap"):
        chosen = {name: fn for name, fn in cases.items() if name.endswith(kind)}
        grads = {name: [a.copy() for a in fn()] for name, fn in chosen.items()}
        for name in chosen:
            section.rows.append(H.Row(name))
        reference = f"torch {kind}" if cfg.have_torch else f"gradcli {kind}"
        H.check_gradients(section, grads, reference, 1e-5)
        for name, samples in H.interleave(chosen, repeats).items():
            section.row(name).samples = samples
        ratio = section.ratio(f"gradcli {kind}", f"torch {kind}")
        if ratio is not None:
            section.row(f"gradcli {kind}").note = f"{ratio:.2f}× torch {kind}"
        section.targets.append(H.Target(f"3d. torch.func.{kind}, gradcli / torch", ratio, 2.0))
    return section


# ----- 4. depth and memory -----------------------------------------------------------------


def bench_depth(cfg: Config) -> H.Section:
    steps = cfg.reps(100_000, 1_000_000)
    mul = 1 + 10 / steps  # keeps y and its gradient finite in float32 at any depth
    section = H.Section(
        "4a. Depth: a long chain, memory per node",
        f"{steps:,} steps of `y = y*{mul:g} + 0.5` ({2 * steps:,} recorded ops), each engine in "
        "a fresh process: bytes of resident memory the recorded graph adds, per op; then "
        "backward. gradcli also runs it as a `.expr` program.",
        baseline="torch",
    )
    probe = [sys.executable, str(H.BENCH_DIR / "probe.py")]
    engines = ["numpy", "gradcli"] + (["torch"] if cfg.have_torch else [])
    results = {}
    for engine in engines:
        log(f"  depth: {engine} ...")
        results[engine] = H.run_json(probe + ["chain", engine, str(steps), repr(mul)], cfg.env)
    log("  depth: gradcli .expr program ...")
    lang = H.run_json(probe + ["lang-chain", str(steps), repr(mul)], cfg.env)
    for engine, r in results.items():
        row = H.Row(engine, [r["bytes_per_node"]], unit="B")
        row.note = (f"forward {r['forward_s']:.2f} s, backward {r['backward_s']:.2f} s; "
                    f"graph {r['graph_bytes'] / 2**20:.0f} MiB; after backward "
                    f"{r['rss_after_backward_release'] / 2**20:.0f} MiB still held")
        section.rows.append(row)
    grads = {engine: [r["grad"]] for engine, r in results.items()}
    grads["gradcli (.expr)"] = [lang.get("grad", float("nan"))]
    lang_row = H.Row("gradcli (.expr)", [], unit="B")
    lang_row.note = (f"ran: {lang['ok']}; {lang['seconds']:.1f} s end to end; peak "
                     f"{lang.get('peak_increase', 0) / 2**20:.0f} MiB above start")
    section.rows.append(lang_row)
    H.check_gradients(section, grads, "numpy", 1e-4)
    # "ran" means ran to the right gradient: both gradcli rows passed the check above
    ran = lang["ok"] and section.row("gradcli").ok and lang_row.ok
    section.targets.append(H.Target(
        f"4a. {steps:,}-step chain runs forward and backward (API and `.expr`)",
        1.0 if ran else 0.0, 1.0, at_least=True, detail="1 = ran"))
    if "torch" in results:
        section.targets.append(H.Target(
            "4a'. memory per node, gradcli / torch", section.ratio("gradcli", "torch"), 0.5))
    return section


def bench_memory(cfg: Config) -> H.Section:
    layers, size = 20, 2000
    section = H.Section(
        "4b. Memory: saved tensors are freed",
        f"{layers} layers of `y = tanh(y)` on a ({size}, {size}) float32 leaf with "
        "requires_grad, `y.sum()`, backward; peak resident memory above the process's "
        "baseline (after creating x), each engine in a fresh process. Under `no_grad` only "
        "the live tensors (the previous and the new `y`) should be held.",
    )
    probe = [sys.executable, str(H.BENCH_DIR / "probe.py")]
    engines = ["numpy", "gradcli"] + (["torch"] if cfg.have_torch else [])
    results, outputs = {}, {}
    tmp = Path(tempfile.mkdtemp(prefix="gradcli-bench-"))
    try:
        for mode in ("grad", "nograd"):
            for engine in engines:
                log(f"  memory: {engine} {mode} ...")
                saved = tmp / f"{engine}-{mode}.npy"
                results[engine, mode] = H.run_json(
                    probe + ["tanh", engine, mode, str(layers), str(size), str(saved)], cfg.env)
                outputs[engine, mode] = np.load(saved)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tensor_mib = size * size * 4 / 2**20
    for (engine, mode), r in results.items():
        label = f"{engine}, {'requires_grad' if mode == 'grad' else 'no_grad'}"
        row = H.Row(label, [r["peak_increase"]], unit="B")
        tensors = r["peak_increase"] / 2**20 / tensor_mib
        row.note = f"= {tensors:.2f} tensors of {tensor_mib:.0f} MiB"
        section.rows.append(row)
    # the full gradient of x (size × size), and under no_grad the loss: an engine whose
    # gradient differs has both its rows withheld, one whose loss differs its no_grad row
    grads = {engine: [outputs[engine, "grad"]] for engine in engines}
    H.check_gradients(section, grads, "numpy", 1e-4, rows={
        engine: [f"{engine}, requires_grad", f"{engine}, no_grad"] for engine in engines})
    losses = {engine: [outputs[engine, "nograd"]] for engine in engines}
    H.check_gradients(section, losses, "numpy", 1e-4, rows={
        engine: [f"{engine}, no_grad"] for engine in engines}, what="Losses under no_grad")
    if "torch" in engines:
        section.targets.append(H.Target(
            "4b. peak RSS increase, tanh chain with grad, gradcli / torch",
            section.ratio("gradcli, requires_grad", "torch, requires_grad"), 1.0))
    live = 2 * size * size * 4
    peak = section.median("gradcli, no_grad")
    section.targets.append(H.Target(
        "4b'. peak RSS increase under no_grad / the 2 live tensors",
        None if peak is None else peak / live, 1.05))
    if not results["gradcli", "grad"]["peak_is_exact"]:
        section.notes.append("The kernel refused to reset the peak counter; peaks are "
                             "process-lifetime maxima.")
    return section


# ----- 5. parsing -------------------------------------------------------------------------


def bench_parse(cfg: Config) -> H.Section:
    sizes = [10_000, 100_000]
    section = H.Section(
        "5. Parsing",
        "Generated programs cycling through 15 typical lines (assignments, calls with "
        "keyword arguments, indexing, `print`, comments, `with`/`for` blocks, tuple targets, "
        "a conditional expression; about 14 tokens a line, see bench/workloads.py): "
        "`gradcli.lang.parser.parse` (CPython's parser, `ast.parse`, then a conversion to "
        "gradcli's AST; the Lark LALR grammar only for what that fast path gives up on, "
        "such as syntax errors) in a fresh process that holds nothing else. Shown as lines "
        "per second; CPython's parser alone on the same text shows this machine's floor, "
        "and Lark alone what the grammar costs when it is needed.",
    )
    probe = [sys.executable, str(H.BENCH_DIR / "probe.py"), "parse", str(cfg.reps(1, 3))]
    out = H.run_json(probe + [str(n) for n in sizes], cfg.env)
    for name, times in out["times"].items():
        lines = out["lines"][name]
        row = H.Row(name, [lines / t for t in times], unit="lines/s", no_gradient=True)
        section.rows.append(row)
    rate = {n: section.row(f"gradcli parse + AST, {n:,} lines").median for n in sizes}
    section.targets.append(H.Target(
        "5. parse + AST at 100,000 lines (lines/s)", rate[sizes[-1]], 20_000, at_least=True))
    section.targets.append(H.Target(
        "5'. flat: lines/s at 100k / lines/s at 10k", rate[sizes[-1]] / rate[sizes[0]], 0.9,
        at_least=True))
    section.notes.append("Statements per program: " + ", ".join(
        f"{int(k):,} lines → {v:,}" for k, v in out["statements"].items()) + ".")
    return section


# ----- report ------------------------------------------------------------------------------


def fmt_value(row: H.Row, section: H.Section, value: float) -> str:
    if row.unit == "s":
        if section.per_unit:
            return f"{value / section.per * 1e6:.2f} {section.per_unit}"
        return f"{value * 1e3:.1f} ms" if value < 10 else f"{value:.1f} s"
    if row.unit == "B":
        return f"{value:,.0f} B" if value < 2**20 else f"{value / 2**20:,.1f} MiB"
    if row.unit == "lines/s":
        return f"{value:,.0f} lines/s"
    return f"{value:g} {row.unit}"


def render(sections: list[H.Section], facts: dict, cfg: Config, seconds: float) -> str:
    out = ["# gradcli benchmark results", ""]
    mode = "quick" if cfg.quick else "full"
    out.append(f"Produced by `python bench/run.py{' --quick' if cfg.quick else ''}` "
               f"({mode} run, {seconds / 60:.1f} min). Times are {H.Clock.kind} seconds; "
               "medians of interleaved repeats; "
               "the spread is the 25th–75th percentile. Ratios divide medians measured "
               "in the same run. Regenerate rather than edit.")
    out += ["", f"Commit: `{facts['gradcli']}`. CPU: {facts['cpu']}; {facts['cpu flags']}. "
            "Ratios depend on the machine (vector extensions, BLAS, load): compare runs "
            "made on the same one. A target's verdict rests only on rows whose full "
            "gradients matched the reference engine's."]
    out += ["", "## Targets", "", "| target | measured | limit | status |", "|---|---|---|---|"]
    for section in sections:
        for target in section.targets:
            status = {True: "**met**", False: "**missed**", None: "not measured"}[target.met]
            measured = "—" if target.measured is None else f"{target.measured:,.3g}"
            if target.measured is not None and target.measured >= 1000:
                measured = f"{target.measured:,.0f}"
            limit = f"≥ {target.limit:,g}" if target.at_least else f"≤ {target.limit:,g}"
            out.append(f"| {target.label} | {measured} | {limit} | {status} |")
    for section in sections:
        out += ["", f"## {section.title}", "", section.what, ""]
        base = section.baseline
        header = "| engine | median | spread | " + (f"× {base} | " if base else "") + "note |"
        out += [header, "|" + "---|" * (header.count("|") - 1)]
        for row in section.rows:
            if not row.samples:
                med = spread = "—"
            elif not row.ok:
                med = spread = "withheld"
            elif not row.usable:
                med = spread = "unchecked"
            else:
                med = fmt_value(row, section, row.median)
                lo, hi = row.spread
                spread = (f"{fmt_value(row, section, lo)} – {fmt_value(row, section, hi)}"
                          if len(row.samples) > 1 else "single run")
            cells = [row.engine, med, spread]
            if base:
                ratio = section.ratio(row.engine, base)
                cells.append("—" if ratio is None else f"{ratio:.2f}×")
            cells.append(row.note)
            out.append("| " + " | ".join(cells) + " |")
        for note in section.notes:
            out += ["", note]
    out += ["", "## Machine", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in facts.items()]
    out.append(f"| load average at end | {' '.join(f'{x:.2f}' for x in os.getloadavg())} |")
    return "\n".join(out) + "\n"


def bench_random(cfg: Config) -> H.Section:
    section = H.Section(
        "6. Random numbers: `torch.randn(10**7)`",
        "10,000,000 float32 normals from `manual_seed(0)`: PyTorch's CPU generator (MT19937 "
        "and its 16-wide Box-Muller fill), which gradcli.random reproduces bit for bit.",
        baseline="torch" if cfg.have_torch else "gradcli",
    )
    cases = {"gradcli": W.normals_gradcli}
    if cfg.have_torch:
        cases["torch"] = W.normals_torch
    values = {name: [a.copy() for a in fn()] for name, fn in cases.items()}
    for name in cases:
        section.rows.append(H.Row(name))
    if cfg.have_torch:
        H.check_gradients(section, values, "torch", 0.0)
        section.notes[0] = section.notes[0].replace("Gradients checked", "Values checked")
    cases["numpy (its own normals)"] = W.normals_numpy
    section.rows.append(H.Row("numpy (its own normals)",
                              note="numpy's ziggurat: other numbers; for scale only"))
    samples = H.interleave(cases, cfg.reps(3, 10))
    for name in cases:
        section.row(name).samples = samples[name]
    section.targets.append(H.Target(
        "6. 10^7 float32 normals, gradcli / torch", section.ratio("gradcli", "torch"), 2.0))
    return section


def bench_python(cfg: Config) -> H.Section:
    import python_workloads as P

    calls = cfg.reps(20_000, P.CALLS)
    section = H.Section(
        "7a. The Python around the tensors: a user `def` called in a loop",
        f"`def f(x): return x * 1.0001 + 0.5` called {calls:,} times on a 0-d tensor, then "
        "backward, run by `gradcli.runtime.interpreter.run` (guarded compiled Python) against the "
        "same text run by CPython with torch; no process start-up.",
        baseline="torch (CPython)" if cfg.have_torch else "gradcli",
        per=calls, per_unit="µs/call",
    )
    cases = {"gradcli": lambda: P.def_gradcli(calls)}
    if cfg.have_torch:
        cases["torch (CPython)"] = lambda: P.def_torch(calls)
    _timed(section, cases, cfg.reps(3, 7), rtol=1e-4,
           reference="torch (CPython)" if cfg.have_torch else "gradcli")
    section.targets.append(H.Target(
        "7a. user def x100,000, gradcli / Python + torch",
        section.ratio("gradcli", "torch (CPython)"), 1.0))
    return section


def bench_micrograd(cfg: Config) -> H.Section:
    import python_workloads as P

    steps = cfg.reps(30, 100)
    section = H.Section(
        "7b. The Python around the tensors: micrograd",
        f"A micrograd `Value` class (`__add__`, `__mul__`, `__pow__`, `tanh`, topological "
        f"sort, backward) training a 3-4-4-1 MLP on 4 samples for {steps} steps: the same "
        "text run by gradcli's guarded compiled Python and by CPython. Plain Python, no "
        "tensors: this is the sandbox's overhead.",
        baseline="CPython", per=steps, per_unit="µs/step",
    )
    cases = {"gradcli": lambda: P.micrograd_gradcli(steps),
             "CPython": lambda: P.micrograd_cpython(steps)}
    _timed(section, cases, cfg.reps(3, 7), rtol=1e-12, reference="CPython")
    section.targets.append(H.Target(
        "7b. micrograd, gradcli / CPython", section.ratio("gradcli", "CPython"), 3.0))
    return section


RUNNERS = {
    "python": bench_python,
    "micrograd": bench_micrograd,
    "startup": bench_startup,
    "scalar": bench_scalar,
    "language": bench_language,
    "mlp": bench_mlp,
    "elementwise": bench_elementwise,
    "depth": bench_depth,
    "memory": bench_memory,
    "parse": bench_parse,
    "random": bench_random,
    "nn": bench_nn,
    "func": bench_func,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter chains")
    parser.add_argument("--only", default=None,
                        help="comma-separated subset of: " + ",".join(SECTIONS))
    parser.add_argument("--out", default=str(H.BENCH_DIR / "RESULTS.md"),
                        help="where to write the report (default bench/RESULTS.md)")
    parser.add_argument("--threads", default="1",
                        help="BLAS/OpenMP threads for every engine (default 1; 0 = library "
                             "defaults)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: user+system seconds (default, robust to a busy machine); "
                             "wall: elapsed seconds")
    parser.add_argument("--torch-python", default=None,
                        help="interpreter for the torch start-up script (default: this one)")
    args = parser.parse_args(argv)
    chosen = SECTIONS if args.only is None else tuple(args.only.split(","))
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    H.Clock.kind = args.clock
    cfg = Config(args.quick, args.torch_python)
    if not cfg.have_torch:
        log("note: torch is not importable here; torch columns and torch ratios are skipped")
    if not cfg.have_autograd:
        log("note: HIPS autograd is not importable here (pip install 'gradcli[bench]')")
    facts = H.machine()
    facts["threads"] = ("library defaults" if THREADS == "0" else
                        f"{THREADS} (OMP/OpenBLAS/MKL_NUM_THREADS)")
    facts["clock"] = ("CPU time (user + system) of the timed process"
                      if args.clock == "cpu" else "wall time")
    started = time.perf_counter()
    sections = []
    for name in chosen:
        log(f"{name} ...")
        sections.append(RUNNERS[name](cfg))
    text = render(sections, facts, cfg, time.perf_counter() - started)
    Path(args.out).write_text(text, encoding="utf-8")
    log(f"wrote {args.out}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
