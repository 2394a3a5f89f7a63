"""What compaction leaves out of a day, as quarantine entries: one engine-neutral reading of the
``compaction/audit_partition_rejects`` query (shipped as ``sql/audit_partition_rejects.sql``).

The query lists records that cannot be converted (``problem`` names the field) and every copy
of an ``event_id`` whose copies differ in content, ranked exactly like the compaction SELECT
(``copy_rank`` 1 is the copy the curated zone keeps). Here each becomes one quarantine line:

* ``compaction.unconvertible``: the record stays in the raw zone, out of the curated day, and
  the rest of the day still compacts;
* ``audit.conflict``: a copy that differs from the kept one, naming the ``event_id``, the fields
  that differ and both copies' provenance. Identical copies are redeliveries: silent.

Deterministic: the same rows give the same bytes, so a rerun overwrites its own entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tenantkit.audit.quarantine import AUDIT_RECORD_FIELDS, MAX_QUARANTINE_RAW, conflict_line, deterministic_gzip
from tenantkit.observability.redaction import redact_text

REJECTS_SQL_FILE = "audit_partition_rejects.sql"
CONTENT_FIELDS = tuple(name for name in AUDIT_RECORD_FIELDS if name != "event_id")


@dataclass
class Rejects:
    lines: list[str] = field(default_factory=list)
    conflicts: int = 0
    unconvertible: int = 0
    truncated: bool = False  # more rows than were read back (Athena path)

    def gzip(self) -> bytes:
        return deterministic_gzip(self.lines)


def quarantine_key(dt: str) -> str:
    """One object per compacted day; a rerun overwrites it (the raw zone only grows, so does this)."""
    return f"quarantine/dt={dt}/compaction-rejects.jsonl.gz"


def rejects_from_rows(dt: str, rows: Iterable[Mapping[str, Any]]) -> Rejects:
    """``rows`` in the query's order (by event_id, problem nulls first, copy_rank)."""
    result = Rejects()
    kept: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        event_id = row.get("event_id")
        if row.get("problem") is not None:
            result.unconvertible += 1
            result.lines.append(json.dumps({
                "reason": "compaction.unconvertible", "dt": dt, "event_id": _short(event_id),
                "errors": [str(row["problem"])], "source": row.get("received_from"),
                "received_via": row.get("received_via"), "received_at": _text(row.get("received_at")),
                "ts": _short(row.get("ts_text")),
            }, separators=(",", ":")))
            continue
        if int(row["copy_rank"]) == 1:
            kept[str(event_id)] = row
            continue
        winner = kept.get(str(event_id))
        if winner is None or row["fingerprint"] == winner["fingerprint"]:
            continue  # an identical copy (a redelivery): silent
        result.conflicts += 1
        entry = json.loads(conflict_line(
            str(event_id), {f: _text(winner.get(f)) for f in CONTENT_FIELDS},
            {f: _text(row.get(f)) for f in CONTENT_FIELDS},
            kept_source=(str(winner.get("received_from")), _text(winner.get("received_at")) or ""),
            rejected_source=(str(row.get("received_from")), _text(row.get("received_at")) or "")))
        result.lines.append(json.dumps({**entry, "dt": dt}, separators=(",", ":")))
    return result


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _short(value: Any) -> str | None:
    # Whatever was in the raw zone, bounded and redacted: a forged field could carry anything.
    return None if value is None else redact_text(str(value)[:MAX_QUARANTINE_RAW // 32])
