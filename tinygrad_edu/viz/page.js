// The backward page: step through backward() over an SVG graph drawn by tinygrad_edu.viz.
// Every number shown comes from the recorded data below (autograd.trace() ran the real engine);
// this script only decides which recorded numbers are visible at step `pos`.
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const state = { ex: 0, pos: 0, view: "full", cameras: {} };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
const example = () => DATA.examples[state.ex];
const svgOf = () => $(`ex${state.ex}-${state.view}`);

// ---------------------------------------------------------------- state of each element at `pos`
function nodeState(members, ex, pos) {
  const current = pos < ex.steps.length ? ex.steps[pos].node : -1;
  if (members.includes(current)) return "current";
  const steps = members.map((m) => ex.nodes[m].step).filter((s) => s !== null);
  if (!steps.length) return "idle";
  return steps.every((s) => s < pos) ? "done" : "pending";
}

function valueLine(members, ex, pos) {
  if (members.length > 1) {
    const ran = members.filter((m) => ex.nodes[m].step !== null && ex.nodes[m].step < pos).length;
    return ran ? `✓ ${ran}/${members.length} ran` : "";
  }
  const node = ex.nodes[members[0]];
  const step = node.step === null ? null : ex.steps[node.step];
  if (node.kind === "leaf") {
    const filled = step && node.step < pos;
    return ".grad " + (filled ? step.grad_short : node.before_short || "None");
  }
  return step && node.step < pos ? "✓ got " + step.received_short : "";
}

function render() {
  const ex = example(), pos = state.pos, svg = svgOf();
  for (const s of document.querySelectorAll("svg.graph")) s.toggleAttribute("hidden", s !== svg);
  const current = pos < ex.steps.length ? ex.steps[pos].node : -1;
  for (const g of svg.querySelectorAll(".node")) {
    const members = g.dataset.members.split(" ").map(Number);
    const st = nodeState(members, ex, pos);
    for (const c of ["current", "done", "pending", "idle"]) g.classList.toggle(c, c === st);
    g.querySelector("text.val").textContent = valueLine(members, ex, pos);
  }
  for (const g of svg.querySelectorAll(".edge")) {
    const ks = g.dataset.edges.split(" ").map(Number);
    const sent = ks.filter((k) => ex.edges[k].step !== null && ex.edges[k].step < pos);
    g.classList.toggle("done", sent.length > 0);
    g.classList.toggle("incoming", sent.some((k) => ex.edges[k].to === current));
    g.querySelector("text").textContent = sent.length === 1 && ks.length === 1 ? ex.edges[ks[0]].short
      : sent.length ? `${sent.length} grads` : "";
  }
  renderNow(ex, pos);
  renderLeaves(ex, pos);
  renderOrder(ex, pos);
  $("counter").textContent = pos < ex.steps.length ? `step ${pos + 1} of ${ex.steps.length}`
    : `done: ${ex.steps.length} of ${ex.steps.length} ran`;
  follow(svg);
}

