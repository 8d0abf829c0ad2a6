"""Conformance: every program in tests/conformance/ must give PyTorch's answers.

Each ``NNN_name.expr`` has its expected SPEC §2.1 document in ``NNN_name.json``,
generated from real PyTorch by ``tools/gen_conformance.py``; torch is not
needed here.  A program whose first line carries ``# conformance: values=skip``
draws random numbers (or reads uninitialised memory), so its data/grad values
and the printed lines that show values are not compared.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "conformance"
CASES = sorted((HERE / "cases").glob("*.expr"))
CASES_LATER = sorted((HERE / "cases_inplace_higher").glob("*.expr"))
# hooks, saved tensors, autograd.functional, torch.func, forward AD, devices (issue 14)
CASES_AUTOGRAD = sorted((HERE / "cases_autograd").glob("*.expr"))
CASES_PYTHON = sorted((HERE / "cases_python").glob("*.expr"))
CASES_NN = sorted((HERE / "cases_nn").glob("*.expr"))  # torch.nn and torch.optim (issue 14)
# The same with `class Net(nn.Module)`, hooks as functions and dict literals: they run once
# the language has def/class (issue 13).
CASES_NN_PYTHON = sorted((HERE / "cases_nn_python").glob("*.expr"))


# Seeded programs (nn.Linear's default init, Dropout's mask, torch.randn data) compared value
# for value: they run once PyTorch's generator (gradcli.random, issue 15) is in the tree.
CASES_NN_SEEDED = sorted((HERE / "cases_nn_seeded").glob("*.expr"))
# Programs modelled on the public autograd tutorials and notes (each names its page), with
# the float rounding those pages print (issues 13 and 14, "tried as a new user would").
CASES_TUTORIALS = sorted((HERE / "cases_tutorials").glob("*.expr"))
# nn beyond SPEC §1.7's list that tutorials use as they are: more activations and losses,
# normalisation, embeddings, containers, convolution and pooling, torch.utils.data, more
# init functions and lr schedulers (each helper's own hundred: 1xx, 2xx, 3xx, 4xx)
CASES_NN_LAYERS = sorted((HERE / "cases_nn_layers").glob("*.expr"))
# torch.* functions and Tensor methods tutorials use beyond SPEC §1.2's core set: pointwise,
# scans, sorting (5xx), shape, indexing, linear algebra and numpy() (6xx)
CASES_TENSOR_API = sorted((HERE / "cases_tensor_api").glob("*.expr"))


def has_pytorch_generator() -> bool:
    import importlib.util

    return importlib.util.find_spec("gradcli.random") is not None


def language_has_classes() -> bool:
    from gradcli.runtime.interpreter import run

    return run("class A:\n    pass\n", "<probe>").error is None

SKIP_MARKER = "# conformance: values=skip"
KNOWN_DIFFERENCES = HERE / "known_differences.txt"
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
RTOL, ATOL = 1e-4, 1e-5
TENSOR_FIELDS = ("shape", "dtype", "requires_grad", "is_leaf", "grad_fn")


def known_differences() -> dict[str, str]:
    """Stem -> why, for the cases gradcli does not pass yet (strict xfails)."""
    known = {}
    for line in KNOWN_DIFFERENCES.read_text(encoding="utf-8").splitlines():
        stem, _, why = line.partition("#")
        if stem.strip():
            known[stem.strip()] = why.strip() or "see known_differences.txt"
    return known


KNOWN = known_differences()


def case_params(paths: list[Path]) -> list:
    params = []
    for p in paths:
        marks = ()
        if p.stem in KNOWN:
            marks = pytest.mark.xfail(strict=True, reason=f"known difference: {KNOWN[p.stem]}")
        params.append(pytest.param(p, id=p.stem, marks=marks))
    return params


def run_document(source: str, filename: str) -> dict:
    from gradcli.runtime.interpreter import run
    from gradcli.views.jsondoc import document

    return document(run(source, filename, seed=0))


def normalise(line: str) -> str:
    return ADDRESS.sub("0x…", line)


def shows_values(line: str) -> bool:
    """Whether a printed line may show random values (compared only when not)."""
    return bool(re.search(r"\d", line)) or "[" in line or "tensor(" in line


def compare_values(where: str, expected, actual, problems: list[str]) -> None:
    """Nested tolist() values: floats with float32 tolerance, the rest exactly."""
    if len(problems) > 20:
        return
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            problems.append(f"{where}: expected {short(expected)}, got {short(actual)}")
            return
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            compare_values(f"{where}[{i}]", e, a, problems)
        return
    if isinstance(expected, str) or isinstance(expected, bool) or isinstance(expected, int):
        ok = type(actual) is type(expected) and actual == expected
    elif isinstance(expected, float):
        ok = (
            isinstance(actual, float)
            and math.isfinite(actual)
            and math.isclose(actual, expected, rel_tol=RTOL, abs_tol=ATOL)
        )
    else:
        ok = actual == expected
    if not ok:
        problems.append(f"{where}: expected {expected!r}, got {actual!r}")


def short(value, limit: int = 120) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compare_stdout(expected: list[str], actual: list[str], skip_values: bool, problems) -> None:
    exp = [normalise(s) for s in expected]
    act = [normalise(s) for s in actual]
    if skip_values:
        bad = len(exp) != len(act) or any(
            e != a for e, a in zip(exp, act, strict=False) if not shows_values(e)
        )
    else:
        bad = exp != act
    if bad:
        diff = "\n".join(
            difflib.unified_diff(exp, act, "expected stdout", "gradcli stdout", lineterm="")
        )
        problems.append(
            f"stdout differs{' (value lines not compared)' if skip_values else ''}:\n{diff}"
        )


def compare_warnings(expected: list[dict], actual: list[dict], problems: list[str]) -> None:
    if len(expected) != len(actual):
        problems.append(
            f"warnings: expected {len(expected)}, got {len(actual)}:\n"
            f"  expected {[(w['line'], w['message'][:60]) for w in expected]}\n"
            f"  got      {[(w.get('line'), str(w.get('message'))[:60]) for w in actual]}"
        )
        return
    for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
        for key in ("message", "line", "column"):
            if a.get(key) != e[key]:
                problems.append(f"warnings[{i}].{key}: expected {e[key]!r}, got {a.get(key)!r}")


def compare_error(expected: dict | None, actual: dict | None, problems: list[str]) -> None:
    if expected is None or actual is None:
        if expected != actual:
            problems.append(f"error: expected {expected!r}, got {actual!r}")
        return
    for key in ("type", "message", "line", "column"):
        if actual.get(key) != expected[key]:
            problems.append(f"error.{key}: expected {expected[key]!r}, got {actual.get(key)!r}")


def compare_tensors(expected: list[dict], actual: list[dict], skip_values: bool, problems) -> None:
    exp_names = [t["name"] for t in expected]
    act_names = [t.get("name") for t in actual]
    if exp_names != act_names:
        problems.append(f"tensor names: expected {exp_names}, got {act_names}")
    by_name = {t.get("name"): t for t in actual}
    for e in expected:
        a = by_name.get(e["name"])
        if a is None:
            continue
        where = f"tensor {e['name']!r}"
        for key in TENSOR_FIELDS:
            if a.get(key) != e[key]:
                problems.append(f"{where} {key}: expected {e[key]!r}, got {a.get(key)!r}")
        if (e["grad"] is None) != (a.get("grad") is None):
            problems.append(
                f"{where} grad: expected {short(e['grad'])}, got {short(a.get('grad'))}"
            )
        elif not skip_values:
            compare_values(f"{where} data", e["data"], a.get("data"), problems)
            if e["grad"] is not None:
                compare_values(f"{where} grad", e["grad"], a.get("grad"), problems)


def check_case(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    skip_values = SKIP_MARKER in source.split("\n", 1)[0]

    actual = run_document(source, path.name)

    problems: list[str] = []
    if actual.get("version") != expected["version"]:
        problems.append(f"version: expected {expected['version']}, got {actual.get('version')!r}")
    if actual.get("ok") != expected["ok"]:
        problems.append(f"ok: expected {expected['ok']}, got {actual.get('ok')!r}")
    compare_error(expected["error"], actual.get("error"), problems)
    compare_stdout(expected["stdout"], actual.get("stdout", []), skip_values, problems)
    compare_warnings(expected["warnings"], actual.get("warnings", []), problems)
    compare_tensors(expected["tensors"], actual.get("tensors", []), skip_values, problems)

    if problems:
        listing = "\n".join(f"{n:3} | {line}" for n, line in enumerate(source.splitlines(), 1))
        pytest.fail(
            f"{path.name}: {len(problems)} difference(s) from PyTorch\n- "
            + "\n- ".join(problems)
            + f"\n\nprogram:\n{listing}",
            pytrace=False,
        )


@pytest.mark.parametrize("path", case_params(CASES))
def test_conformance(path: Path) -> None:
    check_case(path)


@pytest.mark.parametrize("path", case_params(CASES_LATER))
def test_conformance_inplace_higher(path: Path) -> None:
    check_case(path)


@pytest.mark.parametrize("path", CASES_AUTOGRAD, ids=[p.stem for p in CASES_AUTOGRAD])
def test_conformance_autograd(path: Path) -> None:
    check_case(path)


@pytest.mark.parametrize("path", CASES_PYTHON, ids=[p.stem for p in CASES_PYTHON])
def test_conformance_python(path: Path) -> None:
    """SPEC §1.6: the Python around the tensors, with PyTorch's and CPython's answers."""
    check_case(path)


@pytest.mark.parametrize("path", CASES_NN, ids=[p.stem for p in CASES_NN])
def test_conformance_nn(path: Path) -> None:
    check_case(path)


@pytest.mark.parametrize("path", CASES_NN_PYTHON, ids=[p.stem for p in CASES_NN_PYTHON])
def test_conformance_nn_python(path: Path) -> None:
    if not language_has_classes():
        pytest.skip("needs def/class in the language (issue 13)")
    check_case(path)


@pytest.mark.parametrize("path", CASES_NN_SEEDED, ids=[p.stem for p in CASES_NN_SEEDED])
def test_conformance_nn_seeded(path: Path) -> None:
    if not has_pytorch_generator():
        pytest.skip("needs PyTorch's generator, gradcli.random (issue 15)")
    check_case(path)


@pytest.mark.parametrize("path", case_params(CASES_TUTORIALS))
def test_conformance_tutorials(path: Path) -> None:
    check_case(path)


@pytest.mark.parametrize("path", case_params(CASES_NN_LAYERS))
def test_conformance_nn_layers(path: Path) -> None:
    check_case(path)


@pytest.mark.parametrize("path", case_params(CASES_TENSOR_API))
def test_conformance_tensor_api(path: Path) -> None:
    check_case(path)


def test_corpus_is_complete() -> None:
    """Every program has its expected document and vice versa."""
    assert len(CASES_PYTHON) >= 150
    for d in ("cases", "cases_inplace_higher", "cases_autograd", "cases_python", "cases_nn",
              "cases_nn_python", "cases_nn_seeded", "cases_tutorials", "cases_nn_layers",
              "cases_tensor_api"):
        exprs = {p.stem for p in (HERE / d).glob("*.expr")}
        jsons = {p.stem for p in (HERE / d).glob("*.json")}
        assert exprs == jsons, f"{d}: unpaired files {sorted(exprs ^ jsons)}"
    assert len(CASES) >= 170


def test_known_differences_name_real_cases() -> None:
    stems = {p.stem for p in CASES + CASES_LATER + CASES_TUTORIALS + CASES_NN_LAYERS
             + CASES_TENSOR_API}
    assert sorted(set(KNOWN) - stems) == []
