"""`gradcli graph`: the backward graph as a tree, DOT and Mermaid, and what it saves."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.console import Console

from gradcli.cli.group import cli
from gradcli.explain.labels import Labeller
from gradcli.explain.roots import find_roots
from gradcli.runtime.interpreter import run
from gradcli.views import graph as G

NOTEBOOK = """a = torch.tensor([2.0],requires_grad=True)
b = torch.tensor([3.0],requires_grad=True)
c = torch.tensor([5.0],requires_grad=True)
d = torch.tensor([10.0],requires_grad=True)
u = a*b
t = torch.log(d)
v = t*c
t.retain_grad()
e = u+v
"""
SHARED = """a = torch.tensor(2.0, requires_grad=True)
x = torch.tensor(3.0)
u = a * a
v = u * x + u.exp()
"""
MLP = """x = torch.ones(100, 50, requires_grad=True)
w = torch.ones(50, 10, requires_grad=True)
h = (x @ w).relu()
L = h.sum()
"""
DOUBLE = """a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
b = a * a
c = b * 2.5
d = c.exp().sum()
"""
NO_GRAD = """x = torch.ones(100, 50, requires_grad=True)
w = torch.ones(50, 10, requires_grad=True)
with torch.no_grad():
    h = (x @ w).relu()
    L = h.sum()
