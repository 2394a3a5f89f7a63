"""Local compaction of one day (budget: 1M audit records locally in <= 10 s), printed not asserted.

Generates N raw records for one day in the sink's layout (gzip JSON lines, 24 hour folders,
several batch objects per hour, ~1% of the records redelivered in another object), then runs
LocalCompactor (the query pack's compaction SELECT on DuckDB, COPY to ZSTD Parquet) on that
day. Generation is timed separately and is not part of the budget. Also prints the curated
Parquet size against the raw JSON.gz size.

Usage: .venv/bin/python bench/audit_compaction.py [--records N] [--runs R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

DT = "2026-11-28"
DUPLICATE_EVERY = 101  # every 101st record is delivered twice, in another object


def generate(root: Path, records: int, files_per_hour: int) -> int:
    """Write ~``records`` raw lines with DuckDB; returns the exact number written."""
    import duckdb

    unique = records * DUPLICATE_EVERY // (DUPLICATE_EVERY + 1)
    (root / "raw").mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute(f"""COPY (
          WITH base AS (SELECT i, i % 24 AS h, (i // 24) % {files_per_hour} AS part FROM range({unique}) t(i)),
          every AS (SELECT * FROM base UNION ALL
                    SELECT i, h, (part + 1) % {files_per_hour} FROM base WHERE i % {DUPLICATE_EVERY} = 0)
          SELECT '{DT}' AS dt, lpad(CAST(h AS VARCHAR), 2, '0') AS hour, part,
            '1' AS schema_version, md5(CAST(i AS VARCHAR)) AS event_id,
            strftime(TIMESTAMP '{DT} 00:00:00' + to_hours(h) + to_milliseconds((i * 7919) % 3600000),
                     '%Y-%m-%dT%H:%M:%S.%gZ') AS ts,
            'audit' AS record_type,
            (['authz.allow', 'authz.deny', 'request.completed', 'session.bound', 'upstream.error'])[1 + i % 5]
              AS event_type,
            (['allow', 'deny', 'success', 'success', 'error'])[1 + i % 5] AS outcome,
            (['verified', 'scope_missing', 'http_200', 'bound', 'upstream_timeout'])[1 + i % 5] AS reason,
            'tenantkit-bff' AS service, (['portal', 'agent-console'])[1 + i % 2] AS app_id,
            'tenant-' || (i % 50) AS tenant_id, 'user-' || (i % 5000) AS principal_id, 'user' AS principal_type,
            'h1:' || md5(CAST(i % 20000 AS VARCHAR)) AS session_id, md5(CAST(i AS VARCHAR) || 'c') AS correlation_id,
            'POST /v1/sessions/{{session_id}}/messages' AS route, 200 AS status,
            round((i % 9000) / 10.0, 1) AS latency_ms,
            CASE WHEN i % 3 = 0 THEN 'default' END AS agent_name,
            CASE WHEN i % 3 = 0 THEN 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3'
              END AS inference_profile_arn,
            CASE WHEN i % 3 = 0 THEN i % 4000 END AS input_tokens,
            CASE WHEN i % 3 = 0 THEN i % 900 END AS output_tokens,
            i % 1000 = 0 AS cold_start, md5(CAST(i // 10 AS VARCHAR)) AS function_request_id
          FROM every
        ) TO '{root / "raw"}' (FORMAT JSON, COMPRESSION GZIP, PARTITION_BY (dt, hour, part),
                               FILE_EXTENSION 'jsonl.gz', OVERWRITE_OR_IGNORE)""")
    # DuckDB writes hour=HH/part=P/data_0.jsonl.gz; the sink's layout is hour=HH/<batch>.jsonl.gz
    for part_dir in sorted((root / "raw").glob("dt=*/hour=*/part=*")):
        for index, data in enumerate(sorted(part_dir.glob("*.jsonl.gz"))):
            data.rename(part_dir.parent / f"bench-{part_dir.name[5:]}-{index}.jsonl.gz")
        part_dir.rmdir()
    return unique + len(range(0, unique, DUPLICATE_EVERY))


def size_of(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--files-per-hour", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into DIR once and reuse it on later runs")
    args = parser.parse_args()

    from _common import budget_line

    from tenantkit_local.compaction import LocalCompactor

    root = args.keep or Path(tempfile.mkdtemp(prefix="tenantkit-compaction-bench-"))
    try:
        raw_files = sorted(root.glob(f"raw/dt={DT}/hour=*/*.jsonl.gz"))
        generation = "reused"
        if not raw_files:
            t0 = time.perf_counter()
            generate(root, args.records, args.files_per_hour)
            generation = f"{time.perf_counter() - t0:.1f} s"
            raw_files = sorted(root.glob(f"raw/dt={DT}/hour=*/*.jsonl.gz"))
        compactor = LocalCompactor(root)
        timings, cpu, report = [], [], {}
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            report = compactor.compact(DT)
            timings.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        raw_bytes = size_of(raw_files)
        curated_files = sorted(root.glob(f"curated/dt={DT}/*.parquet"))
        curated_bytes = size_of(curated_files)
        records = _count_lines(root)
        median = statistics.median(timings)
        print(f"audit compaction bench ({records:,} raw records in {len(raw_files)} objects over 24 hours; "
              f"{os.cpu_count()} CPUs; median of {args.runs} runs)")
        print(f"  generation of the raw day (not budgeted)        {generation}")
        print(f"  compaction runs                                 {', '.join(f'{t:.2f} s' for t in timings)}")
        # CPU seconds (all DuckDB threads) move less than wall time when other work shares the cores.
        print(f"  CPU time of the runs                            {', '.join(f'{t:.2f} s' for t in cpu)} "
              f"(load average {os.getloadavg()[0]:.1f})")
        print(f"  rows out (one per event_id)                     {report['rows']:,} "
              f"({records - report['rows']:,} duplicates dropped)")
        print(f"  throughput                                      {records / median:,.0f} raw records/s")
        print(f"  raw zone, gzip JSON lines                       {raw_bytes / 1e6:.1f} MB")
        label = f"curated zone, ZSTD Parquet ({len(curated_files)} file)"
        print(f"  {label:<48}{curated_bytes / 1e6:.1f} MB = {curated_bytes / raw_bytes:.2f}x the raw JSON.gz "
              f"({raw_bytes / curated_bytes:.2f}:1)")
        scaled = median * 1_000_000 / records
        print(budget_line("compaction of 1M records (scaled to 1M)", scaled, 10, "s"))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


def _count_lines(root: Path) -> int:
    import duckdb

    with duckdb.connect() as con:
        glob = str(root / "raw" / f"dt={DT}" / "hour=*" / "*.jsonl.gz")
        return int(con.execute("SELECT count(*) FROM read_csv(?, columns = {'line': 'VARCHAR'}, delim = '\\x01', "
                               "quote = '', escape = '', header = false, compression = 'gzip')", [glob]).fetchone()[0])


if __name__ == "__main__":
    main()
