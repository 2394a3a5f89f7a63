"""The cost query pack on DuckDB: a CUR 2.0-shaped fixture and curated audit records generated
here, every figure checked against a pure-Python reference (exact fractions, half-up cents).

What must hold: app/agent cost equals the billed CUR lines; per-tenant rows plus the
'(unattributed)' row sum to each profile/day's billed total to the cent; input and output
token costs are shared by input and output tokens respectively.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tenantkit.audit.schema import AuditRecord
from tenantkit_local.cur import register_cur, write_cur
from tenantkit_local.duckdb_engine import CURATED_COLUMNS, DuckDBEngine, sql_string
from tenantkit_local.querypack import load_query

pytestmark = pytest.mark.integration

ACCOUNT = "111122223333"
PROFILES = {  # arn -> canonical tags
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/supportbot01": ("portal", "support-bot"),
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/judge0000001": ("portal", "judge"),
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/reportbot001": ("billing", "report-bot"),
}
SUPPORT, JUDGE, REPORT = PROFILES
DAYS = [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)]  # crosses a billing period
TENANTS = ["acme", "globex", "initech"]
USAGE_TYPES = ["USE1-Claude3.5Haiku-input-tokens", "USE1-Claude3.5Haiku-output-tokens",
               "USE1-Claude3.5Haiku-cache-read-input-token-count", "USE1-Claude3.5Haiku-cache-write-input-token-count"]
PARAMS = {"from_period": "2026-10", "to_period": "2026-11", "from_day": "2026-10-30", "to_day": "2026-11-01",
          "from_dt": "2026-10-30", "to_dt": "2026-11-01"}
CENT = Decimal("0.01")
UNATTRIBUTED = "(unattributed)"


def cents(value: Fraction | Decimal) -> Decimal:
    exact = Fraction(value)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(CENT, rounding=ROUND_HALF_UP) \
        if exact.denominator != 1 else Decimal(exact.numerator).quantize(CENT)


def money(rng: random.Random, high: float) -> Decimal:
    return Decimal(rng.randrange(1, int(high * 1_000_000))) / 1_000_000


def cur_line(day: date, hour: int, arn: str, usage_type: str, cost: Decimal, **extra: Any) -> dict[str, Any]:
    app_id, agent = PROFILES.get(arn, ("other", "other"))
    start = datetime(day.year, day.month, day.day, hour)
    return {"bill_payer_account_id": ACCOUNT, "line_item_usage_account_id": ACCOUNT,
            "line_item_line_item_type": "Usage",
            "line_item_usage_start_date": start, "line_item_usage_end_date": start + timedelta(hours=1),
            "line_item_product_code": "AmazonBedrock", "line_item_usage_type": usage_type,
            "line_item_operation": "InvokeModelInference", "line_item_resource_id": arn,
            "line_item_usage_amount": float(abs(cost) * 1000), "line_item_unblended_cost": float(cost),
            "line_item_net_unblended_cost": float(cost), "pricing_public_on_demand_cost": float(cost),
            "resource_tags": {"user_app_id": app_id, "user_agent_name": agent, "user_env": "prod",
                              "user_cost_center": "cc-1234", "user_owner": "platform"}, **extra}


def generate_cur(rng: random.Random) -> list[dict[str, Any]]:
    lines = []
    for day in DAYS:
        for hour in range(0, 24, 3):
            for arn in (SUPPORT, JUDGE):
                for usage_type in USAGE_TYPES:
                    lines.append(cur_line(day, hour, arn, usage_type, money(rng, 0.9)))
            if hour % 6 == 0:  # a usage type that is neither input nor output: shared by all tokens
                lines.append(cur_line(day, hour, SUPPORT, "USE1-Claude3.5Haiku-latency-optimized-units",
                                      money(rng, 0.2)))
        sp_cost = money(rng, 2.0)  # a Savings Plan covered line and its negation
        lines.append(cur_line(day, 12, SUPPORT, USAGE_TYPES[1], sp_cost,
                              line_item_line_item_type="SavingsPlanCoveredUsage",
                              savings_plan_savings_plan_effective_cost=float(sp_cost * Decimal("0.8"))))
        lines.append(cur_line(day, 12, SUPPORT, USAGE_TYPES[1], -sp_cost,
                              line_item_line_item_type="SavingsPlanNegation"))
    # The hand-checked day: report-bot, 3.00 of input and 15.00 of output (and nothing else).
    lines.append(cur_line(DAYS[1], 9, REPORT, USAGE_TYPES[0], Decimal("1.25")))
    lines.append(cur_line(DAYS[1], 10, REPORT, USAGE_TYPES[0], Decimal("1.75")))
    lines.append(cur_line(DAYS[1], 9, REPORT, USAGE_TYPES[1], Decimal("15.00")))
    # Noise the queries must ignore: outside the day range, not Bedrock, not through a profile.
    lines.append(cur_line(date(2026, 11, 2), 0, SUPPORT, USAGE_TYPES[0], Decimal("99")))
    lines.append(cur_line(date(2026, 10, 29), 23, SUPPORT, USAGE_TYPES[1], Decimal("99")))
    lines.append(cur_line(DAYS[0], 1, "arn:aws:s3:::tenantkit-audit", "USE1-TimedStorage-ByteHrs", Decimal("7"),
                          line_item_product_code="AmazonS3"))
    lines.append(cur_line(DAYS[0], 1, "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku",
                          USAGE_TYPES[0], Decimal("5")))
    return lines


def audit(rng: random.Random, day: date, arn: str | None, tenant: str | None, input_tokens: int | None,
          output_tokens: int | None, event_type: str = "request.completed") -> dict[str, Any]:
    when = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randrange(86_400))
    record = AuditRecord(event_type=event_type, outcome="success", reason="http_200", app_id="portal",
                         tenant_id=tenant, ts=when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                         agent_name="x", inference_profile_arn=arn, input_tokens=input_tokens,
                         output_tokens=output_tokens)
    return record.model_dump()


def generate_audit(rng: random.Random) -> list[dict[str, Any]]:
    records = []
    for day in DAYS:
        for _ in range(300):
            tenant = rng.choices(TENANTS, weights=[6, 3, 1])[0]
            records.append(audit(rng, day, SUPPORT, tenant, rng.randrange(200, 4000), rng.randrange(0, 800)))
        if day != DAYS[1]:  # the judge's traffic is not audited on DAYS[1]: a fully unattributed day
            for _ in range(40):
                records.append(audit(rng, day, JUDGE, rng.choice(TENANTS), rng.randrange(100, 900), None))
        # Records that must not count: other event types, no tenant, no profile, no tokens.
        records.append(audit(rng, day, SUPPORT, "acme", 10**6, 10**6, event_type="session.continued"))
        records.append(audit(rng, day, SUPPORT, None, 10**6, 10**6))
        records.append(audit(rng, day, None, "globex", 10**6, 10**6))
        records.append(audit(rng, day, SUPPORT, "initech", None, None))
    records.append(audit(rng, DAYS[1], REPORT, "acme", 900, 100))
    records.append(audit(rng, DAYS[1], REPORT, "globex", 60, 500))
    records.append(audit(rng, DAYS[1], REPORT, "globex", 40, 400))
    return records


def write_curated(root: Path, records: list[dict[str, Any]]) -> None:
    """The compaction's output layout: curated/dt=<UTC day>/*.parquet with the curated column types."""
    lines = root / "audit.jsonl"
    lines.write_text("".join(json.dumps({**r, "ts": r["ts"].removesuffix("Z")}) + "\n" for r in records))
    columns = "{" + ", ".join(f"{sql_string(n)}: {sql_string(k)}" for n, k in CURATED_COLUMNS.items()) + "}"
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    source = f"read_json({sql_string(str(lines))}, format = 'newline_delimited', columns = {columns})"
    con.execute(f"CREATE TABLE t AS SELECT * FROM {source}")  # noqa: S608 - quoted test paths
    for (dt,) in con.execute("SELECT DISTINCT strftime(ts, '%Y-%m-%d') FROM t").fetchall():
        target = root / "curated" / f"dt={dt}" / "data.parquet"
        target.parent.mkdir(parents=True)
        con.execute(f"COPY (SELECT * FROM t WHERE strftime(ts, '%Y-%m-%d') = ?) "  # noqa: S608 - quoted path
                    f"TO {sql_string(str(target))} (FORMAT PARQUET)", [dt])
    con.close()
    lines.unlink()


