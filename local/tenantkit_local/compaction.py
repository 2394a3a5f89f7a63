"""Local compaction: the query pack's compaction SELECT on DuckDB, the twin of the Lambda's UNLOAD.

For one day ``dt``, under an exclusive lock on the day:

1. remove staging files a killed run left behind (``curated/.staging-dt=<dt>-*``);
2. parse the day's raw objects once (``DuckDBEngine.pin_raw_partition``), then
   ``COPY (<compact_audit_partition>) TO`` a staging file beside the partitions (ZSTD Parquet;
   no reader's ``dt=*/*.parquet`` glob matches it) and run ``audit_partition_rejects`` over the
   rows it can report (``DuckDBEngine.narrow_pinned_raw``: copies of repeated ids, ids not kept);
3. write what was left out (unconvertible records, conflicting copies) to
   ``quarantine/dt=<dt>/compaction-rejects.jsonl.gz``;
4. swap: ``os.replace`` the staging file over ``curated/dt=<dt>/data.parquet``, one atomic
   rename, then remove any other file of the day (strays of older layouts).

A reader sees the old day or the new one at every instant, never an empty or half-written day;
a run killed at any step leaves the old day and a staging file the next run removes. A day
whose raw zone yields no rows keeps its curated file (raw objects expire; the curated day is
the record). Same input, same bytes: reruns are idempotent. Dev-only: never shipped in the layer.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tenantkit.audit.compaction import validate_dt
from tenantkit.audit.rejects import quarantine_key, rejects_from_rows
from tenantkit.audit.storage import DEFAULT_LOCAL_ROOT, LocalStorage
from tenantkit_local.duckdb_engine import DuckDBEngine
from tenantkit_local.querypack import QUERIES_DIR, Query, load_query

COMPACTION_QUERY = "compaction/compact_audit_partition"
REJECTS_QUERY = "compaction/audit_partition_rejects"
DATA_FILE = "data.parquet"
# The steps of one run, in order; a test hook (``checkpoint``) may stop the run before any of them.
STEPS = ("staging_cleaned", "curated_staged", "rejects_read", "quarantine_written", "swapped", "strays_removed")


class LocalCompactor:
    def __init__(self, root: Path | str = DEFAULT_LOCAL_ROOT, *, queries: Path = QUERIES_DIR,
                 threads: int | None = None, checkpoint: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.query: Query = load_query(COMPACTION_QUERY, queries)
        self.rejects_query: Query = load_query(REJECTS_QUERY, queries)
        self._threads = threads
        self._checkpoint = checkpoint or (lambda step: None)

    def partition_dir(self, dt: str) -> Path:
        return self.root / "curated" / f"dt={validate_dt(dt)}"

    def compact(self, dt: str) -> dict[str, Any]:
        target_dir = self.partition_dir(dt)
        target = target_dir / DATA_FILE
        started = time.perf_counter()
        target_dir.parent.mkdir(parents=True, exist_ok=True)
        with self._day_lock(target_dir):
            stale = self._remove_staging(target_dir)
            self._checkpoint("staging_cleaned")
            staging = target_dir.parent / f".staging-{target_dir.name}-{os.getpid()}.parquet"
            try:
                with DuckDBEngine(self.root, threads=self._threads) as engine:
                    engine.pin_raw_partition(dt)
                    rows = engine.copy_parquet(self.query, {"dt": dt}, staging)
                    self._checkpoint("curated_staged")
                    # Without kept rows every row is a reject: no narrowing then.
                    suspects = engine.narrow_pinned_raw(staging) if rows else None
                    names, values = engine.fetch(self.rejects_query, {"dt": dt}) if suspects != 0 else ([], [])
                rejects = rejects_from_rows(dt, (dict(zip(names, row, strict=True)) for row in values))
                self._checkpoint("rejects_read")
                if rejects.lines:
                    LocalStorage(self.root).put(quarantine_key(dt), rejects.gzip())
                self._checkpoint("quarantine_written")
                kept_previous = rows == 0 and target.exists()
                replaced = 0
                if rows and not kept_previous:
                    target_dir.mkdir(exist_ok=True)
                    replaced = int(target.exists())
                    os.replace(staging, target)  # the swap: one atomic rename
                    self._checkpoint("swapped")
                    replaced += self._remove_strays(target_dir)
                    self._checkpoint("strays_removed")
            except Exception:
                staging.unlink(missing_ok=True)  # a killed process cannot; the next run does
                raise
            staging.unlink(missing_ok=True)
        return {
            "dt": dt,
            "engine": "duckdb",
            "state": "SUCCEEDED",
            "rows": rows,
            "kept_previous": kept_previous,
            "deleted_objects": replaced,
            "stale_staging_removed": stale,
            "quarantined": len(rejects.lines),
            "audit_conflicts": rejects.conflicts,
            "unconvertible": rejects.unconvertible,
            "output_location": str(target_dir) + "/",
            "duration_ms": round((time.perf_counter() - started) * 1000),
        }

    def clear_partition(self, dt: str) -> int:
        """Remove the day's curated directory (an explicit reset; compaction itself never empties a day)."""
        target_dir = self.partition_dir(dt)
        curated = (self.root / "curated").resolve()
        if target_dir.resolve().parent != curated:
            raise ValueError(f"{target_dir} is not a partition of {curated}")
        if not target_dir.exists():
            return 0
        files = [p for p in target_dir.rglob("*") if p.is_file()]
        for path in files:
            path.unlink()
        target_dir.rmdir()
        return len(files)

    @staticmethod
    def _remove_staging(target_dir: Path) -> int:
        stale = list(target_dir.parent.glob(f".staging-{target_dir.name}-*"))
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    @staticmethod
    def _remove_strays(target_dir: Path) -> int:
        strays = [p for p in target_dir.iterdir() if p.name != DATA_FILE]
        for path in strays:
            path.unlink() if path.is_file() else None
        return len(strays)

    @staticmethod
    @contextmanager
    def _day_lock(target_dir: Path) -> Iterator[None]:
        # Two local runs of the same day would remove each other's staging file otherwise.
        with open(target_dir.parent / f".lock-{target_dir.name}", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
