"""Run Python files (tutorial pages, notes snippets) through gradcli and the oracle and show
where their printed output and errors differ.

    python3 tools/compare_pages.py PAGE.py [PAGE.py ...]

Each file runs as `gradcli eval --format json FILE` (this tree) and under real PyTorch
(tools/oracle.py with the oracle interpreter, seed 0 on both sides); object addresses are
ignored. A page is SAME when every printed line and the error (type, line, message) agree.
This is how the public autograd tutorials were checked for issues 13 and 14; their text
stays outside the repository.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
ORACLE_PYTHON = os.environ.get("ORACLE_PYTHON", "/opt/oracle/bin/python")


def document(command: list[str], timeout: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"stdout": [], "error": {"type": "no document", "line": None,
                                        "message": (proc.stdout + proc.stderr)[-500:]}}


def compare(page: Path, timeout: int) -> bool:
    mine = document([sys.executable, "-m", "gradcli", "eval", "--format", "json", str(page)],
                    timeout)
    theirs = document([ORACLE_PYTHON, str(ROOT / "tools" / "oracle.py"), str(page)], timeout)
    ours = [ADDRESS.sub("0x…", s) for s in mine.get("stdout", [])]
    expected = [ADDRESS.sub("0x…", s) for s in theirs.get("stdout", [])]
    error, wanted = mine.get("error"), theirs.get("error")
    same_error = (error is None and wanted is None) or (
        error is not None and wanted is not None
        and (error["type"], error["line"], error["message"])
        == (wanted["type"], wanted["line"], wanted["message"]))
    same = ours == expected and same_error
    print(f"===== {page.name}: {'SAME' if same else 'DIFFERENT'} "
          f"({len(expected)} lines from PyTorch, {len(ours)} from gradcli)")
    if not same:
        for line in list(difflib.unified_diff(expected, ours, "pytorch", "gradcli",
                                              lineterm="", n=1))[:60]:
            print(line)
        if not same_error:
            print(f"pytorch error: {wanted}\ngradcli error: {error}")
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per run")
    args = parser.parse_args(argv)
    results = [compare(page.resolve(), args.timeout) for page in args.pages]
    print(f"{sum(results)} of {len(results)} pages give PyTorch's output")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
