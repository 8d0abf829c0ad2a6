"""Measures of a drawing, for tests and bench: edge crossings and box overlaps."""

from __future__ import annotations

from gradcli.views.layout import Layout


def curve(points: list[tuple[float, float]], steps: int = 6) -> list[tuple[float, float]]:
    """The drawn shape of a routed edge: between consecutive points a vertical S-curve
    (cubic Bézier with both control points at mid height), sampled, as gradcli.views.svg
    draws it."""
    if len(points) < 2:
        return list(points)
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        ym = (y0 + y1) / 2
        for s in range(1, steps + 1):
            t = s / steps
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            out.append((a * x0 + b * x0 + c * x1 + d * x1, a * y0 + b * ym + c * ym + d * y1))
    return out


def _cross(p, q, r, s) -> bool:
    """Segments pq and rs cross at one interior point."""
    def orient(a, b, c):
        v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return (v > 1e-9) - (v < -1e-9)

    return (orient(p, q, r) * orient(p, q, s) < 0) and (orient(r, s, p) * orient(r, s, q) < 0)


def crossings(layout: Layout, shaped: bool = True) -> int:
    """Pairs of edges that cross somewhere outside the boxes (each pair counted once).
    `shaped`: the points are a route to draw as curves (gradcli); False: they already are
    the drawn polyline (dot's sampled splines)."""
    lines = []
    for route in layout.edges:
        pts = curve(route.points) if shaped else list(route.points)
        segs = list(zip(pts, pts[1:], strict=False))
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        lines.append((route, segs, (min(xs), min(ys), max(xs), max(ys))))
    count = 0
    for i in range(len(lines)):
        ri, si, bi = lines[i]
        for j in range(i + 1, len(lines)):
            rj, sj, bj = lines[j]
            if bi[2] < bj[0] or bj[2] < bi[0] or bi[3] < bj[1] or bj[3] < bi[1]:
                continue
            if _any_cross(si, sj):
                count += 1
    return count


def _any_cross(a, b) -> bool:
    for p, q in a:
        for r, s in b:
            if max(p[0], q[0]) < min(r[0], s[0]) or max(r[0], s[0]) < min(p[0], q[0]):
                continue
            if max(p[1], q[1]) < min(r[1], s[1]) or max(r[1], s[1]) < min(p[1], q[1]):
                continue
            if _cross(p, q, r, s):
                return True
    return False


def overlaps(layout: Layout, gap: float = 0.0) -> list[tuple[str, str]]:
    """Pairs of boxes that overlap (or come closer than `gap`)."""
    found = []
    boxes = sorted(layout.nodes.values(), key=lambda b: b.left)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if b.left >= a.left + a.width + gap:
                break
            if abs(a.y - b.y) * 2 < a.height + b.height + 2 * gap:
                found.append((a.id, b.id))
    return found
