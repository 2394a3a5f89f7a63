"""The curated pointer swap against moto in server mode (S3 and Glue on 127.0.0.1): real boto3
clients, real Glue partition semantics (EntityNotFound, AlreadyExists, UpdatePartition). Athena
is a fake that writes the UNLOAD's objects into moto's S3, since moto does not run queries."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenantkit.audit.compaction import AthenaCompactor, CompactionConfig
from tenantkit.audit.curated_pointer import PARAM_RETIRED, CuratedCatalog
from tenantkit_local.cloud import MotoServer

pytestmark = pytest.mark.integration

BUCKET, DATABASE, DT = "tenantkit-audit-moto", "tenantkit_audit", "2026-11-28"
CONFIG = CompactionConfig(bucket=BUCKET, prefix="", workgroup="wg", database=DATABASE, max_wait_seconds=60,
                          retire_after_seconds=3600)
LONG_AFTER = timedelta(seconds=3600 + 2 * 900 + 61)


@pytest.fixture(scope="module")
def moto_server(thread_guard: None) -> Iterator[MotoServer]:
    server = MotoServer().start()
    assert server.endpoint.startswith("http://127.0.0.1:")
    yield server
    server.stop()


@pytest.fixture
def lake(moto_server: MotoServer) -> Iterator[tuple[Any, Any]]:
    s3, glue = moto_server.client("s3"), moto_server.client("glue")
    s3.create_bucket(Bucket=BUCKET)
    glue.create_database(DatabaseInput={"Name": DATABASE})
    glue.create_table(DatabaseName=DATABASE, TableInput={
        "Name": "audit_curated", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        "StorageDescriptor": {"Columns": [{"Name": "event_id", "Type": "string"}],
                              "Location": f"s3://{BUCKET}/curated/",
                              "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                              "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                              "SerdeInfo": {"SerializationLibrary":
                                            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}})
    yield s3, glue
    glue.delete_database(Name=DATABASE)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)


class UnloadingAthena:
    """UNLOAD writes ``rows`` (one object per id) under its TO location; every query succeeds."""

    def __init__(self, s3: Any) -> None:
        self.s3, self.rows = s3, ["a"]

    def start_query_execution(self, QueryString: str, **_: Any) -> dict[str, str]:
        if QueryString.startswith("UNLOAD"):
            prefix = QueryString.rsplit(f" TO 's3://{BUCKET}/", 1)[1].split("'", 1)[0]
            for event_id in self.rows:
                self.s3.put_object(Bucket=BUCKET, Key=f"{prefix}{event_id}", Body=event_id.encode())
        return {"QueryExecutionId": "q"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}, "Statistics": {}}}

    def get_paginator(self, name: str) -> Any:
        class Pages:
            def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
                yield {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": "event_id"}]}]}}
        return Pages()


def readers_see(s3: Any, glue: Any) -> set[str]:
    """What Athena reads for the day: the objects under the partition's location."""
    location = glue.get_partition(DatabaseName=DATABASE, TableName="audit_curated",
                                  PartitionValues=[DT])["Partition"]["StorageDescriptor"]["Location"]
    prefix = location.removeprefix(f"s3://{BUCKET}/")
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
            for item in listing.get("Contents", [])}


def run_prefixes(s3: Any) -> list[str]:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"curated/runs/dt={DT}/", Delimiter="/")
    return [p["Prefix"] for p in listing.get("CommonPrefixes", [])]


def test_runs_against_moto_switch_the_partition_and_retire_after_the_grace(lake):
    s3, glue = lake
    now = [datetime(2026, 11, 28, 10, 0, tzinfo=UTC)]
    athena = UnloadingAthena(s3)
    compactor = AthenaCompactor(CONFIG, athena=athena, s3=s3, glue=glue, sleep=lambda s: None,
                                wall=lambda: now[0], rng=random.Random(5))

    first = compactor.compact(DT)  # no partition yet: CreatePartition
    assert first["swapped"] and first["previous_location"] is None and readers_see(s3, glue) == {"a"}
    served = glue.get_partition(DatabaseName=DATABASE, TableName="audit_curated", PartitionValues=[DT])["Partition"]
    assert served["StorageDescriptor"]["Columns"] == [{"Name": "event_id", "Type": "string"}]

    athena.rows = ["a", "b"]
    now[0] += timedelta(hours=1)
    second = compactor.compact(DT)  # UpdatePartition; the first run is retired, not deleted
    assert readers_see(s3, glue) == {"a", "b"} and len(run_prefixes(s3)) == 2
    ledger = json.loads(glue.get_partition(DatabaseName=DATABASE, TableName="audit_curated", PartitionValues=[DT])
                        ["Partition"]["Parameters"][PARAM_RETIRED])
    assert list(ledger) == [first["output_location"].removeprefix(f"s3://{BUCKET}/")]

    athena.rows = []
    now[0] += LONG_AFTER
    third = compactor.compact(DT)  # nothing new: no swap; the first run's grace is over
    assert third["kept_previous"] and third["retired_prefixes_removed"] == 1
    assert readers_see(s3, glue) == {"a", "b"}
    assert run_prefixes(s3) == [second["output_location"].removeprefix(f"s3://{BUCKET}/")]


def test_a_first_day_created_concurrently_becomes_an_update_on_moto(lake):
    _, glue = lake
    catalog = CuratedCatalog(glue, database=DATABASE, table="audit_curated", bucket=BUCKET)
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    nothing = catalog.read(DT)
    assert not nothing.registered
    catalog.point(DT, nothing, "curated/runs/dt=2026-11-28/run=20261128T100000Z-0000000000000001/", run="one",
                  now=now, still_stored=set())
    pointer = catalog.point(DT, nothing, "curated/runs/dt=2026-11-28/run=20261128T100000Z-0000000000000002/",
                            run="two", now=now, still_stored={"curated/runs/dt=2026-11-28/run=20261128T100000Z-"
                                                              "0000000000000001/"})
    assert catalog.read(DT).location == pointer.location
    assert list(catalog.read(DT).retired) == ["curated/runs/dt=2026-11-28/run=20261128T100000Z-0000000000000001/"]
