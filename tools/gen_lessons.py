"""Write the lessons of examples/lessons/ with outputs that real PyTorch wrote.

Notebooks (.ipynb) are executed cell by cell by IPython's own InteractiveShell, as a
Jupyter kernel runs them (its display rule: the last bare expression's repr, nothing for
None or after a trailing `;`; `display(...)` publishes display data), and every output is
recorded in nbformat 4 in the order it came: stdout and stderr streams, display data,
execute results, and the error that stopped the run. A cell tagged `raises-exception`
may fail without stopping the run (nbclient's rule).

Transcripts (.txt) are PyTorch docstring examples: each example is compiled in "single"
mode and run as Python's interactive interpreter runs it (doctest's way: every bare
expression echoes its repr), and its expected output is what it printed.

    /opt/oracle/bin/python tools/gen_lessons.py            # needs torch and IPython
    /opt/oracle/bin/python tools/gen_lessons.py magics     # only names containing "magics"

The lesson texts live in tools/lessons_spec.py; this file only executes and records.
"""

from __future__ import annotations

import io
import json
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


class _Stream(io.TextIOBase):
    """Collects what a cell writes, as nbformat stream outputs in order."""

    def __init__(self, name: str, events: list):
        self.name, self.events = name, events

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            last = self.events[-1] if self.events else None
            if last and last["output_type"] == "stream" and last["name"] == self.name:
                last["text"] += text
            else:
                self.events.append({"name": self.name, "output_type": "stream", "text": text})
        return len(text)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def execute_notebook(cells: list[dict]) -> list[dict]:
    """nbformat 4 cells with the outputs IPython produced."""
    import torch
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.reset(new_session=True)
    torch.manual_seed(0)
    events: list = []

    def publish(data, metadata=None, **_):
        events.append({"data": dict(data), "metadata": {}, "output_type": "display_data"})

    def result(format_dict, md_dict=None):
        events.append({"data": dict(format_dict), "metadata": {},
                       "output_type": "execute_result"})

    shell.display_pub.publish = publish
    shell.displayhook.write_output_prompt = lambda: None
    shell.displayhook.write_format_data = result
    shell.showtraceback = lambda *args, **kwargs: None
    shell.showsyntaxerror = lambda *args, **kwargs: None
    out, count, stopped = [], 0, False
    for spec in cells:
        if spec["cell_type"] != "code":
            out.append({"cell_type": spec["cell_type"], "metadata": {},
                        "source": _lines(spec["source"])})
            continue
        tags = spec.get("tags", [])
        cell = {"cell_type": "code", "execution_count": None,
                "metadata": {"tags": tags} if tags else {}, "outputs": [],
                "source": _lines(spec["source"])}
        out.append(cell)
        if stopped:
            continue
        count += 1
        events.clear()
        with redirect_stdout(_Stream("stdout", events)), \
                redirect_stderr(_Stream("stderr", events)):
            run = shell.run_cell(spec["source"], store_history=True)
        error = run.error_in_exec or run.error_before_exec
        for event in events:
            if "data" in event:
                event["data"] = {k: _lines(v) if isinstance(v, str) else v
                                 for k, v in event["data"].items() if k.startswith("text/")}
                if event["output_type"] == "execute_result":
                    event["execution_count"] = count
            else:
                event["text"] = _lines(event["text"])
        cell["outputs"] = list(events)
        cell["execution_count"] = count
        if error is not None:
            cell["outputs"].append({
                "ename": type(error).__name__, "evalue": str(error), "output_type": "error",
                "traceback": traceback.format_exception_only(type(error), error)})
            stopped = "raises-exception" not in tags
    return out


def write_notebook(name: str, cells: list[dict]) -> None:
    document = {
        "cells": execute_notebook(cells),
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"},
                     "language_info": {"name": "python", "version": "3.11"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for index, cell in enumerate(document["cells"]):
        cell["id"] = f"{Path(name).stem[:24]}-{index}"
    path = ROOT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


def run_example(source: str, namespace: dict) -> str:
    """What the interactive interpreter prints for one example (doctest's way)."""
    buffer = io.StringIO()
    try:
        code = compile(source, "<stdin>", "single")
        with redirect_stdout(buffer):
            exec(code, namespace)  # noqa: S102 - the oracle runs trusted lesson text
    except Exception as exc:  # noqa: BLE001 - the error is the expected output
        return (buffer.getvalue() + "Traceback (most recent call last):\n  ...\n"
                + "".join(traceback.format_exception_only(type(exc), exc)))
    return buffer.getvalue()


def write_transcript(name: str, parts: list) -> None:
    """`parts`: prose lines (str) and examples (dict: code, optional directive/want)."""
    import torch

    torch.manual_seed(0)
    namespace: dict = {"__name__": "__main__", "torch": torch}
    lines: list[str] = []
    indent = "    "
    for part in parts:
        if isinstance(part, str):
            lines.append(part)
            continue
        code = part["code"].rstrip("\n").split("\n")
        directive = part.get("directive")
        first = code[0] + (f"  # doctest: {directive}" if directive else "")
        lines.append(indent + ">>> " + first)
        lines.extend(indent + "... " + line for line in code[1:])
        source = "\n".join(code) + "\n"
        if directive == "+SKIP":
            want = part.get("want", "")
        else:
            want = run_example(source, namespace)
            if "edit" in part:
                want = part["edit"](want)
        for line in want.rstrip("\n").split("\n") if want else []:
            lines.append(indent + (line or "<BLANKLINE>"))
    path = ROOT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


def torch_literal(value) -> str:
    """What `# expect: A == B` holds as B: the value as text gradcli reads back."""
    import torch

    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        suffix = "" if dtype in ("float32", "int64", "bool") else f", dtype=torch.{dtype}"
        return f"tensor({value.detach().tolist()!r}{suffix})"
    return repr(value)


def write_expect_script(name: str, parts: list) -> None:
    """`parts`: code (str), ("value", EXPR) for `# expect: EXPR == <PyTorch's value>`, and
    ("printed",) for a block of the lines PyTorch printed since the last checkpoint."""
    import oracle
    import torch

    torch.manual_seed(0)
    namespace: dict = {"__builtins__": oracle.make_builtins(), "__name__": "__main__"}
    lines: list[str] = []
    printed = io.StringIO()
    for part in parts:
        if isinstance(part, str):
            lines.extend(part.strip("\n").split("\n"))
            with redirect_stdout(printed):
                exec(compile(part.strip("\n"), name, "exec"), namespace)  # noqa: S102
        elif part[0] == "value":
            value = eval(part[1], namespace)  # noqa: S307 - the oracle evaluates lesson text
            lines.append(f"# expect: {part[1]} == {torch_literal(value)}")
        else:
            lines.append("# expect:")
            text = printed.getvalue()
            lines.extend(("# " + line).rstrip() for line in text.rstrip("\n").split("\n"))
        if not isinstance(part, str):
            printed = io.StringIO()
    path = ROOT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    import lessons_spec

    only = sys.argv[1] if len(sys.argv) > 1 else ""  # write only names containing this

    for name, cells in lessons_spec.NOTEBOOKS.items():
        if only in name:
            write_notebook(name, cells)
    for name, parts in lessons_spec.TRANSCRIPTS.items():
        if only in name:
            write_transcript(name, parts)
    for name, parts in lessons_spec.EXPECT_SCRIPTS.items():
        if only in name:
            write_expect_script(name, parts)


if __name__ == "__main__":
    main()
