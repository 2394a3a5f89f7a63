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
from functools import lru_cache
from importlib import resources
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
    return (page_template().replace("{{SPAN}}", html.escape(span))
                 .replace("{{GENERATED}}", html.escape(data["generated_at"]))
                 .replace("{{DATA}}", embed_json(data)))


@lru_cache(maxsize=1)
def page_template() -> str:
    """The page with its stylesheet and script inlined (the file must stand alone: no fetches,
    and the Content-Security-Policy admits only inline code). The three parts are package files
    under ``dashboard_assets/`` so they can be edited, linted and diffed as HTML, CSS and JS."""
    assets = resources.files("tenantkit_local") / "dashboard_assets"
    return ((assets / "page.html").read_text(encoding="utf-8")
            .replace("{{STYLE}}", (assets / "dashboard.css").read_text(encoding="utf-8"))
            .replace("{{SCRIPT}}", (assets / "dashboard.js").read_text(encoding="utf-8")))

