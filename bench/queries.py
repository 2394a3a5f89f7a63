"""Query packs on DuckDB over 1M audit records: time per query, and the bytes each query reads
from the curated Parquet zone vs the raw gzip JSON zone -- the number to multiply by Athena's
$5 per TB scanned. Printed, not asserted.

Synthetic data (DuckDB-generated, deterministic): ``--records`` (default 1,000,000) records over
the two days the queries ask for, plus ``--outside`` (default 250,000) on the day before, which
the partition predicate must keep out (its bytes never show up below). 50 tenants with a skewed
volume, the BFF/authorizer event mix (requests, sessions, upstream errors, denials, spoofing,
cross-tenant session ids). Raw zone in the sink's layout (gzip JSON lines, 24 hour folders,
several objects per hour), curated zone by LocalCompactor (the compaction query pack).

Bytes read are DuckDB's own I/O counter (profiling, ``io.total_bytes_read``: every byte read
from a file, footers and metadata included) for the query's execution; the curated files of the
range are listed beside it as what a non-columnar engine would have read. Athena bills the bytes
it scans (compressed, columns actually read for Parquet; whole objects for gzip JSON), rounded up
to 10 MB per query: both figures are printed.

Usage: .venv/bin/python bench/queries.py [--records N] [--outside N] [--runs R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

DAYS = ("2026-11-27", "2026-11-28")  # the range every query asks for
OUTSIDE_DAY = "2026-11-26"
FILES_PER_HOUR = 4
PRICE_PER_TB = 5.0
MIN_BILLED = 10 * 1024 * 1024  # Athena bills at least 10 MB per query
EXTRA = {"top_n": 10, "tenant_id": "tenant-3"}


def generate(root: Path, days: tuple[str, ...], records: int, seed: int) -> None:
    """``records`` raw records spread evenly over ``days``, written in the sink's layout."""
    import duckdb

    day_list = "[" + ", ".join(f"'{d}'" for d in days) + "]"
    out = root / "raw"
    out.mkdir(parents=True, exist_ok=True)
    staging = root / f".gen-{seed}"
    sql = f"""COPY (
      WITH base AS (
        SELECT i, hash(i + {seed} * 1000000007) AS h1, hash(i * 7 + 3 + {seed}) AS h2,
               hash(i * 13 + 5 + {seed}) AS h3
        FROM range({records}) t(i)
      ), picked AS (
        SELECT i, h1, h2, h3, h1 % 1000 AS mix,
          {day_list}[1 + CAST(i % {len(days)} AS INTEGER)] AS dt,
          CAST(h3 % 24 AS INTEGER) AS hr,
          'tenant-' || CAST(floor(50 * pow((h2 % 10000) / 10000.0, 2)) AS INTEGER) AS tenant,
          ['portal', 'agent-console'][1 + CAST(h3 % 2 AS INTEGER)] AS app
        FROM base
      ), typed AS (
        SELECT *, CASE
            WHEN mix < 450 THEN 'request.completed' WHEN mix < 700 THEN 'authz.allow'
            WHEN mix < 820 THEN 'session.continued' WHEN mix < 870 THEN 'session.bound'
            WHEN mix < 890 THEN 'session.deleted' WHEN mix < 895 THEN 'session.expired'
            WHEN mix < 915 THEN 'upstream.error' WHEN mix < 935 THEN 'authz.deny'
            WHEN mix < 955 THEN 'authz.unauthorized' WHEN mix < 965 THEN 'tenant.spoof_rejected'
            WHEN mix < 975 THEN 'session.rejected' WHEN mix < 985 THEN 'abac.deny'
            ELSE 'request.rejected' END AS event_type,
          CASE WHEN h2 % 1000 < 940 THEN 200 WHEN h2 % 1000 < 960 THEN 403 WHEN h2 % 1000 < 980 THEN 404
               WHEN h2 % 1000 < 992 THEN 502 ELSE 504 END AS rc_status
        FROM picked
      )
      SELECT dt, lpad(CAST(hr AS VARCHAR), 2, '0') AS hour, CAST(h1 % {FILES_PER_HOUR} AS INTEGER) AS part,
        '1' AS schema_version, md5(CAST(i AS VARCHAR) || '-{seed}') AS event_id,
        strftime(CAST(dt AS TIMESTAMP) + to_hours(hr) + to_milliseconds(CAST(h1 % 3600000 AS BIGINT)),
                 '%Y-%m-%dT%H:%M:%S.%gZ') AS ts,
        'audit' AS record_type, event_type,
        CASE event_type WHEN 'authz.allow' THEN 'allow' WHEN 'authz.deny' THEN 'deny'
             WHEN 'authz.unauthorized' THEN 'unauthorized' WHEN 'tenant.spoof_rejected' THEN 'deny'
             WHEN 'session.rejected' THEN 'deny' WHEN 'abac.deny' THEN 'deny' WHEN 'session.expired' THEN 'deny'
             WHEN 'request.rejected' THEN 'rejected' WHEN 'upstream.error' THEN 'error'
             WHEN 'request.completed' THEN CASE WHEN rc_status < 400 THEN 'success' ELSE 'error' END
             ELSE 'success' END AS outcome,
        CASE event_type WHEN 'authz.allow' THEN 'verified'
             WHEN 'authz.deny'
               THEN ['scope_missing', 'tenant_not_onboarded', 'app_not_registered'][1 + CAST(h3 % 3 AS INTEGER)]
             WHEN 'authz.unauthorized' THEN ['token_expired', 'signature_invalid'][1 + CAST(h3 % 2 AS INTEGER)]
             WHEN 'session.rejected' THEN ['session_cross_tenant', 'session_not_found'][1 + CAST(h3 % 2 AS INTEGER)]
             WHEN 'abac.deny' THEN ['tenant_mismatch', 'scope_missing'][1 + CAST(h3 % 2 AS INTEGER)]
             WHEN 'tenant.spoof_rejected' THEN 'tenant_spoof' WHEN 'request.rejected' THEN 'body_malformed'
             WHEN 'upstream.error' THEN 'upstream_timeout' WHEN 'session.bound' THEN 'session_created'
             WHEN 'session.continued' THEN 'session_bound_to_caller' WHEN 'session.deleted' THEN 'session_deleted'
             WHEN 'session.expired' THEN 'session_expired'
             ELSE 'http_' || rc_status END AS reason,
        CASE WHEN event_type LIKE 'authz.%' THEN 'tenantkit-authorizer' ELSE 'tenantkit-bff' END AS service,
        CASE WHEN event_type = 'authz.unauthorized' THEN NULL ELSE app END AS app_id,
        CASE WHEN event_type = 'authz.unauthorized' OR (event_type = 'authz.deny' AND h3 % 3 = 1) THEN NULL
             ELSE tenant END AS tenant_id,
        CASE WHEN event_type = 'authz.unauthorized' THEN NULL
             ELSE tenant || ':user-' || CAST(h1 % 200 AS VARCHAR) END AS principal_id,
        CASE WHEN event_type = 'authz.unauthorized' THEN NULL WHEN h1 % 10 = 0 THEN 'service' ELSE 'user' END
          AS principal_type,
        CASE WHEN event_type LIKE 'session.%' OR (event_type = 'request.completed' AND mix % 2 = 0)
             THEN 'h1:' || md5(tenant || CAST(h3 % 4000 AS VARCHAR)) END AS session_id,
        substr(md5(CAST(i AS VARCHAR) || 'c'), 1, 16) AS correlation_id,
        CASE WHEN event_type LIKE 'authz.%' THEN 'POST /v1/{{proxy+}}'
             WHEN event_type = 'session.bound' THEN 'POST /v1/sessions'
             ELSE ['POST /v1/sessions/{{session_id}}/messages', 'GET /v1/me', 'GET /v1/sessions/{{session_id}}']
                  [1 + CAST(h2 % 3 AS INTEGER)] END AS route,
        CASE event_type WHEN 'request.completed' THEN rc_status WHEN 'authz.allow' THEN 200
             WHEN 'authz.deny' THEN 403 WHEN 'authz.unauthorized' THEN 401 WHEN 'tenant.spoof_rejected' THEN 403
             WHEN 'abac.deny' THEN 403 WHEN 'session.rejected' THEN 404 WHEN 'session.expired' THEN 404
             WHEN 'request.rejected' THEN 400 WHEN 'upstream.error' THEN 504 WHEN 'session.bound' THEN 201
             WHEN 'session.deleted' THEN 204 END AS status,
        CASE WHEN event_type IN ('request.completed', 'authz.allow', 'authz.deny', 'authz.unauthorized')
             THEN round(exp(ln(3) + 6 * pow((h2 % 100000) / 100000.0, 3)), 3) END AS latency_ms,
        CASE WHEN event_type = 'request.completed' AND h2 % 3 = 0 THEN 'support-agent' END AS agent_name,
        CASE WHEN event_type = 'request.completed' AND h2 % 3 = 0
             THEN 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/bench01' END
          AS inference_profile_arn,
        CASE WHEN event_type = 'request.completed' AND h2 % 3 = 0 THEN CAST(h3 % 4000 AS BIGINT) END AS input_tokens,
        CASE WHEN event_type = 'request.completed' AND h2 % 3 = 0 THEN CAST(h1 % 900 AS BIGINT) END AS output_tokens,
        h1 % 1000 = 0 AS cold_start, substr(md5(CAST(i // 10 AS VARCHAR)), 1, 32) AS function_request_id
      FROM typed
    ) TO '{staging}' (FORMAT JSON, COMPRESSION GZIP, PARTITION_BY (dt, hour, part),
                      FILE_EXTENSION 'jsonl.gz', OVERWRITE_OR_IGNORE)"""
    with duckdb.connect() as con:
        con.execute(sql)
    # DuckDB writes dt=/hour=/part=/data_0.jsonl.gz; the sink's layout is dt=/hour=/<batch>.jsonl.gz
    for data in sorted(staging.glob("dt=*/hour=*/part=*/*.jsonl.gz")):
        part, hour, day = data.parent, data.parent.parent, data.parent.parent.parent
        target = out / day.name / hour.name
        target.mkdir(parents=True, exist_ok=True)
        data.rename(target / f"bench-{seed}-{part.name[5:]}-{data.stem.split('.')[0]}.jsonl.gz")
    shutil.rmtree(staging)


