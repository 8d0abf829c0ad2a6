"""A layered (Sugiyama) drawing of a directed graph: coordinates for boxes and edges.

The four classic phases, each deterministic (ties broken by the order nodes were given):

1. layering: longest path from the sources, then every node is pulled towards the side with
   more edges as long as that shortens the edges (a greedy pass towards what network simplex
   solves exactly); a leaf used once sits right above its consumer, not at the top;
2. an edge spanning several layers is cut by dummy nodes, one per layer it crosses;
3. crossing reduction: median sweeps down and up, each followed by transposition of
   neighbours, keeping the best order seen (Gansner et al., "A technique for drawing
   directed graphs", 1993, §3);
4. x-placement by priority: each node wants the weighted mean x of its neighbours in the
   layer just placed; dummies weigh most, so long edges run straight (Sugiyama's priority
   method). The wishes of one layer are met as closely as the order and the gaps allow
   by least squares, solved exactly by pool-adjacent-violators.

Box sizes come from the caller (labels are monospace, so widths are computed in Python).
"""

from __future__ import annotations

from dataclasses import dataclass, field

LAYER_GAP = 34.0  # vertical space between layers
NODE_GAP = 22.0  # horizontal space between boxes
DUMMY_GAP = 10.0  # horizontal space next to a dummy (an edge passing through a layer)
MARGIN = 12.0
SWEEPS = 40  # crossing-reduction iterations (each a sweep down and a sweep up)
PLACEMENT_ROUNDS = 8
BIG = 600  # nodes and dummies above which crossing reduction tries one start, not four


@dataclass
class Box:
    id: str
    width: float
    height: float


@dataclass
class Placed:
    id: str
    x: float  # centre
    y: float  # centre
    width: float
    height: float
    layer: int

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def top(self) -> float:
        return self.y - self.height / 2


@dataclass
class Route:
    source: str
    target: str
    points: list  # [(x, y)]: leaves the source's bottom, enters the target's top
    reversed: bool = False  # drawn against its direction to break a cycle


@dataclass
class Layout:
    nodes: dict = field(default_factory=dict)  # id -> Placed
    edges: list = field(default_factory=list)  # [Route], in the order given
    width: float = 0.0
    height: float = 0.0
    layers: int = 0


def layered(boxes: list[Box], edges: list[tuple[str, str]], *, layer_gap: float = LAYER_GAP,
            node_gap: float = NODE_GAP) -> Layout:
    """Place `boxes` in layers so every edge (source, target) points down."""
    index = {box.id: i for i, box in enumerate(boxes)}
    n = len(boxes)
    arcs, flipped = _acyclic(n, [(index[s], index[t]) for s, t in edges if s != t])
    rank = _layers(n, arcs)
    graph = _Proper(boxes, rank)
    routes = [graph.add_edge(s, t) for s, t in arcs]
    order = _order(graph)
    xs = _place(graph, order, node_gap)
    return _finish(boxes, edges, index, graph, order, xs, routes, flipped, layer_gap)


# ----- 1. layers ------------------------------------------------------------------------


def _acyclic(n: int, arcs: list[tuple[int, int]]) -> tuple[list, set]:
    """The arcs with every back edge of a depth-first search reversed (a backward graph
    has none; a hand-made input might)."""
    out: list[list[int]] = [[] for _ in range(n)]
    for k, (s, _t) in enumerate(arcs):
        out[s].append(k)
    state = [0] * n  # 0 new, 1 on the stack, 2 done
    flipped = set()
    for start in range(n):
        if state[start]:
            continue
        stack = [(start, 0)]
        state[start] = 1
        while stack:
            v, i = stack.pop()
            if i < len(out[v]):
                stack.append((v, i + 1))
                k = out[v][i]
                w = arcs[k][1]
                if state[w] == 1:
                    flipped.add(k)
                elif state[w] == 0:
                    state[w] = 1
                    stack.append((w, 0))
            else:
                state[v] = 2
    fixed = [(t, s) if k in flipped else (s, t) for k, (s, t) in enumerate(arcs)]
    return fixed, flipped


def _layers(n: int, arcs: list[tuple[int, int]]) -> list[int]:
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for s, t in arcs:
        succs[s].append(t)
        preds[t].append(s)
    topo = _topological(n, preds, succs)
    rank = [0] * n
    for v in topo:
        for p in preds[v]:
            rank[v] = max(rank[v], rank[p] + 1)
    _network_simplex(n, arcs, rank)
    base = min(rank, default=0)
    return [r - base for r in rank]


