// gradcli's page: click a node for its details, step through each backward pass in the
// order the engine ran it. Reads the two JSON blocks; computes nothing but what to show.
(function () {
  "use strict";
  var doc = JSON.parse(document.getElementById("gradcli-doc").textContent);
  var view = JSON.parse(document.getElementById("gradcli-view").textContent);
  var traces = doc.traces || [];
  var panel = document.getElementById("graph-panel");
  var variants = [].slice.call(panel.querySelectorAll(".variant"));
  var state = { pass: 0, step: 0, selected: null, open: [], timer: null, drag: null };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function num(x) {
    if (typeof x === "boolean") { return x ? "True" : "False"; }
    if (typeof x !== "number") { return String(x); }
    return String(parseFloat(x.toPrecision(6)));
  }
  function fmt(v, room) {
    // Nested lists as PyTorch writes them on one line, cut after `room` numbers.
    room = room || 24;
    var count = 0;
    function walk(x) {
      if (!Array.isArray(x)) { count += 1; return count > room ? "…" : num(x); }
      var parts = [];
      for (var i = 0; i < x.length; i++) {
        if (count >= room) { parts.push("…"); break; }
        parts.push(walk(x[i]));
      }
      return "[" + parts.join(", ") + "]";
    }
    return v === null || v === undefined ? "None" : walk(v);
  }
  function value(v, room) {
    var s = el("span", "val", fmt(v, room));
    s.setAttribute("data-json", JSON.stringify(v === undefined ? null : v));
    return s;
  }
  function row(dl, label, content) {
    dl.appendChild(el("dt", "", label));
    var dd = el("dd");
    (Array.isArray(content) ? content : [content]).forEach(function (c) {
      dd.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    dl.appendChild(dd);
    return dd;
  }

  // ----- the drawing on screen -----
  function svgNow() {
    for (var i = 0; i < variants.length; i++) {
      if (!variants[i].hidden) { return variants[i].querySelector("svg"); }
    }
    return null;
  }
  function boxesOf(id) {
    // The box of a node (several for an input drawn beside each use), or its group's box.
    var svg = svgNow();
    if (!svg || !id) { return []; }
    var found = [].slice.call(svg.querySelectorAll('.node[data-node="' + id + '"]'));
    if (found.length) { return found; }
    return [].filter.call(svg.querySelectorAll(".node.group"), function (g) {
      return (" " + g.getAttribute("data-members") + " ").indexOf(" " + id + " ") >= 0;
    });
  }
  function boxOf(id) { return boxesOf(id)[0] || null; }
  function showVariant() {
    var key = state.open.slice().sort().join(" ");
    var pick = variants[0];
    variants.forEach(function (v) { if (v.getAttribute("data-open") === key) { pick = v; } });
    if (state.open.length && pick === variants[0]) { pick = variants[variants.length - 1]; }
    variants.forEach(function (v) { v.hidden = v !== pick; });
    $("collapse").hidden = state.open.length === 0;
    fit();
    update();
  }

  // ----- pan and zoom (the SVG's viewBox) -----
  function box(svg) {
    var b = svg.getAttribute("viewBox").split(" ").map(Number);
    return { x: b[0], y: b[1], w: b[2], h: b[3] };
  }
  function setBox(svg, b) { svg.setAttribute("viewBox", [b.x, b.y, b.w, b.h].join(" ")); }
  function fit() {
    var svg = svgNow();
    if (!svg) { return; }
    if (!svg.getAttribute("data-full")) { svg.setAttribute("data-full", svg.getAttribute("viewBox")); }
    var b = svg.getAttribute("data-full").split(" ").map(Number);
    var scale = Math.min(panel.clientWidth / b[2], panel.clientHeight / b[3]);
    if (scale > 1.4) {
      // A small graph is not blown up past 1.4x: it stays centred at that size.
      var w = panel.clientWidth / 1.4, h = panel.clientHeight / 1.4;
      b = [b[0] + b[2] / 2 - w / 2, b[1] + b[3] / 2 - h / 2, w, h];
    }
    svg.setAttribute("viewBox", b.join(" "));
  }
  function zoom(factor, cx, cy) {
    var svg = svgNow();
    if (!svg) { return; }
    var b = box(svg);
    cx = cx === undefined ? b.x + b.w / 2 : cx;
    cy = cy === undefined ? b.y + b.h / 2 : cy;
    setBox(svg, { x: cx - (cx - b.x) * factor, y: cy - (cy - b.y) * factor,
                  w: b.w * factor, h: b.h * factor });
  }
  function unitsPerPixel(svg) {
    var b = box(svg);
    return Math.max(b.w / panel.clientWidth, b.h / panel.clientHeight);
  }
  function centre(g) {
    var svg = svgNow();
    if (!svg || !g) { return; }
    var r = g.querySelector("rect");
    var b = box(svg);
    var x = +r.getAttribute("x") + +r.getAttribute("width") / 2;
    var y = +r.getAttribute("y") + +r.getAttribute("height") / 2;
    if (x < b.x || x > b.x + b.w || y < b.y || y > b.y + b.h) {
      setBox(svg, { x: x - b.w / 2, y: y - b.h / 2, w: b.w, h: b.h });
    }
  }
  panel.addEventListener("wheel", function (e) {
    var svg = svgNow();
    if (!svg) { return; }
    e.preventDefault();
    var rect = svg.getBoundingClientRect(), b = box(svg), u = unitsPerPixel(svg);
    var cx = b.x + b.w / 2 + (e.clientX - rect.left - rect.width / 2) * u;
    var cy = b.y + b.h / 2 + (e.clientY - rect.top - rect.height / 2) * u;
    zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, cx, cy);
  }, { passive: false });
  panel.addEventListener("mousedown", function (e) {
    var svg = svgNow();
    if (svg && !e.target.closest(".node")) {
      state.drag = { x: e.clientX, y: e.clientY, b: box(svg), u: unitsPerPixel(svg) };
    }
  });
  window.addEventListener("mousemove", function (e) {
    var d = state.drag, svg = svgNow();
    if (!d || !svg) { return; }
    setBox(svg, { x: d.b.x - (e.clientX - d.x) * d.u, y: d.b.y - (e.clientY - d.y) * d.u,
                  w: d.b.w, h: d.b.h });
  });
  window.addEventListener("mouseup", function () { state.drag = null; });

  // ----- what happened in the chosen pass up to the current step -----
  function trace() { return traces[state.pass] || { steps: [] }; }
  function stepNodes() { return (view.passes[state.pass] || { nodes: [] }).nodes; }
  function stepOf(id) {
    var nodes = stepNodes();
    for (var i = 0; i < nodes.length; i++) { if (nodes[i] === id) { return i; } }
    return -1;
  }
  function leafSteps(id) {
    var nodes = stepNodes(), out = [];
    for (var i = 0; i < nodes.length; i++) { if (nodes[i] === id) { out.push(i); } }
    return out;
  }

  function update() {
    var svg = svgNow(), steps = trace().steps, nodes = stepNodes();
    var running = state.step > 0 ? nodes[state.step - 1] : null;
    if (svg) {
      [].forEach.call(svg.querySelectorAll(".running, .ran, .freed"), function (e) {
        e.classList.remove("running", "ran", "freed");
      });
      for (var i = 0; i < state.step; i++) {
        var cls = i === state.step - 1 ? "running" : "ran", freed = steps[i].saved === "freed";
        boxesOf(nodes[i]).forEach(function (g) {
          g.classList.remove("ran");
          g.classList.add(cls);
          if (freed) { g.classList.add("freed"); }
          [].forEach.call(svg.querySelectorAll('.edge[data-target="' + g.getAttribute("data-node") + '"]'),
            function (e) { e.classList.remove("ran"); e.classList.add(cls); });
        });
      }
      [].forEach.call(svg.querySelectorAll(".node.selected"), function (e) { e.classList.remove("selected"); });
      boxesOf(state.selected).forEach(function (g) { g.classList.add("selected"); });
    }
    $("counter").textContent = "step " + state.step + " / " + steps.length;
    var line = null;
    [].forEach.call(document.querySelectorAll(".src-line"), function (e) {
      e.classList.remove("current", "running");
    });
    if (state.step > 0) { markLine(steps[state.step - 1].line, "running"); }
    var info = view.nodes[state.selected];
    if (info) { line = info.line || (info.kind === "const" ? (view.nodes[info.target] || {}).line : null); }
    markLine(line, "current");
    showGrads();
    if (state.selected) { showNode(state.selected); }
    else if (state.step > 0 && !nodes[state.step - 1]) { showNode(null, state.step - 1); }
    if (running === undefined) { running = null; }
  }
  function markLine(line, cls) {
    if (!line) { return; }
    var e = document.querySelector('.src-line[data-line="' + line + '"]');
    if (e) {
      e.classList.add(cls);
      e.scrollIntoView({ block: "nearest" });
    }
  }

  function narrate() {
    var steps = trace().steps;
    if (state.step === 0) {
      $("live").textContent = traces.length ? "pass " + (state.pass + 1) + ": before the first step" : "";
      return;
    }
    var s = steps[state.step - 1], who = s.variable ? " · " + s.variable : "";
    var text = "step " + state.step + " of " + steps.length + ": " + s.node + who;
    if (s.kind === "accumulate") {
      text += " · " + (s.variable || "leaf") + ".grad = " + fmt(s.total, 6);
    } else {
      text += " · grad in " + (s.outputs ? s.outputs.map(function (o) {
        return o.grad === null ? "none" : fmt(o.grad, 4); }).join(" | ") : fmt(s.grad_in, 6));
      s.sends.forEach(function (send) {
        if (send.to) { text += " · sends " + fmt(send.grad, 4) + " to " + send.input; }
      });
      if (s.saved === "freed") { text += " · saved tensors freed"; }
    }
    $("live").textContent = text;
  }

  function showGrads() {
    var body = $("grads-body"), steps = trace().steps;
    body.textContent = "";
    $("grads").hidden = !traces.length;
    var list = el("ul");
    for (var i = 0; i < state.step; i++) {
      var s = steps[i];
      if (s.kind === "accumulate") {
        var li = el("li", "grad-step"), name = s.variable || "leaf";
        li.setAttribute("data-name", name);
        li.setAttribute("data-step", i + 1);
        li.appendChild(document.createTextNode(name + ".grad = "));
        if (s.previous !== null && s.previous !== undefined) {
          li.appendChild(el("span", "note", fmt(s.previous, 4) + " (before) + "));
        }
        if (s.contributions.length) {
          // Reached along several edges: the engine summed them before adding.
          s.contributions.forEach(function (c, j) {
            var part = el("span", "contribution", (j ? " + " : "(") + fmt(c.grad, 4));
            part.setAttribute("data-json", JSON.stringify(c.grad));
            part.title = "from " + c.from;
            li.appendChild(part);
          });
          li.appendChild(document.createTextNode(") = "));
        } else if (s.previous !== null && s.previous !== undefined) {
          li.appendChild(document.createTextNode(fmt(s.grad_in, 4) + " = "));
        }
        li.appendChild(value(s.total, 8));
        list.appendChild(li);
      } else if (s.retained) {
        var r = el("li", "grad-step", s.retained.name + ".grad = ");
        r.setAttribute("data-name", s.retained.name);
        r.setAttribute("data-step", i + 1);
        r.appendChild(value(s.retained.grad, 8));
        r.appendChild(el("span", "note", "  (retain_grad)"));
        list.appendChild(r);
      }
    }
    if (!list.children.length) {
      body.appendChild(el("p", "hint", state.step ? "no leaf reached yet" : "step forward to see .grad fill in"));
    } else {
      body.appendChild(list);
    }
  }

  // ----- the details panel -----
  function stepInfo(k) {
    // A step whose node is not drawn (the program built a new graph for a later pass):
    // what the trace says about it.
    var s = trace().steps[k];
    return { kind: s.kind === "accumulate" ? "leaf" : "op", name: s.kind === "accumulate" ?
      (s.variable || "leaf") : s.node, variable: s.variable, expression: s.expression,
      line: s.line, saved: [], undrawn: true };
  }
  function showNode(id, only) {
    var info = only === undefined ? view.nodes[id] : stepInfo(only), body = $("details-body");
    body.textContent = "";
    if (!info) { return; }
    var head = el("h3", "", info.kind === "op" ? info.name : info.name);
    head.appendChild(el("span", "kind", "  " + {op: "backward node", leaf: "leaf", const: "input without grad",
      output: "output", group: "group"}[info.kind]));
    body.appendChild(head);
    var dl = el("dl");
    body.appendChild(dl);
    if (info.kind === "op") {
      var forward = info.variable && info.expression && info.variable !== info.expression ?
        info.variable + " = " + info.expression : (info.expression || info.variable || "");
      var at = info.line ? "line " + info.line + (info.where ? (info.where.indexOf("in ") === 0 ? " " : ", ") + info.where : "") : "";
      if (forward) { row(dl, "forward", forward + (at ? "   (" + at + ")" : "")); }
    }
    if (info.shape) { row(dl, "shape", info.shape + " " + (info.dtype || "")); }
    if (info.kind === "const") { row(dl, "note", "requires_grad=False: no gradient flows to it"); }
    if (info.kind === "output") { row(dl, "note", "gradient starts here: backward() seeds it with ones"); }
    var k = only === undefined ? stepOf(id) : only, steps = trace().steps;
    if (info.undrawn) {
      row(dl, "note", "not in the drawing: the graph drawn is the one the program's tensors " +
        "hold at the end; this pass ran an earlier one");
    }
    if (info.kind === "op") {
      var s = k >= 0 ? steps[k] : null;
      if (s) {
        row(dl, "rule", s.rule);
        var partials = view.passes[state.pass].partials[k] || [];
        var dd = row(dl, "partials", []);
        dd.classList.add("partials");
        partials.forEach(function (p) {
          var line = el("div", "partial", p.text);
          if (p.value !== null && p.value !== undefined) {
            line.appendChild(document.createTextNode(" = "));
            line.appendChild(value(p.value));
          }
          dd.appendChild(line);
        });
        if (!partials.length) { dd.appendChild(el("span", "note", "(a Jacobian, not one number per element)")); }
      }
      var saved = row(dl, "saved", []);
      saved.classList.add("saved");
      if (!info.saved.length) { saved.appendChild(el("span", "note", info.undrawn ? "not recorded" : "nothing")); }
      info.saved.forEach(function (e) {
        var line = el("div", "saved-entry", e.what + "  " + e.shape + " " + e.dtype + "  " +
          e.bytes.toLocaleString("en") + " B = ");
        line.appendChild(value(e.value));
        saved.appendChild(line);
      });
      if (s) {
        if (s.saved === "freed") {
          saved.appendChild(el("div", "note", state.step > k ? "freed by this backward pass (step " + (k + 1) + ")" :
            "freed at step " + (k + 1)));
        }
        var gin = row(dl, "grad in", []);
        gin.classList.add("grad-in");
        (s.outputs || []).forEach(function (o) {
          // A node with several outputs (unbind): one gradient per output.
          gin.appendChild(document.createTextNode("output " + o.output + (o.name ? " (" + o.name + ")" : "") + ": "));
          gin.appendChild(o.grad === null ? el("span", "note", "none (zeros)") : value(o.grad));
          gin.appendChild(el("br"));
        });
        s.contributions.forEach(function (c) {
          gin.appendChild(document.createTextNode("+ "));
          gin.appendChild(value(c.grad));
          gin.appendChild(el("span", "note", "  from " + c.from));
          gin.appendChild(el("br"));
        });
        if (s.contributions.length) { gin.appendChild(document.createTextNode("= ")); }
        if (!s.outputs) { gin.appendChild(value(s.grad_in)); }
        var sends = row(dl, "sends", []);
        sends.classList.add("sends");
        s.sends.forEach(function (send) {
          var line = el("div", "send");
          line.setAttribute("data-input", send.input);
          if (!send.to) {
            line.appendChild(el("span", "note", "nothing to " + send.input + " (needs no gradient)"));
          } else {
            line.appendChild(document.createTextNode("to " + send.input + ": " + (send.formula || "grad") + " = "));
            line.appendChild(value(send.grad));
            line.appendChild(el("span", "note", "  → " + send.to_label));
          }
          sends.appendChild(line);
        });
        if (s.retained) {
          var kept = row(dl, "retained", s.retained.name + ".grad = ");
          kept.appendChild(value(s.retained.grad));
        }
        row(dl, "step", "ran at step " + (k + 1) + " of pass " + (state.pass + 1) +
          (state.step > k ? "" : " (not yet reached)"));
      } else if (traces.length) {
        row(dl, "step", "not run by pass " + (state.pass + 1));
      }
    }
    if (info.kind === "leaf") {
      row(dl, "rule", "AccumulateGrad: adds each gradient that reaches it into " + info.name + ".grad");
      var uses = row(dl, "partials", []);
      uses.classList.add("partials");
      steps.forEach(function (st, i) {
        if (st.kind !== "node") { return; }
        st.sends.forEach(function (send) {
          if (send.to_label !== info.name + ".grad" || !send.to) { return; }
          var shown = false;
          (view.passes[state.pass].partials[i] || []).forEach(function (p) {
            if (p.text.indexOf("/∂" + send.input + " = ") < 0) { return; }
            var line = el("div", "partial", p.text);
            if (p.value !== null && p.value !== undefined) {
              line.appendChild(document.createTextNode(" = "));
              line.appendChild(value(p.value));
            }
            line.appendChild(el("span", "note", "  (" + st.node + ", step " + (i + 1) + ")"));
            uses.appendChild(line);
            shown = true;
          });
          if (!shown) {
            uses.appendChild(el("div", "partial note", st.node + " (step " + (i + 1) + ") sends " +
              (send.formula || "grad") + ": a Jacobian product, not one number per element"));
          }
        });
      });
      var got = row(dl, "grad", []);
      got.classList.add("leaf-grad");
      var mine = only === undefined ? leafSteps(id) : [only];
      var reached = mine.filter(function (i) { return i < state.step; });
      if (!mine.length) { got.appendChild(el("span", "note", "not reached by this pass")); }
      else if (!reached.length) { got.appendChild(el("span", "note", "not reached yet (step " + (mine[0] + 1) + ")")); }
      reached.forEach(function (i) {
        var st = steps[i], line = el("div", "accumulation");
        line.appendChild(document.createTextNode("step " + (i + 1) + ": " + info.name + ".grad " +
          (st.previous === null || st.previous === undefined ? "= " : "= " + fmt(st.previous, 6) + " + " + fmt(st.grad_in, 6) + " = ")));
        line.appendChild(value(st.total));
        got.appendChild(line);
      });
    }
  }

  // ----- controls -----
  function go(step) {
    var n = trace().steps.length;
    state.step = Math.max(0, Math.min(n, step));
    var nodes = stepNodes();
    if (state.step > 0) {
      state.selected = nodes[state.step - 1] || null;
      centre(boxOf(state.selected));
    }
    update();
    narrate();
  }
  function stop() {
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    $("play").textContent = "▶ play";
  }
  function play() {
    if (state.timer) { stop(); return; }
    if (state.step >= trace().steps.length) { go(0); }
    $("play").textContent = "❚❚ pause";
    state.timer = setInterval(function () {
      if (state.step >= trace().steps.length) { stop(); return; }
      go(state.step + 1);
    }, 900);
  }
  function select(id) {
    var info = view.nodes[id];
    if (!info && id && id.charAt(0) === "g") {
      state.open.push(id);
      showVariant();
      return;
    }
    state.selected = id;
    update();
  }

  panel.addEventListener("click", function (e) {
    var g = e.target.closest ? e.target.closest(".node") : null;
    if (g) { select(g.getAttribute("data-node")); }
  });
  panel.addEventListener("keydown", function (e) {
    var g = e.target.closest ? e.target.closest(".node") : null;
    if (g && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); select(g.getAttribute("data-node")); }
  });
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") { return; }
    if (e.key === "ArrowRight") { stop(); go(state.step + 1); }
    else if (e.key === "ArrowLeft") { stop(); go(state.step - 1); }
    else if (e.key === "Home") { stop(); go(0); }
    else if (e.key === "End") { stop(); go(trace().steps.length); }
    else if (e.key === " " && !(e.target.closest && e.target.closest(".node"))) { play(); }
    else { return; }
    e.preventDefault();
  });
  $("first").addEventListener("click", function () { stop(); go(0); });
  $("prev").addEventListener("click", function () { stop(); go(state.step - 1); });
  $("next").addEventListener("click", function () { stop(); go(state.step + 1); });
  $("last").addEventListener("click", function () { stop(); go(trace().steps.length); });
  $("play").addEventListener("click", play);
  $("zoom-in").addEventListener("click", function () { zoom(1 / 1.25); });
  $("zoom-out").addEventListener("click", function () { zoom(1.25); });
  $("fit").addEventListener("click", fit);
  $("collapse").addEventListener("click", function () { state.open = []; showVariant(); });
  $("pass").addEventListener("change", function () {
    stop();
    state.pass = +$("pass").value;
    go(0);
  });
  $("search").addEventListener("input", function () { search(false); });
  $("search").addEventListener("keydown", function (e) { if (e.key === "Enter") { search(true); } });
  function search(jump) {
    var q = $("search").value.trim().toLowerCase(), svg = svgNow(), first = null;
    if (!svg) { return; }
    [].forEach.call(svg.querySelectorAll(".node"), function (g) {
      var t = g.querySelector("title").textContent.toLowerCase();
      var hit = q && t.indexOf(q) >= 0;
      g.classList.toggle("match", !!hit);
      if (hit && !first) { first = g; }
    });
    if (jump && first) { centre(first); select(first.getAttribute("data-node")); }
  }

  traces.forEach(function (t, i) {
    var o = el("option", "", "pass " + (i + 1) + (t.line ? " · line " + t.line : "") + (t.call ? " · " + t.call : ""));
    o.value = i;
    $("pass").appendChild(o);
  });
  $("controls").hidden = false;
  if (!traces.length) {
    ["first", "prev", "play", "next", "last", "pass"].forEach(function (id) { $(id).disabled = true; });
  }
  fit();
  go(0);
})();