"""
PROGRAMS = {"notebook": NOTEBOOK, "shared": SHARED, "mlp": MLP, "double": DOUBLE}


def graph_of(source: str) -> tuple[G.Graph, list]:
    result = run(source, "<test>")
    assert result.error is None, result.error
    roots = find_roots(result.tensors)
    names = {}
    for record in result.tensors:
        names.setdefault(id(record.tensor), record.name)
    return G.build(roots, Labeller(source, names)), roots


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def render(renderable, width: int = 80) -> str:
    console = Console(width=width, color_system=None, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


# ----- roots --------------------------------------------------------------------------------


def test_roots_are_tensors_no_other_tensor_uses():
    _, roots = graph_of(NOTEBOOK)
    assert [name for name, _ in roots] == ["e"]
    source = NOTEBOOK + "f = u * 2\n"
    _, roots = graph_of(source)
    assert [name for name, _ in roots] == ["e", "f"]


# ----- DOT ------------------------------------------------------------------------------------

NODE = re.compile(r"^\s*(\w+) \[label=")
EDGE = re.compile(r"^\s*(\w+) -> (\w+)")


def parse_dot(text: str) -> tuple[set, list]:
    nodes = {m.group(1) for line in text.splitlines() if (m := NODE.match(line))}
    edges = [(m.group(1), m.group(2)) for line in text.splitlines() if (m := EDGE.match(line))]
    return nodes, edges


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_dot_has_the_engines_nodes_and_edges(name):
    graph, roots = graph_of(PROGRAMS[name])
    text = G.dot(graph)
    assert text.startswith("digraph gradcli {") and text.rstrip().endswith("}")
    nodes, edges = parse_dot(text)
    backward_nodes = {n for n in nodes if n.startswith("n")}
    backward_edges = [e for e in edges if e[0].startswith("n") and e[1].startswith("n")]
    engine_nodes, engine_edges = G.engine_counts([t.grad_fn for _, t in roots])
    assert len(backward_nodes) == engine_nodes
    assert len(backward_edges) == engine_edges
    assert all(source in nodes and target in nodes for source, target in edges)
    outputs = [e for e in edges if e[1].startswith("t")]
    assert len(outputs) == len(roots)


def test_dot_labels_carry_names_shapes_lines_and_styles():
    graph, _ = graph_of(NOTEBOOK)
    text = G.dot(graph)
    assert 'label="MulBackward0\\nu = a*b\\n(1,) float32  line 5"' in text
    assert 'label="LogBackward0\\nt = torch.log(d)\\n(1,) float32  line 6\\nretains grad"' in text
    assert 'label="a\\n(1,) float32", fillcolor=lightblue' in text
    assert 'label="e\\n(1,) float32", fillcolor=darkolivegreen1' in text
    graph, _ = graph_of(SHARED)
    text = G.dot(graph)
    # x does not require grad: drawn grey and dashed, with no edge in the backward graph.
    assert re.search(r'c1 \[label="x\\n\(\) float32\\nrequires_grad=False", '
                     r'style="filled,dashed"', text)
    assert "c1 -> " in text


def test_dot_with_saved_tensors():
    graph, _ = graph_of(NOTEBOOK)
    text = G.dot(graph, show_saved=True)
    saved = [line for line in text.splitlines() if "fillcolor=orange" in line]
    assert len(saved) == 5
    assert 'label="saved for backward: 20 bytes in 3 nodes"' in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_dot_renders_with_graphviz(name):
    graph, _ = graph_of(PROGRAMS[name])
    for show_saved in (False, True):
        done = subprocess.run(["dot", "-Tsvg"], input=G.dot(graph, show_saved), text=True,
                              capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
        assert "<svg" in done.stdout


# ----- Mermaid --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_mermaid_structure(name):
    graph, roots = graph_of(PROGRAMS[name])
    text = G.mermaid(graph, show_saved=True)
    lines = text.splitlines()
    assert lines[0] == "flowchart TB"
    defined = {}
    for line in lines[1:]:
        assert line.startswith("    ")
        m = re.fullmatch(r'    (\w+)(\["|\(\[")(.*?)("\]|"\]\))', line)
        if m:
            assert m.group(1) not in defined
            assert '"' not in m.group(3)
            defined[m.group(1)] = m.group(3)
    links = [re.fullmatch(r"    (\w+) (-->|-\.->|-\.-) (\w+)", line) for line in lines]
    links = [m for m in links if m]
    for m in links:
        assert m.group(1) in defined and m.group(3) in defined
    for line in lines:
        if line.startswith("    class "):
            ids, _ = line[len("    class "):].split(" ")
            assert all(i in defined for i in ids.split(","))
    engine_nodes, engine_edges = G.engine_counts([t.grad_fn for _, t in roots])
    assert len([i for i in defined if i.startswith("n")]) == engine_nodes
    solid = [m for m in links if m.group(2) == "-->" and m.group(3).startswith("n")]
    assert len(solid) == engine_edges
    every = len(lines) - 1
    assert every == len(defined) + len(links) + sum(
        1 for line in lines if line.startswith(("    classDef", "    class ")))


def test_mermaid_escapes_quotes():
    source = 'x = torch.tensor([1.0], requires_grad=True)\ny = x * float("2")\n'
    graph, _ = graph_of(source)
    text = G.mermaid(graph)
    assert "#quot;2#quot;" in text


# ----- saved tensors ----------------------------------------------------------------------------


def test_saved_bytes_of_the_notebook_graph():
    # a*b saves a and b, log(d) saves d, t*c saves t and c: five float32 (1,) tensors.
    graph, _ = graph_of(NOTEBOOK)
    assert graph.saved_total() == 5 * 4


def test_saved_bytes_of_a_matrix_product():
    # mm saves both operands (100x50 + 50x10 float32), relu its 100x10 result, sum nothing.
    graph, _ = graph_of(MLP)
    assert graph.saved_total() == (100 * 50 + 50 * 10 + 100 * 10) * 4
    relu = next(n for n in graph.nodes if n.name == "ReluBackward0")
    assert [(e.shape, e.dtype, e.nbytes) for e in relu.saved] == [((100, 10), "float32", 4000)]


def test_saved_bytes_count_shared_storage_once():
    # a*a saves a twice (counted once), b*2.5 saves the wrapped number (an 8-byte double),
    # exp saves its float64 result, sum nothing.
    graph, _ = graph_of(DOUBLE)
    assert graph.saved_total() == 3 * 8 + 8 + 3 * 8
    square = next(n for n in graph.nodes if n.variable == "b")
    assert [e.what for e in square.saved] == ["a", "a"]


def test_saved_bytes_are_zero_under_no_grad():
    result = run(NO_GRAD, "<test>")
    assert result.error is None
    assert find_roots(result.tensors) == []
    graph = G.build([], Labeller(NO_GRAD))
    assert graph.saved_total() == 0
    out = invoke("graph", "-e", NO_GRAD, "--show-saved", "--no-color")
    assert out.exit_code == 0
    assert "no backward graph" in out.stdout
    assert "saved for backward: 0 bytes" in out.stdout


def test_backward_frees_what_was_saved():
    graph, _ = graph_of(NOTEBOOK + "e.backward()\n")
    assert graph.saved_total() == 0 and graph.freed() == 3
    out = invoke("graph", "-e", NOTEBOOK + "e.backward()\n", "--show-saved", "--no-color")
    assert "saved: freed by backward" in out.stdout
    assert "saved for backward: 0 bytes; backward freed the buffers of 3 nodes" in out.stdout
    graph, _ = graph_of(NOTEBOOK + "e.backward(retain_graph=True)\n")
    assert graph.saved_total() == 20 and graph.freed() == 0


# ----- tree -----------------------------------------------------------------------------------


def test_tree_of_the_notebook():
    out = invoke("graph", "-e", NOTEBOOK, "--no-color")
    assert out.exit_code == 0
    assert out.stdout.splitlines() == [
        "e = u+v  AddBackward0  (1,) float32  line 9",
        "├── u = a*b  MulBackward0  (1,) float32  line 5",
        "│   ├── a  leaf  (1,) float32",
        "│   └── b  leaf  (1,) float32",
        "└── v = t*c  MulBackward0  (1,) float32  line 7",
        "    ├── t = torch.log(d)  LogBackward0  (1,) float32  line 6  retains grad",
        "    │   └── d  leaf  (1,) float32",
        "    └── c  leaf  (1,) float32",
    ]


def test_tree_shows_a_shared_subgraph_once():
    graph, _ = graph_of(SHARED)
    text = "".join(render(t) for t in G.tree(graph))
    assert text.count("u = a * a  MulBackward0") == 2
    assert "u = a * a  MulBackward0  () float32  line 3  (shown above)" in text
    assert text.count("a  leaf") == 2  # a*a uses a twice
    assert "x  () float32  requires_grad=False" in text


def test_tree_depth_limit():
    source = "x = torch.tensor(1.0, requires_grad=True)\nh = x\nfor i in range(30):\n" \
             "    h = h * 1.5\n"
    graph, _ = graph_of(source)
    text = "".join(render(t) for t in G.tree(graph, max_depth=5))
    # 30 products and the leaf: the root and 5 levels are shown, 25 nodes are not.
    assert "… 25 more nodes below (raise --depth to see them)" in text


def test_root_option_and_errors():
    out = invoke("graph", "-e", NOTEBOOK, "--root", "v", "--no-color")
    assert out.exit_code == 0
    assert out.stdout.splitlines()[0] == "v = t*c  MulBackward0  (1,) float32  line 7"
    out = invoke("graph", "-e", NOTEBOOK, "--root", "nope")
    assert out.exit_code == 2 and "no tensor named 'nope'" in out.output
    out = invoke("graph", "-e", "x = torch.ones(2)\n", "--root", "x")
    assert out.exit_code == 1 and "does not require grad" in out.output


def test_graph_command_exit_codes():
    out = invoke("graph", "-e", "a = (1 +\n")
    assert out.exit_code == 3
    failing = NOTEBOOK + "e.backward()\ne.backward()\n"
    out = invoke("graph", "-e", failing, "--format", "dot")
    assert out.exit_code == 1
    assert out.stdout.startswith("digraph gradcli {")
    assert "RuntimeError: Trying to backward through the graph a second time" in out.stderr


def _example_exit_code(path: str) -> int:
    """The exit code recorded for the example (tests/data/examples, from the oracle)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    with open(os.path.join("tests", "data", "examples", stem + ".json"), encoding="utf-8") as f:
        return json.load(f)["exit_code"]


@pytest.mark.parametrize("path", sorted(glob.glob("examples/*.expr")))
def test_trees_of_the_examples_fit_80_columns(path):
    out = invoke("graph", path, "--show-saved", "--no-color")
    assert out.exit_code == _example_exit_code(path), out.stderr
    assert "internal error" not in out.stderr
    for line in out.stdout.splitlines():
        assert cell_len(line) <= 80, line