def profiled(con: Any, sql: str, params: list[Any], profile: Path) -> tuple[float, int, int]:
    """(seconds, io bytes read, files scanned) of one execution."""
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = '{profile}'")
    con.execute("SET profiling_mode = 'detailed'")
    started = time.perf_counter()
    con.execute(sql, params).fetchall()
    elapsed = time.perf_counter() - started
    con.execute("PRAGMA disable_profiling")
    report = json.loads(profile.read_text())
    files = 0
    stack = list(report.get("operator", []))
    while stack:
        node = stack.pop()
        stack.extend(node.get("children", []))
        if node.get("type") == "TABLE_SCAN":
            files += int(node.get("extra_info", {}).get("Total Files Read", 0) or 0)
    return elapsed, int(report["io"]["total_bytes_read"]), files


def raw_as_curated() -> str:
    """audit_curated's columns computed from the raw zone (ts parsed): the same query on raw JSON."""
    from tenantkit_local.duckdb_engine import CURATED_COLUMNS

    columns = ", ".join(
        "CAST(CAST(ts AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP) AS ts" if name == "ts" else f'"{name}"'
        for name in CURATED_COLUMNS)
    return f"CREATE OR REPLACE VIEW audit_curated AS SELECT {columns}, dt FROM audit_raw"