// ---------------------------------------------------------------- the side panel
function renderNow(ex, pos) {
  const now = $("now");
  now.replaceChildren();
  if (pos >= ex.steps.length) {
    now.append(el("h2", {}, "backward() is done"),
      el("p", {}, "Every node ran once, in the order below; each leaf's .grad holds what the engine added."));
    const last = ex.steps.find((s) => s.note && s.kind === "leaf");
    if (last) now.append(el("p", { class: "note" }, last.note));
    return;
  }
  const s = ex.steps[pos];
  const group = ex.groups.find((g) => g.members.includes(s.node));
  now.append(el("h2", {}, `Now running: ${s.name}` + (s.kind === "leaf" ? ` (${s.label})` : "")
    + (group ? `, in ${group.lines[0]}` : "")));
  if (s.note) now.append(el("p", { class: "note" }, s.note));
  const dl = el("dl");
  dl.append(el("dt", {}, "Receives"));
  if (!s.arrivals.length) {
    dl.append(el("dd", {}, el("code", {}, `grad = ${s.received[0]}`), " (where backward() starts)"));
  } else {
    for (const a of s.arrivals) {
      dl.append(el("dd", {}, `from step ${a.step + 1} (${ex.nodes[a.from].name}): `, el("code", {}, a.text)));
    }
    if (s.arrivals.length > 1) {
      dl.append(el("dd", {}, "summed by the engine before this node runs: ",
        el("code", {}, `grad = ${s.received[0]}`)));
    }
  }
  if (s.saved.length || s.attributes.length) {
    dl.append(el("dt", {}, "Saved in forward"));
    for (const [name, value] of [...s.saved, ...s.attributes]) {
      dl.append(el("dd", {}, el("code", {}, `${name} = ${value}`)));
    }
  }
  dl.append(el("dt", {}, s.kind === "leaf" ? "Adds into .grad" : "Local derivative, and what it sends"));
  for (const send of s.sends) {
    const dd = el("dd", {}, el("code", { class: "eq" }, `${s.name}: ${send.formula}`));
    if (send.numbers) dd.append(el("code", { class: "eq numbers" }, "= " + send.numbers));
    if (send.to === ".grad") {
      dd.append(el("span", { class: "eq" }, ".grad: ", el("code", {}, s.grad_before || "None"), " → ",
        el("code", { class: "numbers" }, send.text)));
    } else if (send.text === null) {
      dd.append(el("span", { class: "eq" }, "sends nothing: this input needs no gradient"));
    } else {
      dd.append(el("span", { class: "eq" }, `to ${send.to}: `, el("code", { class: "numbers" }, send.text)));
    }
    dl.append(dd);
  }
  now.append(dl);
}

function renderLeaves(ex, pos) {
  const rows = ex.nodes.filter((n) => n.kind === "leaf")
    .sort((a, b) => (a.step === null ? 1e9 : a.step) - (b.step === null ? 1e9 : b.step));
  $("leaves").replaceChildren(el("tr", {}, el("th", {}, "leaf"), el("th", {}, "shape"), el("th", {}, ".grad")),
    ...rows.map((n) => {
      const filled = n.step !== null && n.step < pos;
      const grad = filled ? ex.steps[n.step].grad_after : n.before || "None";
      return el("tr", { class: filled ? "filled" : "", "data-node": n.id }, el("td", {}, n.lines[0]),
        el("td", { class: "mono" }, n.lines[1]), el("td", { class: "grad", "data-leaf": n.lines[0] }, grad));
    }));
}

function renderOrder(ex, pos) {
  const ol = $("order");
  if (ol.dataset.ex !== String(state.ex)) {
    ol.replaceChildren(...ex.steps.map((s, k) => {
      const li = el("li", { tabindex: "0" }, s.kind === "leaf" ? `AccumulateGrad (${s.label})` : s.name);
      li.addEventListener("click", () => go(k));
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") go(k); });
      return li;
    }));
    ol.dataset.ex = String(state.ex);
  }
  [...ol.children].forEach((li, k) => {
    li.className = k < pos ? "done" : k === pos ? "current" : "";
    if (k === pos) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
  });
}

