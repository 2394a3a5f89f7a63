"""Guards of the Athena compaction that keep a served curated day whole.

A day whose raw zone may be partly expired is never recompacted over its curated day: raw
objects expire ``raw_retention_days`` after they are stored, and the sink stores a day's late
records up to that long after the day, so past the horizon a run would UNLOAD only the late
arrivals and swap that subset in for the whole curated day (then retire the whole one).

A run that reaches its swap after its lifetime does not swap: retirement bounds how long an
unnamed run prefix may have been served by its runs' lifetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.audit.compaction import AthenaCompactor, CompactionConfig
from tenantkit.audit.curated_pointer import PARAM_RETIRED, PARAM_SWAPPED_AT, RUN_LIFETIME
from tenantkit.audit.exceptions import CompactionError

CONFIG = CompactionConfig(bucket="lake-bucket", prefix="lake/", workgroup="wg", database="db", max_wait_seconds=60,
                          raw_retention_days=14)


class QueryStarted(Exception):
    """The run reached Athena: it would recompact the day from the raw zone."""


class Athena:
    def start_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        raise QueryStarted(kwargs["QueryString"][:6])


class Paginator:
    def __init__(self, pages: Any) -> None:
        self.pages = pages

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [self.pages(**kwargs)]


class S3:
    def __init__(self, keys: list[str]) -> None:
        self.keys, self.deleted = set(keys), []

    def list_page(self, *, Bucket: str, Prefix: str, Delimiter: str | None = None) -> dict[str, Any]:
        under = sorted(k for k in self.keys if k.startswith(Prefix))
        if Delimiter is None:
            return {"Contents": [{"Key": k} for k in under]}
        return {"CommonPrefixes": [{"Prefix": p} for p in sorted({Prefix + k[len(Prefix):].split("/")[0] + "/"
                                                                  for k in under if "/" in k[len(Prefix):]})]}

    def get_paginator(self, name: str) -> Paginator:
        assert name == "list_objects_v2"
        return Paginator(self.list_page)

    def delete_objects(self, *, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        for item in Delete["Objects"]:
            self.keys.discard(item["Key"])
            self.deleted.append(item["Key"])
        return {}


class EntityNotFoundException(Exception):
    pass


class AlreadyExistsException(Exception):
    pass


class Glue:
    class exceptions:
        EntityNotFoundException = EntityNotFoundException
        AlreadyExistsException = AlreadyExistsException

    def __init__(self, partitions: dict[str, dict[str, Any]]) -> None:
        self.partitions = partitions

    def get_partition(self, *, PartitionValues: list[str], **_: Any) -> dict[str, Any]:
        if PartitionValues[0] not in self.partitions:
            raise EntityNotFoundException
        return {"Partition": self.partitions[PartitionValues[0]]}

    def get_table(self, **_: Any) -> dict[str, Any]:
        return {"Table": {"StorageDescriptor": {"Columns": [{"Name": "event_id", "Type": "string"}]}}}

    def create_partition(self, *, PartitionInput: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.partitions[PartitionInput["Values"][0]] = PartitionInput
        return {}

    def get_paginator(self, name: str) -> Paginator:
        assert name == "get_partitions"
        return Paginator(lambda **_: {"Partitions": list(self.partitions.values())})

    def update_partition(self, *, PartitionInput: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.partitions[PartitionInput["Values"][0]] = PartitionInput
        return {}


def served_run(dt: str) -> str:
    return f"lake/curated/runs/dt={dt}/run=20260101T000000Z-00000000000000aa/"


def compactor(now: datetime, s3: S3, glue: Glue) -> AthenaCompactor:
    return AthenaCompactor(CONFIG, athena=Athena(), s3=s3, glue=glue, wall=lambda: now, sleep=lambda _: None)


@settings(max_examples=60, deadline=None)
@given(day=st.dates(date(2025, 1, 1), date(2027, 12, 31)), seconds=st.integers(0, 86399),
       days_later=st.integers(0, 40), layout=st.sampled_from(["registered", "earlier", "elsewhere"]))
def test_a_served_day_is_recompacted_only_while_its_whole_raw_zone_is_stored(day, seconds, days_later, layout):
    dt = day.isoformat()
    now = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=days_later, seconds=seconds)
    if layout != "earlier":
        location = served_run(dt)
        bucket = "lake-bucket" if layout == "registered" else "another-bucket"  # set by hand
        partitions = {dt: {"Values": [dt], "StorageDescriptor": {"Location": f"s3://{bucket}/{location}"},
                           "Parameters": {}}}
    else:
        location, partitions = f"lake/curated/dt={dt}/", {}
    s3, glue = S3([location + "part-0"]), Glue(partitions)
    # The earliest record of dt is stored 300 s before dt and expires at 00:00 UTC of dt + 14.
    whole = days_later < CONFIG.raw_retention_days
    if whole:
        with pytest.raises(QueryStarted, match="UNLOAD"):
            compactor(now, s3, glue).compact(dt)
        return
    report = compactor(now, s3, glue).compact(dt)
    assert report["kept_previous"] is True and report["swapped"] is False and report["state"] == "RAW_EXPIRED"
    bucket = "another-bucket" if layout == "elsewhere" else "lake-bucket"
    assert report["output_location"] == (None if layout == "elsewhere" else f"s3://lake-bucket/{location}")
    assert glue.partitions[dt]["StorageDescriptor"]["Location"] == f"s3://{bucket}/{location}"
    assert s3.keys == {location + "part-0"} and not s3.deleted


def test_a_day_with_nothing_curated_is_still_compacted_from_what_raw_is_left():
    dt = "2026-01-01"
    with pytest.raises(QueryStarted, match="UNLOAD"):
        compactor(datetime(2026, 3, 1, tzinfo=UTC), S3([]), Glue({})).compact(dt)


def test_the_raw_retention_is_read_from_the_environment():
    env = {"AUDIT_STORE": "s3://lake-bucket/lake", "ATHENA_WORKGROUP": "wg", "ATHENA_DATABASE": "db"}
    assert CompactionConfig.from_env(env).raw_retention_days == 14
    assert CompactionConfig.from_env({**env, "COMPACTION_RAW_RETENTION_DAYS": "30"}).raw_retention_days == 30


class SucceedingAthena:
    """Every query SUCCEEDS; an UNLOAD writes one object under its TO location; no rejects."""

    def __init__(self, s3: S3) -> None:
        self.s3 = s3

    def start_query_execution(self, *, QueryString: str, **_: Any) -> dict[str, Any]:
        if QueryString.startswith("UNLOAD"):
            target = QueryString.split(" TO 's3://lake-bucket/", 1)[1].split("'", 1)[0]
            self.s3.keys.add(target + "part-0")
        return {"QueryExecutionId": "qe"}

    def get_query_execution(self, **_: Any) -> dict[str, Any]:
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}}

    def get_paginator(self, name: str) -> Paginator:
        assert name == "get_query_results"
        return Paginator(lambda **_: {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": "event_id"}]}]}})


@settings(max_examples=40, deadline=None)
@given(elapsed=st.integers(0, 3 * 900), fraction=st.integers(0, 999_999))
def test_a_run_that_outlived_its_lifetime_before_the_swap_keeps_the_served_day(elapsed, fraction):
    dt = "2026-11-28"
    begun = datetime(2026, 11, 28, 12, 0, 0, fraction, tzinfo=UTC)
    times = iter([begun])
    served = served_run(dt)
    s3 = S3([served + "part-0"])
    glue = Glue({dt: {"Values": [dt], "StorageDescriptor": {"Location": f"s3://lake-bucket/{served}"},
                      "Parameters": {}}})
    compactor = AthenaCompactor(CONFIG, athena=SucceedingAthena(s3), s3=s3, glue=glue, sleep=lambda _: None,
                                wall=lambda: next(times, begun + timedelta(seconds=elapsed)))
    # The run's name carries its start to the second: the lifetime counts from that stamp.
    if timedelta(seconds=elapsed) + timedelta(microseconds=fraction) >= RUN_LIFETIME:
        with pytest.raises(CompactionError, match="the served day stays"):
            compactor.compact(dt)
        assert glue.partitions[dt]["StorageDescriptor"]["Location"] == f"s3://lake-bucket/{served}"
    else:
        report = compactor.compact(dt)
        assert report["swapped"] is True and report["output_location"] != f"s3://lake-bucket/{served}"


@settings(max_examples=30, deadline=None)
@given(elapsed=st.integers(0, 3 * 900))
def test_a_sweep_deletes_nothing_on_pointers_read_a_run_lifetime_ago(elapsed):
    # A swap the sweep did not see may serve a prefix its stale ledger retires; the retirement
    # rules allow for a read at most a run lifetime old, so a slower sweep stops there.
    read_at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    times = iter([read_at])
    partitions, keys = {}, []
    for dt in ("2026-11-28", "2026-11-29"):
        served, retired = served_run(dt), f"lake/curated/runs/dt={dt}/run=20260101T000000Z-00000000000000bb/"
        keys += [served + "part-0", retired + "part-0"]
        partitions[dt] = {"Values": [dt], "StorageDescriptor": {"Location": f"s3://lake-bucket/{served}"},
                          "Parameters": {PARAM_SWAPPED_AT: "2026-11-30T09:00:00+00:00",
                                         PARAM_RETIRED: f'{{"{retired}":"2026-11-30T09:00:00+00:00"}}'}}
    s3, glue = S3(keys), Glue(partitions)
    compactor = AthenaCompactor(CONFIG, athena=Athena(), s3=s3, glue=glue, sleep=lambda _: None,
                                wall=lambda: next(times, read_at + timedelta(seconds=elapsed)))
    swept = compactor.sweep()
    done = 2 if timedelta(seconds=elapsed) < RUN_LIFETIME else 0
    assert swept == {"days": done, "retired_prefixes_removed": done, "deleted_objects": done}
    assert len(s3.deleted) == done
