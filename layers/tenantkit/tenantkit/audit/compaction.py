"""Compaction on Athena: one UTC day of the raw zone becomes the curated Parquet partition.

Orchestration only; the rules live in the query pack's SQL (``queries/compaction/``, shipped
here byte-identical under ``sql/``): ``compact_audit_partition`` (typed columns and provenance,
one row per ``event_id`` ranked by source then first stored, sorted by ``tenant_id, ts,
event_id``) and ``audit_partition_rejects`` (what is left out, for the quarantine). For a day
``dt``, with ``run`` a fresh id ``run=<UTC stamp>-<random>`` (``tenantkit.audit.curated_pointer``):

1. ``UNLOAD (<the SELECT>) TO 's3://<bucket>/<prefix>curated/runs/dt=<dt>/<run>/'`` (Parquet,
   ZSTD), ``dt`` passed as an execution parameter; poll ``GetQueryExecution`` with backoff and
   jitter until a final state or the deadline (then the query is stopped). The prefix is new and
   nothing reads it yet;
2. run the rejects SELECT, read its rows and write them to
   ``<prefix>quarantine/dt=<dt>/compaction-rejects.jsonl.gz`` (one PUT: a reader of that object
   gets the previous version or this one); the count goes to the log line the conflict alarm reads;
3. read the day's partition of ``audit_curated`` (``GetPartition``) and list the day's stored
   run prefixes;
4. swap: ONE Glue call (``CreatePartition`` for a day's first run, ``UpdatePartition`` after)
   points the partition at the new prefix and records the old one as retired, with the time;
5. retire: delete the prefixes the ledger allows (``curated_pointer.retirable``): superseded
   ones once the grace period (``COMPACTION_RETIRE_AFTER_SECONDS``) has passed since their swap,
   prefixes of runs that never swapped once they are older than the grace period plus two run
   lifetimes; never the served one.

After the days of an invocation, a sweep retires what it can on every other day swapped within
the last few days (the last run of a day leaves the prefix it superseded to a later run).

Why this order: readers reach a day only through its partition location, and a query plans
over one location, so at every instant, and after a crash at any step, a query reads every row
of the old day or every row of the new day, never both, never none. A run whose UNLOAD yields no
rows does not swap (``kept_previous``): raw objects expire, and the curated day is then the only
record. For the same reason a day past the raw retention (``COMPACTION_RAW_RETENTION_DAYS``:
its late arrivals may outlive its first records) that has a curated day runs no query at
all. A day written by the earlier layout (objects directly under ``curated/dt=<dt>/``, read
through partition projection) is served from there until a run replaces it (or, if the raw day
has expired, registered there as it is).

Schedules: hourly, today's day (UTC, from the scheduled event's ``time``); daily catch-up with
``{"mode": "catch_up", "days": N}`` recompacts the N previous days so late records land.
``{"dt": "YYYY-MM-DD"}`` recompacts one day by hand.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

from tenantkit import aws
from tenantkit.audit.curated_pointer import RUN_LIFETIME, CuratedCatalog, DayPointer, retirable, run_id
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
CURATED_TABLE = "audit_curated"  # the name the query pack reads, like audit_raw in the compaction SQL
# The sweep looks at days swapped this long before the grace period and run lifetimes end: a
# day's last run leaves the prefix it superseded, and a missed schedule or two must not leak it.
SWEEP_MARGIN = timedelta(days=2)
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
    retire_after_seconds: float = 3600.0
    curated_table: str = CURATED_TABLE
    raw_retention_days: float = 14.0

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
                   max_wait_seconds=env_number(env, "COMPACTION_MAX_WAIT_SECONDS", 600, 5, 890),
                   retire_after_seconds=env_number(env, "COMPACTION_RETIRE_AFTER_SECONDS", 3600, 900, 604800),
                   raw_retention_days=env_number(env, "COMPACTION_RAW_RETENTION_DAYS", 14, 1, 3650))

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.retire_after_seconds)

    def runs_prefix(self, dt: str) -> str:
        """Where a day's run prefixes live: under no location the earlier layout served, so a day
        still served from ``curated/dt=<dt>/`` (read recursively by Athena) never includes a run."""
        return f"{self.prefix}curated/runs/dt={validate_dt(dt)}/"

    def run_prefix(self, dt: str, run: str) -> str:
        return f"{self.runs_prefix(dt)}{run}/"

    def raw_may_have_expired(self, dt: str, now: datetime) -> bool:
        """Whether some of ``dt``'s raw objects may be gone. A record of ``dt`` is stored from a
        few minutes before ``dt`` (the sink's clock skew) and expires ``raw_retention_days`` after
        it was stored, at the next UTC midnight: the day's raw zone is whole only before 00:00 UTC
        of ``dt`` + retention. Past that, a run would see a subset (late arrivals live longer)."""
        horizon = date.fromisoformat(validate_dt(dt)) + timedelta(days=self.raw_retention_days)
        return now.astimezone(UTC) >= datetime(horizon.year, horizon.month, horizon.day, tzinfo=UTC)

    def legacy_prefix(self, dt: str) -> str:
        """The earlier layout's day (partition projection read ``curated/dt=<dt>/``)."""
        return f"{self.prefix}curated/dt={validate_dt(dt)}/"


class AthenaCompactor:
    """Compacts partitions with Athena UNLOAD. Clients are created on first use (cold start)."""

    def __init__(self, config: CompactionConfig, *, athena: Any = None, s3: Any = None, glue: Any = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC),
                 rng: random.Random | None = None, first_delay: float = 1.0, max_delay: float = 15.0) -> None:
        self.config = config
        self._athena, self._s3, self._glue = athena, s3, glue
        self._catalog: CuratedCatalog | None = None
        self._sleep, self._clock, self._wall, self._rng = sleep, clock, wall, rng or random.Random()
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

    @property
    def catalog(self) -> CuratedCatalog:
        if self._catalog is None:
            glue = self._glue if self._glue is not None else _client("glue")
            self._catalog = CuratedCatalog(glue, database=self.config.database, table=self.config.curated_table,
                                           bucket=self.config.bucket)
        return self._catalog

    def handle(self, event: Any, context: Any = None, *, now: datetime | None = None) -> dict[str, Any]:
        """Compact every day the event asks for; one failed day does not stop the others."""
        from tenantkit.observability import get_logger

        mode, days = dates_to_compact(event, now or datetime.now(UTC))
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        stop_at = self._clock() + remaining_ms() / 1000 - 10 if callable(remaining_ms) else None
        if self._catalog is not None:
            self._catalog.forget_schema()  # one GetTable per invocation, not per container
        reports, failures = [], []
        for dt in days:
            try:
                reports.append(self.compact(dt, deadline=stop_at))
                get_logger().info("audit partition compacted", extra=reports[-1])
            except Exception as exc:  # S3/Athena/Glue client errors included: the other days still run
                failures.append(f"dt={dt}: {type(exc).__name__}: {exc}")
                get_logger().error("audit partition not compacted", extra={
                    "dt": dt, "reason": getattr(exc, "reason", "compaction_failed"), "error": str(exc)})
        swept: dict[str, int] = {}
        try:
            swept = self.sweep(exclude={r["dt"] for r in reports})
            get_logger().info("superseded curated runs swept", extra=swept)
        except Exception as exc:  # fails the invocation (retried, then alarmed), after every day ran
            get_logger().error("superseded curated runs not swept", extra={"reason": "retire_failed",
                                                                           "error": str(exc)})
            if not failures:
                raise CompactionError(f"every partition compacted; the sweep failed: {type(exc).__name__}: {exc}") \
                    from exc
            failures.append(f"sweep: {type(exc).__name__}: {exc}")
        if failures:
            failed = len([f for f in failures if f.startswith("dt=")])
            raise CompactionError(f"{failed} of {len(days)} partition(s) failed; " + "; ".join(failures))
        return {"mode": mode, "partitions": reports, "swept": swept}

    def compact(self, dt: str, *, deadline: float | None = None) -> dict[str, Any]:
        dt = validate_dt(dt)
        started = self._clock()
        own_deadline = started + self.config.max_wait_seconds
        deadline = own_deadline if deadline is None else min(deadline, own_deadline)
        begun = self._wall().astimezone(UTC).replace(microsecond=0)  # the stamp in the run's name
        run = run_id(begun, self._rng.getrandbits(64))
        if self.config.raw_may_have_expired(dt, begun):
            current = self.serving(dt)
            if current.registered or current.location is not None:  # never replace a whole day with a subset
                return self.keep_served(dt, run, current, started)
        target = self.config.run_prefix(dt, run)
        query_id, execution = self.run_query(
            dt, unload_statement(self.select, self.catalog.s3_location(target)), deadline)
        rejects = self.read_rejects(dt, deadline)
        if rejects.lines:
            self.s3.put_object(Bucket=self.config.bucket, Key=self.config.prefix + quarantine_key(dt),
                               Body=rejects.gzip(), ContentType="application/x-ndjson", ContentEncoding="gzip")
        staged = self.list_keys(target)
        current = self.serving(dt)
        stored = self.stored_prefixes(dt, current)
        if staged:  # the swap: one Glue call; before it readers get the old day, after it the new one
            swap_at = self._wall()
            if swap_at - begun >= RUN_LIFETIME:
                # Retirement assumes a run swaps within its lifetime of its stamp (outside Lambda
                # nothing kills it then): a later swap could outlive an unnamed prefix's grace.
                raise CompactionError(f"dt={dt}: {run} reached its swap {swap_at - begun} after it started "
                                      f"(more than {RUN_LIFETIME}); the served day stays")
            pointer = self.catalog.point(dt, current, target, run=run, now=swap_at, still_stored=stored)
        elif current.location is not None and not current.registered:
            # An earlier-layout day and nothing newer in raw/: register it where it is, as it is.
            pointer = self.catalog.point(dt, current, current.location, run=None, now=self._wall(),
                                         still_stored=stored)
        else:
            pointer = current  # no rows: the served day (if any) stays, never an empty one
        removed, deleted = self.retire(dt, pointer, stored)
        return {
            "dt": dt,
            "run": run,
            "query_execution_id": query_id,
            "state": execution.get("Status", {}).get("State", "UNKNOWN"),
            "data_scanned_bytes": int(execution.get("Statistics", {}).get("DataScannedInBytes", 0)),
            "output_location": None if pointer.location is None else self.catalog.s3_location(pointer.location),
            "previous_location": None if current.location is None else self.catalog.s3_location(current.location),
            "swapped": bool(staged),
            "staged_objects": len(staged),
            "kept_previous": not staged and current.location is not None,
            "retired_prefixes_removed": removed,
            "deleted_objects": deleted,
            "quarantined": len(rejects.lines),
            "audit_conflicts": rejects.conflicts,
            "unconvertible": rejects.unconvertible,
            "rejects_truncated": rejects.truncated,
            "duration_ms": round((self._clock() - started) * 1000),
        }

    def keep_served(self, dt: str, run: str, current: DayPointer, started: float) -> dict[str, Any]:
        """A day whose raw zone may be partly expired keeps its curated day (no query runs): a
        day of the earlier layout is registered where it is; superseded prefixes still retire."""
        stored = self.stored_prefixes(dt, current)
        pointer = current
        if not current.registered and current.location is not None:
            pointer = self.catalog.point(dt, current, current.location, run=None, now=self._wall(), still_stored=stored)
        removed, deleted = self.retire(dt, pointer, stored)
        location = None if current.location is None else self.catalog.s3_location(current.location)
        return {"dt": dt, "run": run, "query_execution_id": None, "state": "RAW_EXPIRED", "data_scanned_bytes": 0,
                "output_location": location, "previous_location": location, "swapped": False, "staged_objects": 0,
                "kept_previous": True, "retired_prefixes_removed": removed, "deleted_objects": deleted,
                "quarantined": 0, "audit_conflicts": 0, "unconvertible": 0, "rejects_truncated": False,
                "duration_ms": round((self._clock() - started) * 1000)}

    def serving(self, dt: str) -> DayPointer:
        """The day readers are served now: its partition, else a day of the earlier layout, else none."""
        pointer = self.catalog.read(dt)
        if pointer.registered:
            return pointer
        legacy = self.config.legacy_prefix(dt)
        return DayPointer(location=legacy, registered=False) if self.list_keys(legacy) else pointer

    def stored_prefixes(self, dt: str, pointer: DayPointer) -> set[str]:
        """The day's locations that still hold objects: its run prefixes, and the earlier layout's
        day when the pointer names it (served or retired)."""
        found: set[str] = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.config.bucket, Prefix=self.config.runs_prefix(dt), Delimiter="/"):
            found.update(item["Prefix"] for item in page.get("CommonPrefixes", []))
        legacy = self.config.legacy_prefix(dt)
        if pointer.location == legacy and not pointer.registered:
            found.add(legacy)  # just listed by serving()
        elif (legacy == pointer.location or legacy in pointer.retired) and self.list_keys(legacy):
            found.add(legacy)
        return found

    def retire(self, dt: str, pointer: DayPointer, stored: set[str]) -> tuple[int, int]:
        """Delete the stored prefixes the ledger allows (``curated_pointer.retirable``): (prefixes, objects)."""
        prefixes = retirable(stored, pointer, self._wall(), self.config.grace)
        deleted = sum(self.delete_keys(dt, self.list_keys(prefix)) for prefix in prefixes)
        return len(prefixes), deleted

    def sweep(self, exclude: Collection[str] = ()) -> dict[str, int]:
        """Retire superseded prefixes of the days swapped lately, other than ``exclude`` (just done)."""
        read_at = self._wall()
        since = read_at - self.config.grace - 2 * RUN_LIFETIME - SWEEP_MARGIN
        days = removed = deleted = 0
        for dt, pointer in self.catalog.recently_swapped(since):
            if dt in exclude or not _DT.match(dt):
                continue
            if self._wall() - read_at >= RUN_LIFETIME:
                # The rules allow for a pointer read at most a run lifetime before its deletes (a
                # swap it did not see may serve a prefix its ledger retires): the next sweep goes on.
                break
            days += 1
            prefixes, objects = self.retire(dt, pointer, self.stored_prefixes(dt, pointer))
            removed, deleted = removed + prefixes, deleted + objects
        return {"days": days, "retired_prefixes_removed": removed, "deleted_objects": deleted}

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
