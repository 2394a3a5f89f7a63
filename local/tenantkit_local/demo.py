"""``make demo``: the request and audit paths end to end on this machine, with a progress line
per step. Stack up -> traffic -> compaction -> tenant tables -> dashboard -> stack down."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tenantkit_local import state_dir
from tenantkit_local.otlp_receiver import TRACES_FILE
from tenantkit_local.stack import LocalStack, StackConfig
from tenantkit_local.traffic import Step, TrafficDriver

STEPS = 5


@contextmanager
def progress(number: int, title: str, out: Callable[[str], None]) -> Iterator[None]:
    out(f"[{number}/{STEPS}] {title} ...")
    started = time.perf_counter()
    yield
    out(f"[{number}/{STEPS}] {title}: done in {time.perf_counter() - started:.1f} s")


def table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    cells = [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in [header, *cells]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_demo(root: Path | None = None, *, out: Callable[[str], None] = print) -> int:
    from tenantkit_local.compaction import LocalCompactor
    from tenantkit_local.dashboard import render_dashboard, tenant_tables

    root = root or state_dir() / "demo-audit"
    shutil.rmtree(root, ignore_errors=True)
    traces_root = root.parent / f"{root.name}-traces"
    shutil.rmtree(traces_root, ignore_errors=True)
    steps: list[Step] = []
    with progress(1, "starting the local stack (issuer, moto, agent, API Gateway emulator)", out):
        stack = LocalStack(StackConfig(gateway_port=0, issuer_port=0, audit_root=root,
                                       traces_root=traces_root)).start()
    try:
        out(f"      API {stack.url}  issuer {stack.jwks.jwks_uri if stack.jwks else '-'}")
        with progress(2, "driving traffic: 3 tenants, 2 apps, a service principal, a B2B guest, attacks", out):
            steps = TrafficDriver(stack.url, stack.issuer).run(rounds=3)
    finally:
        stack.stop()
    out(table(("step", "persona", "request", "status", "expected"),
              [(s.name, s.persona or "-", f"{s.method} {s.path[:40]}", s.status, s.expected) for s in steps]))
    wrong = [s for s in steps if not s.ok]
    with progress(3, "compacting the raw zone into Parquet (DuckDB, the compaction query pack)", out):
        compactor = LocalCompactor(root)
        partitions = sorted({p.name.removeprefix("dt=") for p in (root / "raw").glob("dt=*")})
        reports = [compactor.compact(dt) for dt in partitions]
    out(f"      {sum(r.get('rows', 0) for r in reports)} curated rows in {len(reports)} partition(s) under {root}")
    with progress(4, "running the tenant dashboard query pack", out):
        tables = tenant_tables(root, partitions)
    for title, (header, rows) in tables.items():
        out(f"\n{title}\n{table(tuple(header), rows)}")
    with progress(5, "rendering the tenant dashboard", out):
        html = render_dashboard(root, partitions, state_dir() / "dashboard.html",
                                traces=traces_root / TRACES_FILE)
    out(f"\ndashboard: {html}")
    if wrong:
        out(f"\n{len(wrong)} step(s) did not get the expected status: " + ", ".join(s.name for s in wrong))
        return 1
    out(f"\nall {len(steps)} requests answered as expected; stack stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
