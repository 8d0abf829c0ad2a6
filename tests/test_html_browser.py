"""The HTML page in a real browser (issue 17): Debian's chromium and chromium-driver driven
by selenium, offline (SE_OFFLINE=true: selenium-manager downloads nothing). Skipped where
they are absent. Set GRADCLI_UPDATE_DOCS=1 to refresh docs/html_page.png from this test."""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcli.cli.group import cli

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
PRODUCT = """a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
w = a * b
w.retain_grad()
loss = (w * a).sum()
loss.backward(retain_graph=True)
loss.backward()
"""

webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="chromium and chromedriver are not installed")


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,800", "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    # The page's own viewport, 1280x800 (a window that size has less room inside).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    yield driver
    driver.quit()


def _page(tmp_path, text, name="prog", program=None):
    if program is None:
        program = tmp_path / f"{name}.expr"
        program.write_text(text)
    out = CliRunner().invoke(cli, ["graph", str(program), "--format", "html"],
                             catch_exceptions=False)
    page = tmp_path / f"{name}.html"
    program = str(program)
    page.write_text(out.stdout)
    doc = json.loads(CliRunner().invoke(cli, ["eval", str(program), "--format", "json",
                                              "--trace"]).stdout)
    return page, doc


def _open(browser, page):
    browser.get(page.as_uri())
    browser.get_log("browser")  # start each page with an empty log
    return browser.execute_script(
        "return JSON.parse(document.getElementById('gradcli-view').textContent)")


def _json(element):
    return json.loads(element.get_attribute("data-json"))


def _visible(browser, selector):
    return browser.find_elements("css selector", f".variant:not([hidden]) {selector}")


