"""AthenaCompactor killed at every step: the day's partition always points at a complete old day
or a complete new day (never an empty, partial or mixed one), a query planned before a swap
keeps its files for the grace period, and later runs converge to exactly the served day.

The lake is an in-memory S3 (a Parquet object is the set of event ids it holds) and an
in-memory Glue catalog; UNLOAD writes the new day into its TO location as two objects. Every
S3, Athena and Glue call is a step and advances the clock by one second; the run is killed (an
exception nothing catches) before the Nth call, for every N. After every step a referee checks
what readers get: the rows under the partition's location (Athena reads a location
recursively), and the files of every location that was served less than the grace period ago.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.audit.compaction import AthenaCompactor, CompactionConfig
from tenantkit.audit.curated_pointer import PARAM_RETIRED, CuratedCatalog, DayPointer, retirable, run_id

DT = "2026-11-28"
CONFIG = CompactionConfig(bucket="lake-bucket", prefix="lake/", workgroup="wg", database="db", max_wait_seconds=60,
                          retire_after_seconds=3600)
RUNS = f"lake/curated/runs/dt={DT}/"
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# Past every retirement rule: grace + 2 run lifetimes + the clock margin.
LONG_AFTER = timedelta(seconds=3600 + 2 * 900 + 61)


class Killed(BaseException):
    """The process died: no except clause of the compactor sees it."""


class EntityNotFoundException(Exception):
    pass


class AlreadyExistsException(Exception):
    pass


class GlueErrors:
    EntityNotFoundException = EntityNotFoundException
    AlreadyExistsException = AlreadyExistsException


@dataclass
class Lake:
    """S3 objects, Glue partitions, the clock, and the referee's ground truth."""

    now: datetime = START
    objects: dict[str, frozenset[str]] = field(default_factory=dict)
    partitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    snapshots: dict[str, frozenset[str]] = field(default_factory=dict)  # location -> rows when first served
    superseded_at: dict[str, datetime] = field(default_factory=dict)  # location -> when a swap left it
    kill_at: int | None = None
    count: int = 0

    def tick(self) -> None:
        self.referee()
        if self.count == self.kill_at:
            raise Killed
        self.count += 1
        self.now += timedelta(seconds=1)

    def rows_under(self, key_prefix: str) -> frozenset[str]:
        return frozenset().union(*(ids for key, ids in self.objects.items() if key.startswith(key_prefix)))

    def served(self, dt: str = DT) -> str | None:
        partition = self.partitions.get(dt)
        return None if partition is None else partition["StorageDescriptor"]["Location"].removeprefix(
            "s3://lake-bucket/")

    def readers_see(self, dt: str = DT) -> frozenset[str] | None:
        location = self.served(dt)
        return None if location is None else self.rows_under(location)

    def referee(self) -> None:
        location = self.served()
        if location is not None:
            self.snapshots.setdefault(location, self.rows_under(location))
            assert self.rows_under(location) == self.snapshots[location], "the served day changed under readers"
            assert self.snapshots[location], "an empty day is served"
        for old, when in self.superseded_at.items():
            if self.now - when < CONFIG.grace:  # a query planned before that swap may still read it
                assert self.rows_under(old) == self.snapshots[old], f"{old} deleted within the grace period"

    # --- S3 -------------------------------------------------------------------------------
    def list_objects_v2(self, Bucket: str, Prefix: str, Delimiter: str | None = None) -> Iterator[dict[str, Any]]:
        self.tick()
        keys = sorted(k for k in self.objects if k.startswith(Prefix))
        if Delimiter is None:
            yield {"Contents": [{"Key": k} for k in keys]}
            return
        common = sorted({Prefix + k[len(Prefix):].split("/")[0] + "/" for k in keys if "/" in k[len(Prefix):]})
        yield {"Contents": [{"Key": k} for k in keys if "/" not in k[len(Prefix):]],
               "CommonPrefixes": [{"Prefix": p} for p in common]}


class Paginator:
    def __init__(self, pages: Any) -> None:
        self._pages = pages

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from self._pages(**kwargs)


