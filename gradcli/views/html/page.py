"""One self-contained HTML page: the backward graph (inline SVG), the program, the tensors,
and the data to replay every backward pass (`graph --format html`, `eval --html FILE`).

The page fetches nothing: a Content-Security-Policy forbids every outside request and lets
only the page's own script and style run (by hash). The data is the JSON document of
`eval --format json` with its `traces`, embedded once, plus what the drawing adds (which box
each step ran, saved values, partials with numbers) from gradcli.explain.replay. The graph,
the program and the table are plain HTML, so they show with scripts off.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from html import escape
from pathlib import Path

import numpy as np

from gradcli.explain.labels import shape_text
from gradcli.views import svg as S
from gradcli.views.graph import Graph
from gradcli.views.jsondoc import write as write_document
from gradcli.views.trace import trace_json, value_text
from gradcli.views.values import to_data

HERE = Path(__file__).parent
MAX_VALUES = 10_000  # elements of a saved tensor or partial written out; above: a summary
MAX_VARIANTS = 6  # collapsed groups opened one at a time get their own drawing up to this


def document_text(result, recorder) -> str:
    """Exactly what `eval --format json --trace` writes for this run."""
    out = io.StringIO()
    traces = {"traces": [trace_json(t) for t in recorder.traces]} if recorder else {}
    write_document(out, result, traces)
    return out.getvalue()


def _values(array):
    if array is None:
        return None
    array = np.asarray(array)
    if array.size > MAX_VALUES:
        return value_text(array)
    return to_data(array)


def view_data(graph: Graph, recorder, source: str, filename: str, groups: dict) -> dict:
    """What the drawing adds to the document, keyed by the boxes' ids."""
    from gradcli.explain.replay import saved_values

    labeller = recorder.labeller if recorder is not None else None
    nodes = {}
    for node in graph.nodes:
        record = {
            "kind": node.kind, "name": node.name, "variable": node.variable,
            "expression": node.expression, "line": node.line, "where": node.where,
            "shape": shape_text(node.shape) if node.shape is not None else None,
            "dtype": node.dtype, "retains_grad": node.retains_grad,
        }
        if node.kind == "op":
            pairs = recorder.saved_values.get(node.node) if recorder is not None else None
            if pairs is None and labeller is not None and node.saved is not None:
                pairs = saved_values(node.node, labeller)
            record["saved"] = [{
                "what": entry.what, "shape": shape_text(entry.shape), "dtype": entry.dtype,
                "bytes": entry.nbytes, "value": _values(array),
            } for entry, array in (pairs or [])]
            record["freed"] = node.saved is None
        nodes[node.id] = record
    for constant in graph.constants:
        nodes[constant.id] = {"kind": "const", "name": constant.label,
                              "shape": shape_text(constant.shape) if constant.shape else None,
                              "dtype": constant.dtype, "target": constant.target}
    for output in graph.outputs:
        nodes[output.id] = {"kind": "output", "name": output.name,
                            "shape": shape_text(output.shape), "dtype": output.dtype,
                            "source": output.source}
    passes = []
    if recorder is not None:
        for steps, partials in zip(recorder.step_nodes, recorder.step_partials, strict=True):
            passes.append({
                "nodes": [graph.by_node[n].id if n in graph.by_node else None for n in steps],
                "partials": [[{"text": text, "value": _values(value)} for text, value in pairs]
                             for pairs in partials],
            })
    return {"file": filename, "source": source.split("\n"), "nodes": nodes,
            "passes": passes, "groups": groups}


def _drawings(graph: Graph, engine: str) -> list:
    groups = S.find_groups(graph)
    if not groups:
        return [S.draw(graph, engine=engine)]
    drawings = [S.draw(graph, groups, engine=engine)]
    if len(groups) <= MAX_VARIANTS:
        drawings += [S.draw(graph, groups, (gid,), engine=engine) for gid in groups]
    if len(groups) > 1 or len(groups) > MAX_VARIANTS:
        drawings.append(S.draw(graph, groups, tuple(groups), engine=engine))
    return drawings


def _json_script(element_id: str, text: str) -> str:
    # `<`, `>` and `&` only occur inside JSON strings, where \\u escapes mean the same: the
    # parsed value is unchanged and no `</script>` can end the element early.
    safe = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{element_id}">{safe}</script>'


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _source_html(source: str) -> str:
    rows = []
    for number, line in enumerate(source.split("\n"), 1):
        rows.append(f'<span class="src-line" data-line="{number}"><span class="ln">{number}'
                    f"</span>{escape(line) or ' '}</span>")
    while rows and rows[-1].endswith("> </span>"):
        rows.pop()
    return "".join(rows)  # each row is a block: a newline between them would show