# --- the pure-Python reference ---------------------------------------------------------------

def basis_of(usage_type: str) -> str:
    return "output" if "output-token" in usage_type else "input" if "input-token" in usage_type else "total"


def amortized(line: dict[str, Any]) -> Decimal:
    kind = line["line_item_line_item_type"]
    if kind == "SavingsPlanCoveredUsage":
        return Decimal(repr(line["savings_plan_savings_plan_effective_cost"]))
    if kind == "SavingsPlanNegation":
        return Decimal(0)
    return Decimal(repr(line["line_item_unblended_cost"]))


def counted(line: dict[str, Any]) -> bool:
    day = line["line_item_usage_start_date"].date()
    return (line["line_item_product_code"] == "AmazonBedrock" and DAYS[0] <= day <= DAYS[-1]
            and ":application-inference-profile/" in line["line_item_resource_id"])


def reference(lines: list[dict[str, Any]], records: list[dict[str, Any]]) -> dict[str, Any]:
    cost: dict[tuple, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(lambda: [Decimal(0), Decimal(0)]))
    for line in filter(counted, lines):
        key = (line["line_item_usage_start_date"].date(), line["line_item_resource_id"])
        bucket = cost[key][basis_of(line["line_item_usage_type"])]
        bucket[0] += Decimal(repr(line["line_item_unblended_cost"]))
        bucket[1] += amortized(line)
    tokens: dict[tuple, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in records:
        if (r["event_type"] == "request.completed" and r["tenant_id"] and r["inference_profile_arn"]
                and ((r["input_tokens"] or 0) > 0 or (r["output_tokens"] or 0) > 0)):
            key = (datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).date(), r["inference_profile_arn"])
            tokens[key][r["tenant_id"]][0] += r["input_tokens"] or 0
            tokens[key][r["tenant_id"]][1] += r["output_tokens"] or 0
    rows, exact_values = {}, []
    for key, by_basis in cost.items():
        tenants = tokens.get(key, {})
        totals = {"input": sum(t[0] for t in tenants.values()), "output": sum(t[1] for t in tenants.values())}
        totals["total"] = totals["input"] + totals["output"]
        for tenant, (tin, tout) in tenants.items():
            mine = {"input": tin, "output": tout, "total": tin + tout}
            values = [sum((Fraction(c[i]) * mine[b] / totals[b] for b, c in by_basis.items() if totals[b]), Fraction(0))
                      for i in (0, 1)]
            exact_values.extend(values)
            rows[(*key, tenant)] = (cents(values[0]), cents(values[1]), tin, tout)
        billed = (cents(sum(c[0] for c in by_basis.values())), cents(sum(c[1] for c in by_basis.values())))
        attributed = [v for k, v in rows.items() if k[:2] == key]
        rows[(*key, UNATTRIBUTED)] = (billed[0] - sum(v[0] for v in attributed),
                                      billed[1] - sum(v[1] for v in attributed), None, None)
    return {"cost": cost, "tokens": tokens, "rows": rows, "exact": exact_values}


