"""The tenant dashboard, locally: the tenant_ops and security query packs on DuckDB (dev-only).

* :func:`tenant_tables` runs the packs over a day range and returns titled text tables (the
  demo prints them);
* :func:`render_dashboard` writes ONE self-contained HTML file: the query results as embedded
  JSON and a small inline SVG chart renderer (no CDN, no network, no external file). Charts:
  volume per tenant over time, error rate per tenant, latency percentiles per tenant over time,
  and a security panel (denials by reason, spoof attempts, cross-tenant attempts over time),
  plus a tenant <select> that filters every chart and table client-side.

The page shows the platform view (every tenant). The filter is a convenience, not access
control: a dashboard for one tenant must be built from ``tenant_view/tenant_activity`` bound to
that tenant (docs/queries.md). Ops health (errors, throttles, latency per function, authorizer
outcomes) is the CloudWatch dashboard in template.yaml, without tenant dimensions.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenantkit_local.querypack import QUERIES_DIR, Query, pack_queries
from tenantkit_local.queryrun import display, jsonable, run

DASHBOARD_PACKS = ("tenant_ops", "security")
# Preferred order of the tables; any other query of the packs follows, by name.
TABLE_ORDER = (
    "tenant_ops/top_tenants_by_volume",
    "tenant_ops/requests_per_tenant_hour",
    "tenant_ops/error_rate_by_tenant_route",
    "tenant_ops/latency_percentiles_by_tenant",
    "security/authz_denials_by_reason",
    "security/spoof_attempts_by_tenant_principal",
    "security/session_rejections_by_tenant_principal",
    "security/cross_tenant_attempts_timeline",
)
DEFAULTS: dict[str, Any] = {"top_n": 10}
# Dataset key in the page -> the query it comes from.
DATASETS = {
    "volume": "tenant_ops/requests_per_tenant_hour",
    "errors": "tenant_ops/error_rate_by_tenant_route",
    "latency": "tenant_ops/latency_percentiles_by_tenant",
    "top": "tenant_ops/top_tenants_by_volume",
    "denials": "security/authz_denials_by_reason",
    "spoofs": "security/spoof_attempts_by_tenant_principal",
    "session_rejections": "security/session_rejections_by_tenant_principal",
    "cross_tenant": "security/cross_tenant_attempts_timeline",
}
NO_DATA_RANGE = ("1970-01-01", "1970-01-01")


def day_range(partitions: Sequence[str]) -> tuple[str, str]:
    """The first and last day of ``partitions`` (``YYYY-MM-DD``); an empty list reads nothing."""
    days = sorted(partitions)
    return (days[0], days[-1]) if days else NO_DATA_RANGE


def _values(query: Query, first: str, last: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for parameter in query.parameters:
        if parameter.name == "from_dt":
            values["from_dt"] = first
        elif parameter.name == "to_dt":
            values["to_dt"] = last
        elif parameter.name in DEFAULTS:
            values[parameter.name] = DEFAULTS[parameter.name]
        else:
            raise ValueError(f"{query.ref}: the dashboard has no value for parameter {parameter.name}")
    return values


def dashboard_queries(queries: Path = QUERIES_DIR) -> list[Query]:
    found = {q.ref: q for pack in DASHBOARD_PACKS for q in pack_queries(pack, queries)}
    ordered = [found.pop(ref) for ref in TABLE_ORDER if ref in found]
    return ordered + [found[ref] for ref in sorted(found)]


def run_packs(root: Path | str, partitions: Sequence[str], *,
              queries: Path = QUERIES_DIR) -> dict[str, tuple[Query, list[str], list[tuple]]]:
    """``{ref: (query, columns, rows)}`` for every dashboard query over the partitions' day range."""
    from tenantkit_local.duckdb_engine import DuckDBEngine

    first, last = day_range(partitions)
    results: dict[str, tuple[Query, list[str], list[tuple]]] = {}
    with DuckDBEngine(root) as engine:
        for query in dashboard_queries(queries):
            columns, rows = run(root, query, _values(query, first, last), engine=engine)
            results[query.ref] = (query, columns, rows)
    return results


