"""The curated day's pointer: one registered Glue partition per day, naming one immutable run prefix.

Each Athena compaction run UNLOADs into a prefix of its own,
``<prefix>curated/runs/dt=<dt>/run=<UTC stamp>-<random>/``, never written again. Readers reach a
day only through the ``audit_curated`` partition ``dt=<dt>``, whose location is switched from the
old run prefix to the new one by ONE Glue call (``CreatePartition`` for a day's first run,
``UpdatePartition`` after), so every query plans over the old day or the new one, complete,
never both and never none. Partition projection cannot do this: its ``storage.location.template``
derives a location from partition values only, and a run id is not a partition value.

The partition also carries the retirement ledger, written in the same call as the location:
``tenantkit.compaction.retired`` maps each superseded location (still in S3) to the instant it
stopped being served (a stored prefix the ledger did not name yet is added with the time of the
swap that found it: later than the truth, so safe). A superseded prefix is deleted only once
that instant is older than the grace period, because a query planned before the swap may still
be reading it. A prefix the ledger does not name (a run killed before its swap, until a swap
names it, or, when two runs of one day overlap, a run whose swap the later swap did not see) is
deleted only once its own stamp is older than the
grace period plus twice the longest a run can live: such a prefix stopped being served (if ever
it was) at most that long after its run started. The served location is never deleted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tenantkit.audit.exceptions import CompactionError

PARAM_RUN = "tenantkit.compaction.run"
PARAM_SWAPPED_AT = "tenantkit.compaction.swapped_at"
PARAM_RETIRED = "tenantkit.compaction.retired"
# No run lives longer than Lambda's maximum timeout (the function's own Timeout is 900 s).
RUN_LIFETIME = timedelta(seconds=900)
# Run stamps and swap times are whole seconds of the hosts' clocks (NTP-synchronised).
CLOCK_MARGIN = timedelta(seconds=60)
# The parts of a table's storage descriptor a partition repeats: the schema and formats of the
# table as it is now (a partition keeps the columns it was created with otherwise).
_DESCRIPTOR_FIELDS = ("Columns", "InputFormat", "OutputFormat", "Compressed", "SerdeInfo", "Parameters",
                      "StoredAsSubDirectories")
_RUN = re.compile(r"run=(?P<stamp>\d{8}T\d{6}Z)-[0-9a-f]{16}/\Z")
_STAMP = "%Y%m%dT%H%M%SZ"
_SCHEMES = frozenset({"s3", "s3a", "s3n"})


def run_id(now: datetime, token: int) -> str:
    """``run=<UTC second>-<16 hex>``: sortable, and its age is readable from the name alone."""
    return f"run={now.astimezone(UTC).strftime(_STAMP)}-{token:016x}"


def run_started(prefix: str) -> datetime | None:
    """When the run that owns ``.../run=<stamp>-<hex>/`` started; None for any other name."""
    match = _RUN.search(prefix)
    if match is None:
        return None
    try:
        return datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=UTC)
    except ValueError:  # digits of no calendar instant (run=20261399T...): no start, never by age
        return None


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DayPointer:
    """What readers are served for one day. ``location`` is an S3 key prefix of the lake bucket
    (None: no partition, no legacy day); ``registered`` says whether a partition names it."""

    location: str | None
    registered: bool
    run: str | None = None
    swapped_at: datetime | None = None
    retired: Mapping[str, datetime] = field(default_factory=dict)
    ledger_readable: bool = True


def retirable(prefixes: Iterable[str], pointer: DayPointer, now: datetime, grace: timedelta) -> list[str]:
    """The prefixes that may be deleted now. Never the served one, nor one that holds it or lies
    inside it (a location set by hand). A retired one once ``grace``
    has passed since its swap: the swap time is read just before the Glue call, which ends
    within its run's lifetime, hence ``+ RUN_LIFETIME``. One the ledger does not name once
    ``grace`` + 2 run lifetimes have passed since its run started: a run killed before its swap
    was never served; a run whose swap a concurrent run's swap left out of the ledger was served
    from its own swap (within one lifetime of its start) until that other swap (within one
    lifetime of the other run's start, which read the partition before this run swapped). One
    whose name carries no start is never deleted. An unreadable ledger (edited by hand) retires
    nothing until the next swap rewrites it."""
    if not pointer.ledger_readable:
        return []
    chosen = []
    served = pointer.location
    for prefix in sorted(set(prefixes)):
        if served is not None and (prefix.startswith(served) or served.startswith(prefix)):
            continue  # the served location, or one that holds it or lies inside it (set by hand)
        if prefix in pointer.retired:
            if now - pointer.retired[prefix] >= grace + RUN_LIFETIME + CLOCK_MARGIN:
                chosen.append(prefix)
            continue
        started = run_started(prefix)
        if started is not None and now - started >= grace + 2 * RUN_LIFETIME + CLOCK_MARGIN:
            chosen.append(prefix)
    return chosen


class CuratedCatalog:
    """Glue calls on the curated table: read a day's pointer, swap it in one call, list recent days."""

    def __init__(self, glue: Any, *, database: str, table: str, bucket: str) -> None:
        self.glue, self.database, self.table, self.bucket = glue, database, table, bucket
        self._descriptor: dict[str, Any] | None = None

    def s3_location(self, key_prefix: str) -> str:
        return f"s3://{self.bucket}/{key_prefix}"

    def key_prefix(self, location: str) -> str | None:
        """The key prefix (ending in ``/``) an ``s3://<our bucket>/...`` location names; None for a
        location elsewhere. A location set by hand may lack the final ``/`` or say ``s3a://``:
        Athena reads the same directory, so it names the same prefix."""
        scheme, sep, rest = location.strip().partition("://")
        if not sep or scheme.lower() not in _SCHEMES or not rest.startswith(f"{self.bucket}/"):
            return None
        key = rest[len(self.bucket) + 1:]
        return key if not key or key.endswith("/") else key + "/"

    def read(self, dt: str) -> DayPointer:
        try:
            partition = self.glue.get_partition(DatabaseName=self.database, TableName=self.table,
                                                PartitionValues=[dt])["Partition"]
        except self.glue.exceptions.EntityNotFoundException:
            return DayPointer(location=None, registered=False)
        return self.pointer_of(partition)

    def pointer_of(self, partition: Mapping[str, Any]) -> DayPointer:
        parameters = partition.get("Parameters") or {}
        location = self.key_prefix(partition.get("StorageDescriptor", {}).get("Location", ""))
        retired: dict[str, datetime] = {}
        readable = True
        try:
            for prefix, when in json.loads(parameters.get(PARAM_RETIRED, "{}")).items():
                retired[str(prefix)] = instant(str(when))
        except (ValueError, TypeError, AttributeError):
            retired, readable = {}, False  # retires nothing until a swap writes a new ledger
        if location is None:
            readable = False  # served from a location we cannot place: no prefix is safe to delete
        swapped = parameters.get(PARAM_SWAPPED_AT)
        try:
            swapped_at = instant(swapped) if swapped else None
        except ValueError:
            swapped_at = None
        return DayPointer(location=location, registered=True, run=parameters.get(PARAM_RUN),
                          swapped_at=swapped_at, retired=retired, ledger_readable=readable)

    def point(self, dt: str, current: DayPointer, location: str, *, run: str | None, now: datetime,
              still_stored: Iterable[str]) -> DayPointer:
        """Serve ``location`` for ``dt`` in one Glue call. The ledger keeps the entries whose prefix is
        still stored; ``current``'s location, and any stored prefix the ledger does not name yet (a
        killed run, or one whose entry was lost), join it as retired ``now``: later than their real
        retirement, so never deleted early, whatever the ledger held before."""
        stored = set(still_stored)
        # The served location stops being served by THIS call, whatever an entry for it says
        # (a day pointed back at a retired run by hand keeps that run's old entry): it is
        # retired now, never at an earlier time that would let it go before its grace period.
        retired = {p: t for p, t in current.retired.items()
                   if p in stored and p != location and p != current.location}
        for prefix in stored | ({current.location} if current.location is not None else set()):
            if prefix != location and prefix not in retired:
                retired[prefix] = now
        ledger = {p: t.isoformat(timespec="seconds") for p, t in sorted(retired.items())}
        parameters = {PARAM_SWAPPED_AT: now.isoformat(timespec="seconds"),
                      PARAM_RETIRED: json.dumps(ledger, separators=(",", ":"))}
        if run is not None:
            parameters[PARAM_RUN] = run
        partition_input = {"Values": [dt], "Parameters": parameters,
                           "StorageDescriptor": {**self.descriptor(), "Location": self.s3_location(location)}}
        if current.registered:
            self.glue.update_partition(DatabaseName=self.database, TableName=self.table, PartitionValueList=[dt],
                                       PartitionInput=partition_input)
        else:
            try:
                self.glue.create_partition(DatabaseName=self.database, TableName=self.table,
                                           PartitionInput=partition_input)
            except self.glue.exceptions.AlreadyExistsException:
                # Another run of the same day registered it first: its day is complete too.
                registered = self.read(dt)
                if not registered.registered:
                    raise CompactionError(f"dt={dt}: the partition exists and does not, by turns") from None
                if run is None:
                    # Registering a location in place (no newer rows) only fills a gap: the
                    # registered day is at least as new, so it stays.
                    return registered
                # Ours is newer: replace it and put its location in the ledger.
                return self.point(dt, registered, location, run=run, now=now, still_stored=stored)
        return DayPointer(location=location, registered=True, run=run, swapped_at=now, retired=retired)

    def forget_schema(self) -> None:
        """Read the table's schema again at the next swap (a column added since is then kept)."""
        self._descriptor = None

    def descriptor(self) -> dict[str, Any]:
        """The table's storage descriptor (schema, formats) without its location; read once."""
        if self._descriptor is None:
            table = self.glue.get_table(DatabaseName=self.database, Name=self.table)["Table"]
            source = table.get("StorageDescriptor") or {}
            if not source.get("Columns"):
                raise CompactionError(f"the Glue table {self.database}.{self.table} has no columns")
            self._descriptor = {k: source[k] for k in _DESCRIPTOR_FIELDS if k in source}
        return dict(self._descriptor)

    def recently_swapped(self, since: datetime) -> list[tuple[str, DayPointer]]:
        """(dt, pointer) of every partition swapped at or after ``since`` (every partition is read)."""
        found = []
        for page in self.glue.get_paginator("get_partitions").paginate(DatabaseName=self.database,
                                                                        TableName=self.table):
            for partition in page.get("Partitions", []):
                pointer = self.pointer_of(partition)
                if pointer.swapped_at is not None and pointer.swapped_at >= since and partition.get("Values"):
                    found.append((str(partition["Values"][0]), pointer))
        return sorted(found, key=lambda item: item[0])
