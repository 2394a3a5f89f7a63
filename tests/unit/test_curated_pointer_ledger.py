"""The curated day's ledger against entries it did not write: whatever an entry says about the
location being superseded, and whatever name a stored prefix carries, a swap never lets a
location go before its grace period and retirement never raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.audit.curated_pointer import (
    CLOCK_MARGIN,
    PARAM_RETIRED,
    RUN_LIFETIME,
    CuratedCatalog,
    DayPointer,
    retirable,
    run_started,
)

DT = "2026-11-28"
RUNS = f"curated/runs/dt={DT}/"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GRACE = timedelta(hours=1)


class RecordingGlue:
    """Only what ``CuratedCatalog.point`` calls on a registered day: GetTable, UpdatePartition."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def get_table(self, **_: Any) -> dict[str, Any]:
        return {"Table": {"StorageDescriptor": {"Columns": [{"Name": "event_id", "Type": "string"}]}}}

    def update_partition(self, **kwargs: Any) -> dict[str, Any]:
        self.updates.append(kwargs)
        return {}


def run_prefix(seconds_before: int, token: int) -> str:
    stamp = (NOW - timedelta(seconds=seconds_before)).strftime("%Y%m%dT%H%M%SZ")
    return f"{RUNS}run={stamp}-{token:016x}/"


prefixes = st.builds(run_prefix, st.integers(0, 30 * 86400), st.integers(0, 2**64 - 1))
ages = st.integers(0, 30 * 86400).map(lambda s: NOW - timedelta(seconds=s))


@settings(max_examples=60, deadline=None)
@given(served=prefixes, others=st.dictionaries(prefixes, ages, max_size=5), served_entry=ages,
       new_token=st.integers(0, 2**64 - 1), after=st.integers(0, 959))
def test_the_location_a_swap_supersedes_is_retired_at_that_swap_whatever_its_old_entry(
        served, others, served_entry, new_token, after):
    # A day pointed back at a retired run by hand keeps the run's old ledger entry: the next swap
    # must still give the location it takes off the air its full grace period from now.
    ledger = {**others, served: served_entry}
    current = DayPointer(location=served, registered=True, retired=ledger)
    target = run_prefix(0, new_token)
    stored = set(ledger) | {served, target}
    glue = RecordingGlue()
    pointer = CuratedCatalog(glue, database="db", table="audit_curated", bucket="lake").point(
        DT, current, target, run=None, now=NOW, still_stored=stored)
    written = json.loads(glue.updates[-1]["PartitionInput"]["Parameters"][PARAM_RETIRED])
    if served != target:
        assert datetime.fromisoformat(written[served]) == NOW
        assert pointer.retired[served] == NOW
        later = NOW + GRACE + timedelta(seconds=after)  # within grace + run lifetime + clock margin
        assert served not in retirable(stored, pointer, later, GRACE)
        assert served in retirable(stored, pointer, NOW + GRACE + RUN_LIFETIME + CLOCK_MARGIN, GRACE)


@settings(max_examples=60, deadline=None)
@given(stamp=st.from_regex(r"\A\d{8}T\d{6}Z\Z"), token=st.integers(0, 2**64 - 1))
def test_a_run_name_of_no_calendar_instant_has_no_start_and_never_breaks_retirement(stamp, token):
    prefix = f"{RUNS}run={stamp}-{token:016x}/"
    try:
        expected = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        expected = None
    assert run_started(prefix) == expected
    served = run_prefix(0, 1)
    pointer = DayPointer(location=served, registered=True)
    chosen = retirable({prefix, served}, pointer, NOW + timedelta(days=400 * 365), GRACE)
    assert (prefix in chosen) == (expected is not None and prefix != served)


@settings(max_examples=60, deadline=None)
@given(served=prefixes, others=st.lists(prefixes, max_size=4), slash=st.booleans(),
       scheme=st.sampled_from(["s3://", "S3://", "s3a://", "s3n://"]), in_ledger=st.booleans(),
       depth=st.sampled_from(["run", "day", "inside"]))
def test_the_prefix_a_partition_names_is_never_retired_however_its_location_is_spelled(
        served, others, slash, scheme, in_ledger, depth):
    # A location set by hand (a rollback) may lack the trailing slash, use another scheme that
    # Athena and Hive also read, or name the day's runs directory or a folder inside a run: every
    # prefix it reads from is served, so it is never deleted.
    named = {"run": served, "day": RUNS, "inside": served + "sub/"}[depth]
    location = f"{scheme}lake/{named if slash else named.removesuffix('/')}"
    ledger = {p: "2026-01-01T00:00:00+00:00" for p in [*others, *([served] if in_ledger else [])]}
    partition = {"Values": [DT], "StorageDescriptor": {"Location": location},
                 "Parameters": {PARAM_RETIRED: json.dumps(ledger)}}
    pointer = CuratedCatalog(RecordingGlue(), database="db", table="audit_curated", bucket="lake").pointer_of(partition)
    stored = {served, *others}
    chosen = retirable(stored, pointer, NOW + timedelta(days=3650), GRACE)
    assert served not in chosen
    if depth == "day":
        assert chosen == []


class RacingGlue(RecordingGlue):
    """A concurrent run registered the day between this run's GetPartition and its CreatePartition."""

    class exceptions:
        class AlreadyExistsException(Exception):
            pass

        class EntityNotFoundException(Exception):
            pass

    def __init__(self, registered: str) -> None:
        super().__init__()
        self.partition = {"Values": [DT], "StorageDescriptor": {"Location": f"s3://lake/{registered}"},
                          "Parameters": {}}

    def create_partition(self, **_: Any) -> dict[str, Any]:
        raise self.exceptions.AlreadyExistsException

    def get_partition(self, **_: Any) -> dict[str, Any]:
        return {"Partition": self.partition}


@settings(max_examples=30, deadline=None)
@given(theirs=prefixes)
def test_registering_a_day_where_it_is_never_replaces_a_run_registered_meanwhile(theirs):
    # Registering in place (a day of the earlier layout, no newer rows) only fills a gap: a day a
    # concurrent run registered first is at least as new, and stays served.
    legacy = f"curated/dt={DT}/"
    glue = RacingGlue(theirs)
    pointer = CuratedCatalog(glue, database="db", table="audit_curated", bucket="lake").point(
        DT, DayPointer(location=legacy, registered=False), legacy, run=None, now=NOW,
        still_stored={legacy, theirs})
    assert glue.updates == [] and pointer.location == theirs and pointer.registered
