"""`gradcli test`: find the lessons under the given paths, run each, and turn what it
recorded (a notebook's outputs, a transcript's expected lines, a script's `# expect:`
comments) into test cases; with `update`, write what gradcli showed back into the files.

A test case is one notebook cell (`lesson.ipynb::cell 3`), one transcript example
(`docs.txt::line 12`) or one expectation (`prog.expr::line 7`)."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

from gradcli.checking import expect as E

ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
SKIP_DIRS = {".git", ".ipynb_checkpoints", "__pycache__", ".venv", "node_modules"}
SCRIPT_SUFFIXES = (".expr", ".py")


@dataclass
class Case:
    file: str
    name: str  # `cell 3`, `line 12`
    status: str = "passed"  # passed, failed, skipped
    message: str = ""  # one line: why it failed or was skipped
    expected: str | None = None  # for a diff
    got: str | None = None
    seconds: float = 0.0
    source: str | None = None  # the code checked (a transcript example), for the report

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


@dataclass
class FileReport:
    path: str
    kind: str  # notebook, transcript, script
    cases: list[Case] = field(default_factory=list)
    error: str | None = None  # the file could not be read as its kind
    updated: bool = False


def collect(paths) -> tuple[list[tuple[str, str]], list[str]]:
    """(path, kind) of every lesson under `paths` (files as given; directories walked in
    sorted order), and the paths that do not exist."""
    from gradcli.sources.kind import document_kind

    found, missing = [], []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                for name in sorted(files):
                    full = os.path.join(root, name)
                    kind = _kind(full, document_kind, explicit=False)
                    if kind is not None:
                        found.append((full, kind))
        elif os.path.isfile(path):
            found.append((path, _kind(path, document_kind, explicit=True) or "script"))
        else:
            missing.append(path)
    return found, missing


def _kind(path: str, document_kind, explicit: bool) -> str | None:
    lower = path.lower()
    if lower.endswith(".ipynb"):
        return "notebook"
    if not (explicit or lower.endswith(SCRIPT_SUFFIXES + (".txt", ".rst", ".md", ".doctest"))):
        return None
    text = _read(path)
    if text is None:
        return None
    kind = document_kind(path, text)
    if kind == "transcript":
        return kind
    if lower.endswith(SCRIPT_SUFFIXES) and E.has_expectations(text):
        return "script"
    return "script" if explicit else None


def _read(path: str) -> str | None:
    """The file as text (a BOM dropped, newlines made `\n`), or None if it is not UTF-8."""
    try:
        with open(path, encoding="utf-8-sig", newline=None) as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def loose(text: str) -> str:
    """Addresses compared loosely: no two runs share them."""
    return ADDRESS.sub("0x...", text)


def check_file(path: str, kind: str, *, seed=None, limits=None, update=False) -> FileReport:
    report = FileReport(path, kind)
    text = _read(path)
    if text is None:
        report.error = "cannot be read as UTF-8 text"
        return report
    if kind == "notebook":
        _check_notebook(report, text, seed, limits, update)
    elif kind == "transcript":
        _check_transcript(report, text, seed, limits, update)
    else:
        _check_script(report, text, seed, limits, update)
    return report


# ----- notebooks ----------------------------------------------------------------------------


def _check_notebook(report, text, seed, limits, update) -> None:
    from gradcli.runtime.documents import run_notebook
    from gradcli.sources.notebook import NotebookError, read_notebook, recorded_text, with_outputs

    try:
        notebook = read_notebook(text, report.path)
    except NotebookError as exc:
        place = f":{exc.line}:{exc.column}" if exc.line else ""
        report.error = f"{report.path}{place}: {exc.message}"
        return
    started = time.perf_counter()
    run = run_notebook(notebook, seed=seed, limits=limits, testing=True)
    seconds = (time.perf_counter() - started) / max(len(notebook.cells), 1)
    results = {r.index: r for r in run.results}
    stopped = run.failed
    new_outputs = {}
    for cell in notebook.cells:
        case = Case(report.path, f"cell {cell.number}", seconds=seconds)
        report.cases.append(case)
        result = results.get(cell.number)
        if result is None or not result.ran:
            case.status = "skipped"
            case.message = ("tagged nbval-skip" if cell.test_skipped
                            else f"not run: cell {stopped.index} raised" if stopped else "")
            continue
        got = result.stdout + (result.display + "\n" if result.display is not None else "")
        got_error = (f"{result.error.type}: {result.error.message}"
                     if result.error is not None else None)
        shown = (result.stdout, result.display,
                 (result.error.type, result.error.message) if result.error is not None
                 else None)
        want, want_error = recorded_text(cell.outputs)
        if cell.output_ignored or not cell.executed:
            if got_error is not None and not cell.may_raise and want_error is None:
                case.status, case.message = "failed", got_error
                case.expected, case.got = want, _with_error(got, got_error)
            elif not cell.executed:
                case.message = "no recorded output: ran without error"
                new_outputs[cell.number] = shown
            continue
        if loose(want) != loose(got) or not _same_error(want_error, got_error):
            want_error = want_error if want_error is None else _WHERE.sub("", want_error)
            case.status = "failed"
            case.message = (got_error if got_error and not want_error
                            else "output differs from the recorded output")
            case.expected = _with_error(want, want_error)
            case.got = _with_error(got, got_error)
            new_outputs[cell.number] = shown  # --update rewrites what failed, only
    if update and new_outputs:
        _write_if_changed(report, text, with_outputs(notebook, new_outputs))


# str(SyntaxError) names where it was raised: `invalid syntax (<ipython-input-11-...>,
# line 2)`; the cell and line are the test's own, so only the message is compared.
_WHERE = re.compile(r" \(<[^>]*>, line \d+\)$")


def _same_error(want: str | None, got: str | None) -> bool:
    if want is None or got is None:
        return want == got
    return _WHERE.sub("", loose(want)) == _WHERE.sub("", loose(got))


def _with_error(text: str, error: str | None) -> str:
    return text + (error + "\n" if error else "")


# ----- transcripts --------------------------------------------------------------------------


def _check_transcript(report, text, seed, limits, update) -> None:
    from gradcli.runtime.documents import run_transcript
    from gradcli.sources.transcript import (
        TranscriptError,
        got_text,
        read_transcript,
        with_wants,
    )

    try:
        transcript = read_transcript(text, report.path)
    except TranscriptError as exc:
        place = f":{exc.line}" if exc.line else ""
        report.error = f"{report.path}{place}: {exc.message}"
        return
    started = time.perf_counter()
    run = run_transcript(transcript, seed=seed, limits=limits)
    seconds = (time.perf_counter() - started) / max(len(transcript.examples), 1)
    gots = {}
    for example_run in run.examples:
        example = example_run.example
        case = Case(report.path, f"line {example.line}", seconds=seconds)
        report.cases.append(case)
        if example_run.skipped:
            case.status, case.message = "skipped", "doctest: +SKIP"
            continue
        got = got_text(example_run.got, example_run.error)
        if not example_run.passed:
            gots[example.number] = got
            case.status = "failed"
            case.message = ("raised " + f"{example_run.error.type}: {example_run.error.message}"
                            if example_run.error is not None and example.exc_msg is None
                            else "output differs from the expected output")
            case.expected, case.got = example.want, got
            case.source = example.source
    if update and gots:
        _write_if_changed(report, text, with_wants(transcript, gots))


# ----- scripts with # expect: ---------------------------------------------------------------


def _check_script(report, text, seed, limits, update) -> None:
    from gradcli.runtime.cells import Cell, CellRunner

    expectations = E.find_expectations(text)
    if not expectations:
        report.error = "no `# expect:` comments to check"
        return
    lines = text.split("\n")
    runner = CellRunner(seed=seed, limits=limits)
    start = 0  # lines before the current segment
    failed_at = None
    replacements: dict[int, list[str]] = {}  # expectation line -> new comment lines
    for item in expectations:
        case = Case(report.path, f"line {item.line}")
        report.cases.append(case)
        started = time.perf_counter()
        if failed_at is not None:
            case.status, case.message = "skipped", f"not reached: line {failed_at} raised"
            continue
        segment = "\n".join(lines[start:item.line - 1])
        result = runner.run(Cell(len(report.cases), segment, start), "script")
        if result.error is not None:
            error = result.error
            failed_at = start + (error.line or 1)
            error.line = failed_at
            case.status = "failed"
            case.message = f"line {error.line}: {error.type}: {error.message}"
            case.got = result.stdout + f"{error.type}: {error.message}\n"
            continue
        start = item.end
        if item.sealed is not None:
            _check_sealed(runner, item, case)
        elif item.expression is None:
            got = result.stdout.rstrip("\n").split("\n") if result.stdout else []
            replacements[item.line] = ["# expect:"] + [("# " + line).rstrip() for line in got]
            if [loose(x).rstrip() for x in got] != [loose(x).rstrip() for x in item.printed]:
                case.status, case.message = "failed", "printed lines differ"
                case.expected = "".join(line + "\n" for line in item.printed)
                case.got = result.stdout
        else:
            _check_expression(runner, item, case, replacements)
        case.seconds = time.perf_counter() - started
    failed = {int(c.name.split()[1]) for c in report.cases if c.status == "failed"}
    if update and replacements.keys() & failed:
        new = list(lines)
        for item in sorted(expectations, key=lambda e: e.line, reverse=True):
            if item.line in replacements and item.line in failed:
                new[item.line - 1:item.end] = replacements[item.line]
        _write_if_changed(report, text, "\n".join(new))


def _check_sealed(runner, item, case) -> None:
    from gradcli.checking.seal import SealError, matches

    value, error = runner.evaluate(item.expression, item.line)
    if error is not None:
        case.status, case.message = "failed", f"{error.type}: {error.message}"
        return
    try:
        holds = matches(value, item.sealed)
    except SealError as exc:
        case.status, case.message = "failed", str(exc)
        return
    if not holds:
        case.status = "failed"
        case.message = f"{item.expression} is not the sealed value"


def expected_values(text: str, *, seed=None, limits=None) -> tuple[dict, list[str]]:
    """For `gradcli seal`: the value of B in each `# expect: A == B` (by line), computed
    where the comment stands; and the problems met (errors, expectations not A == B)."""
    from gradcli.runtime.cells import Cell, CellRunner

    lines = text.split("\n")
    runner = CellRunner(seed=seed, limits=limits)
    values, problems, start = {}, [], 0
    for item in E.find_expectations(text):
        result = runner.run(Cell(item.line, "\n".join(lines[start:item.line - 1]), start),
                            "script")
        if result.error is not None:
            problems.append(f"line {start + (result.error.line or 1)}: {result.error.type}: "
                            f"{result.error.message}")
            break
        start = item.end
        pair = E.comparison(item.expression) if item.expression and not item.sealed else None
        if pair is None:
            continue
        value, error = runner.evaluate(pair[1], item.line)
        if error is not None:
            problems.append(f"line {item.line}: {error.type}: {error.message}")
            continue
        values[item.line] = value
    return values, problems


def _check_expression(runner, item, case, replacements) -> None:
    pair = E.comparison(item.expression)
    if pair is None:
        value, error = runner.evaluate(item.expression, item.line)
        if error is not None:
            case.status, case.message = "failed", f"{error.type}: {error.message}"
            return
        verdict = E.truth(value)
        if verdict is not True:
            case.status = "failed"
            case.message = (f"{item.expression} is {value!r}" if verdict is False
                            else f"{item.expression} has no single truth value")
        return
    left_text, right_text = pair
    left, error = runner.evaluate(left_text, item.line)
    if error is None:
        right, error = runner.evaluate(right_text, item.line)
    if error is not None:
        case.status, case.message = "failed", f"{error.type}: {error.message}"
        return
    written = E.literal(left)
    if written is not None:
        replacements[item.line] = [f"# expect: {left_text} == {written}"]
    if not E.close(left, right):
        case.status = "failed"
        gap = E.largest_difference(left, right)
        by = f"; they differ by up to {gap:.3g}" if gap is not None and gap == gap else ""
        case.message = (f"{item.expression} does not hold (allclose: rtol {E.RTOL}, "
                        f"atol {E.ATOL}{by})")
        case.expected = f"{right_text} = {written_or_repr(right)}\n"
        case.got = f"{left_text} = {written_or_repr(left)}\n"


def written_or_repr(value) -> str:
    return E.literal(value) or repr(value)


def _write_if_changed(report: FileReport, old: str, new: str) -> None:
    if new != old:
        with open(report.path, "w", encoding="utf-8") as handle:
            handle.write(new)
        report.updated = True
