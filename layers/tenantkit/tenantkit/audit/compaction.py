"""Compaction on Athena: one UTC day of the raw zone becomes the curated Parquet partition.

Orchestration only; the rules live in the query pack's SQL (``queries/compaction/``, shipped
here byte-identical under ``sql/``): ``compact_audit_partition`` (typed columns and provenance,
one row per ``event_id`` ranked by source then first stored, sorted by ``tenant_id, ts,
event_id``) and ``audit_partition_rejects`` (what is left out, for the quarantine). For a day
``dt``, with ``run`` a fresh id:

1. remove what an interrupted run left under ``<prefix>curated/_staging/dt=<dt>/``;
2. ``UNLOAD (<the SELECT>) TO 's3://<bucket>/<prefix>curated/_staging/dt=<dt>/<run>/'`` (Parquet,
   ZSTD), ``dt`` passed as an execution parameter; poll ``GetQueryExecution`` with backoff and
   jitter until a final state or the deadline (then the query is stopped);
3. run the rejects SELECT, read its rows and write them to
   ``<prefix>quarantine/dt=<dt>/compaction-rejects.jsonl.gz`` (unconvertible records,
   ``audit.conflict`` copies); the count goes to the log line the conflict alarm reads;
4. swap: copy each staged object into ``curated/dt=<dt>/<run>-<name>``, then delete the day's
   objects that are not of this run, then the staging objects.

Why this order: the curated table uses partition projection, so readers always read the fixed
location ``curated/dt=<dt>/``; S3 has no multi-object rename. Writing the new objects in first
and deleting the old ones second means that at every instant, and after a crash at any step,
readers see every row of the old day or every row of the new day (during the swap, briefly,
both: an ``event_id`` may appear twice until the deletes finish or the next run converges),
never an empty or partial day. The day is never cleared before the new one exists: an UNLOAD
that yields no rows keeps the old day (``kept_previous``), because raw objects expire and the
curated day is then the only record.

Schedules: hourly, today's day (UTC, from the scheduled event's ``time``); daily catch-up with
``{"mode": "catch_up", "days": N}`` recompacts the N previous days so late records land.
``{"dt": "YYYY-MM-DD"}`` recompacts one day by hand.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

from tenantkit import aws
from tenantkit.audit.exceptions import (
    CompactionError,
    CompactionEventError,
    CompactionQueryError,
    CompactionTimeoutError,
)
from tenantkit.audit.rejects import REJECTS_SQL_FILE, Rejects, quarantine_key, rejects_from_rows
from tenantkit.aws import jittered_backoff
from tenantkit.config import env_number, env_required
from tenantkit.exceptions import ConfigurationError
from tenantkit.observability.settings import ObservabilitySettings

SQL_FILE = "compact_audit_partition.sql"
MAX_REJECT_ROWS = 10_000  # read back per day; more is reported as truncated (the count still alarms)
FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
MAX_CATCH_UP_DAYS = 31
_DT = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_PREFIX = re.compile(r"^(?:[A-Za-z0-9_.=-]+/)*\Z")  # goes into an SQL literal: no quotes, ever
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}\Z")


def validate_dt(value: object) -> str:
    if not isinstance(value, str) or not _DT.match(value):
        raise CompactionEventError(f"dt must be YYYY-MM-DD, got {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise CompactionEventError(f"dt is not a calendar day: {value!r}") from None
    return value


def packaged_sql(name: str = SQL_FILE) -> str:
    """A query-pack file as shipped in the layer (header included)."""
    return resources.files("tenantkit.audit").joinpath("sql", name).read_text(encoding="utf-8")


def select_statement(text: str) -> str:
    """The statement of a query-pack file: leading ``--`` header lines and a final ``;`` removed."""
    lines = text.splitlines()
    while lines and lines[0].lstrip().startswith("--"):
        lines.pop(0)
    return "\n".join(lines).strip().removesuffix(";").rstrip()


def unload_statement(select: str, location: str) -> str:
    if "'" in location or not location.startswith("s3://") or not location.endswith("/"):
        raise CompactionError(f"unsafe UNLOAD location {location!r}")
    return f"UNLOAD (\n{select}\n) TO '{location}' WITH (format = 'PARQUET', compression = 'ZSTD')"


def dates_to_compact(event: Any, now: datetime) -> tuple[str, list[str]]:
    """(mode, days oldest first) for an invocation event; ``now`` is timezone-aware."""
    if not isinstance(event, Mapping):
        raise CompactionEventError("the event must be a JSON object")
    if event.get("mode") == "catch_up":
        days = event.get("days")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_CATCH_UP_DAYS:
            raise CompactionEventError(f"catch_up days must be an integer 1..{MAX_CATCH_UP_DAYS}, got {days!r}")
        today = now.astimezone(UTC).date()
        return "catch_up", [(today - timedelta(days=n)).isoformat() for n in range(days, 0, -1)]
    if "dt" in event:
        return "dt", [validate_dt(event["dt"])]
    if event.get("mode") == "hourly" or event.get("detail-type") == "Scheduled Event":
        when = event.get("time")
        if isinstance(when, str) and _DT.match(when[:10]):
            return "hourly", [validate_dt(when[:10])]  # the schedule's own time, not the delivery time
        return "hourly", [now.astimezone(UTC).date().isoformat()]
    raise CompactionEventError("expected a scheduled event, {'mode': 'catch_up', 'days': N} or {'dt': 'YYYY-MM-DD'}")


@dataclass(frozen=True, slots=True)
class CompactionConfig:
    bucket: str
    prefix: str
    workgroup: str
    database: str
    max_wait_seconds: float = 600.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CompactionConfig:
        env = os.environ if environ is None else environ
        ObservabilitySettings.from_env(env)  # a bad logging setting fails here, at init
        # One name for the audit location across the sink, compaction and the CLI: AUDIT_STORE.
        store = env_required(env, "AUDIT_STORE")
        if not store.startswith("s3://"):
            raise ConfigurationError("AUDIT_STORE", "must be s3://<bucket>/<prefix> (Athena reads S3)")
        bucket, _, prefix = store.removeprefix("s3://").partition("/")
        if not _BUCKET.match(bucket):
            raise ConfigurationError("AUDIT_STORE", "must name an S3 bucket: s3://<bucket>/<prefix>")
        prefix = prefix.strip().strip("/")
        prefix = prefix + "/" if prefix else ""
        if not _PREFIX.match(prefix) or "//" in prefix:
            raise ConfigurationError("AUDIT_STORE", "the prefix takes letters, digits, _ . = - and / only")
        names = {}
        for variable in ("ATHENA_WORKGROUP", "ATHENA_DATABASE"):
            names[variable] = env_required(env, variable)
            if not _NAME.match(names[variable]):
                raise ConfigurationError(variable, "letters, digits, _ . - only")
        return cls(bucket=bucket, prefix=prefix, workgroup=names["ATHENA_WORKGROUP"],
                   database=names["ATHENA_DATABASE"],
                   max_wait_seconds=env_number(env, "COMPACTION_MAX_WAIT_SECONDS", 600, 5, 890))

    def curated_prefix(self, dt: str) -> str:
        return f"{self.prefix}curated/dt={validate_dt(dt)}/"

    def curated_location(self, dt: str) -> str:
        return f"s3://{self.bucket}/{self.curated_prefix(dt)}"

    def staging_prefix(self, dt: str) -> str:
        """Beside the partitions, under no projected location: readers never see it."""
        return f"{self.prefix}curated/_staging/dt={validate_dt(dt)}/"


class AthenaCompactor:
    """Compacts partitions with Athena UNLOAD. Clients are created on first use (cold start)."""

    def __init__(self, config: CompactionConfig, *, athena: Any = None, s3: Any = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None, first_delay: float = 1.0, max_delay: float = 15.0) -> None:
        self.config = config
        self._athena, self._s3 = athena, s3
        self._sleep, self._clock, self._rng = sleep, clock, rng or random.Random()
        self.first_delay, self.max_delay = first_delay, max_delay
        self.select = select_statement(packaged_sql())
        self.rejects_select = select_statement(packaged_sql(REJECTS_SQL_FILE))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AthenaCompactor:
        return cls(CompactionConfig.from_env(environ))

    @property
    def athena(self) -> Any:
        if self._athena is None:
            self._athena = _client("athena")
        return self._athena

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = _client("s3")
        return self._s3

    def handle(self, event: Any, context: Any = None, *, now: datetime | None = None) -> dict[str, Any]:
        """Compact every day the event asks for; one failed day does not stop the others."""
        from tenantkit.observability import get_logger

        mode, days = dates_to_compact(event, now or datetime.now(UTC))
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        stop_at = self._clock() + remaining_ms() / 1000 - 10 if callable(remaining_ms) else None
        reports, failures = [], []
        for dt in days:
            try:
                reports.append(self.compact(dt, deadline=stop_at))
                get_logger().info("audit partition compacted", extra=reports[-1])
            except Exception as exc:  # S3/Athena client errors included: the other days still run
                failures.append(f"dt={dt}: {type(exc).__name__}: {exc}")
                get_logger().error("audit partition not compacted", extra={
                    "dt": dt, "reason": getattr(exc, "reason", "compaction_failed"), "error": str(exc)})
        if failures:
            raise CompactionError(f"{len(failures)} of {len(days)} partition(s) failed; " + "; ".join(failures))
        return {"mode": mode, "partitions": reports}

    def compact(self, dt: str, *, deadline: float | None = None) -> dict[str, Any]:
        dt = validate_dt(dt)
        started = self._clock()
        own_deadline = started + self.config.max_wait_seconds
        deadline = own_deadline if deadline is None else min(deadline, own_deadline)
        run = self._new_run_id()
        stale = self.delete_keys(dt, self.list_keys(self.config.staging_prefix(dt)))
        staging = f"{self.config.staging_prefix(dt)}{run}/"
        location = f"s3://{self.config.bucket}/{staging}"
        query_id, execution = self.run_query(dt, unload_statement(self.select, location), deadline)
        rejects = self.read_rejects(dt, deadline)
        if rejects.lines:
            self.s3.put_object(Bucket=self.config.bucket, Key=self.config.prefix + quarantine_key(dt),
                               Body=rejects.gzip(), ContentType="application/x-ndjson", ContentEncoding="gzip")
        staged = self.list_keys(staging)
        old = self.list_keys(self.config.curated_prefix(dt))
        kept_previous = not staged and bool(old)
        copied = deleted = 0
        if staged:
            target = self.config.curated_prefix(dt)
            for key in staged:  # 1. the new day beside the old one
                self.s3.copy_object(Bucket=self.config.bucket, CopySource={"Bucket": self.config.bucket, "Key": key},
                                    Key=f"{target}{run}-{key[len(staging):].replace('/', '-')}")
                copied += 1
            # 2. then the old day goes (objects of this run stay)
            deleted = self.delete_keys(dt, [k for k in old if not k[len(target):].startswith(f"{run}-")])
        self.delete_keys(dt, staged)
        return {
            "dt": dt,
            "query_execution_id": query_id,
            "state": execution.get("Status", {}).get("State", "UNKNOWN"),
            "data_scanned_bytes": int(execution.get("Statistics", {}).get("DataScannedInBytes", 0)),
            "output_location": self.config.curated_location(dt),
            "staged_objects": copied,
            "deleted_objects": deleted,
            "stale_staging_removed": stale,
            "kept_previous": kept_previous,
            "quarantined": len(rejects.lines),
            "audit_conflicts": rejects.conflicts,
            "unconvertible": rejects.unconvertible,
            "rejects_truncated": rejects.truncated,
            "duration_ms": round((self._clock() - started) * 1000),
        }

    def run_query(self, dt: str, statement: str, deadline: float) -> tuple[str, dict[str, Any]]:
        """Start ``statement`` with ``dt`` as its parameter and wait until it SUCCEEDED (else raise)."""
        response = self.athena.start_query_execution(
            QueryString=statement,
            QueryExecutionContext={"Database": self.config.database},
            WorkGroup=self.config.workgroup,
            ExecutionParameters=[f"'{dt}'"],  # a string literal: dt is validated YYYY-MM-DD
        )
        query_id = response["QueryExecutionId"]
        execution = self.wait(dt, query_id, deadline)
        status = execution.get("Status", {})
        state = status.get("State", "UNKNOWN")
        if state != "SUCCEEDED":
            error = status.get("AthenaError") or {}
            reason = status.get("StateChangeReason") or error.get("ErrorMessage") or "no reason given"
            raise CompactionQueryError(dt, query_id, state, reason)
        return query_id, execution

    def read_rejects(self, dt: str, deadline: float) -> Rejects:
        """The rejects SELECT's rows (at most ``MAX_REJECT_ROWS``) as quarantine entries."""
        query_id, _ = self.run_query(dt, self.rejects_select, deadline)
        rows: list[dict[str, Any]] = []
        names: list[str] = []
        truncated = False
        for page in self.athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
            for row in page.get("ResultSet", {}).get("Rows", []):
                values = [cell.get("VarCharValue") for cell in row.get("Data", [])]
                if not names:
                    names = [str(v) for v in values]  # the first row of the first page is the header
                    continue
                if len(rows) >= MAX_REJECT_ROWS:
                    truncated = True
                    break
                rows.append(dict(zip(names, values, strict=False)))
            if truncated:
                break
        rejects = rejects_from_rows(dt, rows)
        rejects.truncated = truncated
        return rejects

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.config.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def delete_keys(self, dt: str, keys: list[str]) -> int:
        for start in range(0, len(keys), 1000):
            chunk = keys[start:start + 1000]
            result = self.s3.delete_objects(Bucket=self.config.bucket,
                                            Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
            if result.get("Errors"):
                first = result["Errors"][0]
                raise CompactionError(f"dt={dt}: {len(result['Errors'])} object(s) not deleted, "
                                      f"first {first.get('Key')}: {first.get('Code')}")
        return len(keys)

    def _new_run_id(self) -> str:
        return f"run-{self._rng.getrandbits(64):016x}"

    def wait(self, dt: str, query_id: str, deadline: float) -> dict[str, Any]:
        started, attempt = self._clock(), 0
        while True:
            execution: dict[str, Any] = self.athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            if execution.get("Status", {}).get("State") in FINAL_STATES:
                return execution
            remaining = deadline - self._clock()
            if remaining <= 0:
                self._stop(query_id)
                raise CompactionTimeoutError(dt, query_id, self._clock() - started)
            self._sleep(min(self.backoff(attempt), remaining))
            attempt += 1

    def backoff(self, attempt: int) -> float:
        """Exponential, capped, "equal jitter": half the step fixed, half random."""
        return jittered_backoff(self._rng, attempt, base=self.first_delay, cap=self.max_delay, equal=True)

    def _stop(self, query_id: str) -> None:
        try:
            self.athena.stop_query_execution(QueryExecutionId=query_id)
        except Exception as exc:  # the timeout is the error worth raising; this is best effort
            from tenantkit.observability import get_logger

            get_logger().warning("could not stop the compaction query", extra={"query_execution_id": query_id,
                                                                               "error": type(exc).__name__})


def _client(service: str) -> Any:
    return aws.client(service, max_attempts=5)
