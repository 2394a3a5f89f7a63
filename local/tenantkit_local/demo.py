"""``make demo``: the request and audit paths end to end on this machine, with a progress line
per step. Stack up -> scripted traffic (each answer checked) -> a synthetic day of traffic
through the real sink -> compaction -> tenant tables -> dashboard -> stack down.

It resets and writes the audit store every local tool reads by default (``AUDIT_STORE``, else
``.tenantkit/audit``), so ``tenantkit query`` and ``tenantkit dashboard`` work right after it."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tenantkit_local import audit_store_default, state_dir
from tenantkit_local.otlp_receiver import TRACES_FILE
from tenantkit_local.stack import LocalStack, StackConfig
from tenantkit_local.texttable import render_table
from tenantkit_local.traffic import Step, TrafficDriver

STEPS = 6


@contextmanager
def progress(number: int, title: str, out: Callable[[str], None]) -> Iterator[None]:
    out(f"[{number}/{STEPS}] {title} ...")
    started = time.perf_counter()
    yield
    out(f"[{number}/{STEPS}] {title}: done in {time.perf_counter() - started:.1f} s")


def table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    return render_table(header, rows)


def run_demo(root: Path | None = None, *, out: Callable[[str], None] = print,
             synthetic_requests: int = 12_000, today: date | None = None) -> int:
    from tenantkit_local.compaction import LocalCompactor
    from tenantkit_local.dashboard import render_dashboard, tenant_tables
    from tenantkit_local.synthetic import deliver_day

    root = root or audit_store_default()
    shutil.rmtree(root, ignore_errors=True)
    traces_root = root.parent / f"{root.name}-traces"
    shutil.rmtree(traces_root, ignore_errors=True)
    steps: list[Step] = []
    yesterday = (today or datetime.now(UTC).date()) - timedelta(days=1)
    with progress(1, "starting the local stack (issuer, moto, agent, API Gateway emulator)", out):
        stack = LocalStack(StackConfig(gateway_port=0, issuer_port=0, audit_root=root,
                                       traces_root=traces_root)).start()
    try:
        out(f"      API {stack.url}  issuer {stack.jwks.jwks_uri if stack.jwks else '-'}")
        with progress(2, "driving traffic: 3 tenants, 2 apps, a service principal, a B2B guest, attacks", out):
            steps = TrafficDriver(stack.url, stack.issuer).run(rounds=3)
        if synthetic_requests > 0:
            with progress(3, f"writing a synthetic day ({yesterday}) through the audit sink", out):
                day = deliver_day(yesterday, synthetic_requests, stack.deliver_to_sink)
            out(f"      {day.requests} requests, {day.records} audit records, {day.deliveries} CloudWatch Logs "
                "deliveries: diurnal shape, hot tenant acme, attack burst at 14:00")
    finally:
        stack.stop()
    out(table(("step", "persona", "request", "status", "expected"),
              [(s.name, s.persona or "-", f"{s.method} {s.path[:40]}", s.status, s.expected) for s in steps]))
    wrong = [s for s in steps if not s.ok]
    with progress(4, "compacting the raw zone into Parquet (DuckDB, the compaction query pack)", out):
        compactor = LocalCompactor(root)
        partitions = sorted({p.name.removeprefix("dt=") for p in (root / "raw").glob("dt=*")})
        reports = [compactor.compact(dt) for dt in partitions]
    out(f"      {sum(r.get('rows', 0) for r in reports)} curated rows in {len(reports)} partition(s) under {root}")
    with progress(5, "running the tenant dashboard query pack", out):
        tables = tenant_tables(root, partitions)
    for title, (header, rows) in tables.items():
        more = f"\n({len(rows) - 12} more rows)" if len(rows) > 12 else ""
        out(f"\n{title}\n{table(tuple(header), rows[:12])}{more}")
    with progress(6, "rendering the tenant dashboard", out):
        html = render_dashboard(root, partitions, state_dir() / "dashboard.html",
                                traces=traces_root / TRACES_FILE)
    out(f"\ndashboard: {html}")
    out(f"audit store: {root}  (tenantkit query/dashboard/compact read it by default)")
    if wrong:
        out(f"\n{len(wrong)} step(s) did not get the expected status: " + ", ".join(s.name for s in wrong))
        return 1
    out(f"\nall {len(steps)} scripted requests answered as expected; stack stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
