"""gradcli check's report: a rich table per leaf, or a JSON document."""

from __future__ import annotations

from rich import box
from rich.table import Table

STYLE = {"ok": "green", "FAIL": "bold red", "kink": "yellow"}
LABEL = {"ok": "ok", "FAIL": "FAIL", "kink": "non-diff."}


def leaf_table(leaf) -> Table:
    title = f"{leaf.name} {tuple(leaf.shape)}" + (
        "  (random projections)" if leaf.method == "projection" else ""
    )
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("element", "analytic", "numeric", "abs err", "rel err", "status"):
        table.add_column(column, justify="left" if column in ("element", "status") else "right",
                         no_wrap=True)
    for e in leaf.elements:
        table.add_row(e.index, f"{e.analytic:.6g}", f"{e.numeric:.6g}", f"{e.abs_error:.2e}",
                      f"{e.rel_error:.2e}", f"[{STYLE[e.status]}]{LABEL[e.status]}[/]")
    return table


def brief_table(report) -> Table:
    """One row per leaf: how many elements agreed and the largest disagreement."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("leaf", "shape", "checked", "max abs err", "max rel err", "status"):
        table.add_column(column, no_wrap=True,
                         justify="right" if column.startswith(("checked", "max")) else "left")
    for leaf in report.leaves:
        counts = {s: sum(e.status == s for e in leaf.elements) for s in ("ok", "FAIL", "kink")}
        status = "[green]ok[/]" if leaf.passed else f"[bold red]{counts['FAIL']} FAIL[/]"
        if counts["kink"]:
            status += f" [yellow]({counts['kink']} non-diff.)[/]"
        table.add_row(
            leaf.name, str(tuple(leaf.shape)),
            f"{len(leaf.elements)}" + (" dirs" if leaf.method == "projection" else ""),
            f"{max(e.abs_error for e in leaf.elements):.2e}",
            f"{max(e.rel_error for e in leaf.elements):.2e}", status,
        )
    return table


def element_name(name: str, index: str) -> str:
    """How Python spells the element: `w[2]`, `W[1, 0]`, `y` for a 0-d tensor, and
    `w along v0` for a random-projection direction."""
    if not index.startswith("("):
        return f"{name} along {index}"
    inside = index[1:-1].rstrip(",")
    return f"{name}[{inside}]" if inside else name


def summary(report) -> str:
    counts = {"ok": 0, "FAIL": 0, "kink": 0}
    for leaf in report.leaves:
        for e in leaf.elements:
            counts[e.status] += 1
    text = (f"d{report.output}/d(leaf) vs central differences (float64, eps={report.eps:g}, "
            f"atol={report.atol:g}, rtol={report.rtol:g}): {counts['ok']} ok, "
            f"{counts['FAIL']} failed, {counts['kink']} non-differentiable")
    worst = report.worst()
    if worst is not None:
        leaf, e = worst
        text += (f"\nworst: {element_name(leaf.name, e.index)}: analytic {e.analytic:.6g}, "
                 f"numeric {e.numeric:.6g}")
    return text


def document(report) -> dict:
    worst = report.worst()
    return {
        "version": 1,
        "ok": report.passed,
        "output": report.output,
        "atol": report.atol,
        "rtol": report.rtol,
        "eps": report.eps,
        "notes": report.notes,
        "leaves": [
            {
                "name": leaf.name,
                "shape": list(leaf.shape),
                "method": leaf.method,
                "passed": leaf.passed,
                "elements": [
                    {"element": e.index, "analytic": e.analytic, "numeric": e.numeric,
                     "abs_error": e.abs_error, "rel_error": e.rel_error, "status": e.status}
                    for e in leaf.elements
                ],
            }
            for leaf in report.leaves
        ],
        "worst": None if worst is None else {"leaf": worst[0].name, "element": worst[1].index},
    }