def tenant_tables(root: Path | str, partitions: Sequence[str]) -> dict[str, tuple[list[str], list[tuple]]]:
    """Titled tables (``"<panel> [<pack>/<name>]"`` -> (header, rows of display strings))."""
    tables: dict[str, tuple[list[str], list[tuple]]] = {}
    for ref, (query, columns, rows) in run_packs(root, partitions).items():
        title = f"{query.panel or query.name} [{ref}]"
        tables[title] = (list(columns), [tuple(display(v, c) for v, c in zip(row, columns, strict=True))
                                         for row in rows])
    return tables


def dashboard_data(root: Path | str, partitions: Sequence[str]) -> dict[str, Any]:
    """What the page embeds: every dataset as a list of row objects, plus the range and tenants."""
    results = run_packs(root, partitions)
    data: dict[str, Any] = {}
    for key, ref in DATASETS.items():
        _, columns, rows = results[ref]
        data[key] = [{c: jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    for rows in data.values():  # timestamps as UTC instants for the browser
        for row in rows:
            for column in ("hour_start", "first_seen", "last_seen"):
                if isinstance(row.get(column), str):
                    row[column] += "Z"
    tenants = sorted({row["tenant_id"] for rows in data.values() for row in rows if row.get("tenant_id")})
    first, last = day_range(partitions)
    return {
        "range": {"from_dt": first, "to_dt": last, "empty": not partitions},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "queries": {key: ref for key, ref in DATASETS.items()},
        "tenants": tenants,
        **data,
    }


def render_dashboard(root: Path | str, partitions: Sequence[str], out_path: Path | str,
                     traces: Path | None = None) -> Path:
    """Write the dashboard HTML for the partitions' day range to ``out_path``; returns the path.
    ``traces``: a local OTLP receiver's spans file, shown as one waterfall per request."""
    data = dashboard_data(root, partitions)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = page(data)
    if traces is not None:
        from tenantkit_local.trace_waterfall import waterfall_section

        text = text.replace("</main>", waterfall_section(traces) + "\n</main>", 1)
    out.write_text(text, encoding="utf-8")
    return out


def embed_json(data: Any) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>', '&' or line separators."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def page(data: dict[str, Any]) -> str:
    span = f"{data['range']['from_dt']} to {data['range']['to_dt']} (UTC days)"
    if data["range"]["empty"]:
        span = "no curated partitions in the range"
    return (_PAGE.replace("{{SPAN}}", html.escape(span))
                 .replace("{{GENERATED}}", html.escape(data["generated_at"]))
                 .replace("{{DATA}}", embed_json(data)))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>tenantkit tenant dashboard</title>
<style>
  :root { --ink: #1f2933; --muted: #616e7c; --grid: #e4e7eb; --panel: #ffffff; --bg: #f5f7fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
         background: var(--bg); }
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 24px; padding: 16px 24px;
           background: #102a43; color: #f0f4f8; }
  header h1 { margin: 0; font-size: 20px; }
  header .span { color: #bcccdc; }
  header label { margin-left: auto; }
  select { font: inherit; padding: 2px 6px; }
  main { padding: 16px 24px 32px; }
  h2 { font-size: 16px; margin: 20px 0 8px; }
  .grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
  section.panel { background: var(--panel); border: 1px solid var(--grid); border-radius: 6px; padding: 12px; }
  section.panel h3 { margin: 0 0 2px; font-size: 14px; }
  section.panel .source { color: var(--muted); font-size: 12px; margin: 0 0 6px; }
  section.panel .empty { color: var(--muted); font-style: italic; margin: 4px 0; }
  svg.chart { width: 100%; height: auto; display: block; }
  svg.chart text { font-size: 11px; fill: var(--muted); }
  svg.chart .axis { stroke: #9aa5b1; }
  svg.chart .gridline { stroke: var(--grid); }
  .legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted); }
  .legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 4px;
                          background: var(--swatch); vertical-align: -1px; }
  table { border-collapse: collapse; width: 100%; font-size: 12px; }
  th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--grid); }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  footer { color: var(--muted); font-size: 12px; padding: 0 24px 24px; }
</style>
</head>
<body>
<header>
  <h1>Tenant dashboard</h1>
  <span class="span">{{SPAN}}</span>
  <label>Tenant <select id="tenant-filter"><option value="">All tenants</option></select></label>
