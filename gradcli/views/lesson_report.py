"""`gradcli test`'s reports: pytest's terminal layout (a line of dots per file, each
failure with a coloured diff, a short summary, `12 passed, 1 failed in 0.53s`), a JSON
document, JUnit XML for CI, and Gradescope's results.json. Reads the FileReports of
gradcli.checking.runner; computes nothing but counts."""

from __future__ import annotations

import difflib
import json

WIDTH = 80
MARKS = {"passed": ".", "failed": "F", "skipped": "s"}
COLORS = {"passed": "32", "failed": "31", "skipped": "33", "error": "31"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def counts(reports) -> dict[str, int]:
    tally = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    for report in reports:
        if report.error is not None:
            tally["error"] += 1
        for case in report.cases:
            tally[case.status] += 1
    return tally


def summary_words(reports, seconds: float) -> str:
    tally = counts(reports)
    parts = [f"{tally[k]} {k if k != 'error' else ('errors' if tally[k] > 1 else 'error')}"
             for k in ("failed", "passed", "skipped", "error") if tally[k]]
    return f"{', '.join(parts) or 'no tests ran'} in {seconds:.2f}s"


def text_report(reports, seconds: float, color: bool = False, updated=()) -> str:
    out = []
    for report in reports:
        marks = "".join(_paint(MARKS[c.status], COLORS[c.status], color) for c in report.cases)
        if report.error is not None:
            marks = _paint("E", COLORS["error"], color)
        out.append(f"{report.path} {marks}")
    failures = [(r, c) for r in reports for c in r.cases if c.status == "failed"]
    errors = [r for r in reports if r.error is not None]
    if failures or errors:
        out.append("")
        out.append(_rule(" FAILURES ", "="))
    for report in errors:
        out.append(_paint(_rule(f" {report.path} ", "_"), "1;31", color))
        out.append(report.error)
    for _, case in failures:
        out.append(_paint(_rule(f" {case.id} ", "_"), "1;31", color))
        out.append(case.message)
        if case.source:
            out.extend(("    >>> " if i == 0 else "    ... ") + line
                       for i, line in enumerate(case.source.rstrip("\n").split("\n")))
        if case.expected is not None or case.got is not None:
            out.extend(diff_lines(case.expected or "", case.got or "", color))
    if failures or errors:
        out.append(_rule(" short test summary info ", "="))
        for report in errors:
            out.append(f"ERROR {report.path} - {report.error.splitlines()[0]}")
        for _, case in failures:
            out.append(f"FAILED {case.id} - {case.message.splitlines()[0] if case.message else ''}")
    for path in updated:
        out.append(f"updated {path}")
    tally = counts(reports)
    words = summary_words(reports, seconds)
    bad = tally["failed"] or tally["error"]
    out.append(_paint(_rule(f" {words} ", "="), "1;31" if bad else "1;32", color))
    return "\n".join(out) + "\n"


def diff_lines(expected: str, got: str, color: bool) -> list[str]:
    """A unified diff, expected (-) against what gradcli showed (+)."""
    lines = list(difflib.unified_diff(expected.splitlines(), got.splitlines(),
                                      "expected", "gradcli", lineterm="", n=3))
    if not lines:  # only trailing newlines differ
        lines = ["--- expected", "+++ gradcli", f"-{expected!r}", f"+{got!r}"]
    painted = []
    for line in lines:
        if line.startswith(("---", "+++")):
            painted.append(_paint(line, "1", color))
        elif line.startswith("-"):
            painted.append(_paint(line, "31", color))
        elif line.startswith("+"):
            painted.append(_paint(line, "32", color))
        elif line.startswith("@@"):
            painted.append(_paint(line, "36", color))
        else:
            painted.append(line)
    return painted


def _rule(title: str, char: str) -> str:
    side = max((WIDTH - len(title)) // 2, 3)
    return (char * side + title + char * side)[:max(WIDTH, len(title) + 6)]


def json_report(reports, seconds: float, updated=()) -> str:
    tally = counts(reports)
    doc = {
        "version": 1,
        "ok": not (tally["failed"] or tally["error"]),
        "summary": {**tally, "seconds": round(seconds, 3)},
        "files": [{
            "path": r.path, "kind": r.kind, "error": r.error, "updated": r.updated,
            "tests": [{"id": c.id, "name": c.name, "status": c.status, "message": c.message,
                       "expected": c.expected, "got": c.got} for c in r.cases],
        } for r in reports],
    }
    return json.dumps(doc, indent=2) + "\n"


def junit_xml(reports, seconds: float) -> str:
    """JUnit XML as pytest writes it: one <testsuite>, a <testcase> per case, with
    classname the file and name the cell/line."""
    from xml.etree import ElementTree as ET

    tally = counts(reports)
    total = sum(len(r.cases) for r in reports) + tally["error"]
    suite = ET.Element("testsuite", name="gradcli", tests=str(total),
                       failures=str(tally["failed"]), errors=str(tally["error"]),
                       skipped=str(tally["skipped"]), time=f"{seconds:.3f}")
    for report in reports:
        if report.error is not None:
            case = ET.SubElement(suite, "testcase", classname=report.path, name="(file)",
                                 time="0")
            ET.SubElement(case, "error", message=report.error).text = report.error
        for item in report.cases:
            case = ET.SubElement(suite, "testcase", classname=item.file, name=item.name,
                                 time=f"{item.seconds:.3f}")
            if item.status == "failed":
                detail = "\n".join(diff_lines(item.expected or "", item.got or "", False)) \
                    if item.expected is not None or item.got is not None else item.message
                ET.SubElement(case, "failure", message=item.message).text = detail
            elif item.status == "skipped":
                ET.SubElement(case, "skipped", message=item.message)
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def gradescope(reports, seconds: float) -> str:
    """Gradescope's results.json: a test per case, score 1 of 1 when it holds."""
    tests = []
    for report in reports:
        if report.error is not None:
            tests.append({"name": report.path, "score": 0, "max_score": 1,
                          "status": "failed", "output": report.error, "visibility": "visible"})
        for case in report.cases:
            if case.status == "skipped":
                continue
            output = case.message
            if case.status == "failed" and (case.expected is not None or case.got is not None):
                output += "\n" + "\n".join(diff_lines(case.expected or "", case.got or "",
                                                      False))
            tests.append({"name": case.id, "score": 1 if case.status == "passed" else 0,
                          "max_score": 1, "status": case.status, "output": output,
                          "visibility": "visible"})
    doc = {"score": sum(t["score"] for t in tests), "execution_time": round(seconds, 3),
           "tests": tests}
    return json.dumps(doc, indent=2) + "\n"
