"""Regenerate the expected JSON of the conformance corpus from real PyTorch.

    python tools/gen_conformance.py                  # every case
    python tools/gen_conformance.py --only 'nb_*'    # stems matching (glob or substring)
    python tools/gen_conformance.py --check          # fail if any JSON is stale

Every ``tests/conformance/<dir>/NNN_name.expr`` is run through
``tools/oracle.py`` under the oracle interpreter (torch installed), and the
document is written to ``NNN_name.json`` next to it.  A file is only
rewritten when its content changes beyond what varies from run to run (object
addresses; values of programs marked values=skip), so running twice changes
nothing.

Each case also gets a sanity check of its intent:
- a stem with an ``err`` or ``syntax`` word (``120_err_index_range``) must fail,
  ``syntax`` ones with a SyntaxError; every other case must succeed;
- a program that reads uninitialised memory (``empty``, ``Tensor(3, 5)``) must carry
  the ``# conformance: values=skip`` marker on its first line. Random numbers need no
  marker: gradcli draws PyTorch's (gradcli.random), and the oracle seeds 0 as gradcli does.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORACLE = ROOT / "tools" / "oracle.py"
CASE_DIRS = [
    ROOT / "tests" / "conformance" / "cases",
    ROOT / "tests" / "conformance" / "cases_inplace_higher",
    ROOT / "tests" / "conformance" / "cases_autograd",
    ROOT / "tests" / "conformance" / "cases_python",
    ROOT / "tests" / "conformance" / "cases_nn",
    ROOT / "tests" / "conformance" / "cases_nn_python",
    ROOT / "tests" / "conformance" / "cases_nn_seeded",
    ROOT / "tests" / "conformance" / "cases_tutorials",
    ROOT / "tests" / "conformance" / "cases_nn_layers",
    ROOT / "tests" / "conformance" / "cases_tensor_api",
]
DEFAULT_PYTHON = os.environ.get("ORACLE_PYTHON", "/opt/oracle/bin/python")
SKIP_MARKER = "# conformance: values=skip"
STEM_RE = re.compile(r"^\d{3}_[a-z0-9_]+$")
UNINITIALISED_RE = re.compile(
    r"\b(empty)\s*\("
    r"|\b(Tensor|FloatTensor|DoubleTensor)\(\s*\d"
)


def find_cases(only: str | None) -> list[Path]:
    cases = []
    for d in CASE_DIRS:
        for p in sorted(d.glob("*.expr")):
            name = p.stem.split("_", 1)[-1]  # without the NNN_ prefix
            if (
                only is None
                or only in p.stem
                or any(fnmatch.fnmatch(n, only) for n in (p.stem, name))
            ):
                cases.append(p)
    return cases


def run_oracle(python: str, cases: list[Path]) -> dict[Path, str]:
    """Documents of `cases`, from one oracle process (it forks per program)."""
    if not cases:
        return {}
    proc = subprocess.run(
        [python, str(ORACLE), "--batch", *map(str, cases)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=3600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"oracle failed:\n{proc.stderr}")
    out = {}
    for line in proc.stdout.splitlines():
        record = json.loads(line)
        json.loads(record["document"])  # must be a valid document
        out[Path(record["path"])] = record["document"]
    missing = [c.name for c in cases if c not in out]
    if missing:
        raise RuntimeError(f"oracle gave no document for {missing}:\n{proc.stderr}")
    return out


ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]+")


def stable_view(text: str, skip_values: bool) -> dict:
    """The part of a document that must not change between oracle runs.

    Object addresses differ from run to run, and so do random or uninitialised
    values in the programs marked values=skip; test_conformance ignores both.
    """
    doc = json.loads(text)
    lines = [ADDRESS_RE.sub("0x…", line) for line in doc["stdout"]]
    if skip_values:
        lines = ["…" if re.search(r"\d|\[|tensor\(", line) else line for line in lines]
        for t in doc["tensors"]:
            t["data"] = None
            t["grad"] = t["grad"] is not None
    doc["stdout"] = lines
    return doc


def intent_problems(case: Path, doc: dict) -> list[str]:
    problems = []
    words = case.stem.split("_")[1:]
    source = case.read_text(encoding="utf-8")
    if not STEM_RE.match(case.stem):
        problems.append("file stem is not NNN_short_name")
    if "syntax" in words:
        if doc["ok"] or doc["error"]["type"] != "SyntaxError":
            problems.append(f"meant to be a SyntaxError, got {doc['error']}")
    elif "err" in words:
        if doc["ok"]:
            problems.append("meant to fail, but ran to the end")
        elif doc["error"]["type"] == "SyntaxError":
            problems.append(f"meant to fail at run time, got {doc['error']}")
    elif not doc["ok"]:
        problems.append(f"meant to succeed, got {doc['error']}")
    first = source.splitlines()[0] if source else ""
    if UNINITIALISED_RE.search(source) and SKIP_MARKER not in first:
        problems.append(f"reads uninitialised memory but lacks '{SKIP_MARKER}'")
    if SKIP_MARKER in source and SKIP_MARKER not in first:
        problems.append("the values=skip marker must be on the first line")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", metavar="PATTERN", help="glob or substring of case stems")
    ap.add_argument("--dir", metavar="NAME", help="only the cases of tests/conformance/NAME")
    ap.add_argument("--python", default=DEFAULT_PYTHON, help="interpreter with torch")
    ap.add_argument("--check", action="store_true", help="write nothing; fail if stale")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("-v", "--verbose", action="store_true", help="list every error case")
    args = ap.parse_args(argv)

    cases = find_cases(args.only)
    if args.dir:
        cases = [c for c in cases if c.parent.name == args.dir]
    if not cases:
        print("no case matches", file=sys.stderr)
        return 2

    # the oracle imports torch once and forks a fresh child per program, so
    # warnings PyTorch issues once per process appear in every program
    jobs = max(1, min(args.jobs, len(cases)))
    chunks = [cases[i::jobs] for i in range(jobs)]
    documents: dict[Path, str] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for part in pool.map(lambda chunk: run_oracle(args.python, chunk), chunks):
            documents.update(part)
    outputs = [documents[c] for c in cases]

    changed, problems = [], []
    for case, text in zip(cases, outputs, strict=True):
        target = case.with_suffix(".json")
        old = target.read_text(encoding="utf-8") if target.exists() else None
        skip = SKIP_MARKER in case.read_text(encoding="utf-8").split("\n", 1)[0]
        if old is None or stable_view(old, skip) != stable_view(text, skip):
            changed.append(target)
            if not args.check:
                target.write_text(text, encoding="utf-8")
        doc = json.loads(text)
        for p in intent_problems(case, doc):
            problems.append(f"{case.relative_to(ROOT)}: {p}")
        if args.verbose and doc["error"]:
            e = doc["error"]
            print(f"{case.stem}: {e['type']} at {e['line']}:{e['column']}: {e['message'][:90]}")

    for d in CASE_DIRS:
        for j in sorted(d.glob("*.json")):
            if not j.with_suffix(".expr").exists():
                problems.append(f"{j.relative_to(ROOT)}: no matching .expr")

    verb = "stale" if args.check else "updated"
    print(f"{len(cases)} cases, {len(changed)} {verb}")
    for c in changed:
        print(f"  {verb}: {c.relative_to(ROOT)}")
    for p in problems:
        print(f"PROBLEM {p}", file=sys.stderr)
    if problems or (args.check and changed):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
