"""bench/run.py: a target's verdict rests only on rows whose full gradients matched.

The probes are replaced by fakes that return chosen numbers and gradients (no timing,
no child process): a gradcli gradient that differs from the reference in one element
must leave the depth and memory targets unmet or unmeasured, never "met".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def bench():
    saved = dict(os.environ)
    sys.path.insert(0, str(BENCH))
    try:
        import harness
        import run
    finally:
        sys.path.remove(str(BENCH))
        os.environ.clear()
        os.environ.update(saved)  # run.py sets the BLAS thread counts at import
    return harness, run


class Config:
    quick = True
    have_torch = True
    have_autograd = False
    env: dict = {}

    def reps(self, quick, full):
        return quick


def verdicts(section) -> dict[str, bool | None]:
    return {t.label.split(".")[0]: t.met for t in section.targets}


def fake_depth(grads: dict[str, float]):
    def run_json(argv, env=None, timeout=None):
        if argv[2] == "lang-chain":
            return {"ok": True, "seconds": 1.0, "grad": grads["gradcli (.expr)"],
                    "peak_increase": 0}
        engine = argv[3]
        per_node = {"numpy": 10.0, "gradcli": 40.0, "torch": 100.0}[engine]
        return {"bytes_per_node": per_node, "forward_s": 0.1, "backward_s": 0.1,
                "graph_bytes": 2**20, "rss_after_backward_release": 0, "grad": grads[engine]}

    return run_json


@pytest.mark.parametrize("wrong", [None, "gradcli", "gradcli (.expr)"])
def test_depth_targets_rest_on_checked_gradients(bench, monkeypatch, wrong):
    harness, run = bench
    grads = {"numpy": 2.5, "gradcli": 2.5, "torch": 2.5, "gradcli (.expr)": 2.5}
    if wrong:
        grads[wrong] = 2.6
    monkeypatch.setattr(harness, "run_json", fake_depth(grads))
    section = run.bench_depth(Config())
    met = verdicts(section)
    if wrong is None:
        assert met == {"4a": True, "4a'": True}
    elif wrong == "gradcli":
        assert met == {"4a": False, "4a'": None}  # the ratio's row is withheld
        assert "withheld" in section.row("gradcli").note
    else:
        assert met["4a"] is False  # the .expr program gave the wrong gradient


def fake_memory(outputs: dict, peaks: dict):
    def run_json(argv, env=None, timeout=None):
        engine, mode, save = argv[3], argv[4], argv[7]
        np.save(save, outputs[engine, mode])
        return {"engine": engine, "mode": mode, "tensor_bytes": 4, "baseline": 0,
                "peak_increase": peaks[engine, mode], "peak_is_exact": True}

    return run_json


def memory_outputs(size: int = 50):
    rng = np.random.default_rng(0)
    grad = rng.uniform(0.1, 1.0, (size, size)).astype(np.float32)
    loss = np.float32(12.5)
    outputs = {}
    for engine in ("numpy", "gradcli", "torch"):
        outputs[engine, "grad"] = grad.copy()
        outputs[engine, "nograd"] = np.asarray(loss)
    return outputs


@pytest.mark.parametrize("wrong", [None, "grad", "nograd"])
def test_memory_targets_compare_the_whole_gradient(bench, monkeypatch, wrong):
    harness, run = bench
    outputs = memory_outputs()
    if wrong == "grad":
        # a change a three-number digest (sum, first, last) does not see
        g = outputs["gradcli", "grad"]
        g[10, 10] += 0.25
        g[20, 20] -= 0.25
    elif wrong == "nograd":
        outputs["gradcli", "nograd"] = np.asarray(np.float32(13.0))
    live = 2 * 2000 * 2000 * 4
    peaks = {("numpy", "grad"): 10 * live, ("gradcli", "grad"): 10 * live,
             ("torch", "grad"): 11 * live, ("numpy", "nograd"): live,
             ("gradcli", "nograd"): live, ("torch", "nograd"): live}
    monkeypatch.setattr(harness, "run_json", fake_memory(outputs, peaks))
    section = run.bench_memory(Config())
    met = verdicts(section)
    if wrong is None:
        assert met == {"4b": True, "4b'": True}
    elif wrong == "grad":
        assert met == {"4b": None, "4b'": None}
    else:
        assert met == {"4b": True, "4b'": None}


def test_unchecked_rows_carry_no_verdict(bench):
    harness, _ = bench
    section = harness.Section("t", "w")
    section.rows += [harness.Row("a", [1.0]), harness.Row("b", [2.0])]
    assert section.ratio("a", "b") is None  # nothing checked their gradients
    harness.check_gradients(section, {"a": [np.ones(3)], "b": [np.ones(3)]}, "a", 1e-6)
    assert section.ratio("a", "b") == 0.5
    harness.check_gradients(section, {"a": [np.ones(3)], "b": [np.zeros(3)]}, "a", 1e-6)
    assert section.ratio("a", "b") is None  # a later failing check withholds it for good
    base = harness.Row("python -c pass", [1.0], no_gradient=True)
    section.rows.append(base)
    assert section.ratio("a", "python -c pass") == 1.0


def test_report_names_commit_and_cpu_flags(bench):
    harness, run = bench
    section = harness.Section("s", "w")
    facts = {"gradcli": "0123abcd", "cpu": "Some CPU",
             "cpu flags": harness.cpu_flags("flags\t\t: fpu sse4_2 avx avx2 fma\n")}
    cfg = Config()
    text = run.render([section], facts, cfg, 60.0)
    assert "Commit: `0123abcd`" in text
    assert "AVX2 yes, AVX-512 no: sse4_2 avx avx2 fma" in text
    assert "depend on the machine" in text
    assert harness.cpu_flags("flags : avx2 avx512f avx512bw\n").startswith(
        "AVX2 yes, AVX-512 yes")
    assert harness.cpu_flags("model name : x\n") == "unknown"

