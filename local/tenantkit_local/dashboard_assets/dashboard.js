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
             cat.length > 34 ? cat.slice(0, 33) + "\u2026" : cat)
        : el("text", {x: left + start + (thick * groups) / 2, y: H - M.bottom + 16, "text-anchor": "middle"},
             cat.length > 18 ? cat.slice(0, 17) + "\u2026" : cat);
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
