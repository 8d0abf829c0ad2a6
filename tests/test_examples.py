"""Every examples/*.expr still does what was recorded in tests/data/examples/NAME.json.

The recordings come from gradcli itself through tools/record_examples.py, which checked
each one against real PyTorch first ("oracle": "exact" for deterministic programs,
"structure" for programs that draw random numbers). After a deliberate change, re-record
with `python tools/record_examples.py` and review the diff.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_conformance import compare_stdout, compare_tensors, compare_warnings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.expr"))
EXPECTED = ROOT / "tests" / "data" / "examples"


def recorded(path: Path) -> dict:
    return json.loads((EXPECTED / (path.stem + ".json")).read_text(encoding="utf-8"))


def test_every_example_has_a_recording_and_vice_versa():
    assert len(EXAMPLES) >= 20
    programs = {p.stem for p in EXAMPLES}
    recordings = {p.stem for p in EXPECTED.glob("*.json")}
    assert programs == recordings, (
        f"re-record with tools/record_examples.py: {sorted(programs ^ recordings)}")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_output_matches_the_recording(path: Path):
    from gradcli.runtime.interpreter import run
    from gradcli.views.jsondoc import document

    expected = recorded(path)
    actual = document(run(path.read_text(encoding="utf-8"), path.name, seed=0))
    want = expected["document"]
    problems: list[str] = []
    for key in ("version", "ok", "error"):
        if actual[key] != want[key]:
            problems.append(f"{key}: recorded {want[key]!r}, now {actual[key]!r}")
    compare_stdout(want["stdout"], actual["stdout"], False, problems)
    compare_warnings(want["warnings"], actual["warnings"], problems)
    compare_tensors(want["tensors"], actual["tensors"], False, problems)
    if problems:
        pytest.fail(f"{path.name} changed:\n- " + "\n- ".join(problems), pytrace=False)


def test_recordings_were_checked_against_pytorch():
    verdicts = {p.stem: recorded(p)["oracle"] for p in EXAMPLES}
    unchecked = sorted(name for name, verdict in verdicts.items() if verdict == "not checked")
    assert not unchecked, f"recorded without the PyTorch check: {unchecked}"


def test_exit_codes_through_the_command_line():
    """One `gradcli eval` over every example: one JSON document per line, exit code = worst."""
    done = subprocess.run(
        [sys.executable, "-m", "gradcli", "eval", *map(str, EXAMPLES), "--format", "jsonl"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    documents = [json.loads(line) for line in done.stdout.splitlines()]
    assert [Path(d["file"]).name for d in documents] == [p.name for p in EXAMPLES]
    codes = [recorded(p)["exit_code"] for p in EXAMPLES]
    assert done.returncode == max(codes)
    for path, document, code in zip(EXAMPLES, documents, codes, strict=True):
        assert document["ok"] is (code == 0), path.name
