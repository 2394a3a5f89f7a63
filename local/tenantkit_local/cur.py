"""A local twin of the CUR 2.0 table the cost query pack reads (``queries/cost/``), dev-only.

In AWS, a Data Exports "Standard data export" (CUR 2.0, Parquet) lands under
``<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/*.parquet``; its Glue/Athena table (the
export's CloudFormation template or a crawler) exposes the columns below and the partition
``billing_period``. Name that table (or a view over it) ``cur`` for the cost queries.

Locally the same files go under ``<root>/cur/BILLING_PERIOD=YYYY-MM/*.parquet`` and
:func:`register_cur` creates the ``cur`` view on a :class:`DuckDBEngine`'s connection. The
engine's own ``refresh()`` only replaces ``audit_raw``/``audit_curated``, so the view stays;
call :func:`register_cur` again after adding CUR files to a root that had none.

Only the CUR 2.0 columns the cost pack and its tests use are typed here (a real export has
many more; extra columns in the files are ignored).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from tenantkit_local.duckdb_engine import DuckDBEngine, sql_string

CUR_COLUMNS: dict[str, str] = {
    "bill_payer_account_id": "VARCHAR",
    "line_item_usage_account_id": "VARCHAR",
    "line_item_line_item_type": "VARCHAR",  # Usage, SavingsPlanCoveredUsage, DiscountedUsage, Tax, ...
    "line_item_usage_start_date": "TIMESTAMP",  # UTC
    "line_item_usage_end_date": "TIMESTAMP",
    "line_item_product_code": "VARCHAR",  # AmazonBedrock
    "line_item_usage_type": "VARCHAR",  # e.g. USE1-Claude3.5Haiku-input-tokens
    "line_item_operation": "VARCHAR",
    "line_item_resource_id": "VARCHAR",  # the application inference profile ARN
    "line_item_usage_amount": "DOUBLE",
    "line_item_unblended_cost": "DOUBLE",
    "line_item_net_unblended_cost": "DOUBLE",
    "pricing_public_on_demand_cost": "DOUBLE",
    "savings_plan_savings_plan_effective_cost": "DOUBLE",
    "reservation_effective_cost": "DOUBLE",
    "resource_tags": "MAP(VARCHAR, VARCHAR)",  # activated cost allocation tags: user_<key>
}
CUR_PARTITIONS = {"billing_period": "VARCHAR"}
CUR_GLOB = "cur/BILLING_PERIOD=*/*.parquet"


def register_cur(engine: DuckDBEngine) -> None:
    """(Re)create the ``cur`` view over ``<root>/cur``; an empty, typed view without files."""
    every = {**CUR_COLUMNS, **CUR_PARTITIONS}
    if not any(engine.root.glob(CUR_GLOB)):
        names = ", ".join(f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in every.items())
        engine.con.execute(f"CREATE OR REPLACE VIEW cur AS SELECT {names} WHERE false")
        return
    glob = sql_string(str(engine.root.resolve() / CUR_GLOB))
    names = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in every.items())
    engine.con.execute(
        f"CREATE OR REPLACE VIEW cur AS SELECT {names} FROM read_parquet({glob}, "  # noqa: S608 - typed names
        "hive_partitioning = true, hive_types = {'BILLING_PERIOD': 'VARCHAR'}, union_by_name = true)"
    )


def write_cur(root: Path, billing_period: str, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write CUR 2.0-shaped rows (missing columns null; timestamps naive UTC) as one Parquet file
    of a billing period, typed as :data:`CUR_COLUMNS` (via JSON lines: DuckDB's executemany is slow)."""
    import duckdb

    target = root / "cur" / f"BILLING_PERIOD={billing_period}" / "part-00001.snappy.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        lines = Path(scratch) / "lines.jsonl"
        body = "".join(json.dumps({n: row.get(n) for n in CUR_COLUMNS}, default=_iso) + "\n" for row in rows)
        lines.write_text(body, encoding="utf-8")
        con = duckdb.connect(":memory:")
        try:
            con.execute("SET TimeZone = 'UTC'")
            columns = "{" + ", ".join(f"{sql_string(n)}: {sql_string(k)}" for n, k in CUR_COLUMNS.items()) + "}"
            source = f"read_json({sql_string(str(lines))}, format = 'newline_delimited', columns = {columns})"
            con.execute(f"COPY (SELECT * FROM {source}) TO {sql_string(str(target))} "  # noqa: S608 - typed names
                        "(FORMAT PARQUET, COMPRESSION SNAPPY)")
        finally:
            con.close()
    return target


def _iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
