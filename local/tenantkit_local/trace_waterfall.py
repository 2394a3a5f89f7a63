"""Trace waterfalls for the dashboard: one per request the gateway sampled, rendered server-side
as static HTML (no script: the page's CSP and its Chromium check stay as they are)."""

from __future__ import annotations

import html
from pathlib import Path

from tenantkit_local.otlp_receiver import read_spans
from tenantkit_local.traces import group_traces, span_tree, waterfall_rows

GATEWAY_SERVICE = "apigateway"
COLORS = {"apigateway": "#8662c7", "tenantkit-authorizer": "#f0b429", "tenantkit-bff": "#2680c2"}


def request_traces(store: Path) -> dict[str, list[dict]]:
    """Traces that went through the gateway (the audit sink's own invocations are left out)."""
    return {trace_id: spans for trace_id, spans in group_traces(read_spans(store)).items()
            if any(span.get("service") == GATEWAY_SERVICE for span in spans)}


def waterfall_section(store: Path) -> str:
    traces = request_traces(store)
    parts = ['<h2 id="traces">Request traces</h2>',
             f'<p class="source">{len(traces)} sampled request(s), spans from the local OTLP receiver '
             '(<code>tenantkit traces &lt;trace id&gt;</code> prints one as a tree)</p>']
    for trace_id, spans in traces.items():
        root = span_tree(spans)[0]
        parts.append(f'<section class="panel waterfall" data-trace-id="{html.escape(trace_id)}">'
                     f'<h3>{html.escape(root.span["name"])} <span class="source">{root.duration_ms:.1f} ms, '
                     f'trace {html.escape(trace_id)}</span></h3><table>')
        for row in waterfall_rows(spans):
            color = "#e12d39" if row["error"] else COLORS.get(row["service"], "#3ebd93")
            bar = (f'<div style="margin-left:{row["offset"] * 100:.2f}%;width:{row["width"] * 100:.2f}%;'
                   f'background:{color};height:10px;border-radius:2px"></div>')
            label = f'{"&nbsp;" * 3 * row["depth"]}{html.escape(row["name"])}'
            parts.append(f'<tr><td style="width:38%">{label} <span class="source">'
                         f'{html.escape(row["service"])}</span></td>'
                         f'<td class="num" style="width:8%">{row["duration_ms"]:.2f} ms</td><td>{bar}</td></tr>')
        parts.append("</table></section>")
    return "\n".join(parts)
