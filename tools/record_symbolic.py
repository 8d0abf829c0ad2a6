"""Record what `gradcli eval --symbolic` prints for the programs named in
tests/symbolic_programs.RECORDED into tests/data/symbolic/NAME.txt.

    python3 tools/record_symbolic.py            # write them
    python3 tools/record_symbolic.py --check    # compare, write nothing

Review the diff by eye: the formulas must be right, and tests/test_symbolic.py checks that
every number printed beside them is the engine's gradient.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from symbolic_programs import PROGRAMS, RECORDED, formulas_text  # noqa: E402

TARGET = ROOT / "tests" / "data" / "symbolic"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    TARGET.mkdir(parents=True, exist_ok=True)
    changed = 0
    for name in RECORDED:
        text = formulas_text(PROGRAMS[name].lstrip("\n"), f"{name}.expr")
        path = TARGET / f"{name}.txt"
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            changed += 1
            print(f"{'differs' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
            if not args.check:
                path.write_text(text, encoding="utf-8")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