def _network_simplex(n: int, arcs: list[tuple[int, int]], rank: list[int]) -> None:
    """Shortest total edge length: Gansner et al. 1993, §2. `rank` (feasible: every edge
    points down) is improved in place: a spanning tree of tight edges (length 1) is kept;
    while some tree edge has a negative cut value (cutting it and lengthening the edges
    across would shorten the total), it is swapped for the non-tree edge of least slack
    that crosses the cut the other way. Stops after a work budget on huge graphs: every
    intermediate ranking is feasible."""
    for nodes in _components(n, arcs):
        inside = set(nodes)
        edges = [(s, t) for s, t in arcs if s in inside]
        if len(nodes) > 1:
            _simplex_component(nodes, edges, rank)
        base = min(rank[v] for v in nodes)
        for v in nodes:
            rank[v] -= base


def _components(n: int, arcs) -> list[list[int]]:
    parent = list(range(n))

    def find(v):
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for s, t in arcs:
        parent[find(s)] = find(t)
    groups: dict = {}
    for v in range(n):
        groups.setdefault(find(v), []).append(v)
    return list(groups.values())


def _simplex_component(nodes: list[int], edges: list[tuple[int, int]], rank: list[int]) -> None:
    touching: dict = {v: [] for v in nodes}
    for k, (s, t) in enumerate(edges):
        touching[s].append(k)
        touching[t].append(k)

    def slack(k):
        s, t = edges[k]
        return rank[t] - rank[s] - 1

    # Feasible tree: grow the tight tree; while it misses nodes, shift it by the least slack
    # of an edge leaving it, which makes that edge tight.
    tree: set = set()
    while True:
        tree, reached = set(), {nodes[0]}
        stack = [nodes[0]]
        while stack:
            v = stack.pop()
            for k in touching[v]:
                s, t = edges[k]
                w = t if s == v else s
                if w not in reached and slack(k) == 0:
                    reached.add(w)
                    tree.add(k)
                    stack.append(w)
        if len(reached) == len(nodes):
            break
        best = None
        for k, (s, t) in enumerate(edges):
            if (s in reached) != (t in reached) and (best is None or slack(k) < slack(best)):
                best = k
        s, t = edges[best]
        delta = slack(best) if s in reached else -slack(best)
        for v in reached:
            rank[v] += delta
    budget = 4_000_000  # edge visits
    while budget > 0:
        low, lim, parent_edge = _postorder(nodes[0], tree, edges, touching)
        budget -= len(tree) * len(edges)

        def below(v, k, low=low, lim=lim):  # v lies in the subtree under tree edge k
            s, t = edges[k]
            child = s if lim[s] < lim[t] else t
            return low[child] <= lim[v] <= lim[child]

        leaving = None
        for k in sorted(tree):
            cut = 0
            s, t = edges[k]
            tail_below = below(s, k)
            for a, b in edges:
                a_below, b_below = below(a, k), below(b, k)
                if a_below == b_below:
                    continue
                # from the tail side to the head side counts +1, the other way -1
                cut += 1 if a_below == tail_below else -1
            if cut < 0:
                leaving = k
                break
        if leaving is None:
            return
        s, t = edges[leaving]
        tail_below = below(s, leaving)
        entering = None
        for j, (a, b) in enumerate(edges):
            if j in tree:
                continue
            # head side -> tail side
            if below(a, leaving) != tail_below and below(b, leaving) == tail_below:
                if entering is None or slack(j) < slack(entering):
                    entering = j
        if entering is None:
            return
        delta = slack(entering)
        # The entering edge runs from the head side up into the tail side: lift the tail
        # side by its slack to make it tight; edges that way had at least as much slack.
        for v in nodes:
            if below(v, leaving) == tail_below:
                rank[v] -= delta
        tree.discard(leaving)
        tree.add(entering)


def _postorder(root: int, tree: set, edges, touching):
    """low/lim numbering of the tree (lim: postorder number; low: least lim below)."""
    low, lim, parent_edge = {}, {}, {root: None}
    counter = 0
    stack = [(root, iter(touching[root]))]
    while stack:
        v, it = stack[-1]
        advanced = False
        for k in it:
            if k not in tree or k == parent_edge[v]:
                continue
            s, t = edges[k]
            w = t if s == v else s
            if w in parent_edge:
                continue
            parent_edge[w] = k
            stack.append((w, iter(touching[w])))
            advanced = True
            break
        if not advanced:
            stack.pop()
            counter += 1
            lim[v] = counter
            low[v] = min([counter] + [low[c] for c in _children(v, tree, edges, touching,
                                                               parent_edge)])
    return low, lim, parent_edge


