"""Regenerate the expected JSON of the conformance corpus from real PyTorch.

    python tools/gen_conformance.py                  # every case
    python tools/gen_conformance.py --only 'nb_*'    # cases whose stem matches
    python tools/gen_conformance.py --check          # fail if any JSON is stale

Every ``tests/conformance/<dir>/NNN_name.expr`` is run through
``tools/oracle.py`` under the oracle interpreter (torch installed), and the
document is written to ``NNN_name.json`` next to it.  A file is only
rewritten when its content changes, so running twice changes nothing.

Each case also gets a sanity check of its intent:
- a stem with an ``err`` or ``syntax`` word (``120_err_index_range``) must fail,
  ``syntax`` ones with a SyntaxError; every other case must succeed;
- a program that draws random numbers or reads uninitialised memory must carry
  the ``# conformance: values=skip`` marker on its first line.
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
]
DEFAULT_PYTHON = os.environ.get("ORACLE_PYTHON", "/opt/oracle/bin/python")
SKIP_MARKER = "# conformance: values=skip"
STEM_RE = re.compile(r"^\d{3}_[a-z0-9_]+$")
RANDOM_RE = re.compile(
    r"\b(rand|randn|randint|rand_like|randn_like|empty)\s*\("
    r"|\b(Tensor|FloatTensor|DoubleTensor)\(\s*\d"
)


def find_cases(only: str | None) -> list[Path]:
    cases = []
    for d in CASE_DIRS:
        for p in sorted(d.glob("*.expr")):
            if only is None or fnmatch.fnmatch(p.stem, only) or only in p.stem:
                cases.append(p)
    return cases


def run_oracle(python: str, case: Path) -> str:
    proc = subprocess.run(
        [python, str(ORACLE), str(case)],
        capture_output=True,
        text=True,
        cwd=case.parent,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"oracle failed on {case.name}:\n{proc.stderr}")
    json.loads(proc.stdout)  # must be a valid document
    return proc.stdout


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
    if RANDOM_RE.search(source) and SKIP_MARKER not in first:
        problems.append(f"uses random/uninitialised values but lacks '{SKIP_MARKER}'")
    if SKIP_MARKER in source and SKIP_MARKER not in first:
        problems.append("the values=skip marker must be on the first line")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", metavar="PATTERN", help="glob or substring of case stems")
    ap.add_argument("--python", default=DEFAULT_PYTHON, help="interpreter with torch")
    ap.add_argument("--check", action="store_true", help="write nothing; fail if stale")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("-v", "--verbose", action="store_true", help="list every error case")
    args = ap.parse_args(argv)

    cases = find_cases(args.only)
    if not cases:
        print("no case matches", file=sys.stderr)
        return 2

    # one process per case: warnings PyTorch issues once per process must
    # appear in each program that triggers them
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outputs = list(pool.map(lambda c: run_oracle(args.python, c), cases))

    changed, problems = [], []
    for case, text in zip(cases, outputs, strict=True):
        target = case.with_suffix(".json")
        old = target.read_text(encoding="utf-8") if target.exists() else None
        if old != text:
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
