"""The tensor table (rich) and its tab-separated twin."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from gradcli.render.values import cell
from gradcli.result import RunResult

COLUMNS = ("name", "shape", "dtype", "requires_grad", "is_leaf", "grad_fn", "data", "grad")
# Narrow headers let the table fit 80 columns; tsv/json keep the full names.
HEADERS = ("name", "shape", "dtype", "req_grad", "leaf", "grad_fn", "data", "grad")


def rows(result: RunResult, precision: int = 4, linewidth: int = 80):
    for record in result.tensors:
        t = record.tensor
        yield (
            record.name,
            "(" + ", ".join(str(s) for s in t.shape) + ("," if len(t.shape) == 1 else "") + ")",
            t.dtype.name,
            str(t.requires_grad),
            str(t.grad_fn is None),
            t.grad_fn.name() if t.grad_fn is not None else "None",
            cell(t.array, t.dtype.name, precision, linewidth),
            (cell(t.grad.array, t.grad.dtype.name, precision, linewidth) if t.grad is not None
             else "None"),
        )


def rich_table(result: RunResult, precision: int = 4) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False, padding=(0, 1),
                  collapse_padding=True)
    styles = ("bold cyan", "", "dim", "", "", "magenta", "", "green")
    for name, style in zip(HEADERS, styles, strict=False):
        wraps = name in ("data", "grad")
        table.add_column(
            name, style=style or None, overflow="fold", no_wrap=not wraps, min_width=None
        )
    for row in rows(result, precision, linewidth=40):
        table.add_row(*(Text(value) for value in row))
    return table


def tsv(result: RunResult, precision: int = 4) -> str:
    lines = ["\t".join(COLUMNS)]
    for row in rows(result, precision, linewidth=10**6):
        lines.append("\t".join(" ".join(value.split()) for value in row))
    return "\n".join(lines) + "\n"
