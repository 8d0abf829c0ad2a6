"""The backward graph as SVG, laid out by gradcli.views.layout (no Graphviz needed).

Styled as the DOT view (gradcli.views.graph.dot): backward nodes grey, leaves blue, outputs
green, inputs that do not require grad dashed grey; edges run from an input to the node
that consumes it. Labels are monospace, so every box is sized here from its text.
Repeated structure (the nodes one source line made in every loop iteration) can be drawn
collapsed: one box per line, expandable in the HTML page.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from html import escape

from gradcli.explain.labels import place, shorten
from gradcli.views.graph import Graph, _describe, _meta
from gradcli.views.layout import Box, Layout, layered

FONT = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"
FONT_SIZE = 12.0
CHAR = 7.25  # advance of one monospace character at 12px (DejaVu Sans Mono: 0.602 em)
LINE = 15.0
PAD_X, PAD_Y = 8.0, 6.0
LABEL_WIDTH = 40  # characters of an expression shown in a box (as the DOT view)
GROUP_ABOVE = 60  # graphs with more nodes collapse repeated lines into groups
SHARED_ABOVE = 4  # in such graphs an input used more often is drawn once per use

STYLE = {  # kind -> (fill, stroke, text colour, dashed)
    "op": ("#d3d3d3", "#555555", "#111111", False),
    "leaf": ("#add8e6", "#4682b4", "#111111", False),
    "output": ("#caff70", "#556b2f", "#111111", False),
    "const": ("#ffffff", "#999999", "#777777", True),
    "group": ("#ececec", "#555555", "#111111", True),
}


def text_width(text: str) -> float:
    wide = sum(1 for c in text if unicodedata.east_asian_width(c) in "WF")
    return (len(text) + wide) * CHAR


@dataclass
class Item:
    """One box: a backward node, an input without grad, an output, or a collapsed group."""

    id: str
    kind: str  # op, leaf, const, output, group
    lines: list
    members: list = field(default_factory=list)  # a group's node ids
    line: int | None = None  # the source line
    node: str = ""  # the graph node this box shows (a copy of a shared input: the original)

    def __post_init__(self):
        self.node = self.node or self.id

    @property
    def box(self) -> Box:
        width = max(text_width(s) for s in self.lines) + 2 * PAD_X
        return Box(self.id, round(width, 2), len(self.lines) * LINE + 2 * PAD_Y)


@dataclass
class Link:
    source: str
    target: str
    kind: str  # grad, const, output
    index: int = 0


@dataclass
class Drawing:
    items: list
    links: list
    layout: Layout
    groups: dict = field(default_factory=dict)  # group id -> [member node ids]
    expanded: tuple = ()  # the groups drawn open in this drawing


def items(graph: Graph) -> tuple[list[Item], list[Link]]:
    out, links = [], []
    for node in graph.nodes:
        if node.kind == "leaf":
            out.append(Item(node.id, "leaf", [node.name, _meta(node.shape, node.dtype)]))
            continue
        lines = [node.name]
        described = _describe(node)
        if described:
            lines.append(shorten(described, LABEL_WIDTH))
        meta = _meta(node.shape, node.dtype)
        if meta or node.line:
            lines.append(meta + (f"  {place(node.line, node.where)}"
                                 if node.line else ""))
        if node.retains_grad:
            lines.append("retains grad")
        out.append(Item(node.id, "op", [s for s in lines if s], line=node.line))
    for edge in graph.edges:
        links.append(Link(edge.source, edge.target, "grad", edge.index))
    for constant in graph.constants:
        out.append(Item(constant.id, "const", [shorten(constant.label, LABEL_WIDTH),
                                               _meta(constant.shape, constant.dtype),
                                               "requires_grad=False"]))
        links.append(Link(constant.id, constant.target, "const", constant.index))
    for output in graph.outputs:
        out.append(Item(output.id, "output", [output.name, _meta(output.shape, output.dtype)]))
        links.append(Link(output.source, output.id, "output"))
    return out, links


def find_groups(graph: Graph) -> dict[str, list[str]]:
    """Lines whose nodes repeat (a loop body ran them more than once): line -> node ids.
    Only for graphs big enough to need it."""
    if len(graph.nodes) <= GROUP_ABOVE:
        return {}
    seen: dict = {}
    per_line: dict = {}
    for node in graph.nodes:
        source = getattr(node.node, "source", None)
        if node.kind != "op" or source is None:
            continue
        key = (source[0], source[1], node.name)
        seen[key] = seen.get(key, 0) + 1
        per_line.setdefault(source[0], []).append(node.id)
    repeated = {key[0] for key, count in seen.items() if count > 1}
    return {f"g{line}": per_line[line] for line in sorted(repeated)}


def _collapse(graph: Graph, all_items, links, groups: dict, open_groups) -> tuple:
    closed = {member: gid for gid, members in groups.items() if gid not in open_groups
              for member in members}
    copies = {item.id for item in all_items if item.node != item.id}
    use = {link.source: link.target for link in links if link.source in copies}
    kept_copies: set = set()
    out = []
    for item in all_items:
        if item.id in closed:
            continue
        if item.id in copies:
            if use[item.id] in closed:
                # Copies of one input beside hidden uses: one copy per group remains.
                key = (item.node, closed[use[item.id]])
                if key in kept_copies:
                    continue
                kept_copies.add(key)
        elif item.kind == "const" and any(link.source == item.id and link.target in closed
                                          for link in links):
            continue  # an input without grad of a hidden node hides with it
        out.append(item)
    lines_of = {n.id: n.line for n in graph.nodes}
    for gid, members in groups.items():
        if gid in open_groups:
            continue
        line = lines_of.get(members[0])
        out.append(Item(gid, "group", [f"line {line}: {len(members)} nodes",
                                       "repeated (a loop): click to expand"],
                        members=list(members), line=line))
    kept, seen = [], set()
    present = {item.id for item in out}
    for link in links:
        source, target = closed.get(link.source, link.source), closed.get(link.target,
                                                                         link.target)
        if source == target or source not in present or target not in present:
            continue
        key = (source, target, link.kind)
        if key in seen:
            continue
        seen.add(key)
        kept.append(Link(source, target, link.kind, link.index))
    return out, kept


def _split_shared(all_items: list[Item], links: list[Link]) -> tuple[list, list]:
    """A weight used by every iteration of a 100-step loop would send an edge across the
    whole drawing to each use (and a layered layout one dummy per layer crossed): draw such
    an input once beside each use instead, each copy standing for the same node."""
    uses: dict = {}
    for link in links:
        uses.setdefault(link.source, []).append(link)
    out, relinked, copies = [], [], {}
    for item in all_items:
        if item.kind in ("leaf", "const") and len(uses.get(item.id, ())) > SHARED_ABOVE:
            for k, link in enumerate(uses[item.id]):
                copy = Item(f"{item.id}~{k + 1}", item.kind, item.lines, node=item.id)
                out.append(copy)
                copies[id(link)] = copy.id
        else:
            out.append(item)
    for link in links:
        source = copies.get(id(link), link.source)
        relinked.append(Link(source, link.target, link.kind, link.index))
    return out, relinked


def draw(graph: Graph, groups: dict | None = None, open_groups=(), engine: str = "gradcli"
         ) -> Drawing:
    """Boxes, edges and their coordinates. `groups` (from find_groups) are drawn as one box
    each, except those in `open_groups`."""
    all_items, links = items(graph)
    if len(graph.nodes) > GROUP_ABOVE:
        all_items, links = _split_shared(all_items, links)
    groups = groups or {}
    shown, shown_links = _collapse(graph, all_items, links, groups, set(open_groups))
    boxes = [item.box for item in shown]
    pairs = [(link.source, link.target) for link in shown_links]
    if engine == "dot":
        from gradcli.views.dot_layout import layered_by_dot

        layout = layered_by_dot(boxes, pairs)
    else:
        layout = layered(boxes, pairs)
    return Drawing(shown, shown_links, layout, groups, tuple(open_groups))


# ----- SVG text ----------------------------------------------------------------------------


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def path_data(points) -> str:
    """Vertical S-curves through the route's points (what layout_metrics.curve samples)."""
    (x0, y0), rest = points[0], points[1:]
    parts = [f"M{_f(x0)},{_f(y0)}"]
    for x1, y1 in rest:
        ym = (y0 + y1) / 2
        parts.append(f"C{_f(x0)},{_f(ym)} {_f(x1)},{_f(ym)} {_f(x1)},{_f(y1)}")
        x0, y0 = x1, y1
    return " ".join(parts)


