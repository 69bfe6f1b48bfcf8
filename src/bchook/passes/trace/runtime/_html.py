"""The HTML report: one self-contained page (no network) with every view of a profile.

Views: a flame graph (zoom on click, search; d3-flame-graph), the function table
(sortable), the call tree with percentages, a timeline per thread (when one was
recorded) and, with ``lines=count``, a heat view of the hottest files' lines. A diff page
(``bchook trace diff``) shows the same views coloured by the change from a baseline.

The renderer is vendored in ``vendor/`` (d3 and d3-flame-graph from the npm registry, with
their licenses; ``tools/refresh_flamegraph.py`` refreshes them) and inlined. d3-flame-graph
rather than speedscope: it is a component, not an application (speedscope loads profiles
from a URL or a dropped file and draws them with WebGL), it brings click-zoom, search and
a differential colouring for the diff page, and its frames are SVG elements that a test
(and a screen reader) can see. The views are
computed here, the page only draws them; the page also carries the whole profile
(:func:`._writers.profile_data`), so ``bchook trace merge`` and ``diff`` read it back.
"""

from __future__ import annotations

import html
import json
import linecache
import os
from importlib import resources

from ._profile import Profile
from ._summary import Namer, duration, flat

__all__ = ["page", "diff_page", "DATA_ID"]

DATA_ID = "bchook-profile"
#: Files of the heat view (lines=count): the hottest ones, at most this many.
HEAT_FILES = 8
HEAT_MAX_LINES = 5000


def _vendor(name: str) -> str:
    return resources.files(__package__).joinpath("vendor", name).read_text("utf-8")


def _script_json(obj) -> str:
    # "<" only occurs inside JSON strings, where \u003c means the same: no "</script>"
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")


def _flame(profile: Profile, namer: Namer):
    """The call tree with every thread's calls merged by path, as nested dicts keyed by
    (file as the summary names it, qualified name), so that two profiles line up
    even where line numbers moved."""
    keys = [(namer.path(f.filename), f.qualname) for f in profile.functions]
    root = {"key": None, "v": 0, "o": 0, "k": 0, "kids": {}, "loc": ""}
    merged: list = [None] * len(profile.nodes)
    for thread in profile.threads:
        merged[thread.root] = root
    for i, node in enumerate(profile.nodes):
        if node.parent < 0:
            if merged[i] is None:
                merged[i] = root
            continue
        up = merged[node.parent]
        if up is None:
            continue
        f = profile.functions[node.func]
        key = keys[node.func]
        m = up["kids"].get(key)
        if m is None:
            m = up["kids"][key] = {"key": key, "v": 0, "o": 0, "k": 0, "kids": {},
                                   "loc": f"{key[0]}:{f.lineno}"}
        m["v"] += node.total_ns
        m["o"] += node.own_ns
        m["k"] += node.count
        merged[i] = m
    root["v"] = sum(k["v"] for k in root["kids"].values())
    return root


def _emit(node: dict, base: dict | None) -> dict:
    """Nested dicts -> d3-flame-graph's input: n(ame), v(alue: total ns), c(hildren),
    plus o(wn ns), k (calls), l(ocation); with a baseline, d (own ns change) and b (the
    baseline's total) for the differential colours."""
    out = {"n": node["key"][1] if node["key"] else "all", "v": node["v"], "o": node["o"],
           "k": node["k"], "l": node["loc"]}
    if base is not None:
        out["d"] = node["o"] - base["o"]
        out["b"] = base["v"]
    kids = []
    for key, child in sorted(node["kids"].items(), key=lambda kv: -kv[1]["v"]):
        other = base["kids"].get(key) if base is not None else None
        if other is None and base is not None:
            other = {"v": 0, "o": 0, "kids": {}}
        kids.append(_emit(child, other))
    if base is not None:  # calls that only the baseline made: gone, shown with no width
        for key, child in base["kids"].items():
            if key not in node["kids"]:
                gone = {"key": key, "v": 0, "o": 0, "k": 0, "kids": {}, "loc": child["loc"]}
                kids.append(_emit(gone, child))
    if kids:
        out["c"] = kids
    return out