def _children(v, tree, edges, touching, parent_edge):
    out = []
    for k in touching[v]:
        if k in tree and k != parent_edge[v]:
            s, t = edges[k]
            w = t if s == v else s
            if parent_edge.get(w) == k:
                out.append(w)
    return out


def _topological(n: int, preds, succs) -> list[int]:
    waiting = [len(p) for p in preds]
    ready = [v for v in range(n) if not waiting[v]]
    out = []
    while ready:
        v = ready.pop(0)
        out.append(v)
        for s in succs[v]:
            waiting[s] -= 1
            if not waiting[s]:
                ready.append(s)
    return out


# ----- 2. dummies ----------------------------------------------------------------------


class _Proper:
    """The graph with every edge one layer long: nodes 0..n-1 are the boxes, then dummies."""

    def __init__(self, boxes: list[Box], rank: list[int]):
        self.real = len(boxes)
        self.width = [b.width for b in boxes]
        self.rank = list(rank)
        self.up: list[list[int]] = [[] for _ in boxes]  # neighbours one layer above
        self.down: list[list[int]] = [[] for _ in boxes]
        self.layers = max(rank, default=-1) + 1

    def _node(self, rank: int) -> int:
        self.width.append(0.0)
        self.rank.append(rank)
        self.up.append([])
        self.down.append([])
        return len(self.rank) - 1

    def add_edge(self, s: int, t: int) -> list[int]:
        chain = [s]
        for r in range(self.rank[s] + 1, self.rank[t]):
            chain.append(self._node(r))
        chain.append(t)
        for a, b in zip(chain, chain[1:], strict=False):
            self.down[a].append(b)
            self.up[b].append(a)
        return chain

    def dummy(self, v: int) -> bool:
        return v >= self.real


# ----- 3. order ------------------------------------------------------------------------


def _order(graph: _Proper) -> list[list[int]]:
    """The best of several starts, each improved by median sweeps and transposition."""
    best, best_cost = None, None
    starts = [_walk(graph, graph.up, graph.down), _walk(graph, graph.down, graph.up)]
    directions = (True, False)
    if len(graph.rank) > BIG:  # one start on big graphs: the sweeps cost O(nodes²)
        starts, directions = starts[:1], (True,)
    for start in starts:
        for first_down in directions:
            found, cost = _improve(graph, start, first_down)
            if best_cost is None or cost < best_cost:
                best, best_cost = found, cost
            if best_cost == 0:
                return best
    # A second round from the best order found, as dot does.
    for first_down in directions:
        found, cost = _improve(graph, best, first_down)
        if cost < best_cost:
            best, best_cost = found, cost
    return best


def _walk(graph: _Proper, inward, outward) -> list[list[int]]:
    """Layers filled by a depth-first walk from the nodes with no `outward` edge, following
    `inward` edges in input order: a tree comes out uncrossed."""
    layers: list[list[int]] = [[] for _ in range(graph.layers)]
    seen = [False] * len(graph.rank)
    for start in range(len(graph.rank)):
        if outward[start] or seen[start]:
            continue
        stack = [start]
        while stack:
            v = stack.pop()
            if seen[v]:
                continue
            seen[v] = True
            layers[graph.rank[v]].append(v)
            stack.extend(reversed([u for u in inward[v] if not seen[u]]))
    return layers


def _improve(graph: _Proper, layers: list[list[int]], first_down: bool):
    best = [list(layer) for layer in layers]
    best_cost = _crossings(graph, best)
    current = [list(layer) for layer in best]
    stale = 0
    for sweep in range(SWEEPS):
        if best_cost == 0:
            break
        if (sweep % 2 == 0) == first_down:
            for r in range(1, len(current)):
                current[r] = _by_median(current[r], current[r - 1], graph.up)
        else:
            for r in range(len(current) - 2, -1, -1):
                current[r] = _by_median(current[r], current[r + 1], graph.down)
        _transpose(graph, current, ties=sweep % 4 >= 2)
        cost = _crossings(graph, current)
        if cost < best_cost:
            best, best_cost, stale = [list(layer) for layer in current], cost, 0
        else:
            stale += 1
            if stale >= 10:
                break
    return best, best_cost


