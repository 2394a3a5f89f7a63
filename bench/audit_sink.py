"""Audit sink throughput per invocation (budget: >= 20,000 records/s), printed not asserted.

One CloudWatch Logs subscription event of N audit lines (decode, gunzip, validate, partition,
gzip, write to a local directory) and one SQS batch of 10 messages x N/10 lines each.
Baseline in the same run: json.loads of the same lines (what parsing alone costs).

Usage: .venv/bin/python bench/audit_sink.py [--records N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from support.audit import cloudwatch_event, record, sqs_event
    from tenantkit.audit.sink import AuditSink
    from tenantkit.audit.storage import LocalStorage

    tenants = ["acme", "globex", "initech", "umbrella", "hooli"]
    lines = [json.dumps(record(tenant=tenants[i % 5], ts=f"2026-11-28T{i % 24:02d}:{i % 60:02d}:00.000Z",
                               latency_ms=float(i % 900), session_id=f"h1:{i:032x}")) for i in range(args.records)]
    # Delivered just after the day the records span (the sink bounds ts by the arrival time).
    arrival_ms = 1795910400000  # 2026-11-29T00:00:00Z
    cwl = cloudwatch_event(lines, arrival_ms=arrival_ms)
    per_message = max(1, args.records // 10)
    sqs = sqs_event([(f"m-{m}", "\n".join(lines[m * per_message:(m + 1) * per_message])) for m in range(10)],
                    arrival_ms=arrival_ms)

    def run(event: dict) -> float:
        with tempfile.TemporaryDirectory() as root, contextlib.redirect_stdout(io.StringIO()):
            sink = AuditSink(LocalStorage(root))
            t0 = time.perf_counter()
            response = sink.handle(event)
            elapsed = time.perf_counter() - t0
            stored = response.get("written", sink.last_sqs_result.written)
            if stored != args.records:  # a bench of quarantined records would measure another path
                raise SystemExit(f"stored {stored} of {args.records} records")
            return elapsed

    baseline = statistics.median(_timed(lambda: [json.loads(line) for line in lines]) for _ in range(args.runs))
    cwl_s = statistics.median(run(cwl) for _ in range(args.runs))
    sqs_s = statistics.median(run(sqs) for _ in range(args.runs))
    print(f"audit sink bench ({args.records} records per invocation, median of {args.runs} runs, local directory)")
    print(f"  baseline json.loads of the lines        {args.records / baseline:12,.0f} records/s")
    print(f"  CloudWatch Logs subscription event      {args.records / cwl_s:12,.0f} records/s"
          f"   ({cwl_s * 1000:.0f} ms; {baseline / cwl_s:.2f}x of baseline speed)")
    print(f"  SQS batch, 10 messages                  {args.records / sqs_s:12,.0f} records/s"
          f"   ({sqs_s * 1000:.0f} ms)")
    rate = args.records / cwl_s
    verdict = "within budget" if rate >= 20_000 else "UNDER BUDGET"
    print(f"  {'sink throughput (CloudWatch Logs)':<44} {rate:9,.0f} rec/s   budget >= 20,000 rec/s   {verdict}")

def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