class FakeS3:
    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def get_paginator(self, name: str) -> Paginator:
        assert name == "list_objects_v2"
        return Paginator(self.lake.list_objects_v2)

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        for item in Delete["Objects"]:  # one key at a time: a kill can land between two deletes
            self.lake.tick()
            self.lake.objects.pop(item["Key"], None)
        return {}

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.lake.tick()
        self.lake.objects[kwargs["Key"]] = frozenset()
        return {}


class FakeGlue:
    exceptions = GlueErrors

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def get_table(self, DatabaseName: str, Name: str) -> dict[str, Any]:
        self.lake.tick()
        assert (DatabaseName, Name) == ("db", "audit_curated")
        return {"Table": {"Name": Name, "StorageDescriptor": {
            "Columns": [{"Name": "event_id", "Type": "string"}], "Location": "s3://lake-bucket/lake/curated/",
            "InputFormat": "parquet-in", "OutputFormat": "parquet-out", "SerdeInfo": {"Name": "audit-parquet"}}}}

    def get_partition(self, DatabaseName: str, TableName: str, PartitionValues: list[str]) -> dict[str, Any]:
        self.lake.tick()
        if PartitionValues[0] not in self.lake.partitions:
            raise EntityNotFoundException
        return {"Partition": copy.deepcopy(self.lake.partitions[PartitionValues[0]])}

    def create_partition(self, DatabaseName: str, TableName: str, PartitionInput: dict[str, Any]) -> dict[str, Any]:
        self.lake.tick()
        if PartitionInput["Values"][0] in self.lake.partitions:
            raise AlreadyExistsException
        self.lake.partitions[PartitionInput["Values"][0]] = copy.deepcopy(PartitionInput)
        return {}

    def update_partition(self, DatabaseName: str, TableName: str, PartitionValueList: list[str],
                         PartitionInput: dict[str, Any]) -> dict[str, Any]:
        self.lake.tick()
        dt = PartitionValueList[0]
        if dt not in self.lake.partitions:
            raise EntityNotFoundException
        old = self.lake.served(dt)
        self.lake.partitions[dt] = copy.deepcopy(PartitionInput)
        if old is not None and old != self.lake.served(dt):
            self.lake.superseded_at[old] = self.lake.now
        return {}

    def get_paginator(self, name: str) -> Paginator:
        assert name == "get_partitions"

        def pages(DatabaseName: str, TableName: str) -> Iterator[dict[str, Any]]:
            self.lake.tick()
            yield {"Partitions": copy.deepcopy(list(self.lake.partitions.values()))}
        return Paginator(pages)


