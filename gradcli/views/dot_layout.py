"""`--layout dot`: Graphviz's own coordinates for the same boxes, when the user asks and the
`dot` program is installed (never chosen automatically: output must not depend on the
machine). Returns the same Layout as gradcli.views.layout.layered."""

from __future__ import annotations

import shutil
import subprocess

from gradcli.views.layout import MARGIN, Box, Layout, Placed, Route

POINTS_PER_INCH = 72.0


class DotMissing(Exception):
    pass


def available() -> bool:
    return shutil.which("dot") is not None


def dot_source(boxes: list[Box], edges: list[tuple[str, str]]) -> str:
    lines = ["digraph g {", "  graph [rankdir=TB, nodesep=0.3, ranksep=0.6];",
             "  node [shape=box, fixedsize=true, label=\"\"];"]
    for i, box in enumerate(boxes):
        lines.append(f"  n{i} [width={box.width / POINTS_PER_INCH:.4f}, "
                     f"height={box.height / POINTS_PER_INCH:.4f}];")
    index = {box.id: i for i, box in enumerate(boxes)}
    for s, t in edges:
        lines.append(f"  n{index[s]} -> n{index[t]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def layered_by_dot(boxes: list[Box], edges: list[tuple[str, str]]) -> Layout:
    program = shutil.which("dot")
    if program is None:
        raise DotMissing("--layout dot needs Graphviz's `dot` program on PATH")
    done = subprocess.run([program, "-Tplain"], input=dot_source(boxes, edges),
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise DotMissing(f"dot failed: {done.stderr.strip()[:200]}")
    return parse_plain(done.stdout, boxes, edges)


def _bezier(points: list[tuple[float, float]], steps: int = 6) -> list[tuple[float, float]]:
    """Graphviz splines are piecewise cubic Béziers (1 + 3k control points); sampled."""
    out = [points[0]]
    for i in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[i:i + 4]
        for s in range(1, steps + 1):
            t = s / steps
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            out.append((a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                        a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]))
    return out


def parse_plain(text: str, boxes: list[Box], edges: list[tuple[str, str]]) -> Layout:
    """Read `dot -Tplain` (inches, y upwards) into a Layout in points, y downwards."""
    layout = Layout()
    height = 0.0
    placed = {}
    splines: dict = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "graph":
            height = float(parts[3]) * POINTS_PER_INCH
            layout.width = float(parts[2]) * POINTS_PER_INCH + 2 * MARGIN
            layout.height = height + 2 * MARGIN
        elif parts[0] == "node":
            i = int(parts[1][1:])
            x, y = float(parts[2]) * POINTS_PER_INCH, float(parts[3]) * POINTS_PER_INCH
            placed[i] = (x + MARGIN, height - y + MARGIN)
        elif parts[0] == "edge":
            count = int(parts[3])
            coords = [(float(parts[4 + 2 * j]) * POINTS_PER_INCH + MARGIN,
                       height - float(parts[5 + 2 * j]) * POINTS_PER_INCH + MARGIN)
                      for j in range(count)]
            splines.setdefault((parts[1], parts[2]), []).append(coords)
    ys = sorted({round(y, 1) for _, y in placed.values()})
    for i, box in enumerate(boxes):
        x, y = placed.get(i, (MARGIN, MARGIN))
        layout.nodes[box.id] = Placed(box.id, x, y, box.width, box.height,
                                      ys.index(round(y, 1)) if ys else 0)
    index = {box.id: i for i, box in enumerate(boxes)}
    for s, t in edges:
        found = splines.get((f"n{index[s]}", f"n{index[t]}"))
        points = _bezier(found.pop(0)) if found else [
            (layout.nodes[s].x, layout.nodes[s].y), (layout.nodes[t].x, layout.nodes[t].y)]
        layout.edges.append(Route(s, t, points))
    layout.layers = len(ys)
    return layout