# --- fixtures and tests ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rng = random.Random(20261031)
    root = tmp_path_factory.mktemp("cost")
    lines, records = generate_cur(rng), generate_audit(rng)
    for period in ("2026-10", "2026-11"):
        write_cur(root, period, [x for x in lines if x["line_item_usage_start_date"].strftime("%Y-%m") == period])
    write_cur(root, "2026-12", [cur_line(date(2026, 12, 1), 0, SUPPORT, USAGE_TYPES[0], Decimal("50"))])
    write_curated(root, records)
    ref = reference(lines, records)
    # No exact tenant value sits within 1e-9 of a half cent, so float shares cannot round differently.
    assert all(abs((v * 100) % 1 - Fraction(1, 2)) > Fraction(1, 10**9) for v in ref["exact"])
    engine = DuckDBEngine(root)
    register_cur(engine)
    yield {"engine": engine, "lines": lines, "records": records, **ref}
    engine.close()


def run(world: dict[str, Any], name: str, **params: str) -> list[dict[str, Any]]:
    query = load_query(f"cost/{name}")
    values = {p.name: PARAMS[p.name] for p in query.parameters} | params
    columns, rows = world["engine"].fetch(query, values)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def test_cost_by_app_agent_day_equals_the_billed_lines(world):
    rows = run(world, "cost_by_app_agent_day")
    assert {(r["usage_date"], r["inference_profile_arn"]) for r in rows} == set(world["cost"])
    for r in rows:
        by_basis = world["cost"][(r["usage_date"], r["inference_profile_arn"])]
        part = {b: by_basis[b][0] if b in by_basis else Decimal(0) for b in ("input", "output", "total")}
        assert r["unblended_cost"] == cents(sum(part.values()))
        assert r["amortized_cost"] == cents(sum(c[1] for c in by_basis.values()))
        assert (r["input_cost"], r["output_cost"], r["other_cost"]) == tuple(cents(part[b]) for b in part)
        assert (r["app_id"], r["agent_name"]) == PROFILES[r["inference_profile_arn"]]
        assert (r["env"], r["cost_center"], r["owner"]) == ("prod", "cc-1234", "platform")


