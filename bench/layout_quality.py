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


def main() -> None:
    boxes, edges = fixed_graph()
    start = time.perf_counter()
    mine = layered(boxes, edges)
    seconds = time.perf_counter() - start
    print(f"graph: {len(boxes)} nodes, {len(edges)} edges (seed {SEED})")
    print(f"gradcli layered: {crossings(mine)} crossings, {len(overlaps(mine))} overlaps, "
          f"{mine.width:.0f}x{mine.height:.0f}, {seconds * 1000:.0f} ms")
    from gradcli.views.dot_layout import available, layered_by_dot

    if available():
        theirs = layered_by_dot(boxes, edges)
        print(f"dot: {crossings(theirs, shaped=False)} crossings, "
              f"{theirs.width:.0f}x{theirs.height:.0f}")


if __name__ == "__main__":
    main()
