"""Record PyTorch's answers to tests/autograd_scenarios.py (hooks, custom Functions,
forward AD, torch.func, gradcheck) into tests/data/autograd_scenarios.json.

    /opt/oracle/bin/python tools/gen_autograd_scenarios.py [--check]

Each scenario runs under real torch with `A = getattr`; what it records (printed
reprs, with object addresses masked, and error texts) is written as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "data" / "autograd_scenarios.json"


def record(fn, torch) -> list:
    from autograd_scenarios import shown

    values: list = []
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(torch, getattr, lambda value: values.append(shown(value)))
    return values


def main(argv) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="fail if the JSON is stale")
    args = parser.parse_args(argv)
    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    from autograd_scenarios import SCENARIOS

    document = {name: record(fn, torch) for name, fn in SCENARIOS.items()}
    text = json.dumps({"torch": torch.__version__, "scenarios": document}, indent=1) + "\n"
    if args.check:
        return 0 if OUTPUT.exists() and OUTPUT.read_text() == text else 1
    OUTPUT.write_text(text)
    print(f"{len(document)} scenarios -> {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
