"""The backward graph as a terminal tree (rich), Graphviz DOT and Mermaid.

DOT follows torchviz's make_dot: backward nodes are grey boxes, leaves blue, the
output tensors green, saved tensors orange (with --show-saved); edges run from an
input to the node that consumes it. gradcli adds the program's names, shapes and lines,
and greys out inputs that do not require grad.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from rich.tree import Tree

from gradcli.autodiff.node import AccumulateGrad
from gradcli.explain.graphwalk import SavedEntry, saved_entries
from gradcli.explain.labels import Labeller, place, shape_text, shorten


@dataclass
class GraphNode:
    id: str
    node: object  # the backward node (Node or AccumulateGrad)
    kind: str  # "op", "leaf"
    name: str  # MulBackward0, or the leaf's name
    variable: str | None
    expression: str | None
    line: int | None
    shape: tuple | None
    dtype: str | None
    retains_grad: bool = False
    saved: list[SavedEntry] | None = field(default_factory=list)  # None: freed by backward
    grad: object = None  # a leaf's .grad array, if set
    where: str | None = None  # after `line 5`: the loop iteration, the function (Labeller.where)


@dataclass
class Edge:
    source: str  # id of the input's node
    target: str  # id of the consumer
    index: int  # which input of the consumer


@dataclass
class Constant:
    """An input that does not require grad: no edge in the backward graph."""

    id: str
    target: str
    label: str
    shape: tuple | None
    dtype: str | None
    index: int = 0


@dataclass
class Output:
    id: str
    name: str
    shape: tuple
    dtype: str
    source: str  # id of its grad_fn


@dataclass
class Graph:
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    constants: list[Constant] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    by_node: dict = field(default_factory=dict)  # backward node -> GraphNode

    def saved_total(self) -> int:
        keys: dict = {}
        for node in self.nodes:
            for entry in node.saved or ():
                keys[entry.key] = entry.nbytes
        return sum(keys.values())

    def freed(self) -> int:
        return sum(1 for node in self.nodes if node.saved is None)


def _dtype(dtype) -> str | None:
    return getattr(dtype, "name", None) if dtype is not None else None


def build(roots: list[tuple[str, object]], labeller: Labeller) -> Graph:
    """The graph behind `roots` ((name, tensor) pairs), every node once, parents first."""
    graph = Graph()
    stack = []
    for name, tensor in roots:
        fn = tensor.grad_fn
        if fn is None and tensor.requires_grad:
            fn = tensor.accumulator
            if fn is None:
                from gradcli.autodiff.node import accumulator_of

                fn = accumulator_of(tensor)
        if fn is None:
            continue
        meta = (tensor.shape, tensor.dtype)
        target = _add(graph, fn, meta, labeller)
        if fn.__class__ is not AccumulateGrad:
            graph.outputs.append(Output(f"t{len(graph.outputs) + 1}", name, tensor.shape,
                                        tensor.dtype.name, target.id))
        stack.append(fn)
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        me = graph.by_node[node]
        pending = []
        for i, (child, _) in enumerate(node.next_functions):
            meta = node.inputs_meta[i] if i < len(node.inputs_meta) else None
            if child is None:
                if meta is not None:
                    graph.constants.append(Constant(
                        f"c{len(graph.constants) + 1}", me.id, labeller.input(node, i),
                        meta[0], _dtype(meta[1]), i))
                continue
            known = child in graph.by_node
            target = _add(graph, child, meta, labeller)
            graph.edges.append(Edge(target.id, me.id, i))
            if not known:
                pending.append(child)
        stack.extend(reversed(pending))
    return graph


def _add(graph: Graph, node, meta, labeller: Labeller) -> GraphNode:
    found = graph.by_node.get(node)
    if found is not None:
        return found
    ident = f"n{len(graph.nodes) + 1}"
    if node.__class__ is AccumulateGrad:
        tensor = node.variable
        name = labeller.tensor_name(tensor) or "leaf"
        found = GraphNode(ident, node, "leaf", name, name, None, None, tensor.shape,
                          tensor.dtype.name, saved=[])
        found.grad = tensor.grad.array if tensor.grad is not None else None
    else:
        shape, dtype = meta if meta is not None else (None, None)
        retained = node.retained() if node.retained is not None else None
        found = GraphNode(ident, node, "op", node.name(), labeller.variable(node),
                          labeller.expression(node), labeller.line(node), shape, _dtype(dtype),
                          retains_grad=retained is not None)
        found.where = labeller.where(node)
        if labeller.inside(node):
            found.expression = f"part of {found.expression}"
        found.saved = saved_entries(node, labeller, labeller.short(node))
    graph.nodes.append(found)
    graph.by_node[node] = found
    return found


def engine_counts(roots) -> tuple[int, int]:
    """(nodes, edges) of the backward graph as the engine sees it (for checking views)."""
    from gradcli.explain.graphwalk import graph_nodes

    nodes = graph_nodes(roots)
    edges = sum(1 for n in nodes for child, _ in n.next_functions if child is not None)
    return len(nodes), edges


# ----- shared wording ------------------------------------------------------------------------


def _describe(node: GraphNode) -> str:
    if node.kind == "leaf":
        return node.name
    if node.variable and node.expression and node.expression != node.variable:
        return f"{node.variable} = {node.expression}"
    return node.variable or node.expression or ""


def _meta(shape, dtype) -> str:
    parts = []
    if shape is not None:
        parts.append(shape_text(shape))
    if dtype:
        parts.append(dtype)
    return " ".join(parts)


def _bytes(n: int) -> str:
    return f"{n:,} B"


def saved_summary(graph: Graph) -> str:
    total = graph.saved_total()
    held = sum(1 for n in graph.nodes if n.saved)
    freed = graph.freed()
    text = f"saved for backward: {total:,} bytes"
    if held:
        text += f" in {held} node{'s' if held != 1 else ''}"
    if freed:
        text += f"; backward freed the buffers of {freed} node{'s' if freed != 1 else ''}"
    return text


# ----- tree ----------------------------------------------------------------------------------


def _tree_label(node: GraphNode, width: int) -> Text:
    text = Text()
    if node.kind == "leaf":
        text.append(node.name, style="bold cyan")
        text.append("  leaf", style="blue")
        text.append(f"  {_meta(node.shape, node.dtype)}", style="dim")
        return text
    described = _describe(node)
    if described:
        if node.variable:
            text.append(node.variable, style="bold cyan")
            if node.expression and node.expression != node.variable:
                text.append(" = " + shorten(node.expression, max(width // 2, 16)))
        else:
            text.append(shorten(described, max(width // 2, 16)))
        text.append("  ")
    text.append(node.name, style="magenta")
    if node.shape is not None:
        text.append(f"  {_meta(node.shape, node.dtype)}", style="dim")
    if node.line:
        text.append(f"  {place(node.line, node.where)}", style="dim")
    if node.retains_grad:
        text.append("  retains grad", style="green")
    return text


def _saved_lines(node: GraphNode) -> list[Text]:
    if node.kind == "leaf":
        return []
    if node.saved is None:
        return [Text("saved: freed by backward", style="dim")]
    lines = []
    for entry in node.saved:
        lines.append(Text(f"saved: {entry.what}  {_meta(entry.shape, entry.dtype)}  "
                          f"{_bytes(entry.nbytes)}", style="yellow"))
    return lines


def tree(graph: Graph, show_saved: bool = False, max_depth: int = 12,
         width: int = 80) -> list:
    """One rich Tree per output, inputs in order; a node already shown is referenced
    ("shown above"), not repeated."""
    children: dict = {}
    for edge in graph.edges:
        children.setdefault(edge.target, []).append((edge.index, edge.source))
    for constant in graph.constants:
        children.setdefault(constant.target, []).append((constant.index, constant))
    for kids in children.values():
        kids.sort(key=lambda kid: kid[0])
    ids = {node.id: node for node in graph.nodes}
    starts = [o.source for o in graph.outputs] or ([graph.nodes[0].id] if graph.nodes else [])
    trees = []
    shown: set = set()
    for start in starts:
        root = Tree(_tree_label(ids[start], width), guide_style="dim")
        if start in shown:
            root.label.append("  (shown above)", style="dim italic")
            trees.append(root)
            continue
        shown.add(start)
        stack = [(root, start, 0, True)]
        while stack:
            branch, item, depth, expand = stack.pop()
            if not expand:
                if isinstance(item, Constant):
                    branch.add(Text(f"{item.label}  {_meta(item.shape, item.dtype)}  "
                                    "requires_grad=False", style="dim"))
                    continue
                node = ids[item]
                label = _tree_label(node, width)
                if item in shown and node.kind != "leaf":
                    label.append("  (shown above)", style="dim italic")
                    branch.add(label)
                    continue
                branch = branch.add(label)
                if item in shown:
                    continue
                shown.add(item)
            node = ids[item]
            if show_saved:
                for line in _saved_lines(node):
                    branch.add(line)
            kids = children.get(item, [])
            if depth >= max_depth and kids:
                branch.add(Text(f"… {_count_below(item, children)} more nodes below "
                                "(raise --depth to see them)", style="dim"))
                continue
            for _, kid in reversed(kids):
                stack.append((branch, kid, depth + 1, False))
        trees.append(root)
    return trees


def _count_below(ident: str, children: dict) -> int:
    seen: set = set()
    stack = [kid for _, kid in children.get(ident, []) if isinstance(kid, str)]
    while stack:
        kid = stack.pop()
        if kid not in seen:
            seen.add(kid)
            stack.extend(k for _, k in children.get(kid, []) if isinstance(k, str))
    return len(seen)


# ----- DOT -----------------------------------------------------------------------------------


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(graph: Graph, show_saved: bool = False) -> str:
    lines = [
        "digraph gradcli {",
        '    graph [rankdir=TB, fontname="monospace"];',
        '    node [shape=box, style=filled, fillcolor=lightgrey, fontname="monospace",',
        '          fontsize=12, height=0.2];',
        '    edge [fontname="monospace", fontsize=10];',
    ]
    for node in graph.nodes:
        if node.kind == "leaf":
            label = f"{node.name}\n{_meta(node.shape, node.dtype)}"
            lines.append(f"    {node.id} [label={_dot_string(label)}, fillcolor=lightblue];")
            continue
        parts = [node.name]
        described = _describe(node)
        if described:
            parts.append(shorten(described, 40))
        meta = _meta(node.shape, node.dtype)
        if meta or node.line:
            parts.append(meta + (f"  {place(node.line, node.where)}"
                                 if node.line else ""))
        if node.retains_grad:
            parts.append("retains grad")
        if show_saved and node.saved is None:
            parts.append("saved: freed")
        attrs = f"label={_dot_string(chr(10).join(parts))}"
        lines.append(f"    {node.id} [{attrs}];")
    for edge in graph.edges:
        lines.append(f"    {edge.source} -> {edge.target};")
    for constant in graph.constants:
        label = f"{constant.label}\n{_meta(constant.shape, constant.dtype)}\nrequires_grad=False"
        lines.append(f"    {constant.id} [label={_dot_string(label)}, style=\"filled,dashed\", "
                     "fillcolor=white, color=grey60, fontcolor=grey50];")
        lines.append(f"    {constant.id} -> {constant.target} [style=dashed, color=grey60];")
    for output in graph.outputs:
        label = f"{output.name}\n{_meta(output.shape, output.dtype)}"
        lines.append(f"    {output.id} [label={_dot_string(label)}, fillcolor=darkolivegreen1];")
        lines.append(f"    {output.source} -> {output.id};")
    if show_saved:
        count = 0
        for node in graph.nodes:
            for entry in node.saved or ():
                count += 1
                ident = f"s{count}"
                label = (f"saved: {entry.what}\n{_meta(entry.shape, entry.dtype)}\n"
                         f"{_bytes(entry.nbytes)}")
                lines.append(f"    {ident} [label={_dot_string(label)}, fillcolor=orange];")
                lines.append(f"    {ident} -> {node.id} [style=dotted, dir=none];")
        lines.append(f"    label={_dot_string(saved_summary(graph))};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ----- Mermaid -------------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;"))


def mermaid(graph: Graph, show_saved: bool = False) -> str:
    lines = ["flowchart TB"]
    leaves, nograd, outputs, saved, freed = [], [], [], [], []
    for node in graph.nodes:
        if node.kind == "leaf":
            parts = [node.name, _meta(node.shape, node.dtype)]
            leaves.append(node.id)
        else:
            parts = [node.name]
            described = _describe(node)
            if described:
                parts.append(shorten(described, 40))
            meta = _meta(node.shape, node.dtype)
            parts.append(meta + (f" · {place(node.line, node.where)}"
                                 if node.line else ""))
            if node.retains_grad:
                parts.append("retains grad")
            if show_saved and node.saved is None:
                parts.append("saved: freed")
                freed.append(node.id)
        label = "<br/>".join(_mermaid_text(p) for p in parts if p)
        lines.append(f'    {node.id}["{label}"]')
    for edge in graph.edges:
        lines.append(f"    {edge.source} --> {edge.target}")
    for constant in graph.constants:
        label = "<br/>".join(_mermaid_text(p) for p in (
            constant.label, _meta(constant.shape, constant.dtype), "requires_grad=False"))
        lines.append(f'    {constant.id}["{label}"]')
        lines.append(f"    {constant.id} -.-> {constant.target}")
        nograd.append(constant.id)
    for output in graph.outputs:
        label = "<br/>".join(_mermaid_text(p) for p in (output.name,
                                                          _meta(output.shape, output.dtype)))
        lines.append(f'    {output.id}(["{label}"])')
        lines.append(f"    {output.source} --> {output.id}")
        outputs.append(output.id)
    if show_saved:
        count = 0
        for node in graph.nodes:
            for entry in node.saved or ():
                count += 1
                ident = f"s{count}"
                label = "<br/>".join(_mermaid_text(p) for p in (
                    entry.what, _meta(entry.shape, entry.dtype), _bytes(entry.nbytes)))
                lines.append(f'    {ident}["{label}"]')
                lines.append(f"    {ident} -.- {node.id}")
                saved.append(ident)
    lines.append("    classDef leaf fill:#add8e6,stroke:#4682b4")
    lines.append("    classDef output fill:#caff70,stroke:#556b2f")
    lines.append("    classDef nograd fill:#fff,stroke:#999,color:#888,stroke-dasharray:4 3")
    lines.append("    classDef saved fill:#ffa500,stroke:#b36b00")
    lines.append("    classDef freed stroke-dasharray:4 3")
    for name, ids in (("leaf", leaves), ("output", outputs), ("nograd", nograd),
                      ("saved", saved), ("freed", freed)):
        if ids:
            lines.append(f"    class {','.join(ids)} {name}")
    return "\n".join(lines) + "\n"
