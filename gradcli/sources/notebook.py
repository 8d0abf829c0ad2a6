"""Jupyter notebooks (`.ipynb`) as program input, read as plain JSON (nbformat 4, and 3's
worksheets): the code cells in order, each with its code, its recorded outputs and where
its lines sit in the notebook's script view (`# In [N]:` headers, as jupytext lays a
notebook out), so an error inside cell 5 can be named `lesson.ipynb:cell 5:line 2:col 3`.

Cells are numbered 1, 2, 3... over the code cells, as `In [N]` numbers them after a fresh
"Run All"; markdown and raw cells are skipped. IPython's own syntax is not Python and is
not run: magics (`%matplotlib inline`, `%%time`), shell escapes (`!pip install torch`,
`files = !ls`) and help (`x?`). Each such line becomes a blank line (or `pass` inside a
block) so the cell's line numbers stay the notebook's, and is listed in `skipped`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

# Cell magics whose body is Python that IPython runs (timed, or with its output captured).
RUNS_BODY = ("time", "timeit", "capture", "prun")
_ASSIGNED_ESCAPE = re.compile(r"^[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[!%]")


class NotebookError(Exception):
    """The file is not a notebook (bad JSON, no cells...): a syntax error, exit 3.
    `line`/`column` are positions in the .ipynb text, when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass
class CodeCell:
    number: int  # 1-based over code cells: `In [number]` after a fresh Run All
    position: int  # index in the notebook's list of all cells
    source: str  # the code that runs: IPython lines blanked
    original: str  # the cell as written
    first_line: int  # line L of the cell is line first_line + L of the script view
    outputs: list  # the recorded outputs (nbformat dicts), as read
    execution_count: int | None
    skipped: list = field(default_factory=list)  # [(line, text)] of IPython-only lines
    tags: list = field(default_factory=list)  # metadata.tags, and nbval's comment markers

    @property
    def may_raise(self) -> bool:
        """A cell that fails on purpose (tag `raises-exception`, as nbclient and Jupyter
        Book read it): its error is its output and the run goes on."""
        return "raises-exception" in self.tags or "nbval-raises-exception" in self.tags

    @property
    def output_ignored(self) -> bool:
        """`gradcli test` runs the cell but does not compare its output (nbval's tag)."""
        return "nbval-ignore-output" in self.tags

    @property
    def test_skipped(self) -> bool:
        """`gradcli test` does not run the cell (nbval's tag)."""
        return "nbval-skip" in self.tags or "skip-execution" in self.tags

    @property
    def executed(self) -> bool:
        """Whether the notebook holds a recorded run of this cell."""
        return self.execution_count is not None or bool(self.outputs)


@dataclass
class Notebook:
    filename: str
    document: dict  # the whole JSON document, for writing outputs back
    cells: list[CodeCell]
    script: str  # the code cells as one program text with `# In [N]:` headers

    @property
    def executed(self) -> bool:
        return any(cell.executed for cell in self.cells)

    def locate(self, line: int) -> tuple[int, int] | None:
        """(cell number, line within it) of a line of the script view."""
        for cell in reversed(self.cells):
            if line > cell.first_line:
                local = line - cell.first_line
                return (cell.number, local) if local <= cell.source.count("\n") + 1 else None
        return None

    def skipped(self) -> list[tuple[int, int, str]]:
        return [(cell.number, line, text) for cell in self.cells for line, text in cell.skipped]


def read_notebook(text: str, filename: str) -> Notebook:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not a Jupyter notebook: invalid JSON ({exc.msg})",
                            exc.lineno, exc.colno) from None
    if not isinstance(document, dict):
        raise NotebookError("not a Jupyter notebook: the JSON document is not an object", 1, 1)
    raw_cells = document.get("cells")
    if raw_cells is None and isinstance(document.get("worksheets"), list):  # nbformat 3
        raw_cells = [cell for sheet in document["worksheets"] if isinstance(sheet, dict)
                     for cell in sheet.get("cells", [])]
    if not isinstance(raw_cells, list):
        raise NotebookError("not a Jupyter notebook: no \"cells\" list")
    cells = []
    script_lines: list[str] = []
    for position, raw in enumerate(raw_cells):
        if not isinstance(raw, dict) or not isinstance(raw.get("cell_type"), str):
            raise NotebookError(f"not a Jupyter notebook: cell {position + 1} of the file has "
                                "no \"cell_type\"")
        if raw["cell_type"] != "code":
            continue
        original = _text(raw.get("source", raw.get("input", "")), f"cell {position + 1}",
                         "source")
        outputs = raw.get("outputs", [])
        if not isinstance(outputs, list):
            raise NotebookError(f"not a Jupyter notebook: the outputs of cell {position + 1} "
                                "of the file are not a list")
        number = len(cells) + 1
        source, skipped = strip_ipython(original)
        count = raw.get("execution_count", raw.get("prompt_number"))
        script_lines.append(f"# In [{number}]:")
        cell = CodeCell(number, position, source, original, len(script_lines), outputs,
                        count if isinstance(count, int) else None, skipped,
                        _tags(raw, original))
        script_lines.extend(source.split("\n"))
        script_lines.append("")
        cells.append(cell)
    return Notebook(filename, document, cells, "\n".join(script_lines))