def _table(profile: Profile, namer: Namer) -> list:
    """[location, qualified name, calls, primitive calls, own ns, cumulative ns]"""
    return [[r.name.split(" ", 1)[0], r.name.split(" ", 1)[1], r.calls, r.primitive,
             r.own_ns, r.cum_ns] for r in flat(profile, namer)]


def _heat(profile: Profile, namer: Namer, base: Profile | None = None) -> list:
    """The hottest files of a lines=count profile, every line with its hits."""
    if profile.line_mode != "count" or not profile.lines:
        return []
    files = sorted(profile.lines.items(), key=lambda kv: -sum(kv[1].values()))[:HEAT_FILES]
    out = []
    for filename, hits in files:
        lines = linecache.getlines(filename)
        if not lines:
            continue
        before = {}
        if base is not None:
            short = namer.path(filename)
            for other, h in base.lines.items():
                if namer.path(other) == short:
                    before = h
        rows = []
        for n, text in enumerate(lines[:HEAT_MAX_LINES], 1):
            row = [text.rstrip("\n"), hits.get(n, 0)]
            if base is not None:
                row.append(hits.get(n, 0) - before.get(n, 0))
            rows.append(row)
        out.append({"file": namer.path(filename), "hits": sum(hits.values()), "lines": rows})
    return out


def _headline(profile: Profile, total: int) -> str:
    parts = []
    if profile.nodes:
        calls = (f"{profile.total_calls:,} calls of " if profile.calls_counted
                 else "calls not counted, ")
        parts.append(f"{calls}{len(profile.functions):,} functions, "
                     f"{duration(total)} in traced code")
    if len(profile.threads) > 1:
        parts.append(f"{len(profile.threads)} threads")
    if len(profile.processes) > 1:
        parts.append(f"{len(profile.processes)} processes")
    if profile.rewritten:
        parts.append(f"bchook rewrote {profile.rewritten} module"
                     f"{'s' if profile.rewritten != 1 else ''} in "
                     f"{duration(profile.rewrite_ns)} (not in any function's time)")
    if profile.events_dropped:
        parts.append(f"the timeline dropped its {profile.events_dropped:,} oldest events")
    if profile.lines:
        run = sum(1 for hits in profile.lines.values() for v in hits.values() if v)
        files = len(profile.lines)
        parts.append(f"{run:,} lines run in {files:,} file{'s' if files != 1 else ''} "
                     f"({profile.line_mode})")
    return "; ".join(parts) or "nothing recorded"


def _line_table(profile: Profile, namer: Namer) -> list:
    """[file, lines, run, ranges not run] per file, as the summary's lines table."""
    from ._summary import ranges
    rows = []
    for filename in sorted(set(profile.lines) | set(profile.statements), key=namer.path):
        run = {n for n, v in profile.lines.get(filename, {}).items() if v}
        known = set(profile.statements.get(filename, ())) | run
        rows.append([namer.path(filename), len(known), len(run), ranges(sorted(known - run))])
    return rows


def _views(profile: Profile, base: Profile | None, title: str) -> dict:
    namer = Namer()
    tree = _flame(profile, namer)
    base_tree = _flame(base, namer) if base is not None else None
    views = {
        "title": title,
        "headline": _headline(profile, tree["v"]),
        "processes": [f"pid {pid}: {cmd}" for pid, cmd in profile.processes],
        "flame": _emit(tree, base_tree),
        "table": _table(profile, namer),
        "heat": _heat(profile, namer, base),
        "line_table": _line_table(profile, namer),
        "diff": base is not None,
        "counted": profile.calls_counted and (base is None or base.calls_counted),
        "timeline": bool(profile.timeline and profile.events) and base is None,
        "threads": [t.name for t in profile.threads],
        "labels": [f"{namer.path(f.filename)}:{f.lineno} {f.qualname}"
                   for f in profile.functions],
    }
    if base is not None:
        views["base_headline"] = _headline(base, base_tree["v"])
        views["base_table"] = _table(base, namer)
    return views


