"""Record the expected output of every examples/*.expr into tests/data/examples/NAME.json.

The recorded document is gradcli's own (SPEC §2.1 JSON, plus the exit code), so
tests/test_examples.py notices any change in what an example does. Before writing, each
example is checked against real PyTorch through tools/oracle.py when an oracle interpreter
is available: in full for deterministic programs, and for names, shapes, dtypes, flags,
grad_fn names, warnings and errors when the program reads uninitialised memory
(gradcli zero-fills it, by design). Random numbers are PyTorch's, so compared in full. An
example that disagrees with PyTorch is reported and nothing is written for it.

    /opt/dev/bin/python tools/record_examples.py                 # record all (checks the oracle)
    /opt/dev/bin/python tools/record_examples.py --only newton   # names containing "newton"
    /opt/dev/bin/python tools/record_examples.py --check         # compare, write nothing
    /opt/dev/bin/python tools/record_examples.py --oracle none   # skip the PyTorch check
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXPECTED = ROOT / "tests" / "data" / "examples"
DEFAULT_ORACLE = "/opt/oracle/bin/python"
# Programs whose values are gradcli's own: uninitialised storage (gradcli zero-fills it).
# Random numbers are PyTorch's (gradcli.random; both sides start from seed 0).
NONDETERMINISTIC = re.compile(r"\bempty\s*\(|\b(Float|Double)?Tensor\s*\(\s*\d")
# Examples checked for structure only although deterministic, and why.
LAST_BIT = {
    "attention_scores": "q @ k.T sums in another order than PyTorch's BLAS: a row of the "
                        "softmax sums to 0.99999994, which prints 1.0000 where PyTorch has 1.",
}

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def gradcli_document(path: Path) -> tuple[dict, int]:
    from gradcli.runtime.interpreter import run
    from gradcli.views.jsondoc import document

    result = run(path.read_text(encoding="utf-8"), path.name, seed=0)
    doc = document(result)
    return doc, exit_code(doc)


def changes(target: Path, doc: dict, code: int) -> list[str]:
    """How `doc` differs from the recording, by tests/test_examples.py's rules: object
    addresses (`<AddBackward0 object at 0x7f...>`) differ from run to run and are not
    compared, float values within the conformance tolerance are equal."""
    from test_conformance import compare_stdout, compare_tensors, compare_warnings

    if not target.exists():
        return ["no recording"]
    recorded = json.loads(target.read_text(encoding="utf-8"))
    want = recorded["document"]
    problems: list[str] = []
    if recorded["exit_code"] != code:
        problems.append(f"exit code: recorded {recorded['exit_code']}, now {code}")
    for key in ("version", "ok", "error"):
        if doc[key] != want[key]:
            problems.append(f"{key}: recorded {want[key]!r}, now {doc[key]!r}")
    compare_stdout(want["stdout"], doc["stdout"], False, problems)
    compare_warnings(want["warnings"], doc["warnings"], problems)
    compare_tensors(want["tensors"], doc["tensors"], False, problems)
    return problems


def exit_code(doc: dict) -> int:
    if doc["ok"]:
        return 0
    return 3 if doc["error"]["type"] == "SyntaxError" else 1


def oracle_documents(interpreter: str, paths: list[Path]) -> dict[str, dict]:
    done = subprocess.run(
        [interpreter, str(ROOT / "tools" / "oracle.py"), "--batch", *map(str, paths)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    out = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        out[Path(record["path"]).name] = json.loads(record["document"])
    return out


def differences(expected: dict, actual: dict, skip_values: bool) -> list[str]:
    """Where gradcli's document differs from PyTorch's (the conformance suite's rules)."""
    from test_conformance import compare_error, compare_stdout, compare_tensors, compare_warnings

    problems: list[str] = []
    if actual["ok"] != expected["ok"]:
        problems.append(f"ok: PyTorch {expected['ok']}, gradcli {actual['ok']}")
    compare_error(expected["error"], actual["error"], problems)
    compare_stdout(expected["stdout"], actual["stdout"], skip_values, problems)
    compare_warnings(expected["warnings"], actual["warnings"], problems)
    compare_tensors(expected["tensors"], actual["tensors"], skip_values, problems)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="only examples whose name contains this")
    parser.add_argument("--check", action="store_true", help="compare with the recorded files")
    parser.add_argument("--oracle", default=DEFAULT_ORACLE,
                        help="python with torch for tools/oracle.py, or 'none'")
    args = parser.parse_args(argv)

    paths = sorted(p for p in EXAMPLES.glob("*.expr") if args.only in p.stem)
    use_oracle = args.oracle != "none" and os.path.exists(args.oracle)
    if args.oracle != "none" and not use_oracle:
        print(f"note: no oracle at {args.oracle}; recording without the PyTorch check")
    oracle = oracle_documents(args.oracle, paths) if use_oracle else {}

    EXPECTED.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in paths:
        doc, code = gradcli_document(path)
        skip_values = bool(NONDETERMINISTIC.search(path.read_text(encoding="utf-8"))) or (
            path.stem in LAST_BIT)
        verdict = "not checked"
        if path.name in oracle:
            problems = differences(oracle[path.name], doc, skip_values)
            if problems:
                failed += 1
                print(f"DIFFERS FROM PYTORCH {path.name}:\n  - " + "\n  - ".join(problems))
                continue
            verdict = "structure" if skip_values else "exact"
        record = {
            "program": f"examples/{path.name}",
            "exit_code": code,
            "oracle": verdict,
            "document": doc,
        }
        target = EXPECTED / (path.stem + ".json")
        text = json.dumps(record, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
        if args.check:
            problems = changes(target, doc, code)
            if problems:
                failed += 1
                print(f"OUT OF DATE {target.relative_to(ROOT)}:\n  - " + "\n  - ".join(problems))
            continue
        if not changes(target, doc, code) and json.loads(target.read_text())["oracle"] == verdict:
            continue  # only addresses or float noise differ: running twice changes nothing
        target.write_text(text, encoding="utf-8")
        print(f"{path.name:45} exit {code}  PyTorch check: {verdict}")
    if not args.only and not args.check:
        stems = {p.stem for p in paths}
        for stale in EXPECTED.glob("*.json"):
            if stale.stem not in stems:
                stale.unlink()
                print(f"removed {stale.name} (no such example)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