def test_allocation_matches_the_independent_reference(world):
    rows = run(world, "cost_allocated_by_tenant_day")
    got = {(r["usage_date"], r["inference_profile_arn"], r["tenant_id"]):
           (r["unblended_cost"], r["amortized_cost"], r["input_tokens"], r["output_tokens"]) for r in rows}
    assert got == world["rows"]
    assert {r["allocation"] for r in rows if r["tenant_id"] == UNATTRIBUTED} == {"unattributed"}
    assert {r["allocation"] for r in rows if r["tenant_id"] != UNATTRIBUTED} == {"derived"}


def test_tenant_rows_plus_unattributed_sum_to_the_billed_total_to_the_cent(world):
    billed = {(r["usage_date"], r["inference_profile_arn"]): r for r in run(world, "cost_by_app_agent_day")}
    allocated: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    unattributed_rows: dict[tuple, int] = defaultdict(int)
    for r in run(world, "cost_allocated_by_tenant_day"):
        key = (r["usage_date"], r["inference_profile_arn"])
        allocated[key][0] += r["unblended_cost"]
        allocated[key][1] += r["amortized_cost"]
        unattributed_rows[key] += r["tenant_id"] == UNATTRIBUTED
    assert set(allocated) == set(billed) and set(unattributed_rows.values()) == {1}
    for key, (unblended, amortized_sum) in allocated.items():
        assert unblended == billed[key]["unblended_cost"] and amortized_sum == billed[key]["amortized_cost"]


def test_input_and_output_are_priced_separately(world):
    """Hand-computed: 3.00 input by 900:100 input tokens, 15.00 output by 100:900 output tokens."""
    rows = {r["tenant_id"]: r for r in run(world, "cost_allocated_by_tenant_day", from_day="2026-10-31",
                                           to_day="2026-10-31", from_dt="2026-10-31", to_dt="2026-10-31")
            if r["inference_profile_arn"] == REPORT}
    assert rows["acme"]["unblended_cost"] == Decimal("4.20")  # 3.00 * 0.9 + 15.00 * 0.1
    assert rows["globex"]["unblended_cost"] == Decimal("13.80")  # 3.00 * 0.1 + 15.00 * 0.9
    assert rows[UNATTRIBUTED]["unblended_cost"] == Decimal("0.00")  # a total-token split would say 9.00 each
    assert (rows["globex"]["input_tokens"], rows["globex"]["output_tokens"]) == (100, 900)