class FakeAthena:
    def __init__(self, lake: Lake, new_day: frozenset[str]) -> None:
        self.lake, self.new_day = lake, new_day

    def start_query_execution(self, QueryString: str, **_: Any) -> dict[str, str]:
        self.lake.tick()
        if QueryString.startswith("UNLOAD"):
            prefix = QueryString.rsplit(" TO 's3://lake-bucket/", 1)[1].split("'", 1)[0]
            assert not self.lake.rows_under(prefix) and prefix.startswith(RUNS), "UNLOAD into a used prefix"
            ids = sorted(self.new_day)
            for part, chunk in enumerate((ids[: len(ids) // 2], ids[len(ids) // 2:])):
                if chunk:
                    self.lake.objects[f"{prefix}part-{part}.parquet"] = frozenset(chunk)
            return {"QueryExecutionId": "unload"}
        return {"QueryExecutionId": "rejects"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        self.lake.tick()
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}, "Statistics": {}}}

    def get_paginator(self, name: str) -> Paginator:
        def pages(QueryExecutionId: str) -> Iterator[dict[str, Any]]:
            self.lake.tick()
            yield {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": "event_id"}]}]}}
        return Paginator(pages)


def compactor(lake: Lake, new_day: frozenset[str], seed: int) -> AthenaCompactor:
    return AthenaCompactor(CONFIG, athena=FakeAthena(lake, new_day), s3=FakeS3(lake), glue=FakeGlue(lake),
                           sleep=lambda s: None, clock=lambda: 0.0, wall=lambda: lake.now, rng=random.Random(seed))


def run(lake: Lake, new_day: frozenset[str], kill_at: int | None, seed: int) -> None:
    lake.kill_at, lake.count = kill_at, 0
    try:
        compactor(lake, new_day, seed).compact(DT)
    finally:
        lake.kill_at = None
    lake.referee()


def lake_serving(old_day: frozenset[str]) -> Lake:
    """A day compacted an hour ago by an earlier run (or no day yet)."""
    lake = Lake()
    if old_day:
        location = f"{RUNS}{run_id(START - timedelta(hours=1), 1)}/"
        for i, event_id in enumerate(sorted(old_day)):
            lake.objects[f"{location}part-{i}.parquet"] = frozenset([event_id])
        lake.partitions[DT] = {"Values": [DT], "Parameters": {}, "StorageDescriptor": {
            "Location": f"s3://lake-bucket/{location}"}}
    return lake


def stored_runs(lake: Lake) -> set[str]:
    return {RUNS + key[len(RUNS):].split("/")[0] + "/" for key in lake.objects if key.startswith(RUNS)}


def count_steps(old_day: frozenset[str], new_day: frozenset[str]) -> int:
    lake = lake_serving(old_day)
    run(lake, new_day, None, seed=1)
    return lake.count


days = st.frozensets(st.text("abcdef0123456789", min_size=4, max_size=4), min_size=1, max_size=8)


@settings(max_examples=20, deadline=None)
@given(old_day=days | st.just(frozenset()), new_day=days)
def test_a_kill_at_any_step_leaves_the_old_or_the_new_day_and_reruns_converge(old_day, new_day):
    total = count_steps(old_day, new_day)
    for kill_at in range(total + 1):
        lake = lake_serving(old_day)
        if kill_at < total:
            with pytest.raises(Killed):
                run(lake, new_day, kill_at, seed=kill_at)
        else:
            run(lake, new_day, None, seed=kill_at)
        seen = lake.readers_see()
        if old_day:
            assert seen in (old_day, new_day), f"killed before step {kill_at}: {seen} is neither day"
        else:
            assert seen in (None, new_day), f"killed before step {kill_at}: a partial first day"
        lake.now += timedelta(hours=1)
        run(lake, new_day, None, seed=kill_at + 1000)  # the next scheduled run
        assert lake.readers_see() == new_day
        lake.now += LONG_AFTER
        run(lake, new_day, None, seed=kill_at + 2000)  # retires everything but the prefix it just superseded
        assert len(stored_runs(lake)) == 2
        lake.now += LONG_AFTER
        lake.kill_at, lake.count = None, 0
        compactor(lake, new_day, seed=0).sweep()  # the other days' invocations sweep this one
        lake.referee()
        assert stored_runs(lake) == {lake.served()}, "superseded or orphaned runs left behind"
        assert lake.readers_see() == new_day


@dataclass(frozen=True)
class Step:
    kill_at: int | None
    wait_seconds: int
    day: frozenset[str]


steps = st.lists(st.builds(Step, kill_at=st.none() | st.integers(0, 24), wait_seconds=st.integers(0, 3 * 3600),
                           day=days | st.just(frozenset())), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(history=steps)
def test_random_crash_points_over_many_runs_never_break_a_reader(history):
    """Hourly-ish runs, some killed at a random step, some with an empty UNLOAD: the referee checks
    every step; readers only ever get a day some run produced; then everything converges."""
    lake = lake_serving(frozenset({"seed"}))
    produced = {frozenset({"seed"})}
    for number, step in enumerate(history):
        lake.now += timedelta(seconds=step.wait_seconds)
        with contextlib.suppress(Killed):
            run(lake, step.day, step.kill_at, seed=number)
        if step.day:
            produced.add(step.day)
        assert lake.readers_see() in produced
    final = frozenset({"last"})
    lake.now += timedelta(hours=1)
    run(lake, final, None, seed=99)
    lake.now += LONG_AFTER
    lake.kill_at, lake.count = None, 0
    compactor(lake, final, seed=0).sweep()
    lake.referee()
    assert stored_runs(lake) == {lake.served()} and lake.readers_see() == final


def test_an_empty_result_never_replaces_a_day():
    lake = lake_serving(frozenset({"aaaa"}))
    before = lake.served()
    run(lake, frozenset(), None, seed=3)
    assert lake.served() == before and lake.readers_see() == {"aaaa"}


def test_a_day_of_the_earlier_layout_is_served_until_a_run_replaces_it_then_retired():
    lake = Lake()
    legacy = f"lake/curated/dt={DT}/"
    lake.objects[f"{legacy}run-00000000000000aa-part-0.parquet"] = frozenset({"old1", "old2"})
    run(lake, frozenset(), None, seed=4)  # raw expired: the day is registered where it is
    assert lake.served() == legacy and lake.readers_see() == {"old1", "old2"}
    run(lake, frozenset({"new1"}), None, seed=5)
    assert lake.readers_see() == {"new1"} and lake.rows_under(legacy) == {"old1", "old2"}
    lake.now += LONG_AFTER
    run(lake, frozenset({"new1"}), None, seed=6)
    assert not lake.rows_under(legacy), "the earlier layout's day outlived its grace period"


def test_two_runs_racing_for_a_first_day_both_complete_the_later_one_served():
    lake = Lake()
    catalog = CuratedCatalog(FakeGlue(lake), database="db", table="audit_curated", bucket="lake-bucket")
    a, b = f"{RUNS}{run_id(START, 1)}/", f"{RUNS}{run_id(START, 2)}/"
    lake.objects.update({f"{a}p.parquet": frozenset({"x"}), f"{b}p.parquet": frozenset({"x", "y"})})
    nothing = catalog.read(DT)  # both read "no partition"
    catalog.point(DT, nothing, b, run="b", now=lake.now, still_stored={a, b})
    pointer = catalog.point(DT, nothing, a, run="a", now=lake.now, still_stored={a, b})  # AlreadyExists: update
    assert lake.served() == a and b in pointer.retired and PARAM_RETIRED in lake.partitions[DT]["Parameters"]


@settings(max_examples=200, deadline=None)
@given(start_b=st.integers(0, 900), swap_b=st.integers(0, 900), read_a=st.integers(0, 900),
       swap_a=st.integers(0, 900), later=st.integers(0, 20_000))
def test_a_ledger_entry_lost_to_a_concurrent_swap_is_still_kept_for_the_grace_period(start_b, swap_b, read_a,
                                                                                      swap_a, later):
    """Run A reads the partition, run B swaps, A swaps with the ledger it read: B's prefix is
    unnamed. It was served until A's swap, and A's swap happened within A's lifetime, A having
    started before B swapped. Every schedule allowed by those bounds keeps B for the grace."""
    grace = timedelta(hours=1)
    b_started = START + timedelta(seconds=start_b)
    b_swapped = b_started + timedelta(seconds=swap_b)  # within B's lifetime
    a_started = b_swapped - timedelta(seconds=read_a)  # A read before B's swap
    a_swapped = max(b_swapped, a_started + timedelta(seconds=swap_a))  # within A's lifetime, after B's
    b = f"{RUNS}{run_id(b_started, 2)}/"
    a = f"{RUNS}{run_id(a_started, 1)}/"
    pointer = DayPointer(location=a, registered=True, retired={})  # B lost from the ledger
    now = a_swapped + timedelta(seconds=later)
    if b in retirable({a, b}, pointer, now, grace):
        assert now - a_swapped >= grace


def test_an_unreadable_ledger_retires_nothing_until_a_swap_names_every_stored_prefix_anew():
    lake = lake_serving(frozenset({"aaaa"}))
    superseded = f"{RUNS}{run_id(START - timedelta(days=30), 7)}/"  # old stamp, superseded minutes ago
    lake.objects[f"{superseded}part-0.parquet"] = frozenset({"zzzz"})
    lake.partitions[DT]["Parameters"][PARAM_RETIRED] = "{not json"
    lake.superseded_at[superseded] = lake.now - timedelta(minutes=5)
    lake.snapshots[superseded] = frozenset({"zzzz"})
    run(lake, frozenset(), None, seed=8)  # no swap: the stamp rule alone would delete it now
    assert superseded in stored_runs(lake)
    run(lake, frozenset({"bbbb"}), None, seed=9)  # the swap rewrites the ledger: retired from now on
    assert superseded in stored_runs(lake) and lake.readers_see() == {"bbbb"}
    lake.now += LONG_AFTER
    run(lake, frozenset({"bbbb"}), None, seed=10)
    assert superseded not in stored_runs(lake)