def _table_html(document: dict) -> str:
    head = ("name", "shape", "dtype", "requires_grad", "is_leaf", "grad_fn", "data", "grad")
    rows = ["<tr>" + "".join(f"<th scope=\"col\">{h}</th>" for h in head) + "</tr>"]
    for t in document["tensors"]:
        data = _cell(t["data"], t["dtype"])
        grad = "None" if t["grad"] is None else _cell(t["grad"], t["dtype"])
        cells = (t["name"], shape_text(t["shape"]), t["dtype"], str(t["requires_grad"]),
                 str(t["is_leaf"]), t["grad_fn"] or "None", data, grad)
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def _cell(data, dtype: str) -> str:
    """The values as `eval`'s trace prints them (NaN and infinities come as strings)."""
    try:
        kind = np.dtype(dtype)
    except TypeError:
        kind = np.dtype(np.float64)  # bfloat16 and the like: shown as floats
    try:
        return value_text(np.asarray(data, dtype=kind))
    except (TypeError, ValueError):
        return json.dumps(data)[:60]


def render(result, graph: Graph, recorder, engine: str = "gradcli") -> str:
    """The whole page as text."""
    doc_text = document_text(result, recorder)
    document = json.loads(doc_text)
    drawings = _drawings(graph, engine)
    groups = drawings[0].groups
    view = view_data(graph, recorder, result.source, result.filename, groups)
    figures = []
    for i, drawing in enumerate(drawings):
        text = S.svg(drawing, standalone=False, prefix=f"v{i}-",
                     title=f"backward graph of {result.filename}")
        hidden = "" if i == 0 else " hidden"
        figures.append(f'<div class="variant" data-open="{" ".join(drawing.expanded)}"'
                       f"{hidden}>{text}</div>")
    script = (HERE / "page.js").read_text(encoding="utf-8")
    style = (HERE / "page.css").read_text(encoding="utf-8")
    csp = ("default-src 'none'; img-src data:; connect-src 'none'; font-src 'none'; "
           "media-src 'none'; object-src 'none'; frame-src 'none'; worker-src 'none'; "
           "base-uri 'none'; form-action 'none'; "
           f"style-src {_hash(style)}; script-src {_hash(script)}")
    passes = len(view["passes"])
    summary = (f"{len(graph.nodes)} nodes, {len(graph.edges)} edges; "
               f"{passes} backward pass{'es' if passes != 1 else ''}")
    template = (HERE / "page.html").read_text(encoding="utf-8")
    replacements = {
        "{{CSP}}": escape(csp),
        "{{TITLE}}": escape(f"gradcli · {result.filename}"),
        "{{FILE}}": escape(result.filename),
        "{{SUMMARY}}": escape(summary),
        "{{STYLE}}": style,
        "{{GRAPH}}": "\n".join(figures) if graph.nodes else
        '<p class="empty">no backward graph: no tensor the program bound requires grad</p>',
        "{{SOURCE}}": _source_html(result.source),
        "{{TABLE}}": _table_html(document),
        "{{DOC}}": _json_script("gradcli-doc", doc_text),
        "{{VIEW}}": _json_script("gradcli-view", json.dumps(view, allow_nan=False)),
        "{{SCRIPT}}": script,
    }
    # One pass over the template: text put in (the user's source) is never searched again.
    return re.sub(r"\{\{[A-Z]+\}\}", lambda m: replacements[m.group(0)], template)


def recording_views(views, source: str, detect_anomaly: bool = False):
    """eval's trace views with a recorder that also keeps what the page needs (eval's own
    output is unchanged: what views show still follows --trace/--partials)."""
    from gradcli.explain.replay import ReplayRecorder
    from gradcli.views.trace import TraceViews

    recorder = ReplayRecorder(source, detect_anomaly=detect_anomaly)
    if views is None:
        return TraceViews(recorder)
    views.tracer = recorder
    return views


def page_for_run(result, roots, recorder, engine: str = "gradcli") -> str:
    """The page of a finished run, drawing the graph behind `roots` ((name, tensor) pairs)."""
    from gradcli.explain.labels import Labeller
    from gradcli.views.graph import build

    names = {}
    for record in result.tensors:
        names.setdefault(id(record.tensor), record.name)
    graph = build(roots, Labeller(result.source, names))
    return render(result, graph, recorder, engine)