</header>
<main>
  <h2>Tenant operations</h2>
  <div class="grid">
    <section class="panel" id="panel-volume"></section>
    <section class="panel" id="panel-errors"></section>
    <section class="panel" id="panel-latency"></section>
    <section class="panel" id="panel-top"></section>
  </div>
  <h2>Security</h2>
  <div class="grid">
    <section class="panel" id="panel-denials"></section>
    <section class="panel" id="panel-spoofs"></section>
    <section class="panel" id="panel-cross-tenant"></section>
    <section class="panel" id="panel-session-rejections"></section>
  </div>
</main>
<footer>Generated {{GENERATED}} by <code>tenantkit dashboard</code> from the query packs on DuckDB over the
curated zone. The tenant filter only narrows the view: a tenant-scoped dashboard must read
<code>tenant_view/tenant_activity</code> bound to that tenant. Ops health lives in the CloudWatch dashboard.</footer>
<script type="application/json" id="dashboard-data">{{DATA}}</script>
<script>
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("dashboard-data").textContent);
  const SVGNS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#2680c2", "#e12d39", "#3ebd93", "#f7c948", "#8662c7", "#f0b429", "#27ab83", "#d64545",
                   "#4098d7", "#9446ed"];
  const KIND_COLORS = {"tenant.spoof_rejected": "#e12d39", "session.rejected": "#8662c7", "abac.deny": "#f0b429"};
  const W = 600, H = 280, M = {top: 14, right: 16, bottom: 40, left: 56};
  const HOUR = 3600 * 1000;

  const color = (tenant) => PALETTE[Math.max(0, DATA.tenants.indexOf(tenant)) % PALETTE.length];
  const el = (tag, attrs, text) => {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const h = (tag, attrs, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const hourLabel = (ms) => {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, "0");
    return p(d.getUTCMonth() + 1) + "-" + p(d.getUTCDate()) + " " + p(d.getUTCHours()) + ":00";
  };
  const niceMax = (v) => {
    if (!(v > 0)) return 1;
    const e = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
    return 10 * e;
  };
  const fmt = (v, unit) => unit === "%" ? (v * 100).toFixed(1) + "%" : Number.isInteger(v) ? String(v) :
    (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : String(+v.toFixed(2)));

  function frame(svg, yMax, unit) {
    const ih = H - M.top - M.bottom;
    for (let i = 0; i <= 4; i++) {
      const y = M.top + ih - (ih * i) / 4;
      svg.appendChild(el("line", {class: "gridline", x1: M.left, x2: W - M.right, y1: y, y2: y}));
      svg.appendChild(el("text", {x: M.left - 6, y: y + 4, "text-anchor": "end"}, fmt((yMax * i) / 4, unit)));
    }
    svg.appendChild(el("line", {class: "axis", x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom}));
    svg.appendChild(el("line", {class: "axis", x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom}));
  }

  function newChart(panel, id, title, source) {
    panel.appendChild(h("h3", {}, title));
    panel.appendChild(h("p", {class: "source"}, source));
    const svg = el("svg", {class: "chart", "data-chart": id, viewBox: "0 0 " + W + " " + H,
                           role: "img", "aria-label": title});
    panel.appendChild(svg);
    return svg;
  }

  function legend(panel, items) {
    const box = h("div", {class: "legend"});
    for (const [label, swatch] of items) {
      const s = h("span", {}, label);
      s.style.setProperty("--swatch", swatch);
      box.appendChild(s);
    }
    panel.appendChild(box);
  }

  function emptyNote(panel, svg, n) {
    svg.setAttribute("data-items", n);
    if (n === 0) panel.appendChild(h("p", {class: "empty"}, "No data for this selection."));
  }

  // series: [{name, color, dash, tenant, points: [{x: ms, y, label}]}]
  function lineChart(panel, id, title, source, series, unit, xDomain) {
    const svg = newChart(panel, id, title, source);
    const all = series.flatMap((s) => s.points);
    const xs = xDomain || [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
    const yMax = niceMax(Math.max(0, ...all.map((p) => p.y)));
    frame(svg, yMax, unit);
    const iw = W - M.left - M.right, ih = H - M.top - M.bottom;
    const span = Math.max(xs[1] - xs[0], HOUR);
    const sx = (x) => M.left + (all.length && xs[1] > xs[0] ? ((x - xs[0]) / span) * iw : iw / 2);
    const sy = (y) => M.top + ih - (y / yMax) * ih;
    if (all.length) {
      const ticks = xs[1] > xs[0] ? Math.min(6, Math.max(1, Math.round(span / HOUR))) : 0;
      for (let i = 0; i <= ticks; i++) {
        const x = ticks ? xs[0] + (span * i) / ticks : xs[0];
        svg.appendChild(el("text", {x: sx(x), y: H - M.bottom + 16, "text-anchor": "middle"},
                           hourLabel(Math.round(x / HOUR) * HOUR)));
      }
    }
    let points = 0;
    for (const s of series) {
      const d = s.points.map((p, i) => (i ? "L" : "M") + sx(p.x).toFixed(1) + " " + sy(p.y).toFixed(1)).join(" ");
      if (s.points.length > 1) {
        svg.appendChild(el("path", {class: "line", d: d, fill: "none", stroke: s.color, "stroke-width": 2,
                                    "stroke-dasharray": s.dash || "none", "data-series": s.name}));
      }
      for (const p of s.points) {
        const c = el("circle", {class: "point", cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), r: 3,
                                fill: s.color, "data-series": s.name, "data-tenant": s.tenant || "",
                                "data-x": new Date(p.x).toISOString(), "data-y": p.y});
        c.appendChild(el("title", {}, s.name + " " + hourLabel(p.x) + ": " + fmt(p.y, unit)));
        svg.appendChild(c);
        points++;
      }
    }
    emptyNote(panel, svg, points);
    return svg;
  }

  // bars: [{category, series, color, value, tenant, stack}] drawn grouped by series within a category
  // (stacked when the bar carries stack=true); horizontal when there are many long labels.
  function barChart(panel, id, title, source, bars, unit, horizontal) {
    const svg = newChart(panel, id, title, source);
    const categories = [...new Set(bars.map((b) => b.category))];
    const seriesNames = [...new Set(bars.map((b) => b.series))];
    const stacked = bars.some((b) => b.stack);
    const totals = {};
    for (const b of bars) totals[b.category] = (totals[b.category] || 0) + b.value;
    const yMax = niceMax(Math.max(0, ...(stacked ? Object.values(totals) : bars.map((b) => b.value))));
    const left = horizontal ? 210 : M.left;
    const iw = W - left - M.right, ih = H - M.top - M.bottom;
    if (!horizontal) frame(svg, yMax, unit);
    else {
      svg.appendChild(el("line", {class: "axis", x1: left, x2: left, y1: M.top, y2: H - M.bottom}));
      for (let i = 0; i <= 4; i++) {
        const x = left + (iw * i) / 4;
        svg.appendChild(el("line", {class: "gridline", x1: x, x2: x, y1: M.top, y2: H - M.bottom}));
        svg.appendChild(el("text", {x: x, y: H - M.bottom + 16, "text-anchor": "middle"}, fmt((yMax * i) / 4, unit)));
      }
    }
    const band = (horizontal ? ih : iw) / Math.max(1, categories.length);
    const groups = stacked ? 1 : Math.max(1, seriesNames.length);
    const thick = Math.max(2, Math.min(40, (band * 0.8) / groups));
    const offsets = {};
    categories.forEach((cat, ci) => {
      const start = ci * band + (band - thick * groups) / 2;
      const catLabel = horizontal
        ? el("text", {x: left - 6, y: M.top + start + (thick * groups) / 2 + 4, "text-anchor": "end"},
             cat.length > 34 ? cat.slice(0, 33) + "\\u2026" : cat)
        : el("text", {x: left + start + (thick * groups) / 2, y: H - M.bottom + 16, "text-anchor": "middle"},
             cat.length > 18 ? cat.slice(0, 17) + "\\u2026" : cat);
      svg.appendChild(catLabel);
      offsets[cat] = {start: start, stack: 0};
    });
    let count = 0;
    for (const b of bars) {
      const o = offsets[b.category];
      const gi = stacked ? 0 : seriesNames.indexOf(b.series);
      const len = (b.value / yMax) * (horizontal ? iw : ih);
      const base = stacked ? (o.stack / yMax) * (horizontal ? iw : ih) : 0;
      const attrs = horizontal
        ? {x: left + base, y: M.top + o.start + gi * thick, width: Math.max(len, 0.5), height: thick * 0.9}
        : {x: left + o.start + gi * thick, y: M.top + ih - base - len, width: thick * 0.9, height: Math.max(len, 0.5)};
      const r = el("rect", Object.assign(attrs, {class: "bar", fill: b.color, "data-series": b.series,
                                                 "data-category": b.category, "data-tenant": b.tenant || "",
                                                 "data-value": b.value}));
      r.appendChild(el("title", {}, b.category + " / " + b.series + ": " + fmt(b.value, unit)));
      svg.appendChild(r);
      if (stacked) o.stack += b.value;
      count++;
    }
    emptyNote(panel, svg, count);
    return svg;
  }

  function table(panel, id, title, source, columns, rows) {
    panel.appendChild(h("h3", {}, title));
    panel.appendChild(h("p", {class: "source"}, source));
    const t = h("table", {"data-table": id});
    const head = h("tr");
    for (const [label] of columns) head.appendChild(h("th", {}, label));
    t.appendChild(head);
    for (const row of rows) {
      const tr = h("tr", {"data-tenant": row.tenant_id || ""});
      for (const [, key, kind] of columns) {
        const v = row[key];
        const text = v === null || v === undefined ? "-" : kind === "%" ? fmt(v, "%") :
          kind === "time" ? v.replace("T", " ").slice(0, 16) : typeof v === "number" ? fmt(v) : String(v);
        tr.appendChild(h("td", typeof v === "number" ? {class: "num"} : {}, text));
      }
      t.appendChild(tr);
    }
    panel.appendChild(t);
    if (!rows.length) panel.appendChild(h("p", {class: "empty"}, "No data for this selection."));
  }

  const src = (key) => "query: " + DATA.queries[key];
  const ms = (iso) => Date.parse(iso);

  function render(tenant) {
    const pick = (rows) => tenant ? rows.filter((r) => r.tenant_id === tenant) : rows;
    const tenantsOf = (rows) => [...new Set(rows.map((r) => r.tenant_id).filter((t) => t))].sort();
    for (const panel of document.querySelectorAll("section.panel")) panel.replaceChildren();
    document.body.setAttribute("data-tenant", tenant || "");

    // Volume: every hour of the whole range, zero-filled, one line per tenant.
    const volumeAll = DATA.volume;
    const volume = pick(volumeAll);
    let domain = null, hours = [];
    if (volumeAll.length) {
      const times = volumeAll.map((r) => ms(r.hour_start));
      domain = [Math.min(...times), Math.max(...times)];
      for (let t = domain[0]; t <= domain[1]; t += HOUR) hours.push(t);
    }
    const volumeSeries = tenantsOf(volume).map((t) => {
      const by = {};
      for (const r of volume) if (r.tenant_id === t) by[ms(r.hour_start)] = r.requests;
      return {name: t, tenant: t, color: color(t), points: hours.map((x) => ({x: x, y: by[x] || 0}))};
    });
    const panelVolume = document.getElementById("panel-volume");
    lineChart(panelVolume, "volume", "Requests per tenant per hour", src("volume"), volumeSeries, "", domain);
    legend(panelVolume, volumeSeries.map((s) => [s.name, s.color]));

    // Error rate: all errors (>= 400) and server errors (>= 500) as a share of requests, per tenant.
    const agg = {};
    for (const r of pick(DATA.errors)) {
      const a = agg[r.tenant_id] || (agg[r.tenant_id] = {requests: 0, errors: 0, server: 0});
      a.requests += r.requests; a.errors += r.errors; a.server += r.server_errors;
    }
    const errorBars = [];
    for (const t of Object.keys(agg).sort()) {
      const a = agg[t];
      errorBars.push({category: t, series: "errors (>= 400)", color: color(t), tenant: t,
                      value: a.errors / a.requests});
      errorBars.push({category: t, series: "server errors (>= 500)", color: "#616e7c", tenant: t,
                      value: a.server / a.requests});
    }
    const panelErrors = document.getElementById("panel-errors");
    barChart(panelErrors, "error-rate", "Error rate per tenant", src("errors"), errorBars, "%", false);
    legend(panelErrors, [["errors (>= 400), tenant colour", "#9aa5b1"], ["server errors (>= 500)", "#616e7c"]]);

    // Latency: p50 dotted, p95 dashed, p99 solid, one colour per tenant; hours with requests only.
    const latency = pick(DATA.latency);
    const dashes = {p50_ms: "2 3", p95_ms: "6 3", p99_ms: ""};
    const latencySeries = [];
    for (const t of tenantsOf(latency)) {
      const rows = latency.filter((r) => r.tenant_id === t);
      for (const key of ["p50_ms", "p95_ms", "p99_ms"]) {
        latencySeries.push({name: t + " " + key.replace("_ms", ""), tenant: t, color: color(t), dash: dashes[key],
                            points: rows.map((r) => ({x: ms(r.hour_start), y: r[key]}))});
      }
    }
    const panelLatency = document.getElementById("panel-latency");
    lineChart(panelLatency, "latency", "Latency percentiles per tenant per hour (ms)", src("latency"),
              latencySeries, "", domain);
    legend(panelLatency, tenantsOf(latency).map((t) => [t + " (p50 dotted, p95 dashed, p99 solid)", color(t)]));

    table(document.getElementById("panel-top"), "top", "Top tenants by volume", src("top"),
          [["#", "volume_rank"], ["tenant", "tenant_id"], ["requests", "requests"],
           ["share", "share_of_requests", "%"], ["errors", "errors"], ["principals", "principals"],
           ["input tokens", "input_tokens"], ["output tokens", "output_tokens"]], pick(DATA.top));

    // Denials by reason (summed over tenants; denials without a verified tenant only under "All").
    const denials = {};
    for (const r of pick(DATA.denials)) {
      const key = r.event_type + " / " + r.reason;
      denials[key] = (denials[key] || 0) + r.denials;
    }
    const denialBars = Object.entries(denials).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => ({category: k, series: "denials", color: "#d64545", value: v}));
    barChart(document.getElementById("panel-denials"), "denials", "Authorization denials by reason",
             src("denials"), denialBars, "", true);

    const spoofBars = pick(DATA.spoofs).map((r) => ({
      category: r.tenant_id + " / " + (r.app_id || "-") + " / " + r.principal_id, series: "attempts",
      color: color(r.tenant_id), tenant: r.tenant_id, value: r.attempts}));
    barChart(document.getElementById("panel-spoofs"), "spoofs", "Spoof attempts by tenant and principal",
             src("spoofs"), spoofBars, "", true);

    // Cross-tenant attempts: one stacked bar per hour, a segment per kind (summed over tenants).
    const cross = {};
    for (const r of pick(DATA.cross_tenant)) {
      const key = r.hour_start + "|" + r.event_type;
      cross[key] = (cross[key] || 0) + r.attempts;
    }
    const crossBars = Object.keys(cross).sort().map((key) => {
      const [hour, kind] = key.split("|");
      return {category: hourLabel(ms(hour)), series: kind, color: KIND_COLORS[kind] || "#616e7c",
              value: cross[key], stack: true};
    });
    const panelCross = document.getElementById("panel-cross-tenant");
    barChart(panelCross, "cross-tenant", "Cross-tenant attempts per hour", src("cross_tenant"), crossBars, "", false);
    legend(panelCross, Object.entries(KIND_COLORS));

    table(document.getElementById("panel-session-rejections"), "session-rejections", "Session rejections",
          src("session_rejections"),
          [["tenant", "tenant_id"], ["principal", "principal_id"], ["reason", "reason"],
           ["rejections", "rejections"], ["sessions", "sessions"], ["last", "last_seen", "time"]],
          pick(DATA.session_rejections));
    document.body.setAttribute("data-rendered", "true");
  }

  const select = document.getElementById("tenant-filter");
  for (const t of DATA.tenants) select.appendChild(h("option", {value: t}, t));
  const wanted = new URLSearchParams(location.hash.slice(1)).get("tenant") || "";
  select.value = DATA.tenants.includes(wanted) ? wanted : "";
  select.addEventListener("change", () => {
    history.replaceState(null, "", select.value ? "#tenant=" + encodeURIComponent(select.value) : "#");
    render(select.value);
  });
  render(select.value);
})();
</script>
</body>
</html>
"""
