"""`graph --format svg|html` and `eval --html` (issue 17), checked without a browser: the
drawing has the engine's nodes and edges, boxes never overlap, the page fetches nothing,
carries its CSP and embeds exactly `eval --format json --trace`."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcli.cli.group import cli
from gradcli.explain.roots import find_roots
from gradcli.runtime.interpreter import run
from gradcli.views.graph import engine_counts

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.expr"))
SVG = "{http://www.w3.org/2000/svg}"

PRODUCT = """a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
w = a * b
w.retain_grad()
loss = (w * a).sum()
loss.backward(retain_graph=True)
loss.backward()
"""
LOOP = """x = torch.tensor(0.5, requires_grad=True)
w = torch.tensor(0.9, requires_grad=True)
y = x
for i in range(40):
    y = torch.tanh(y * w + 0.1)
y.backward()
"""


def _invoke(args, **kw):
    result = CliRunner().invoke(cli, args, catch_exceptions=False, **kw)
    return result


def _program(tmp_path, text, name="prog.expr"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _engine(path):
    source = Path(path).read_text()
    result = run(source, path)
    return engine_counts([t.grad_fn or t.accumulator for _, t in find_roots(result.tensors)])


def _svg(path, *extra):
    out = _invoke(["graph", path, "--format", "svg", *extra])
    assert out.exit_code in (0, 1), out.output
    text = out.stdout
    assert text.startswith("<?xml")
    return ET.fromstring(text.split("\n", 1)[1])


def _boxes(root):
    boxes = []
    for g in root.iter(f"{SVG}g"):
        if "node" in (g.get("class") or "").split():
            rect = g.find(f"{SVG}rect")
            boxes.append((g.get("data-node"), *(float(rect.get(k)) for k in
                                                 ("x", "y", "width", "height"))))
    return boxes


def _classes(root, tag, cls):
    return [e for e in root.iter(f"{SVG}{tag}") if cls in (e.get("class") or "").split()]


@pytest.mark.parametrize("path", [str(p) for p in EXAMPLES if "error" not in p.name],
                         ids=lambda p: Path(p).stem)
def test_svg_counts_equal_the_engines(path):
    nodes, edges = _engine(path)
    root = _svg(path)
    drawn = _classes(root, "g", "op") + _classes(root, "g", "leaf")
    # an input used by many nodes of a big graph is drawn beside each use: count nodes
    assert len({g.get("data-node") for g in drawn if "node" in g.get("class").split()}) == nodes
    assert len(_classes(root, "path", "grad")) == edges


@pytest.mark.parametrize("path", [str(p) for p in EXAMPLES], ids=lambda p: Path(p).stem)
def test_svg_boxes_do_not_overlap(path):
    boxes = _boxes(_svg(path))
    for i, (a, ax, ay, aw, ah) in enumerate(boxes):
        for b, bx, by, bw, bh in boxes[i + 1:]:
            apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
            assert apart, (a, b)


def test_svg_is_deterministic_and_styled_as_dot(tmp_path):
    path = _program(tmp_path, PRODUCT.replace("loss.backward()\n", "")
                    + "c = torch.tensor(2.0)\nz = loss * c\n")
    first = _invoke(["graph", path, "--format", "svg"]).stdout
    assert first == _invoke(["graph", path, "--format", "svg"]).stdout
    root = ET.fromstring(first.split("\n", 1)[1])
    fills = {g.get("class"): g.find(f"{SVG}rect").get("fill")
             for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("node ")}
    assert fills["node leaf"] == "#add8e6" and fills["node op"] == "#d3d3d3"
    assert fills["node output"] == "#caff70" and fills["node const"] == "#ffffff"
    assert _classes(root, "path", "const")[0].get("stroke-dasharray")
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert any("w = a * b" in t and "line 3" in t for t in texts)


def _page_parts(html):
    doc = re.search(r'<script type="application/json" id="gradcli-doc">(.*?)</script>', html,
                    re.S).group(1)
    view = re.search(r'<script type="application/json" id="gradcli-view">(.*?)</script>', html,
                     re.S).group(1)
    return json.loads(doc), json.loads(view)


def _addresses(doc):
    # A program that prints a node prints its address, different in every run.
    return json.loads(re.sub(r"0x[0-9a-f]+", "0x?", json.dumps(doc)))


def _eval_json(path):
    out = _invoke(["eval", path, "--format", "json", "--trace"])
    return json.loads(out.stdout)


@pytest.mark.parametrize("path", [str(p) for p in EXAMPLES], ids=lambda p: Path(p).stem)
def test_page_fetches_nothing_and_embeds_the_json(path):
    html = _invoke(["graph", path, "--format", "html"]).stdout
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*https?://""", html, re.I)
    assert not re.search(r"https?://", html.replace(Path(path).read_text(), ""))
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert csp and "default-src &#x27;none&#x27;" in csp.group(1)
    policy = csp.group(1).replace("&#x27;", "'")
    assert "connect-src 'none'" in policy and "unsafe-inline" not in policy
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    doc, view = _page_parts(html)
    assert _addresses(doc) == _addresses(_eval_json(path))
    assert html.count('id="gradcli-doc"') == 1