def test_a_day_without_attributed_tokens_is_entirely_unattributed(world):
    rows = [r for r in run(world, "cost_allocated_by_tenant_day")
            if r["inference_profile_arn"] == JUDGE and r["usage_date"] == DAYS[1]]
    assert [r["tenant_id"] for r in rows] == [UNATTRIBUTED]
    by_basis = world["cost"][(DAYS[1], JUDGE)]
    assert rows[0]["unblended_cost"] == cents(sum(c[0] for c in by_basis.values())) > 0
    # The judge reports input tokens only: its output cost is unattributed on the other days too.
    other_day = {r["tenant_id"]: r for r in run(world, "cost_allocated_by_tenant_day")
                 if r["inference_profile_arn"] == JUDGE and r["usage_date"] == DAYS[0]}
    output_cost = world["cost"][(DAYS[0], JUDGE)]["output"][0]
    assert other_day[UNATTRIBUTED]["unblended_cost"] >= cents(output_cost) - CENT * len(TENANTS)


def test_unattributed_share_by_profile(world):
    allocation = run(world, "cost_allocated_by_tenant_day")
    rows = {r["inference_profile_arn"]: r for r in run(world, "unattributed_share_by_profile")}
    assert set(rows) == set(PROFILES)
    for arn, r in rows.items():
        mine = [a for a in allocation if a["inference_profile_arn"] == arn]
        unattributed = sum(a["unblended_cost"] for a in mine if a["tenant_id"] == UNATTRIBUTED)
        total = sum(a["unblended_cost"] for a in mine)
        assert (r["unattributed_cost"], r["unblended_cost"]) == (unattributed, total)
        assert r["attributed_cost"] + r["unattributed_cost"] == r["unblended_cost"]
        assert r["unattributed_share"] == pytest.approx(float(unattributed / total))
        no_tokens = sum((c[0] for (day, a), by_basis in world["cost"].items() if a == arn
                         for b, c in by_basis.items()
                         if not sum(t[0 if b == "input" else 1] if b != "total" else sum(t)
                                    for t in world["tokens"].get((day, arn), {}).values())), Decimal(0))
        assert r["unattributed_no_tokens"] == cents(no_tokens)
        assert r["unattributed_rounding"] == r["unattributed_cost"] - r["unattributed_no_tokens"]
        assert abs(r["unattributed_rounding"]) <= CENT * len(TENANTS) * r["days"]
    assert rows[JUDGE]["days_without_tokens"] == 1 and rows[SUPPORT]["days_without_tokens"] == 0
    assert rows[JUDGE]["unattributed_share"] > 0.4  # a day and every output token unaudited
    assert next(iter(rows)) == JUDGE  # largest share first


def test_partition_predicates_bound_the_result(world):
    rows = run(world, "cost_by_app_agent_day", to_period="2026-10", to_day="2026-10-31")
    assert {r["usage_date"] for r in rows} == {DAYS[0], DAYS[1]}
    rows = run(world, "cost_allocated_by_tenant_day", from_period="2026-11", from_day="2026-11-01",
               from_dt="2026-11-01")
    assert {r["usage_date"] for r in rows} == {DAYS[2]}


def test_an_empty_cur_is_an_empty_typed_view(tmp_path: Path):
    with DuckDBEngine(tmp_path) as engine:
        register_cur(engine)
        assert run({"engine": engine}, "cost_allocated_by_tenant_day") == []
        assert run({"engine": engine}, "unattributed_share_by_profile") == []
