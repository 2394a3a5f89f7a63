"""``tenantkit traces``: a request's span tree from the spans the local OTLP receiver stored.

``tenantkit traces`` lists the stored traces (newest last); ``tenantkit traces <trace id>``
(or a unique prefix, or ``--last``) prints one as an indented tree with durations. The same
tree feeds the dashboard's waterfalls (``waterfall_rows``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit_local import state_dir
from tenantkit_local.otlp_receiver import TRACES_FILE, read_spans

SHOWN_ATTRIBUTES = ("http.response.status_code", "tenant.id", "app.id", "tenantkit.outcome", "tenantkit.reason",
                    "rpc.method", "error.type")


@dataclass
class SpanNode:
    span: dict[str, Any]
    children: list[SpanNode] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return (self.span["end_ns"] - self.span["start_ns"]) / 1e6


def group_traces(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Trace id -> spans, traces ordered by their first span's start."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        grouped.setdefault(span["trace_id"], []).append(span)
    return dict(sorted(grouped.items(), key=lambda item: min(s["start_ns"] for s in item[1])))


def span_tree(spans: list[dict[str, Any]]) -> list[SpanNode]:
    """Roots (spans whose parent is not in the trace, e.g. a caller's span) with their children."""
    nodes = {span["span_id"]: SpanNode(span) for span in sorted(spans, key=lambda s: s["start_ns"])}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.span.get("parent_span_id") or "")
        (parent.children if parent is not None else roots).append(node)
    return roots


def render_tree(spans: list[dict[str, Any]]) -> str:
    start = min(s["start_ns"] for s in spans)
    lines = [f"trace {spans[0]['trace_id']}  ({len(spans)} spans)"]

    def walk(node: SpanNode, depth: int) -> None:
        span = node.span
        offset = (span["start_ns"] - start) / 1e6
        shown = " ".join(f"{k}={span['attributes'][k]}" for k in SHOWN_ATTRIBUTES if k in span["attributes"])
        status = " ERROR" if span.get("status") == "error" else ""
        lines.append(f"{'  ' * depth}{span['name']}  [{span.get('service')}, {span['kind']}]  "
                     f"+{offset:.1f} ms  {node.duration_ms:.2f} ms{status}  {shown}".rstrip())
        for child in node.children:
            walk(child, depth + 1)

    for root in span_tree(spans):
        walk(root, 1)
    return "\n".join(lines)


def waterfall_rows(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Depth-first rows with offset and width as fractions of the trace's duration."""
    start = min(s["start_ns"] for s in spans)
    total = max(max(s["end_ns"] for s in spans) - start, 1)
    rows: list[dict[str, Any]] = []

    def walk(node: SpanNode, depth: int) -> None:
        span = node.span
        rows.append({"name": span["name"], "service": span.get("service") or "", "depth": depth,
                     "offset": (span["start_ns"] - start) / total,
                     "width": max((span["end_ns"] - span["start_ns"]) / total, 0.002),
                     "duration_ms": node.duration_ms, "error": span.get("status") == "error"})
        for child in node.children:
            walk(child, depth + 1)

    for root in span_tree(spans):
        walk(root, 0)
    return rows


def default_store() -> Path:
    return state_dir() / "traces" / TRACES_FILE


def cmd_traces(args: argparse.Namespace) -> int:
    traces = group_traces(read_spans(args.store))
    if not traces:
        print(f"no spans under {args.store} (run `tenantkit local up` and send a request)")
        return 1
    requests = [t for t, spans in traces.items() if any(s.get("service") == "apigateway" for s in spans)]
    wanted = (requests or list(traces))[-1] if args.last else args.trace_id
    if wanted is None:
        for trace_id, spans in traces.items():
            root = span_tree(spans)[0].span
            print(f"{trace_id}  {len(spans):3d} spans  {root['name']}")
        return 0
    matches = [t for t in traces if t.startswith(wanted.lower())]
    if len(matches) != 1:
        print(f"{'no' if not matches else 'more than one'} trace matches {wanted!r}")
        return 1
    print(render_tree(traces[matches[0]]))
    return 0


def register(sub: Any) -> None:
    traces = sub.add_parser("traces", help="print a request's span tree from the local OTLP receiver's store")
    traces.add_argument("trace_id", nargs="?", help="a trace id or a unique prefix (default: list the traces)")
    traces.add_argument("--last", action="store_true", help="the most recent request through the gateway")
    traces.add_argument("--store", type=Path, default=None, help="spans file (default: .tenantkit/traces/spans.jsonl)")
    traces.set_defaults(func=lambda args: cmd_traces(_with_store(args)))


def _with_store(args: argparse.Namespace) -> argparse.Namespace:
    if args.store is None:
        args.store = default_store()
    return args