def test_eval_html_writes_the_page_and_changes_nothing_else(tmp_path):
    path = _program(tmp_path, PRODUCT)
    page = tmp_path / "out.html"
    plain = _invoke(["eval", path])
    with_page = _invoke(["eval", path, "--html", str(page)])
    assert with_page.stdout == plain.stdout and with_page.exit_code == 0
    doc, _ = _page_parts(page.read_text())
    assert doc == _eval_json(path)
    as_json = _invoke(["eval", path, "--format", "json", "--html", str(page)])
    assert json.loads(as_json.stdout) == json.loads(_invoke(["eval", path, "--format",
                                                             "json"]).stdout)
    traced = _invoke(["eval", path, "--trace", "--html", str(page)])
    assert traced.stdout == _invoke(["eval", path, "--trace"]).stdout


def test_eval_html_refuses_several_files_and_bad_paths(tmp_path):
    path = _program(tmp_path, PRODUCT)
    out = CliRunner().invoke(cli, ["eval", path, path, "--html", str(tmp_path / "x.html")])
    assert out.exit_code == 2 and "one FILE" in out.output
    out = CliRunner().invoke(cli, ["eval", path, "--html", str(tmp_path / "no" / "x.html")])
    assert out.exit_code == 2 and "cannot write" in out.output


def test_page_without_scripts_still_has_graph_source_and_table(tmp_path):
    path = _program(tmp_path, PRODUCT)
    html = _invoke(["graph", path, "--format", "html"]).stdout
    static = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert static.count('class="node op"') == 3 and static.count('class="node leaf"') == 2
    assert 'data-line="3"' in static and "w = a * b" in static
    assert "<table>" in static and "MulBackward0" in static
    assert "<noscript>" in static


def test_view_data_has_steps_saved_values_and_numeric_partials(tmp_path):
    path = _program(tmp_path, PRODUCT)
    html = _invoke(["graph", path, "--format", "html"]).stdout
    doc, view = _page_parts(html)
    tensors = {t["name"]: t for t in doc["tensors"]}
    assert len(view["passes"]) == len(doc["traces"]) == 2
    for trace, replay in zip(doc["traces"], view["passes"], strict=True):
        assert len(replay["nodes"]) == len(trace["steps"])
        for step, node in zip(trace["steps"], replay["nodes"], strict=True):
            info = view["nodes"][node]
            assert (info["name"] if step["kind"] == "accumulate" else info["name"]) == (
                step["variable"] if step["kind"] == "accumulate" else step["node"])
    w = next(i for i, n in view["nodes"].items() if n.get("variable") == "w")
    saved = {e["what"]: e["value"] for e in view["nodes"][w]["saved"]}
    assert saved == {"a": tensors["a"]["data"], "b": tensors["b"]["data"]}
    k = view["passes"][0]["nodes"].index(w)
    partials = {p["text"]: p["value"] for p in view["passes"][0]["partials"][k]}
    assert partials == {"∂w/∂a = b": tensors["b"]["data"], "∂w/∂b = a": tensors["a"]["data"]}


