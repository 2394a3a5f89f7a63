"""tenantkit_local.dashboard without a browser: the demo's tables, the page's embedded data, the CLI.
(The page in a real Chromium: tests/e2e/test_dashboard_chromium.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support.audit_fixtures import FROM_DT, TENANTS, TO_DT, build_zones, load_records
from tenantkit_local import cli
from tenantkit_local.dashboard import DATASETS, dashboard_data, embed_json, page, render_dashboard, tenant_tables

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def zones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("zones")
    build_zones(root)
    return root


def test_tenant_tables_runs_the_tenant_ops_and_security_packs(zones: Path):
    tables = tenant_tables(zones, [FROM_DT, TO_DT])
    refs = [re.search(r"\[(.+)\]$", title).group(1) for title in tables]
    assert refs[0] == "tenant_ops/top_tenants_by_volume"
    assert {r.split("/")[0] for r in refs} == {"tenant_ops", "security"}
    assert set(refs) >= set(DATASETS.values())
    header, rows = tables["Tenant ops / Top tenants by volume [tenant_ops/top_tenants_by_volume]"]
    assert header == ["volume_rank", "tenant_id", "requests", "share_of_requests", "errors", "principals",
                      "input_tokens", "output_tokens"]
    assert [row[1] for row in rows] == ["acme", "globex", "initech"]
    assert all(isinstance(cell, str) for row in rows for cell in row)
    assert rows[0][3].endswith("%")
    completed = [r for r in load_records() if r["event_type"] == "request.completed" and r["tenant_id"] == "acme"
                 and FROM_DT <= r["ts"][:10] <= TO_DT]
    assert rows[0][2] == str(len(completed))


def test_tenant_tables_with_no_partitions_returns_empty_tables(zones: Path):
    tables = tenant_tables(zones, [])
    assert tables and all(header and rows == [] for header, rows in tables.values())


def test_dashboard_data_is_json_with_utc_instants(zones: Path):
    data = dashboard_data(zones, [FROM_DT, TO_DT])
    assert data["tenants"] == sorted(TENANTS)
    assert data["range"] == {"from_dt": FROM_DT, "to_dt": TO_DT, "empty": False}
    assert data["volume"][0]["hour_start"].endswith(":00:00Z")
    json.dumps(data, allow_nan=False)


def test_embedded_json_cannot_close_the_script_element():
    text = embed_json({"reason": "</script><script>alert(1)</script>", "x": "a&b\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"reason": "</script><script>alert(1)</script>", "x": "a&b\u2028"}
    html = page({"range": {"from_dt": "<b>", "to_dt": "x", "empty": False}, "generated_at": "now",
                 "tenants": [], "reason": "</script>"})
    assert html.count("</script>") == 2 and "&lt;b&gt;" in html


def test_cli_dashboard_writes_the_page(zones: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "d.html"
    assert cli.main(["dashboard", "--root", str(zones), "--from", FROM_DT, "--to", TO_DT, "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    embedded = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', out.read_text(),
                         re.S).group(1)
    data = json.loads(embedded)
    assert data["range"]["from_dt"] == FROM_DT and data["range"]["to_dt"] == TO_DT
    assert {row["hour_start"][:10] for row in data["volume"]} == {FROM_DT, TO_DT}


def test_cli_dashboard_defaults_to_every_curated_day(zones: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "all.html"
    assert cli.main(["dashboard", "--root", str(zones), "--out", str(out)]) == 0
    data = dashboard_data(zones, ["2026-11-26", "2026-11-29"])
    assert (data["range"]["from_dt"], data["range"]["to_dt"]) == ("2026-11-26", "2026-11-29")
    assert '"from_dt":"2026-11-26","to_dt":"2026-11-29"' in out.read_text()
    capsys.readouterr()


def test_cli_dashboard_rejects_a_reversed_range(zones: Path, capsys: pytest.CaptureFixture[str]):
    assert cli.main(["dashboard", "--root", str(zones), "--from", TO_DT, "--to", FROM_DT]) == 2
    assert "--from is after --to" in capsys.readouterr().err


def test_render_dashboard_with_an_empty_zone(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = render_dashboard(tmp_path / "nothing", [], tmp_path / "empty.html")
    assert "no curated partitions in the range" in out.read_text()
    assert cli.main(["dashboard", "--root", str(tmp_path / "nothing"), "--out", str(tmp_path / "e.html")]) == 0
    assert "no curated partitions" in capsys.readouterr().err