def _by_median(layer: list[int], fixed: list[int], neighbours) -> list[int]:
    position = {v: i for i, v in enumerate(fixed)}
    wanted = {}
    for v in layer:
        spots = sorted(position[u] for u in neighbours[v])
        if not spots:
            continue
        m = len(spots) // 2
        if len(spots) % 2:
            wanted[v] = float(spots[m])
        elif len(spots) == 2:
            wanted[v] = (spots[0] + spots[1]) / 2
        else:
            # Gansner's weighted median: lean towards the side where neighbours bunch up.
            left = spots[m - 1] - spots[0]
            right = spots[-1] - spots[m]
            if left + right == 0:
                wanted[v] = (spots[m - 1] + spots[m]) / 2
            else:
                wanted[v] = (spots[m - 1] * right + spots[m] * left) / (left + right)
    # Nodes without neighbours keep their slots; the others are sorted into the rest.
    slot = {v: i for i, v in enumerate(layer)}
    movable = sorted((v for v in layer if v in wanted), key=lambda v: (wanted[v], slot[v]))
    out, it = [], iter(movable)
    for v in layer:
        out.append(next(it) if v in wanted else v)
    return out


def _pair_crossings(a: list[int], b: list[int], position: dict) -> int:
    """Crossings between the edges of a and those of b into one neighbouring layer, with a
    placed left of b."""
    count = 0
    for u in a:
        pu = position[u]
        for w in b:
            if position[w] < pu:
                count += 1
    return count


def _transpose(graph: _Proper, layers: list[list[int]], ties: bool = False) -> None:
    """Swap neighbours while that removes crossings (with `ties`, also when it changes
    nothing, which lets the next sweep escape a plateau)."""
    positions = [{v: i for i, v in enumerate(layer)} for layer in layers]
    improved = True
    rounds = 0
    while improved and rounds < 8:
        improved = False
        rounds += 1
        for r, layer in enumerate(layers):
            above = positions[r - 1] if r > 0 else None
            below = positions[r + 1] if r + 1 < len(layers) else None
            for i in range(len(layer) - 1):
                v, w = layer[i], layer[i + 1]
                keep = swap = 0
                if above is not None:
                    keep += _pair_crossings(graph.up[v], graph.up[w], above)
                    swap += _pair_crossings(graph.up[w], graph.up[v], above)
                if below is not None:
                    keep += _pair_crossings(graph.down[v], graph.down[w], below)
                    swap += _pair_crossings(graph.down[w], graph.down[v], below)
                if swap < keep or (ties and swap == keep and keep > 0):
                    layer[i], layer[i + 1] = w, v
                    positions[r][v], positions[r][w] = i + 1, i
                    improved = improved or swap < keep


def _crossings(graph: _Proper, layers: list[list[int]]) -> int:
    total = 0
    for r in range(len(layers) - 1):
        below = {v: i for i, v in enumerate(layers[r + 1])}
        ends = sorted((i, below[w]) for i, v in enumerate(layers[r]) for w in graph.down[v])
        total += _inversions([w for _, w in ends], len(layers[r + 1]))
    return total


def _inversions(values: list[int], size: int) -> int:
    """Pairs i < j with values[i] > values[j] (a Fenwick tree: Barth, Jünger, Mutzel 2002)."""
    tree = [0] * (size + 1)
    count = 0
    for seen, v in enumerate(values):
        # how many earlier values are <= v
        i, at_most = v + 1, 0
        while i > 0:
            at_most += tree[i]
            i -= i & -i
        count += seen - at_most
        i = v + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return count


# ----- 4. x-placement ------------------------------------------------------------------


def _gap(graph: _Proper, a: int, b: int, node_gap: float) -> float:
    space = DUMMY_GAP if graph.dummy(a) or graph.dummy(b) else node_gap
    return (graph.width[a] + graph.width[b]) / 2 + space


def _weight(graph: _Proper, a: int, b: int) -> float:
    # dot's Ω: an edge between two dummies should be straightest, a real-real one least.
    dummies = graph.dummy(a) + graph.dummy(b)
    return (1.0, 2.0, 8.0)[dummies]