// ---------------------------------------------------------------- zoom and pan
function camera(svg) {
  if (!state.cameras[svg.id]) {
    const w = svg.clientWidth || 800, h = svg.clientHeight || 600;
    const gw = Number(svg.dataset.width), gh = Number(svg.dataset.height);
    const s = 1;  // text at its size (14px); "fit" or the wheel give the overview
    state.cameras[svg.id] = { s, tx: Math.max(0, (w - gw * s) / 2), ty: 0 };
  }
  return state.cameras[svg.id];
}
function apply(svg) {
  const c = camera(svg);
  svg.querySelector(".camera").setAttribute("transform", `translate(${c.tx},${c.ty}) scale(${c.s})`);
}
function zoom(factor, cx, cy) {
  const svg = svgOf(), c = camera(svg);
  cx = cx ?? svg.clientWidth / 2; cy = cy ?? svg.clientHeight / 2;
  const s = Math.min(4, Math.max(0.1, c.s * factor));
  c.tx = cx - (cx - c.tx) * (s / c.s); c.ty = cy - (cy - c.ty) * (s / c.s); c.s = s;
  apply(svg);
}
function fit() {
  const svg = svgOf(), c = camera(svg);
  const s = Math.min(svg.clientWidth / svg.dataset.width, svg.clientHeight / svg.dataset.height, 1);
  Object.assign(c, { s, tx: (svg.clientWidth - svg.dataset.width * s) / 2, ty: 0 });
  apply(svg);
}
function follow(svg) {  // keep the running node in view
  apply(svg);
  const g = svg.querySelector(".node.current");
  if (!g) return;
  const c = camera(svg), x = Number(g.dataset.x) * c.s + c.tx, y = Number(g.dataset.y) * c.s + c.ty;
  const w = svg.clientWidth, h = svg.clientHeight;
  if (x < 60 || x > w - 60 || y < 40 || y > h - 40) {
    c.tx += w / 2 - x; c.ty += h / 2 - y;
    apply(svg);
  }
}
function panAndZoom(svg) {
  let drag = null;
  svg.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY };
    svg.setPointerCapture(e.pointerId);
    svg.classList.add("dragging");
  });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const c = camera(svg);
    c.tx += e.clientX - drag.x; c.ty += e.clientY - drag.y;
    drag = { x: e.clientX, y: e.clientY };
    apply(svg);
  });
  svg.addEventListener("pointerup", () => { drag = null; svg.classList.remove("dragging"); });
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
}

// ---------------------------------------------------------------- controls
function go(pos) {
  state.pos = Math.max(0, Math.min(example().steps.length, pos));
  render();
}
function setView(view) {
  if (view === "collapsed" && !example().views.includes("collapsed")) return;
  state.view = view;
  $("collapse").setAttribute("aria-pressed", String(view === "collapsed"));
  render();
}
function setExample(k) {
  state.ex = k;
  state.pos = 0;
  const ex = example();
  state.view = ex.views.includes("collapsed") && ex.nodes.length > 16 ? "collapsed" : "full";
  $("collapse").disabled = !ex.views.includes("collapsed");
  $("collapse").setAttribute("aria-pressed", String(state.view === "collapsed"));
  $("title").textContent = ex.title;
  document.querySelectorAll("#examples button").forEach((b, i) => b.setAttribute("aria-pressed", String(i === k)));
  render();
}

const KEYS = {
  ArrowRight: () => go(state.pos + 1), ArrowDown: () => go(state.pos + 1), " ": () => go(state.pos + 1),
  ArrowLeft: () => go(state.pos - 1), ArrowUp: () => go(state.pos - 1),
  Home: () => go(0), End: () => go(Infinity),
  "+": () => zoom(1.25), "=": () => zoom(1.25), "-": () => zoom(1 / 1.25), "0": fit,
  c: () => setView(state.view === "full" ? "collapsed" : "full"),
};
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const action = KEYS[e.key] || (/^[1-9]$/.test(e.key) && Number(e.key) <= DATA.examples.length
    ? () => setExample(Number(e.key) - 1) : null);
  if (!action) return;
  if (e.key === " " && e.target.tagName === "BUTTON") return;  // a focused button takes its own Space
  e.preventDefault();
  action();
});
$("first").onclick = () => go(0);
$("back").onclick = () => go(state.pos - 1);
$("next").onclick = () => go(state.pos + 1);
$("last").onclick = () => go(Infinity);
$("collapse").onclick = () => setView(state.view === "full" ? "collapsed" : "full");
$("zoomin").onclick = () => zoom(1.25);
$("zoomout").onclick = () => zoom(1 / 1.25);
$("fit").onclick = fit;
document.querySelectorAll("#examples button").forEach((b, i) => { b.onclick = () => setExample(i); });
document.querySelectorAll("svg.graph").forEach(panAndZoom);
window.addEventListener("resize", () => { state.cameras = {}; render(); });
setExample(0);
document.body.dataset.readyMs = performance.now().toFixed(1);  // since navigation started
document.body.dataset.ready = "true";