def page(profile: Profile, title: str = "profile", base: Profile | None = None) -> str:
    """The HTML text of the report of ``profile`` (a diff against ``base`` if given)."""
    from ._writers import profile_data
    views = _views(profile, base, title)
    return _TEMPLATE.format(
        title=html.escape(("bchook trace diff: " if base is not None else "bchook trace: ")
                          + title),
        css=_vendor("d3-flamegraph.css") + _CSS,
        views=_script_json(views),
        data_id=DATA_ID,
        data=_script_json(profile_data(profile)),
        d3=_vendor("d3.min.js"),
        flamegraph=_vendor("d3-flamegraph.min.js"),
        app=_APP,
    )


def diff_page(before: Profile, after: Profile, title: str) -> str:
    return page(after, title, base=before)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="bchook.trace">
<title>{title}</title>
<style>{css}</style>
</head><body>
<header><h1 id="title"></h1><p id="headline"></p><p id="processes"></p></header>
<nav id="tabs"></nav>
<main>
<section id="view-flame" class="view">
  <div class="bar"><input id="search" type="search" placeholder="search functions (regex)">
  <button id="reset">reset zoom</button><span id="details"></span></div>
  <div id="legend"></div>
  <div id="chart"></div>
</section>
<section id="view-table" class="view">
  <div class="bar"><input id="filter" type="search" placeholder="filter functions">
  <span id="table-note"></span></div>
  <table id="functions"><thead><tr></tr></thead><tbody></tbody></table>
  <button id="more">show more</button>
</section>
<section id="view-tree" class="view"><div id="calltree"></div></section>
<section id="view-timeline" class="view">
  <p class="note">Wheel: zoom; drag: move; double-click: whole run. <span id="tl-info"></span></p>
  <div id="timelines"></div>