def _place(graph: _Proper, layers: list[list[int]], node_gap: float) -> list[float]:
    xs = [0.0] * len(graph.rank)
    for layer in layers:
        x = 0.0
        for i, v in enumerate(layer):
            if i:
                x += _gap(graph, layer[i - 1], v, node_gap)
            xs[v] = x
        shift = x / 2
        for v in layer:
            xs[v] -= shift
    for round_ in range(PLACEMENT_ROUNDS):
        down = round_ % 2 == 0
        sequence = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for r in sequence:
            _place_layer(graph, layers[r], xs, graph.up if down else graph.down, node_gap)
    # A last pass with both neighbours, so a node sits between its inputs and its consumer.
    for r in range(len(layers)):
        _place_layer(graph, layers[r], xs, None, node_gap)
    return xs


def _place_layer(graph: _Proper, layer: list[int], xs: list[float], neighbours,
                 node_gap: float) -> None:
    if not layer:
        return
    targets, weights = [], []
    for v in layer:
        near = (graph.up[v] + graph.down[v]) if neighbours is None else neighbours[v]
        if near:
            w = [_weight(graph, v, u) for u in near]
            targets.append(sum(xs[u] * wi for u, wi in zip(near, w, strict=False)) / sum(w))
            weights.append(sum(w))
        else:
            targets.append(xs[v])
            weights.append(0.05)
    offsets = [0.0]
    for a, b in zip(layer, layer[1:], strict=False):
        offsets.append(offsets[-1] + _gap(graph, a, b, node_gap))
    ys = _isotonic([t - o for t, o in zip(targets, offsets, strict=False)], weights)
    for v, y, o in zip(layer, ys, offsets, strict=False):
        xs[v] = y + o


def _isotonic(values: list[float], weights: list[float]) -> list[float]:
    """The nondecreasing sequence closest to `values` in weighted least squares
    (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights, strict=False):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            total = w1 + w2
            blocks.append([(m1 * w1 + m2 * w2) / total, total, c1 + c2])
    out = []
    for mean, _, count in blocks:
        out.extend([mean] * count)
    return out


# ----- coordinates ---------------------------------------------------------------------


def _finish(boxes, edges, index, graph: _Proper, layers, xs, routes, flipped,
            layer_gap: float) -> Layout:
    layout = Layout(layers=graph.layers)
    heights = [max((boxes[v].height for v in layer if v < graph.real), default=0.0)
               for layer in layers]
    tops, y = [], MARGIN
    for h in heights:
        tops.append(y)
        y += h + layer_gap
    left = min((xs[v] - graph.width[v] / 2 for layer in layers for v in layer), default=0.0)
    right = max((xs[v] + graph.width[v] / 2 for layer in layers for v in layer), default=0.0)
    shift = MARGIN - left
    centre_y = [0.0] * len(graph.rank)
    for r, layer in enumerate(layers):
        for v in layer:
            centre_y[v] = tops[r] + heights[r] / 2
    for v, box in enumerate(boxes):
        layout.nodes[box.id] = Placed(box.id, xs[v] + shift, centre_y[v], box.width,
                                      box.height, graph.rank[v])
    ports = _ports(graph, routes, xs, boxes)
    for k, chain in enumerate(routes):
        points = []
        for j, v in enumerate(chain):
            if v < graph.real:
                h = boxes[v].height / 2
                px = ports.get((k, j), xs[v])
                points.append((px + shift, centre_y[v] + (h if j == 0 else -h)))
            else:
                points.append((xs[v] + shift, centre_y[v]))
        if k in flipped:
            points.reverse()
        layout.edges.append(Route(boxes[chain[-1] if k in flipped else chain[0]].id,
                                  boxes[chain[0] if k in flipped else chain[-1]].id,
                                  points, k in flipped))
    layout.width = right - left + 2 * MARGIN
    layout.height = (tops[-1] + heights[-1] + MARGIN) if tops else 2 * MARGIN
    return layout


def _ports(graph: _Proper, routes, xs, boxes) -> dict:
    """Where each edge leaves or enters a box: spread over the middle of its side, in the
    order of the far ends, so edges into one node do not start on top of each other."""
    sides: dict = {}
    for k, chain in enumerate(routes):
        sides.setdefault((chain[0], "out"), []).append((xs[chain[1]], k, 0))
        sides.setdefault((chain[-1], "in"), []).append((xs[chain[-2]], k, len(chain) - 1))
    ports = {}
    for (v, _), ends in sides.items():
        if len(ends) == 1:
            continue
        ends.sort()
        span = min(boxes[v].width * 0.6, 14.0 * (len(ends) - 1))
        for i, (_, k, j) in enumerate(ends):
            ports[(k, j)] = xs[v] - span / 2 + span * i / (len(ends) - 1)
    return ports
