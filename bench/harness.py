"""Timing, statistics, gradient checks and machine facts shared by every benchmark.

Fairness on a noisy 2-core machine comes from interleaving: every repeat runs each
engine once, in an order rotated by the repeat number, so a burst of background load
lands on all engines alike. Medians are reported; the spread (25th-75th percentile)
shows how noisy the run was.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


# ----- results -------------------------------------------------------------------------


@dataclass
class Row:
    """One engine's numbers for one workload."""

    engine: str
    samples: list[float] = field(default_factory=list)  # seconds (or bytes, see unit)
    unit: str = "s"
    note: str = ""
    ok: bool = True  # False: gradients differed, the number is withheld
    checked: bool = False  # True once check_gradients compared this row's full gradients
    no_gradient: bool = False  # the row computes none (a bare interpreter, a parse)

    @property
    def usable(self) -> bool:
        """Whether a target may rest on this row: gradients checked and equal to the
        reference's (or none to check), and numbers measured."""
        return self.ok and (self.checked or self.no_gradient) and bool(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def spread(self) -> tuple[float, float]:
        if len(self.samples) < 4:
            nan = float("nan")
            return (min(self.samples, default=nan), max(self.samples, default=nan))
        q = statistics.quantiles(self.samples, n=4)
        return (q[0], q[2])


@dataclass
class Target:
    """A ratio the issue asks for: `measured <= limit` (or >= when `at_least`)."""

    label: str
    measured: float | None
    limit: float
    at_least: bool = False
    detail: str = ""

    @property
    def met(self) -> bool | None:
        if self.measured is None or self.measured != self.measured:
            return None
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit


@dataclass
class Section:
    title: str
    what: str
    rows: list[Row] = field(default_factory=list)
    baseline: str | None = None  # engine the ratio column divides by
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    per: float = 1.0  # divide medians by this for display (e.g. ops per run)
    per_unit: str = ""  # display unit after dividing, e.g. "µs/op"

    def row(self, engine: str) -> Row | None:
        for row in self.rows:
            if row.engine == engine:
                return row
        return None

    def median(self, engine: str) -> float | None:
        """The row's median, or None when no verdict may rest on it (Row.usable)."""
        row = self.row(engine)
        if row is None or not row.usable:
            return None
        return row.median

    def ratio(self, engine: str, over: str) -> float | None:
        a, b = self.median(engine), self.median(over)
        if a is None or b is None or b == 0:
            return None
        return a / b


# ----- timing --------------------------------------------------------------------------


class Clock:
    """What a benchmark's seconds are: "cpu" (user + system time of this process and,
    for whole-process benchmarks, of the child) or "wall" (elapsed time).

    CPU time is the default: on a shared 2-core machine wall time mostly measures the
    neighbours, while CPU time still counts page faults and every thread's work."""

    kind = "cpu"

    @classmethod
    def now(cls) -> float:
        return time.process_time() if cls.kind == "cpu" else time.perf_counter()


def interleave(cases: dict, repeats: int) -> dict[str, list[float]]:
    """Time each `cases[name]()` `repeats` times, rotating the order every repeat.

    A case may return its own seconds (a float), e.g. a child process's; otherwise the
    clock around the call is used. Garbage is collected before each call so one
    engine's garbage is not charged to the next.
    """
    names = list(cases)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            start = Clock.now()
            value = cases[name]()
            elapsed = Clock.now() - start
            times[name].append(value if isinstance(value, float) else elapsed)
    return times


def bench_env() -> dict:
    """Environment for child processes: bytecode caching on, as in a normal install.

    (A session that sets PYTHONDONTWRITEBYTECODE would otherwise make every start-up
    compile gradcli from source, which no user pays.)
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["NO_COLOR"] = "1"
    return env


def time_process(argv: list[str], env: dict, cwd: str | None = None) -> tuple[float, int, str]:
    """(seconds, exit code, stdout) of one child process, on the chosen clock."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if Clock.kind == "cpu":
        elapsed = usage.ru_utime + usage.ru_stime
    return elapsed, proc.returncode, text


def run_json(argv: list[str], env: dict | None = None, timeout: float | None = None) -> dict:
    """Run a probe process that prints one JSON object on its last stdout line."""
    import json

    proc = subprocess.run(argv, env=env or bench_env(), capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): " + " | ".join(tail))
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----- gradient checks -----------------------------------------------------------------


def max_rel_error(got, want) -> float:
    """Largest |got - want| relative to the largest |want| (per array, worst over arrays)."""
    worst = 0.0
    for g, w in zip(got, want, strict=True):
        g = np.asarray(g, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        if g.shape != w.shape:
            return float("inf")
        scale = max(float(np.max(np.abs(w))) if w.size else 0.0, 1e-30)
        err = float(np.max(np.abs(g - w))) / scale if w.size else 0.0
        if err != err:
            return float("inf")
        worst = max(worst, err)
    return worst


def check_gradients(section: Section, grads: dict[str, list], reference: str, rtol: float,
                    rows: dict[str, list[str]] | None = None, what: str = "Gradients") -> None:
    """Withhold the rows of engines whose gradients differ from the reference engine's.

    `rows` maps an engine to the row labels that show its numbers (default: the row
    named after the engine).
    """
    want = grads[reference]
    parts = []
    for engine, got in grads.items():
        labels = (rows or {}).get(engine, [engine])
        for label in labels:
            row = section.row(label)
            if row is not None:
                row.checked = True
        if engine == reference:
            continue
        err = max_rel_error(got, want)
        if err > rtol:
            for label in labels:
                row = section.row(label)
                if row is not None:
                    row.ok = False
                    row.note = (f"{what.upper()} DIFFER (max rel err {err:.2e} > {rtol:g}); "
                                "withheld")
            parts.append(f"{engine} DIFFERS ({err:.1e})")
        else:
            parts.append(f"{engine} {err:.1e}")
    section.notes.insert(0, f"{what} checked against `{reference}` before timing "
                            f"(max relative error, tolerance {rtol:g}): " + ", ".join(parts) + ".")


# ----- machine facts -------------------------------------------------------------------


def machine() -> dict[str, str]:
    facts = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "platform": platform.platform(),
        "python": f"{platform.python_version()} ({sys.executable})",
        "cpu": _cpu_model(),
        "cpu flags": cpu_flags(),
        "cores": str(os.cpu_count()),
        "memory": _mem_total(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "numpy": np.__version__ + _blas(),
    }
    for name in ("torch", "autograd", "lark", "click", "rich"):
        facts[name] = _version(name)
    facts["gradcli"] = git_revision()
    return facts


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# The vector extensions numpy's and torch's element-wise kernels dispatch on: the same
# code runs 2-3x faster on an AVX-512 machine, so ratios against a numpy floor move.
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16",
                "amx_tile", "asimd", "sve")


def cpu_flags(cpuinfo: str | None = None) -> str:
    """The vector extensions of this CPU, from /proc/cpuinfo (e.g. "AVX2 yes, AVX-512 no:
    sse4_2 avx avx2 fma")."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return "unknown"
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")):
            flags.update(line.split(":", 1)[1].split())
            break
    if not flags:
        return "unknown"
    present = [f for f in VECTOR_FLAGS if f in flags]
    yes = {True: "yes", False: "no"}
    return (f"AVX2 {yes['avx2' in flags]}, AVX-512 {yes['avx512f' in flags]}: "
            + (" ".join(present) or "none of " + " ".join(VECTOR_FLAGS)))


def _mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _blas() -> str:
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        name = blas.get("name")
        return f" (BLAS: {name} {blas.get('version', '')})".rstrip() if name else ""
    except Exception:  # noqa: BLE001 - informational only
        return ""


def _version(module: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_revision() -> str:
    """The commit measured (full hash), and whether gradcli/ had uncommitted changes."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "gradcli"], cwd=ROOT,
                               text=True, capture_output=True).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
