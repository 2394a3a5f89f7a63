"""Local compaction: the query pack's compaction SELECT on DuckDB, the twin of the Lambda's UNLOAD.

For one day ``dt``: ``COPY (<the SELECT>) TO ... (FORMAT PARQUET, COMPRESSION ZSTD)`` into a
staging file, clear ``<root>/curated/dt=<dt>/``, move the file in as ``data.parquet``. A reader
of ``audit_curated`` sees the old day or the new one, never half a file; a day without raw
records leaves no curated file (like UNLOAD, which writes none). Same input, same bytes: reruns
are idempotent. Dev-only: never shipped in the layer.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from tenantkit.audit.compaction import validate_dt
from tenantkit.audit.storage import DEFAULT_LOCAL_ROOT
from tenantkit_local.duckdb_engine import DuckDBEngine
from tenantkit_local.querypack import QUERIES_DIR, Query, load_query

COMPACTION_QUERY = "compaction/compact_audit_partition"
DATA_FILE = "data.parquet"


class LocalCompactor:
    def __init__(self, root: Path | str = DEFAULT_LOCAL_ROOT, *, queries: Path = QUERIES_DIR,
                 threads: int | None = None) -> None:
        self.root = Path(root)
        self.query: Query = load_query(COMPACTION_QUERY, queries)
        self._threads = threads

    def partition_dir(self, dt: str) -> Path:
        return self.root / "curated" / f"dt={validate_dt(dt)}"

    def compact(self, dt: str) -> dict[str, Any]:
        target_dir = self.partition_dir(dt)
        started = time.perf_counter()
        target_dir.parent.mkdir(parents=True, exist_ok=True)
        # Staged beside the partitions (matched by no reader's dt=*/*.parquet glob), then swapped in:
        # readers see the old day or the new day, never half a file.
        staging = target_dir.parent / f".staging-{target_dir.name}-{os.getpid()}.parquet"
        try:
            with DuckDBEngine(self.root, threads=self._threads) as engine:
                rows = engine.copy_parquet(self.query, {"dt": dt}, staging)
            deleted = self.clear_partition(dt)
            if rows:
                target_dir.mkdir()
                os.replace(staging, target_dir / DATA_FILE)
        finally:
            staging.unlink(missing_ok=True)
        return {
            "dt": dt,
            "engine": "duckdb",
            "state": "SUCCEEDED",
            "rows": rows,
            "deleted_objects": deleted,
            "output_location": str(target_dir) + "/",
            "duration_ms": round((time.perf_counter() - started) * 1000),
        }

    def clear_partition(self, dt: str) -> int:
        """Remove the day's curated directory; returns how many files it held."""
        target_dir = self.partition_dir(dt)
        curated = (self.root / "curated").resolve()
        if target_dir.resolve().parent != curated:
            raise ValueError(f"{target_dir} is not a partition of {curated}")
        if not target_dir.exists():
            return 0
        count = sum(1 for p in target_dir.rglob("*") if p.is_file())
        shutil.rmtree(target_dir)
        return count