def test_nodes_click_and_offline(browser, tmp_path):
    page, doc = _page(tmp_path, PRODUCT)
    view = _open(browser, page)
    assert len(_visible(browser, ".node.op")) == 3
    assert len(_visible(browser, ".node.leaf")) == 2
    w = next(i for i, n in view["nodes"].items() if n.get("variable") == "w")
    _visible(browser, f'.node[data-node="{w}"]')[0].click()
    details = browser.find_element("id", "details-body")
    k = view["passes"][0]["nodes"].index(w)
    step = doc["traces"][0]["steps"][k]
    assert "w = a * b" in details.text and "line 3" in details.text
    assert step["rule"] in details.text
    partials = details.find_elements("css selector", ".partial")
    assert [p.text.split(" = ")[:2] for p in partials] == [["∂w/∂a", "b"], ["∂w/∂b", "a"]]
    tensors = {t["name"]: t for t in doc["tensors"]}
    assert [_json(p.find_element("css selector", ".val")) for p in partials] == [
        tensors["b"]["data"], tensors["a"]["data"]]
    saved = details.find_elements("css selector", ".saved-entry")
    values = {s.text.split()[0]: _json(s.find_element("css selector", ".val")) for s in saved}
    assert values == {"a": tensors["a"]["data"], "b": tensors["b"]["data"]}
    assert all("(3,) float32 12 B" in s.text for s in saved)
    grad_in = details.find_element("css selector", ".grad-in .val")
    assert _json(grad_in) == step["grad_in"]
    sends = details.find_elements("css selector", ".send .val")
    assert [_json(s) for s in sends] == [s["grad"] for s in step["sends"]]
    line = browser.find_element("css selector", ".src-line.current")
    assert line.get_attribute("data-line") == "3"
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_stepping_follows_the_trace_and_grads_accumulate(browser, tmp_path):
    page, doc = _page(tmp_path, PRODUCT)
    view = _open(browser, page)
    first = doc["traces"][0]["steps"]
    nxt = browser.find_element("id", "next")
    live = browser.find_element("id", "live")
    assert live.get_attribute("aria-live") == "polite"
    for k, step in enumerate(first):
        nxt.click()
        assert browser.find_element("id", "counter").text == f"step {k + 1} / {len(first)}"
        running = _visible(browser, ".node.running")
        assert [r.get_attribute("data-node") for r in running] == [view["passes"][0]["nodes"][k]]
        assert live.text.startswith(f"step {k + 1} of {len(first)}: {step['node']}")
        grads = {li.get_attribute("data-name"): li for li in
                 browser.find_elements("css selector", "#grads-body li")}
        if step["kind"] == "accumulate":
            assert _json(grads[step["variable"]].find_element("css selector", ".val")) == \
                step["total"]
            if step["contributions"]:  # `a` reached along two edges: both additions show
                parts = grads[step["variable"]].find_elements("css selector", ".contribution")
                assert [_json(p) for p in parts] == [c["grad"] for c in step["contributions"]]
        if step.get("retained"):
            # w.grad after its first accumulation: this pass's gradient only.
            assert _json(grads["w"].find_element("css selector", ".val")) == \
                step["retained"]["grad"]
    nxt.click()  # past the end: stays
    assert browser.find_element("id", "counter").text.startswith(f"step {len(first)} /")
    # the second backward() call: pass 2, End
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "pass")).select_by_index(1)
    assert browser.find_element("id", "counter").text.startswith("step 0 /")
    browser.find_element("tag name", "body").send_keys("\ue010")  # End
    second = doc["traces"][1]["steps"]
    assert browser.find_element("id", "counter").text == f"step {len(second)} / {len(second)}"
    tensors = {t["name"]: t for t in doc["tensors"]}
    grads = {li.get_attribute("data-name"): li for li in
             browser.find_elements("css selector", "#grads-body li")}
    assert _json(grads["w"].find_element("css selector", ".val")) == tensors["w"]["grad"]
    assert _json(grads["a"].find_element("css selector", ".val")) == tensors["a"]["grad"]
    assert tensors["w"]["grad"] != next(s for s in first if s.get("retained"))["retained"]["grad"]
    # keyboard: Home, then → twice
    body = browser.find_element("tag name", "body")
    body.send_keys("\ue011")
    body.send_keys("\ue014")
    body.send_keys("\ue014")
    assert browser.find_element("id", "counter").text == f"step 2 / {len(second)}"
    # saved buffers freed by the last pass are marked
    browser.find_element("id", "last").click()
    assert _visible(browser, ".node.freed")
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def _png_pixels_vary(data: bytes) -> bool:
    """True unless the PNG is one flat colour (decoded with zlib: no imaging library)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width = struct.unpack(">I", body[:4])[0]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    return width > 0 and len(set(raw)) > 16


def test_mlp_page_screenshot_and_search(browser, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    page, doc = _page(tmp_path, "", "mlp", Path("examples/mlp_tanh_cross_entropy.expr"))
    view = _open(browser, page)
    nodes = [n for n in view["nodes"].values() if n["kind"] in ("op", "leaf")]
    assert len(_visible(browser, ".node.op")) + len(_visible(browser, ".node.leaf")) == \
        len(nodes)
    # the whole graph fits the 1280x800 window: every box inside the graph panel
    panel = browser.find_element("id", "graph-panel").rect
    for node in _visible(browser, ".node"):
        r = node.rect
        assert panel["x"] <= r["x"] and r["x"] + r["width"] <= panel["x"] + panel["width"] + 1
        assert panel["y"] <= r["y"] and r["y"] + r["height"] <= panel["y"] + panel["height"] + 1
    search = browser.find_element("id", "search")
    search.send_keys("W2")
    assert len(_visible(browser, ".node.match")) >= 1
    steps = doc["traces"][0]["steps"]
    tanh = next(k for k, s in enumerate(steps) if s["node"] == "TanhBackward0")
    for _ in range(tanh + 1):
        browser.find_element("id", "next").click()
    assert "TanhBackward0" in browser.find_element("id", "details-body").text
    shot = browser.get_screenshot_as_png()
    assert _png_pixels_vary(shot)
    search.clear()
    browser.execute_script("document.getElementById('search').dispatchEvent(new Event('input'))")
    if os.environ.get("GRADCLI_UPDATE_DOCS"):
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / "html_page.png").write_bytes(browser.get_screenshot_as_png())
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_groups_expand_and_collapse(browser, tmp_path):
    loop = ("x = torch.tensor(0.5, requires_grad=True)\nw = torch.tensor(0.9, requires_grad=True)\n"
            "y = x\nfor i in range(40):\n    y = torch.tanh(y * w + 0.1)\ny.backward()\n")
    page, _ = _page(tmp_path, loop, "loop")
    _open(browser, page)
    groups = _visible(browser, ".node.group")
    assert len(groups) == 1
    groups[0].click()
    assert len(_visible(browser, ".node.op")) == 120
    assert not _visible(browser, ".node.group")
    browser.find_element("id", "collapse").click()
    assert len(_visible(browser, ".node.group")) == 1
    browser.find_element("id", "last").click()  # the running node is inside the group
    assert _visible(browser, ".node.group.ran, .node.group.running")
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_passes_over_graphs_no_longer_held_still_show_each_step(browser, tmp_path):
    loop = ("w = torch.tensor(0.0, requires_grad=True)\nfor i in range(3):\n"
            "    loss = (w * 3.0 - 6.0) ** 2\n    loss.backward()\n"
            "    with torch.no_grad():\n        w -= 0.1 * w.grad\n    w.grad = None\n")
    page, doc = _page(tmp_path, loop, "gd")
    view = _open(browser, page)
    assert len(doc["traces"]) == 3 and None in view["passes"][0]["nodes"]
    browser.find_element("id", "next").click()
    details = browser.find_element("id", "details-body")
    first = doc["traces"][0]["steps"][0]
    assert first["node"] in details.text and "not in the drawing" in details.text
    assert _json(details.find_element("css selector", ".grad-in .val")) == first["grad_in"]
    assert not _visible(browser, ".node.running")
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "pass")).select_by_index(2)  # the graph drawn
    browser.find_element("id", "next").click()
    assert len(_visible(browser, ".node.running")) == 1
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