def _tags(raw: dict, source: str) -> list[str]:
    metadata = raw.get("metadata")
    tags = metadata.get("tags", []) if isinstance(metadata, dict) else []
    tags = [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []
    # nbval's markers may also be a comment on the cell's first line: `# NBVAL_SKIP`.
    first = source.lstrip().split("\n", 1)[0].strip()
    for marker in ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION"):
        if first.startswith("#") and marker in first:
            tags.append("nbval-" + marker[6:].lower().replace("_", "-"))
    return tags


def _text(value, where: str, key: str) -> str:
    """A multiline field: a string, or a list of strings (lines with their newlines)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        text = "".join(value)
    else:
        raise NotebookError(f"not a Jupyter notebook: the {key} of {where} is not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_ipython(source: str) -> tuple[str, list[tuple[int, str]]]:
    """The cell with IPython-only lines blanked, and those lines as (line, text)."""
    lines = source.split("\n")
    skipped: list[tuple[int, str]] = []
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].strip()
        skipped.append((first + 1, magic))
        name = magic[2:].split()[0] if magic[2:].split() else ""
        if name not in RUNS_BODY:  # %%bash, %%html, %%writefile: not Python at all
            for number in range(first + 2, len(lines) + 1):
                if lines[number - 1].strip():
                    skipped.append((number, lines[number - 1].strip()))
            return "\n".join("" for _ in lines), skipped
        lines[first] = ""
    depth, quote = 0, None
    for index, line in enumerate(lines):
        at_statement = depth == 0 and quote is None
        if at_statement and _is_ipython(line):
            skipped.append((index + 1, line.strip()))
            indent = line[: len(line) - len(line.lstrip())]
            lines[index] = indent + "pass" if indent else ""
            continue
        depth, quote = _scan(line, depth, quote)
    return "\n".join(lines), skipped


def _is_ipython(line: str) -> bool:
    code = line.strip()
    if not code or code.startswith("#"):
        return False
    if code[0] in "%!":
        return True
    if code.endswith("?") and "#" not in code:  # `x?`, `x??`: IPython's help
        return True
    return bool(_ASSIGNED_ESCAPE.match(code))


def _scan(line: str, depth: int, quote: str | None) -> tuple[int, str | None]:
    """Bracket depth and open triple quote after `line`, starting from the given state."""
    i, n = 0, len(line)
    while i < n:
        if quote is not None:
            end = line.find(quote, i)
            if end < 0:
                return depth, quote
            i, quote = end + 3, None
            continue
        char = line[i]
        if char == "#":
            break
        if char in "'\"":
            if line[i:i + 3] in ('"""', "'''"):
                quote = line[i:i + 3]
                i += 3
                continue
            end = i + 1
            while end < n and line[end] != char:
                end += 2 if line[end] == "\\" else 1
            i = end + 1
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        i += 1
    return depth, quote


# ----- recorded outputs -------------------------------------------------------------------


def recorded_text(outputs: list) -> tuple[str, str | None]:
    """A cell's recorded outputs as text, in order: what it printed and displayed
    (`text/plain` of each display and of the result, one line each), and the error it
    raised as `Type: message`, or None. Outputs to stderr (warnings) are not part of it."""
    parts: list[str] = []
    error = None
    for output in outputs:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream" and output.get("name", "stdout") == "stdout":
            parts.append(_lenient_text(output.get("text", "")))
        elif kind in ("execute_result", "display_data", "pyout"):
            data = output.get("data", output)
            plain = data.get("text/plain", data.get("text")) if isinstance(data, dict) else None
            if plain is not None:
                text = _lenient_text(plain)
                parts.append(text if text.endswith("\n") else text + "\n")
        elif kind in ("error", "pyerr"):
            error = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
    return "".join(parts), error


def _lenient_text(value) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return str(value)


def with_outputs(notebook: Notebook, results: dict) -> str:
    """The notebook's JSON text with each cell's outputs replaced by what gradcli showed.

    `results` maps a cell number to (stdout, display, error) where error is
    (type, message) or None; cells not in it are left as they were. Written as Jupyter
    writes notebooks (one-space indent, keys sorted, a final newline)."""
    document = notebook.document
    raw_cells = document.get("cells")
    for cell in notebook.cells:
        if cell.number not in results or raw_cells is None:
            continue
        stdout, display, error = results[cell.number]
        raw = raw_cells[cell.position]
        outputs: list[dict] = []
        if stdout:
            outputs.append({"name": "stdout", "output_type": "stream",
                            "text": _lines(stdout)})
        if display is not None:
            outputs.append({"data": {"text/plain": _lines(display)},
                            "execution_count": cell.number, "metadata": {},
                            "output_type": "execute_result"})
        if error is not None:
            outputs.append({"ename": error[0], "evalue": error[1], "output_type": "error",
                            "traceback": [f"{error[0]}: {error[1]}"]})
        raw["outputs"] = outputs
        raw["execution_count"] = cell.number
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _lines(text: str) -> list[str]:
    """nbformat's multiline form: a list of lines, each with its newline but the last."""
    return text.splitlines(keepends=True)


# ----- a program as a notebook ------------------------------------------------------------


def script_cells(source: str) -> list[str]:
    """A program's top-level blocks as cell sources: a blank line before a statement at
    column 1 (outside brackets and strings) starts a new cell; a comment right above a
    statement stays with it."""
    cells: list[list[str]] = [[]]
    depth, quote = 0, None
    blank_before = False
    for line in source.split("\n"):
        if not line.strip() and depth == 0 and quote is None:
            blank_before = True
            continue
        starts_block = not line[:1].isspace() and depth == 0 and quote is None
        if blank_before and starts_block and cells[-1]:
            cells.append([])
        elif blank_before and cells[-1]:
            cells[-1].append("")
        blank_before = False
        cells[-1].append(line)
        depth, quote = _scan(line, depth, quote)
    return ["\n".join(cell) for cell in cells if cell]


def new_notebook(sources: list[str], filename: str) -> Notebook:
    """An nbformat 4 notebook of code cells, unexecuted."""
    document = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{index}",
                   "metadata": {}, "outputs": [], "source": _lines(source)}
                  for index, source in enumerate(sources, 1)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return read_notebook(json.dumps(document), filename)