def dollars(nbytes: int) -> str:
    return f"${nbytes / 1e12 * PRICE_PER_TB:.7f}"


def human(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1000 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return f"{nbytes:.1f} GB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000, help="records in the queried range")
    parser.add_argument("--outside", type=int, default=250_000, help="records on the day before the range")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per query on Parquet (raw JSON: 1)")
    parser.add_argument("--keep", type=Path, help="generate into DIR once and reuse it on later runs")
    args = parser.parse_args()

    from tenantkit_local.compaction import LocalCompactor
    from tenantkit_local.duckdb_engine import DuckDBEngine
    from tenantkit_local.querypack import all_queries

    root = args.keep or Path(tempfile.mkdtemp(prefix="tenantkit-queries-bench-"))
    scratch = Path(tempfile.mkdtemp(prefix="tenantkit-queries-profile-"))
    try:
        generation = "reused"
        if not any(root.glob("curated/dt=*/*.parquet")):
            t0 = time.perf_counter()
            generate(root, DAYS, args.records, seed=1)
            if args.outside:
                generate(root, (OUTSIDE_DAY,), args.outside, seed=2)
            compactor = LocalCompactor(root)
            for dt in (*DAYS, OUTSIDE_DAY) if args.outside else DAYS:
                compactor.compact(dt)
            generation = f"{time.perf_counter() - t0:.1f} s"
        raw_range = [p for d in DAYS for p in root.glob(f"raw/dt={d}/hour=*/*.jsonl.gz")]
        curated_range = [p for d in DAYS for p in root.glob(f"curated/dt={d}/*.parquet")]
        raw_bytes = sum(p.stat().st_size for p in raw_range)
        curated_bytes = sum(p.stat().st_size for p in curated_range)

        queries = [q for q in all_queries() if q.tables == ("audit_curated",)]
        values = {"from_dt": DAYS[0], "to_dt": DAYS[-1], **EXTRA}
        rows: list[tuple[str, float, float, int, int, int, int]] = []
        with DuckDBEngine(root) as duck:
            in_range = duck.con.execute("SELECT count(*) FROM audit_curated WHERE dt BETWEEN ? AND ?",
                                        [DAYS[0], DAYS[-1]]).fetchone()[0]
            for query in queries:
                params = query.bind({p.name: values[p.name] for p in query.parameters})
                sql = duck.sql(query)
                duck.con.execute(sql, params).fetchall()  # warm: file metadata, transpile
                runs = [profiled(duck.con, sql, params, scratch / "p.json") for _ in range(args.runs)]
                seconds = statistics.median(r[0] for r in runs)
                rows.append((query.ref, seconds, 0.0, runs[-1][1], runs[-1][2], 0, 0))
            duck.con.execute(raw_as_curated())  # the same queries, reading the raw JSON zone
            for index, query in enumerate(queries):
                params = query.bind({p.name: values[p.name] for p in query.parameters})
                elapsed, nbytes, files = profiled(duck.con, duck.sql(query), params, scratch / "p.json")
                ref, seconds, _, pbytes, pfiles, _, _ = rows[index]
                rows[index] = (ref, seconds, elapsed, pbytes, pfiles, nbytes, files)

        print(f"query pack bench: {in_range:,} curated records in the range {DAYS[0]}..{DAYS[-1]} "
              f"(+{args.outside:,} on {OUTSIDE_DAY}, outside it); {os.cpu_count()} CPUs; DuckDB, "
              f"median of {args.runs} runs on Parquet, 1 run on raw JSON")
        print(f"  generation + compaction (not measured below)   {generation}")
        print(f"  files in the range: curated Parquet {len(curated_range)} = {human(curated_bytes)}, "
              f"raw gzip JSON {len(raw_range)} = {human(raw_bytes)}")
        print(f"  Athena price ${PRICE_PER_TB:g}/TB scanned, minimum {MIN_BILLED // 2**20} MB billed per query\n")
        header = (f"  {'query':<48} {'parquet':>9} {'raw json':>9}  {'parquet read':>12} {'raw json read':>13}"
                  f"  {'ratio':>6}  {'$ parquet':>10} {'$ raw json':>10}")
        print(header)
        print("  " + "-" * (len(header) - 2))
        for ref, seconds, raw_seconds, pbytes, pfiles, rbytes, rfiles in rows:
            print(f"  {ref:<48} {seconds * 1000:7.0f}ms {raw_seconds * 1000:7.0f}ms  {human(pbytes):>12} "
                  f"{human(rbytes):>13}  {rbytes / max(pbytes, 1):5.0f}x  {dollars(pbytes):>10} {dollars(rbytes):>10}")
            assert pfiles == len(curated_range) and rfiles == len(raw_range), \
                f"{ref}: read {pfiles} Parquet / {rfiles} JSON files, the range has {len(curated_range)} / " \
                f"{len(raw_range)}: the partition predicate did not prune"
        print("\n  parquet / raw json: time per query. *read: DuckDB io.total_bytes_read of the execution"
              " (what Athena would scan, roughly); ratio = raw / parquet.")
        print(f"  $: bytes read x ${PRICE_PER_TB:g}/TB. Athena bills at least 10 MB per query, i.e. "
              f"{dollars(MIN_BILLED)} for any query reading less.")
        print(f"  Every query read only the range's files ({len(curated_range)} Parquet, {len(raw_range)} JSON);"
              f" {OUTSIDE_DAY}, outside the range: 0 files, 0 bytes.")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main()
