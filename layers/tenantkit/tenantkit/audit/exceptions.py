"""Errors of the audit pipeline: the sink, the raw-zone storage and compaction."""

from __future__ import annotations

from tenantkit.exceptions import TenantkitError

__all__ = [
    "CompactionError",
    "CompactionEventError",
    "CompactionQueryError",
    "CompactionTimeoutError",
    "SinkEventError",
    "StorageKeyError",
]


class SinkEventError(TenantkitError):
    """The invocation event is neither a CloudWatch Logs nor an SQS event."""

    reason = "sink_event_unknown"


class StorageKeyError(TenantkitError, ValueError):
    """An object key that would leave the storage root (``..``, an absolute path)."""

    reason = "storage_key_invalid"


class CompactionError(TenantkitError):
    """A partition could not be compacted."""

    reason = "compaction_failed"


class CompactionEventError(CompactionError):
    reason = "compaction_event_invalid"


class CompactionQueryError(CompactionError):
    """Athena ended the query FAILED or CANCELLED; ``athena_reason`` is Athena's own explanation."""

    reason = "compaction_query_failed"

    def __init__(self, dt: str, query_execution_id: str, state: str, athena_reason: str) -> None:
        self.dt, self.query_execution_id, self.state, self.athena_reason = dt, query_execution_id, state, athena_reason
        super().__init__(f"dt={dt}: query {query_execution_id} {state}: {athena_reason}")


class CompactionTimeoutError(CompactionError):
    reason = "compaction_timeout"

    def __init__(self, dt: str, query_execution_id: str, waited_seconds: float) -> None:
        self.dt, self.query_execution_id = dt, query_execution_id
        super().__init__(f"dt={dt}: query {query_execution_id} not finished after {waited_seconds:.0f} s; stopped")
