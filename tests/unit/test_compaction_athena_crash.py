"""AthenaCompactor killed at every step: readers of the fixed curated location (partition
projection) always see every row of the old day or every row of the new day, never an empty
or partial day, and the next run converges to exactly the new day with no staging left.

The lake is an in-memory S3 (a Parquet object is the set of event ids it holds); UNLOAD writes
the new day into its TO location as two objects. Each S3 or Athena call is a step; the run is
killed (an exception nothing catches) before the Nth call, for every N.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.audit.compaction import AthenaCompactor, CompactionConfig

DT = "2026-11-28"
CONFIG = CompactionConfig(bucket="lake-bucket", prefix="lake/", workgroup="wg", database="db", max_wait_seconds=60)
CURATED = f"lake/curated/dt={DT}/"


class Killed(BaseException):
    """The process died: no except clause of the compactor sees it."""


class Steps:
    def __init__(self, kill_at: int | None) -> None:
        self.kill_at, self.count = kill_at, 0

    def tick(self) -> None:
        if self.count == self.kill_at:
            raise Killed
        self.count += 1


class Paginator:
    def __init__(self, pages: Any) -> None:
        self._pages = pages

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from self._pages(**kwargs)


class FakeS3:
    def __init__(self, objects: dict[str, frozenset[str]], steps: Steps) -> None:
        self.objects, self.steps = objects, steps

    def get_paginator(self, name: str) -> Paginator:
        assert name == "list_objects_v2"

        def pages(Bucket: str, Prefix: str) -> Iterator[dict[str, Any]]:
            self.steps.tick()
            yield {"Contents": [{"Key": k} for k in sorted(self.objects) if k.startswith(Prefix)]}
        return Paginator(pages)

    def copy_object(self, Bucket: str, Key: str, CopySource: dict[str, str]) -> dict[str, Any]:
        self.steps.tick()
        self.objects[Key] = self.objects[CopySource["Key"]]
        return {}

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        for item in Delete["Objects"]:  # one key at a time: a kill can land between two deletes
            self.steps.tick()
            self.objects.pop(item["Key"], None)
        return {}

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.steps.tick()
        self.objects[kwargs["Key"]] = frozenset()
        return {}


class FakeAthena:
    def __init__(self, lake: FakeS3, new_day: frozenset[str], steps: Steps) -> None:
        self.lake, self.new_day, self.steps = lake, new_day, steps

    def start_query_execution(self, QueryString: str, **_: Any) -> dict[str, str]:
        self.steps.tick()
        if QueryString.startswith("UNLOAD"):
            prefix = QueryString.rsplit(" TO 's3://lake-bucket/", 1)[1].split("'", 1)[0]
            ids = sorted(self.new_day)
            for part, chunk in enumerate((ids[: len(ids) // 2], ids[len(ids) // 2:])):
                if chunk:
                    self.lake.objects[f"{prefix}part-{part}.parquet"] = frozenset(chunk)
            return {"QueryExecutionId": "unload"}
        return {"QueryExecutionId": "rejects"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        self.steps.tick()
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}, "Statistics": {}}}

    def get_paginator(self, name: str) -> Paginator:
        def pages(QueryExecutionId: str) -> Iterator[dict[str, Any]]:
            self.steps.tick()
            yield {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": "event_id"}]}]}}
        return Paginator(pages)


def readers_see(objects: dict[str, frozenset[str]]) -> set[str]:
    """What a query of the day returns: every object under the projected location."""
    return set().union(*(ids for key, ids in objects.items() if key.startswith(CURATED)))


def run(objects: dict[str, frozenset[str]], new_day: frozenset[str], kill_at: int | None, seed: int) -> None:
    steps = Steps(kill_at)
    s3 = FakeS3(objects, steps)
    compactor = AthenaCompactor(CONFIG, athena=FakeAthena(s3, new_day, steps), s3=s3, sleep=lambda s: None,
                                clock=lambda: 0.0, rng=random.Random(seed))
    compactor.compact(DT)


def count_steps(old_day: frozenset[str], new_day: frozenset[str]) -> int:
    objects = {f"{CURATED}run-old-part-0.parquet": old_day} if old_day else {}
    steps = Steps(None)
    s3 = FakeS3(objects, steps)
    AthenaCompactor(CONFIG, athena=FakeAthena(s3, new_day, steps), s3=s3, sleep=lambda s: None,
                    clock=lambda: 0.0, rng=random.Random(1)).compact(DT)
    return steps.count


days = st.frozensets(st.text("abcdef0123456789", min_size=4, max_size=4), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None)
@given(old_day=days, new_day=days)
def test_a_kill_at_any_step_leaves_the_old_or_the_new_day_and_a_rerun_converges(old_day, new_day):
    total = count_steps(old_day, new_day)
    for kill_at in range(total + 1):
        objects = {f"{CURATED}run-old-part-{i}.parquet": frozenset([event_id])
                   for i, event_id in enumerate(sorted(old_day))}
        if kill_at < total:
            with pytest.raises(Killed):
                run(objects, new_day, kill_at, seed=kill_at)
        else:
            run(objects, new_day, None, seed=kill_at)
        seen = readers_see(objects)
        assert seen, f"killed before step {kill_at}: the day is empty"
        assert seen >= old_day or seen >= new_day, f"killed before step {kill_at}: a partial day"
        run(objects, new_day, None, seed=kill_at + 1000)  # the next scheduled run
        assert readers_see(objects) == new_day
        assert not [k for k in objects if "/_staging/" in k], "staging left behind"


def test_an_empty_result_never_replaces_a_day():
    objects = {f"{CURATED}run-old-part-0.parquet": frozenset({"aaaa"})}
    run(objects, frozenset(), None, seed=3)
    assert readers_see(objects) == {"aaaa"}