</section>
<section id="view-heat" class="view"><div id="heat"></div></section>
</main>
<script type="application/json" id="bchook-views">{views}</script>
<script type="application/json" id="{data_id}">{data}</script>
<script>{d3}</script>
<script>{flamegraph}</script>
<script>{app}</script>
</body></html>
"""

_CSS = """
body { font: 13px system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; }
header { padding: 8px 16px; background: #f4f4f6; border-bottom: 1px solid #ddd; }
h1 { font-size: 16px; margin: 0 0 4px; } header p { margin: 2px 0; color: #555; }
nav { padding: 0 16px; border-bottom: 1px solid #ddd; }
nav button { border: 0; background: none; padding: 8px 12px; cursor: pointer; font: inherit; }
nav button.active { border-bottom: 2px solid #c33; font-weight: 600; }
main { padding: 8px 16px; } .view { display: none; } .view.active { display: block; }
.bar { margin: 6px 0; display: flex; gap: 8px; align-items: center; }
.bar input { width: 320px; padding: 3px 6px; } #details { color: #555; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: right;
         white-space: nowrap; }
th { cursor: pointer; background: #fafafa; position: sticky; top: 0; user-select: none; }
th.sorted::after { content: " \\25BC"; font-size: 9px; }
th.sorted.asc::after { content: " \\25B2"; }
td.name, th.name { text-align: left; } td.loc { text-align: left; color: #666; }
.up { color: #b00; } .down { color: #06c; }
.tree-row { white-space: nowrap; cursor: pointer; font-variant-numeric: tabular-nums;
            line-height: 20px; }
.tree-row:hover { background: #f3f3f8; }
.tree-row .pct { display: inline-block; width: 56px; text-align: right; }
.tree-row .time { display: inline-block; width: 76px; text-align: right; color: #555; }
.tree-row .calls { display: inline-block; width: 70px; text-align: right; color: #888; }
.tree-row .twisty { display: inline-block; width: 14px; color: #888; }
.tree-row .bar-bg { display: inline-block; width: 60px; height: 8px; background: #eee;
                    margin: 0 6px; vertical-align: middle; }
.tree-row .bar-fg { display: block; height: 8px; background: #d55; }
.tree-row .loc { color: #777; margin-left: 6px; }
.thread h3 { font-size: 13px; margin: 10px 0 2px; }
canvas.timeline { width: 100%; border: 1px solid #ddd; display: block; }
.heatfile h3 { font-size: 13px; margin: 12px 0 4px; }
.heatfile pre { margin: 0; font: 12px ui-monospace, monospace; }
.heatfile .ln { display: inline-block; width: 48px; color: #999; text-align: right;
                margin-right: 8px; }
.heatfile .hits { display: inline-block; width: 80px; text-align: right; margin-right: 8px;
                  color: #555; }
#legend { color: #555; margin: 2px 0 6px; } .note { color: #555; }
"""

_APP = r"""
"use strict";
(function () {
const V = JSON.parse(document.getElementById("bchook-views").textContent);
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;",
  ">": "&gt;", '"': "&quot;"}[c]));
function dur(ns) {
  const a = Math.abs(ns);
  for (const [u, s] of [["s", 1e9], ["ms", 1e6], ["\u00b5s", 1e3]]) {
    if (a >= s) { const v = ns / s;
      return v.toFixed(Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0) + " " + u; }
  }
  return Math.round(ns) + " ns";
}
const sdur = (ns) => (ns > 0 ? "+" : "") + dur(ns);
const pct = (part, whole) => whole > 0 ? (100 * part / whole).toFixed(1) + "%" : "-";
const total = V.flame.v;

// -- header and tabs ----------------------------------------------------------------
$("title").textContent = document.title;
$("headline").textContent = V.diff ? "after: " + V.headline + " \u2014 before: " +
  V.base_headline : V.headline;
$("processes").textContent = V.processes.length > 1 ? V.processes.join("; ") : "";
const hasCalls = (V.flame.c || []).length > 0;
const hasLines = V.heat.length > 0 || V.line_table.length > 0;
// a profile of lines only has nothing to show in the views of calls
const tabs = hasCalls || !hasLines ?
  [["flame", "Flame graph"], ["table", "Functions"], ["tree", "Call tree"]] : [];
if (V.timeline) tabs.push(["timeline", "Timeline"]);
if (hasLines) tabs.push(["heat", "Lines"]);
const shown = {};
function show(name) {
  for (const [id] of tabs) {
    $("view-" + id).classList.toggle("active", id === name);
    $("tab-" + id).classList.toggle("active", id === name);
  }
  if (!shown[name]) { shown[name] = true; RENDER[name](); }
  if (name === "timeline") drawTimelines();
}
for (const [id, label] of tabs) {
  const b = document.createElement("button");
  b.id = "tab-" + id; b.textContent = label; b.onclick = () => show(id);
  $("tabs").appendChild(b);
}

// -- flame graph ----------------------------------------------------------------------
let chart = null;
function renderFlame() {
  const width = Math.max(400, $("chart").clientWidth || document.body.clientWidth - 40);
  chart = flamegraph.default().width(width).cellHeight(18).minFrameSize(1)
    .transitionDuration(150).sort(false).title("")
    .setDetailsElement($("details"))
    .setSearchHandler((matches, found, all) => {
      $("details").textContent = "search: " + dur(found) + " of " + dur(all) + " (" +
        pct(found, all) + ")";
    })
    .label((d) => {
      const data = d.data;
      let text = data.n + (data.l ? " (" + data.l + ")" : "") + ": " + dur(data.v) +
        ", " + pct(data.v, total) + ", own " + dur(data.o) +
        (V.counted ? ", " + data.k + " calls" : "");
      if (V.diff) text += "; before " + dur(data.b) + ", change " + sdur(data.v - data.b);
      return text;
    });
  if (V.diff) {
    // red: slower than before, blue: faster; the shade is the change against the larger
    // of the two times (d3-flame-graph's own mapper saturates as soon as the change is
    // larger than the time after, which hides the labels)
    chart.computeDelta(true).setColorMapper((d, original) => {
      if (d.highlight) return original;
      const delta = d.delta || 0;
      const x = Math.min(1, Math.abs(delta) / Math.max(d.data.v, d.data.b, Math.abs(delta), 1));
      const shade = Math.round(235 - 140 * x);
      return delta > 0 ? "rgb(240," + shade + "," + shade + ")" :
        delta < 0 ? "rgb(" + shade + "," + shade + ",240)" : "rgb(225,225,225)";
    });
    $("legend").innerHTML = "Width: time after. Colour: <span class='up'>red</span> took " +
      "longer than before, <span class='down'>blue</span> less (own time change, " +
      "summed over the calls it made).";
  }
  d3.select("#chart").datum(V.flame).call(chart);
  $("search").addEventListener("input", (e) => {
    const term = e.target.value;
    try { new RegExp(term); } catch (err) { return; }
    if (term) chart.search(term); else chart.clear();
  });
  $("reset").onclick = () => chart.resetZoom();
}

// -- function table ---------------------------------------------------------------------
// rows: [loc, name, calls, primitive, own, cum] (+ before: calls, own, cum)
let rows = V.table.map((r) => r.slice());
if (V.diff) {
  const before = new Map(V.base_table.map((r) => [r[0].replace(/:\d+$/, "") + " " + r[1], r]));
  const seen = new Set();
  rows = rows.map((r) => {
    const key = r[0].replace(/:\d+$/, "") + " " + r[1];
    seen.add(key);
    const b = before.get(key);
    return r.concat(b ? [b[2], b[4], b[5]] : [0, 0, 0]);
  });
  for (const [key, b] of before) {
    if (!seen.has(key)) rows.push([b[0], b[1], 0, 0, 0, 0, b[2], b[4], b[5]]);
  }
}
const COLUMNS = V.diff ? [
  ["function", (r) => r[1], "name"], ["location", (r) => r[0], "loc"],
  ["cumtime", (r) => r[5]], ["before", (r) => r[8]], ["change", (r) => r[5] - r[8]],
  ["tottime", (r) => r[4]], ["before", (r) => r[7]], ["change", (r) => r[4] - r[7]],
  ["calls", (r) => r[2]], ["before", (r) => r[6]],
] : [
  ["function", (r) => r[1], "name"], ["location", (r) => r[0], "loc"],
  ["cumtime", (r) => r[5]], ["%", (r) => r[5]], ["tottime", (r) => r[4]],
  ["calls", (r) => r[2]], ["per call", (r) => r[2] ? r[5] / r[2] : 0],
];
function cell(c, r) {
  const [title, get] = COLUMNS[c];
  const v = get(r);
  if (c < 2) return esc(v);
  if (title === "%") return pct(v, total);
  if (!V.counted && (title === "calls" || title === "per call" || c === 9)) return "-";
  if (title === "calls" || (title === "before" && c === 9)) return V.diff ? String(v) :
    (r[2] === r[3] ? String(r[2]) : r[2] + "/" + r[3]);
  if (title === "change") return "<span class='" + (v > 0 ? "up" : v < 0 ? "down" : "") +
    "'>" + sdur(v) + "</span>";
  return dur(v);
}
let sortCol = 2, ascending = false, limit = 500, filter = "";
function renderTable() {
  const head = document.querySelector("#functions thead tr");
  head.innerHTML = "";
  COLUMNS.forEach(([title, , cls], c) => {
    const th = document.createElement("th");
    th.textContent = title;
    if (cls) th.className = cls;
    th.dataset.col = c;
    th.onclick = () => { if (sortCol === c) ascending = !ascending;
      else { sortCol = c; ascending = c < 2; } fillTable(); };
    head.appendChild(th);
  });
  $("filter").addEventListener("input", (e) => { filter = e.target.value.toLowerCase();
    fillTable(); });
  $("more").onclick = () => { limit *= 4; fillTable(); };
  fillTable();
}
function fillTable() {
  const get = COLUMNS[sortCol][1];
  let list = filter ? rows.filter((r) => (r[1] + " " + r[0]).toLowerCase().includes(filter))
    : rows;
  list = list.slice().sort((a, b) => {
    const x = get(a), y = get(b);
    const o = x < y ? -1 : x > y ? 1 : 0;
    return ascending ? o : -o;
  });
  document.querySelectorAll("#functions th").forEach((th) => {
    th.classList.toggle("sorted", Number(th.dataset.col) === sortCol);
    th.classList.toggle("asc", ascending);
  });
  const html = [];
  for (const r of list.slice(0, limit)) {
    html.push("<tr>" + COLUMNS.map((col, c) => "<td" + (col[2] ? " class='" + col[2] +
      "'" : "") + ">" + cell(c, r) + "</td>").join("") + "</tr>");
  }
  document.querySelector("#functions tbody").innerHTML = html.join("");
  $("table-note").textContent = list.length > limit ?
    "showing " + limit + " of " + list.length + " functions" : list.length + " functions";
  $("more").style.display = list.length > limit ? "" : "none";
}

// -- call tree ----------------------------------------------------------------------------
function treeBlock(node, depth, expand) {
  const wrap = document.createElement("div");
  const row = document.createElement("div");
  row.className = "tree-row";
  row.style.paddingLeft = (depth * 16) + "px";
  const share = total > 0 ? node.v / total : 0;
  const kids = byTime((node.c || []).filter((k) => k.v > 0 || V.diff));
  let text = "<span class='twisty'>" + (kids.length ? "\u25B8" : "") + "</span>" +
    "<span class='pct'>" + pct(node.v, total) + "</span>" +
    "<span class='bar-bg'><span class='bar-fg' style='width:" +
    Math.min(100, 100 * share).toFixed(1) + "%'></span></span><span class='time'>" +
    dur(node.v) + "</span><span class='calls'>" + (V.counted ? node.k + "\u00d7" : "") +
    "</span> " + esc(node.n) +
    "<span class='loc'>" + esc(node.l) + "</span>";
  if (V.diff) {
    const change = node.v - node.b;
    text += " <span class='" + (change > 0 ? "up" : change < 0 ? "down" : "") + "'>" +
      sdur(change) + "</span>";
  }
  row.innerHTML = text;
  const box = document.createElement("div");
  box.style.display = "none";
  wrap.appendChild(row);
  wrap.appendChild(box);
  let open = false;
  function toggle(auto) {
    if (!kids.length) return;
    open = !open;
    row.querySelector(".twisty").textContent = open ? "\u25BE" : "\u25B8";
    if (open && !box.childNodes.length) addBlocks(box, kids, depth + 1, auto, 0);
    box.style.display = open ? "" : "none";
  }
  row.onclick = () => toggle(false);
  if (expand) toggle(true);
  return wrap;
}
const byTime = (nodes) => nodes.slice().sort((a, b) => b.v - a.v);
const TREE_BATCH = 200;
// Rows for nodes[from...], a batch at a time: a node with thousands of children opens at
// once, and the rest come on a click. The hot path opens by itself (auto): children that
// take 5% of the total or more.
function addBlocks(box, nodes, depth, auto, from) {
  const end = Math.min(nodes.length, from + TREE_BATCH);
  for (let i = from; i < end; i++) {
    box.appendChild(treeBlock(nodes[i], depth, auto && nodes[i].v >= total * 0.05 &&
      depth < 13));
  }
  if (end < nodes.length) {
    const more = document.createElement("div");
    more.className = "tree-row tree-more";
    more.style.paddingLeft = (depth * 16) + "px";
    const rest = nodes.slice(end).reduce((sum, k) => sum + k.v, 0);
    more.textContent = "\u2026 " + (nodes.length - end).toLocaleString() + " more (" +
      pct(rest, total) + ")";
    more.onclick = () => { more.remove(); addBlocks(box, nodes, depth, false, end); };
    box.appendChild(more);
  }
}
function renderTree() {
  const root = $("calltree");
  addBlocks(root, byTime(V.flame.c || []), 0, true, 0);
  if (!V.flame.c) root.textContent = "no calls recorded";
}

// -- timeline ---------------------------------------------------------------------------
let TL = null;
function buildTimelines() {
  const D = JSON.parse(document.getElementById("bchook-profile").textContent);
  const ev = D.events, nodeFunc = D.nodes.func, n = ev.t.length;
  const per = new Map();
  for (let i = 0; i < n; i++) {
    let t = per.get(ev.thread[i]);
    if (!t) { t = {starts: [], ends: [], depth: [], func: [], stack: []}; per.set(ev.thread[i], t); }
    if (ev.enter[i]) {
      t.stack.push(t.starts.length);
      t.starts.push(ev.t[i]); t.ends.push(ev.t[i]); t.depth.push(t.stack.length - 1);
      t.func.push(nodeFunc[ev.node[i]]);
    } else if (t.stack.length) {
      t.ends[t.stack.pop()] = ev.t[i];
    }
  }
  const end = n ? ev.t[n - 1] : 1;
  const threads = [];
  for (const [index, t] of [...per.entries()].sort((a, b) => a[0] - b[0])) {
    for (const open of t.stack) t.ends[open] = end;
    const maxDepth = t.depth.reduce((a, b) => Math.max(a, b), 0);
    threads.push({name: V.threads[index] || "thread " + index, starts: Float64Array.from(t.starts),
      ends: Float64Array.from(t.ends), depth: Int32Array.from(t.depth),
      func: Int32Array.from(t.func), maxDepth});
  }
  TL = {threads, t0: n ? ev.t[0] : 0, t1: end || 1, view: [n ? ev.t[0] : 0, end || 1]};
  const box = $("timelines");
  for (const th of threads) {
    const div = document.createElement("div");
    div.className = "thread";
    div.innerHTML = "<h3>" + esc(th.name) + " (" + th.starts.length + " calls)</h3>";
    const c = document.createElement("canvas");
    c.className = "timeline";
    c.style.height = Math.min(600, (th.maxDepth + 1) * 14 + 2) + "px";
    th.canvas = c;
    div.appendChild(c);
    box.appendChild(div);
    hookCanvas(c, th);
  }
}
function hue(f) { return "hsl(" + ((f * 47) % 360) + ",55%,70%)"; }
function drawTimelines() {
  if (!TL) return;
  for (const th of TL.threads) drawThread(th);
}
function drawThread(th) {
  const c = th.canvas, w = c.clientWidth, h = c.clientHeight;
  const ratio = window.devicePixelRatio || 1;
  c.width = w * ratio; c.height = h * ratio;
  const g = c.getContext("2d");
  g.scale(ratio, ratio);
  g.clearRect(0, 0, w, h);
  const [v0, v1] = TL.view, k = w / (v1 - v0);
  const lastX = new Float64Array(th.maxDepth + 1).fill(-1);
  g.font = "11px sans-serif";
  for (let i = 0; i < th.starts.length; i++) {
    const s = th.starts[i], e = th.ends[i];
    if (e < v0 || s > v1) continue;
    const d = th.depth[i], y = d * 14;
    if (y > h) continue;
    const x0 = Math.max(0, (s - v0) * k), x1 = Math.min(w, (e - v0) * k);
    if (x1 <= lastX[d]) continue;        // this pixel of this depth is drawn already
    const wd = Math.max(1, x1 - x0);
    g.fillStyle = hue(th.func[i]);
    g.fillRect(x0, y, wd, 13);
    lastX[d] = x0 + wd;
    if (wd > 40) {
      g.fillStyle = "#222";
      g.fillText(V.labels[th.func[i]].split(" ").slice(1).join(" "), x0 + 2, y + 10, wd - 4);
    }
  }
}
function hookCanvas(c, th) {
  let drag = null;
  c.addEventListener("wheel", (e) => {
    e.preventDefault();
    const [v0, v1] = TL.view, at = v0 + (v1 - v0) * e.offsetX / c.clientWidth;
    const f = e.deltaY > 0 ? 1.25 : 0.8;
    TL.view = [Math.max(TL.t0, at - (at - v0) * f), Math.min(TL.t1, at + (v1 - at) * f)];
    drawTimelines();
  }, {passive: false});
  c.addEventListener("mousedown", (e) => { drag = [e.clientX, TL.view.slice()]; });
  window.addEventListener("mouseup", () => { drag = null; });
  c.addEventListener("mousemove", (e) => {
    if (drag) {
      const [v0, v1] = drag[1], dt = (e.clientX - drag[0]) * (v1 - v0) / c.clientWidth;
      TL.view = [v0 - dt, v1 - dt];
      drawTimelines();
      return;
    }
    const [v0, v1] = TL.view, t = v0 + (v1 - v0) * e.offsetX / c.clientWidth;
    const d = Math.floor(e.offsetY / 14);
    let found = -1;
    for (let i = 0; i < th.starts.length; i++) {
      if (th.depth[i] === d && th.starts[i] <= t && th.ends[i] >= t) found = i;
    }
    $("tl-info").textContent = found < 0 ? "" : V.labels[th.func[found]] + ": " +
      dur(th.ends[found] - th.starts[found]);
  });
  c.addEventListener("dblclick", () => { TL.view = [TL.t0, TL.t1]; drawTimelines(); });
}
function renderTimeline() { buildTimelines(); }

// -- lines heat view ----------------------------------------------------------------------
function renderHeat() {
  const box = $("heat");
  if (V.line_table.length) {
    const t = document.createElement("table");
    t.id = "line-table";
    t.innerHTML = "<thead><tr><th class='name'>file</th><th>lines</th><th>run</th>" +
      "<th>not run</th><th>cover</th><th class='name'>lines not run</th></tr></thead><tbody>" +
      V.line_table.map((r) => "<tr><td class='name'>" + esc(r[0]) + "</td><td>" + r[1] +
        "</td><td>" + r[2] + "</td><td>" + (r[1] - r[2]) + "</td><td>" +
        (r[1] ? Math.floor(100 * r[2] / r[1]) + "%" : "-") + "</td><td class='name'>" +
        esc(r[3]) + "</td></tr>").join("") + "</tbody>";
    box.appendChild(t);
  }
  for (const f of V.heat) {
    const max = Math.max(1, ...f.lines.map((l) => l[1]));
    const div = document.createElement("div");
    div.className = "heatfile";
    const lines = f.lines.map((l, i) => {
      const share = l[1] ? Math.log(1 + l[1]) / Math.log(1 + max) : 0;
      const bg = l[1] ? "background:rgba(230,80,40," + (0.08 + 0.6 * share).toFixed(3) + ")" : "";
      const change = V.diff ? " <span class='" + (l[2] > 0 ? "up" : l[2] < 0 ? "down" : "") +
        "'>" + (l[2] > 0 ? "+" : "") + (l[2] || "") + "</span>" : "";
      return "<span style='" + bg + "'><span class='ln'>" + (i + 1) + "</span><span class='hits'>" +
        (l[1] ? l[1].toLocaleString() : "") + "</span>" + esc(l[0]) + change + "</span>";
    });
    div.innerHTML = "<h3>" + esc(f.file) + " \u2014 " + f.hits.toLocaleString() +
      " line hits</h3><pre>" + lines.join("\n") + "</pre>";
    box.appendChild(div);
  }
}

const RENDER = {flame: renderFlame, table: renderTable, tree: renderTree,
  timeline: renderTimeline, heat: renderHeat};
window.addEventListener("resize", () => { if (TL) drawTimelines(); });
show(V.flame.c || !(V.heat.length || V.line_table.length) ? "flame" : "heat");
window.bchookReady = true;
})();
"""