def svg(drawing: Drawing, *, standalone: bool = True, prefix: str = "",
        title: str = "backward graph") -> str:
    """The drawing as an <svg> element; `standalone` adds the XML declaration's namespace
    attributes and sizes for image viewers; `prefix` keeps element ids unique when a page
    holds several drawings."""
    layout = drawing.layout
    width, height = layout.width, layout.height
    empty = "no backward graph: no tensor the program bound requires grad"
    if not layout.nodes:
        width, height = text_width(empty) + 2 * PAD_X, LINE + 2 * PAD_Y
    out = []
    attrs = (f'viewBox="0 0 {_f(width)} {_f(height)}" '
             f'width="{_f(width)}" height="{_f(height)}" font-family="{FONT}" '
             f'font-size="{_f(FONT_SIZE)}" role="img" aria-label="{escape(title)}"')
    if standalone:
        attrs = 'xmlns="http://www.w3.org/2000/svg" ' + attrs
    else:
        attrs += ' class="graph"'
        if drawing.expanded or drawing.groups:
            attrs += f' data-open="{escape(" ".join(drawing.expanded))}"'
    out.append(f"<svg {attrs}>")
    out.append(f"<title>{escape(title)}</title>")
    out.append(f'<defs><marker id="{prefix}arrow" viewBox="0 0 10 10" refX="9" refY="5" '
               'markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" '
               'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker>'
               f'<marker id="{prefix}arrow-grey" viewBox="0 0 10 10" refX="9" refY="5" '
               'markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" '
               'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#999"/></marker>'
               '</defs>')
    by_id = {item.id: item for item in drawing.items}
    out.append('<g class="edges">')
    for link, route in zip(drawing.links, layout.edges, strict=False):
        dashed = link.kind == "const"
        colour = "#999" if dashed else "#444"
        marker = f"{prefix}arrow-grey" if dashed else f"{prefix}arrow"
        extra = ' stroke-dasharray="5 4"' if dashed else ""
        out.append(f'<path class="edge {link.kind}" data-source="{by_id[link.source].node}" '
                   f'data-target="{by_id[link.target].node}" d="{path_data(route.points)}" '
                   'fill="none" '
                   f'stroke="{colour}" stroke-width="1.3"{extra} '
                   f'marker-end="url(#{marker})"/>')
    out.append("</g>")
    if not layout.nodes:
        out.append(f'<text x="{_f(PAD_X)}" y="{_f(PAD_Y + FONT_SIZE)}" fill="#666">'
                   f"{escape(empty)}</text>")
    out.append('<g class="nodes">')
    for box_id, placed in layout.nodes.items():
        item = by_id[box_id]
        fill, stroke, ink, dashed = STYLE[item.kind]
        extra = ' stroke-dasharray="5 3"' if dashed else ""
        data = f' data-line="{item.line}"' if item.line else ""
        if item.members:
            data += f' data-members="{" ".join(item.members)}"'
        focus = ' tabindex="0"' if not standalone else ""
        copy = " copy" if item.node != item.id else ""
        out.append(f'<g class="node {item.kind}{copy}" data-node="{item.node}"{data}{focus}>')
        out.append(f"<title>{escape(' · '.join(item.lines))}</title>")
        out.append(f'<rect x="{_f(placed.left)}" y="{_f(placed.top)}" '
                   f'width="{_f(placed.width)}" height="{_f(placed.height)}" rx="4" '
                   f'fill="{fill}" stroke="{stroke}" stroke-width="1.2"{extra}/>')
        out.append(f'<text fill="{ink}">')
        for i, line in enumerate(item.lines):
            y = placed.top + PAD_Y + LINE * i + FONT_SIZE
            weight = ' font-weight="bold"' if i == 0 else ""
            out.append(f'<tspan x="{_f(placed.left + PAD_X)}" y="{_f(y)}"{weight}>'
                       f"{escape(line)}</tspan>")
        out.append("</text></g>")
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def standalone(drawing: Drawing, title: str = "backward graph") -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg(drawing, title=title)
