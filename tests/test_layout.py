"""gradcli's own layered layout (issue 17): boxes never overlap, every edge points down,
the same input gives the same drawing, and it crosses edges no more than 1.3x `dot`."""

from __future__ import annotations

import importlib.util
import itertools
import random
from pathlib import Path

import pytest

from gradcli.views.dot_layout import available, layered_by_dot, parse_plain
from gradcli.views.layout import Box, layered
from gradcli.views.layout_metrics import crossings, overlaps

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("layout_quality",
                                                  ROOT / "bench" / "layout_quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _random_dag(seed: int, n: int):
    rng = random.Random(seed)
    boxes = [Box(f"v{i}", rng.uniform(20, 200), rng.choice((31.0, 46.0, 61.0)))
             for i in range(n)]
    edges = []
    for i in range(1, n):
        for _ in range(rng.randint(0, 3)):
            edges.append((f"v{rng.randrange(i)}", f"v{i}"))
    return boxes, edges


@pytest.mark.parametrize("seed", range(12))
def test_no_overlap_and_edges_point_down(seed):
    boxes, edges = _random_dag(seed, 5 + seed * 4)
    layout = layered(boxes, edges)
    assert overlaps(layout) == []
    assert len(layout.edges) == len(edges)
    for (s, t), route in zip(edges, layout.edges, strict=True):
        assert (route.source, route.target) == (s, t)
        assert layout.nodes[s].layer < layout.nodes[t].layer
        ys = [y for _, y in route.points]
        assert ys == sorted(ys)  # down all the way
        assert route.points[0][1] == pytest.approx(layout.nodes[s].y + layout.nodes[s].height / 2)
        assert route.points[-1][1] == pytest.approx(layout.nodes[t].top)
    for placed in layout.nodes.values():
        assert placed.left >= 0 and placed.top >= 0
        assert placed.left + placed.width <= layout.width + 1e-6
        assert placed.top + placed.height <= layout.height + 1e-6


def test_deterministic():
    boxes, edges = _random_dag(3, 60)
    first, second = layered(boxes, edges), layered(list(boxes), list(edges))
    assert first == second


def test_tree_has_no_crossings_and_leaf_sits_above_its_consumer():
    # out = ((a*b) + (c*d)) * e : a tree; e is used only by the last op.
    boxes = [Box(n, 40, 30) for n in ("a", "b", "c", "d", "ab", "cd", "sum", "e", "out")]
    edges = [("a", "ab"), ("b", "ab"), ("c", "cd"), ("d", "cd"), ("ab", "sum"), ("cd", "sum"),
             ("sum", "out"), ("e", "out")]
    layout = layered(boxes, edges)
    assert crossings(layout) == 0
    assert layout.nodes["e"].layer == layout.nodes["out"].layer - 1


@pytest.mark.parametrize("seed", range(6))
def test_layering_has_the_shortest_total_edge_length(seed):
    # Network simplex is exact: compare with every ranking of a small graph.
    rng = random.Random(seed)
    names = "abcdef"
    edges = sorted({(names[i], names[j]) for i in range(6) for j in range(i + 1, 6)
                    if rng.random() < 0.35})
    boxes = [Box(n, 30, 20) for n in names]
    layout = layered(boxes, edges)
    span = sum(layout.nodes[t].layer - layout.nodes[s].layer for s, t in edges)
    best = min(sum(r[names.index(t)] - r[names.index(s)] for s, t in edges)
               for r in itertools.product(range(6), repeat=6)
               if all(r[names.index(t)] > r[names.index(s)] for s, t in edges))
    assert span == best


def test_cycle_is_drawn_with_one_edge_reversed():
    boxes = [Box(n, 30, 20) for n in "abc"]
    layout = layered(boxes, [("a", "b"), ("b", "c"), ("c", "a")])
    assert overlaps(layout) == []
    assert sum(route.reversed for route in layout.edges) == 1


def test_empty_and_single():
    assert layered([], []).nodes == {}
    one = layered([Box("a", 10, 10)], [])
    assert list(one.nodes) == ["a"]


def test_parse_plain_reads_dot_coordinates():
    boxes = [Box("a", 72, 36), Box("b", 72, 36)]
    plain = ("graph 1 2 3\nnode n0 1 2.5 1 0.5 \"\" solid box black lightgrey\n"
             "node n1 1 0.5 1 0.5 \"\" solid box black lightgrey\n"
             "edge n0 n1 4 1 2.25 1 1.5 1 1.2 1 0.75 solid black\nstop\n")
    layout = parse_plain(plain, boxes, [("a", "b")])
    assert layout.nodes["a"].y < layout.nodes["b"].y  # y grows downwards
    assert layout.nodes["a"].x == pytest.approx(72 + 12)
    assert layout.edges[0].points[0] == pytest.approx((84, 3 * 72 - 2.25 * 72 + 12))


@pytest.mark.skipif(not available(), reason="Graphviz `dot` is not installed")
def test_crossings_on_the_fixed_100_node_graph_within_1_3x_dot():
    bench = _bench()
    boxes, edges = bench.fixed_graph()
    assert len(boxes) == 100
    ours = crossings(layered(boxes, edges))
    theirs = crossings(layered_by_dot(boxes, edges), shaped=False)
    print(f"crossings: gradcli {ours}, dot {theirs}")
    assert ours <= 1.3 * theirs


@pytest.mark.skipif(not available(), reason="Graphviz `dot` is not installed")
def test_dot_layout_has_the_same_boxes():
    boxes, edges = _random_dag(5, 20)
    layout = layered_by_dot(boxes, edges)
    assert set(layout.nodes) == {b.id for b in boxes}
    assert len(layout.edges) == len(edges)
    assert overlaps(layout) == []