def test_loops_collapse_into_groups_that_expand(tmp_path):
    path = _program(tmp_path, LOOP)
    html = _invoke(["graph", path, "--format", "html"]).stdout
    _, view = _page_parts(html)
    assert list(view["groups"]) == ["g5"]
    variants = re.findall(r'<div class="variant" data-open="([^"]*)"', html)
    assert variants == ["", "g5"]
    first = html[html.index('<div class="variant"'):html.index('<div class="variant"', 10 +
                                                               html.index('class="variant"'))]
    assert first.count('class="node group"') == 1
    assert 'data-members="' in first
    nodes, _ = _engine(path)
    assert len(view["nodes"]) >= nodes
    last = html[html.rindex('<div class="variant"'):]
    drawn = set(re.findall(r'class="node (?:op|leaf)[^"]*" data-node="(\w+)"', last))
    assert len(drawn) == nodes
    w = next(i for i, n in view["nodes"].items() if n["name"] == "w")
    assert last.count(f'class="node leaf copy" data-node="{w}"') == 40  # beside each use
    assert first.count(f'class="node leaf copy" data-node="{w}"') == 1  # one, into the group


def test_layout_dot_needs_dot(tmp_path, monkeypatch):
    path = _program(tmp_path, PRODUCT)
    monkeypatch.setattr("shutil.which", lambda name: None)
    out = CliRunner().invoke(cli, ["graph", path, "--format", "svg", "--layout", "dot"])
    assert out.exit_code == 2 and "dot" in out.output


@pytest.mark.skipif(not __import__("shutil").which("dot"), reason="Graphviz is not installed")
def test_layout_dot_draws_the_same_boxes(tmp_path):
    path = _program(tmp_path, PRODUCT)
    ours, theirs = _svg(path), _svg(path, "--layout", "dot")
    assert sorted(b[0] for b in _boxes(ours)) == sorted(b[0] for b in _boxes(theirs))
    assert [b[3:] for b in sorted(_boxes(ours))] == [b[3:] for b in sorted(_boxes(theirs))]


def test_program_text_cannot_end_the_page_scripts(tmp_path):
    path = _program(tmp_path, 'a = torch.tensor(2.0, requires_grad=True)  # </script><!--\n'
                              'b = a * 3\nprint("</script><script>alert(1)</script> & <b>")\n'
                              'b.backward()\n')
    html = _invoke(["graph", path, "--format", "html"]).stdout
    assert html.count("<script") == 3 and html.count("</script>") == 3
    doc, view = _page_parts(html)
    assert doc["stdout"] == ["</script><script>alert(1)</script> & <b>"]
    assert view["source"][0].endswith("# </script><!--")
    assert "&lt;/script&gt;&lt;!--" in html  # the program panel shows it as text


def test_partials_with_numbers_match_the_derivatives(tmp_path):
    import numpy as np

    path = _program(tmp_path, "x = torch.tensor([0.5, 1.0, 2.0], requires_grad=True)\n"
                              "c = x ** 3\nt = torch.tanh(c)\nm = t * x\nloss = m.mean()\n"
                              "loss.backward()\n")
    html = _invoke(["graph", path, "--format", "html"]).stdout
    doc, view = _page_parts(html)
    x = np.array([0.5, 1.0, 2.0], dtype=np.float32)
    c = x ** 3
    t = np.tanh(c)
    partials = {}
    for pairs in view["passes"][0]["partials"]:
        for p in pairs:
            partials[p["text"]] = p["value"]
    assert set(partials) == {"∂c/∂x = 3·x^2", "∂t/∂c = 1 - t²", "∂m/∂t = x", "∂m/∂x = t",
                             "∂loss/∂m = 1/3"}
    np.testing.assert_allclose(partials["∂c/∂x = 3·x^2"], 3 * x ** 2, rtol=1e-6)
    np.testing.assert_allclose(partials["∂t/∂c = 1 - t²"], 1 - t ** 2, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(partials["∂m/∂t = x"], x)
    np.testing.assert_allclose(partials["∂m/∂x = t"], t, rtol=1e-6)
    np.testing.assert_allclose(partials["∂loss/∂m = 1/3"], np.full(3, 1 / 3), rtol=1e-6)
