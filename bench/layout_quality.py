"""Layout quality on a fixed 100-node graph: edge crossings of gradcli's own layered layout
against Graphviz `dot` on the same boxes and edges (issue 17). Run:

    python bench/layout_quality.py

The test tests/test_layout.py runs the same comparison (skipped without `dot`)."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gradcli.views.layout import Box, layered  # noqa: E402
from gradcli.views.layout_metrics import crossings, overlaps  # noqa: E402

SEED = 17


def fixed_graph(n: int = 100, seed: int = SEED):
    """A backward-graph-like DAG: ops made in order, each consuming one to three earlier
    values (mostly recent ones, sometimes a leaf or an old value), edges input -> consumer."""
    rng = random.Random(seed)
    boxes, edges = [], []
    for i in range(n):
        width = 40 + 7.2 * rng.randint(4, 22)
        boxes.append(Box(f"v{i}", round(width, 1), 46.0 if rng.random() < 0.7 else 31.0))
        if i < 6 or rng.random() < 0.18:
            continue  # a leaf
        for _ in range(rng.choice((1, 2, 2, 2, 3))):
            j = max(0, i - 1 - int(rng.expovariate(0.35))) if rng.random() < 0.85 \
                else rng.randrange(i)
            edges.append((f"v{j}", f"v{i}"))
    return boxes, edges


SECTION = "## Layout quality (issue 17)"


def measure(seeds=(SEED, 1, 2, 3, 4, 5)) -> list[dict]:
    from gradcli.views.dot_layout import available, layered_by_dot

    rows = []
    for seed in seeds:
        boxes, edges = fixed_graph(seed=seed)
        start = time.process_time()
        mine = layered(boxes, edges)
        seconds = time.process_time() - start
        row = {"seed": seed, "nodes": len(boxes), "edges": len(edges), "ours": crossings(mine),
               "overlaps": len(overlaps(mine)), "ms": seconds * 1000, "dot": None}
        if available():
            row["dot"] = crossings(layered_by_dot(boxes, edges), shaped=False)
        rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [SECTION, "",
             "Produced by `python bench/layout_quality.py --write` (this section only). Edge "
             "crossings (pairs of edges whose drawn curves cross outside the boxes) of gradcli's "
             "layered layout and of Graphviz `dot` on the same boxes and edges: a "
             "backward-graph-like random DAG of 100 nodes per seed. Seed 17 is the fixed graph "
             "of tests/test_layout.py (limit: 1.3× dot). Time is CPU time of the layout alone.",
             "", "| seed | nodes | edges | gradcli crossings | dot crossings | ratio | overlaps "
             "| layout time |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['ours'] / r['dot']:.2f}" if r["dot"] else "—"
        dot = r["dot"] if r["dot"] is not None else "dot absent"
        lines.append(f"| {r['seed']} | {r['nodes']} | {r['edges']} | {r['ours']} | {dot} | "
                     f"{ratio} | {r['overlaps']} | {r['ms']:.0f} ms |")
    return "\n".join(lines) + "\n"


def main() -> None:
    rows = measure()
    text = markdown(rows)
    print(text)
    if "--write" in sys.argv:
        path = Path(__file__).resolve().parent / "RESULTS.md"
        old = path.read_text() if path.exists() else ""
        if SECTION in old:
            head, _, rest = old.partition(SECTION)
            tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
            old = head.rstrip("\n") + "\n\n" + text + tail
        else:
            old = old.rstrip("\n") + "\n\n" + text
        path.write_text(old)


if __name__ == "__main__":
    main()
