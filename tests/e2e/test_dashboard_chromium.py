"""The tenant dashboard in a real headless Chromium: rendered from the audit fixture (raw zone ->
compaction -> query packs on DuckDB -> one static HTML file), opened from disk, its inline
renderer run by the browser, then the resulting DOM read back: one SVG per chart with the
number of points and bars the fixture implies (computed here from the records), for all tenants
and with the tenant filter set. Screenshots are saved under .tenantkit/artifacts/.

Chromium is required: `make test` installs it (target `chromium`); without it this test FAILS.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from support.audit_fixtures import FROM_DT, TENANTS, TO_DT, build_zones, load_records
from tenantkit_local import PROJECT_ROOT
from tenantkit_local.dashboard import render_dashboard

pytestmark = pytest.mark.e2e

ARTIFACTS = PROJECT_ROOT / ".tenantkit" / "artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
CHARTS = ("volume", "error-rate", "latency", "denials", "spoofs", "cross-tenant")


def chromium() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Chromium is not installed: run `make chromium` (apt-get install -y chromium). "
                "The dashboard e2e test needs a real browser and does not skip.")


def browse(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={profile}", "--window-size=1280,2000", "--virtual-time-budget=10000",
               "--enable-logging=stderr", "--v=0", *extra, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)  # noqa: S603
    assert result.returncode == 0, f"chromium exited {result.returncode}: {result.stderr[-2000:]}"
    assert "Uncaught" not in result.stderr, f"a script error in the page: {result.stderr[-2000:]}"
    return result


class ChartDom(HTMLParser):
    """Per chart (svg[data-chart]): counts of circle.point and rect.bar and their data-tenant values;
    table rows per table[data-table]; attributes of <body>."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, Counter[str]] = {}
        self.tenants: dict[str, set[str]] = defaultdict(set)
        self.tables: Counter[str] = Counter()
        self.body: dict[str, str] = {}
        self._chart: str | None = None
        self._table: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body = a
        elif tag == "svg" and "data-chart" in a:
            self._chart = a["data-chart"]
            self.charts[self._chart] = Counter(items=int(a.get("data-items", -1)))
        elif self._chart and tag in ("circle", "rect") and a.get("class") in ("point", "bar"):
            self.charts[self._chart][a["class"]] += 1
            if a.get("data-tenant"):
                self.tenants[self._chart].add(a["data-tenant"])
        elif tag == "table" and "data-table" in a:
            self._table = a["data-table"]
        elif tag == "tr" and self._table and "data-tenant" in a:
            self.tables[self._table] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        elif tag == "table":
            self._table = None


def dom(html_path: Path, profile: Path, tenant: str | None = None) -> ChartDom:
    url = html_path.as_uri() + (f"#tenant={tenant}" if tenant else "")
    parser = ChartDom()
    parser.feed(browse(url, profile, "--dump-dom").stdout)
    return parser


# --- what the fixture implies, in pure Python ---------------------------------------------------------


def _hour(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["ts"][:13] + ":00:00")


def expected_counts(tenant: str | None) -> dict[str, int]:
    records = [r for r in {r["event_id"]: r for r in load_records()}.values() if FROM_DT <= r["ts"][:10] <= TO_DT]
    completed = [r for r in records if r["event_type"] == "request.completed" and r["tenant_id"]]
    hours = {_hour(r) for r in completed}  # the volume axis: every hour of the whole range, zero-filled
    span = int((max(hours) - min(hours)) / timedelta(hours=1)) + 1

    def mine(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if tenant is None or r["tenant_id"] == tenant]

    denials = mine([r for r in records if r["event_type"] in ("authz.deny", "authz.unauthorized", "abac.deny")])
    spoofs = mine([r for r in records if r["event_type"] == "tenant.spoof_rejected"])
    cross = mine([r for r in records if r["event_type"] == "tenant.spoof_rejected" or (r["event_type"], r["reason"])
                  in {("session.rejected", "session_cross_tenant"), ("abac.deny", "tenant_mismatch")}])
    latency = mine([r for r in completed if r["latency_ms"] is not None])
    return {
        "volume": len({r["tenant_id"] for r in mine(completed)}) * span,
        "error-rate": 2 * len({r["tenant_id"] for r in mine(completed)}),
        "latency": 3 * len({(r["tenant_id"], _hour(r)) for r in latency}),
        "denials": len({(r["event_type"], r["reason"]) for r in denials}),
        "spoofs": len({(r["tenant_id"], r["app_id"], r["principal_id"]) for r in spoofs}),
        "cross-tenant": len({(_hour(r), r["event_type"]) for r in cross}),
        "top": len({r["tenant_id"] for r in mine(completed)}),
        "session-rejections": len({(r["tenant_id"], r["principal_id"], r["reason"])
                                   for r in mine([r for r in records if r["event_type"] == "session.rejected"])}),
    }


# --- the test ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("zones")
    days = build_zones(root)
    html_path = render_dashboard(root, [d for d in days if FROM_DT <= d <= TO_DT],
                                 tmp_path_factory.mktemp("page") / "dashboard.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(html_path, ARTIFACTS / "dashboard.html")
    return html_path


def test_the_page_is_self_contained(dashboard: Path):
    text = dashboard.read_text()
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "<link" not in text and " src=" not in text and "@import" not in text
    urls = set(re.findall(r"(?:https?|ftp|wss?)://[^\s\"')]*", text))
    assert urls == {"http://www.w3.org/2000/svg"}, f"only the SVG namespace name, nothing to fetch: {urls}"


def test_every_chart_renders_in_chromium_for_all_tenants(dashboard: Path, tmp_path: Path):
    page = dom(dashboard, tmp_path / "profile")
    expected = expected_counts(None)
    assert page.body.get("data-rendered") == "true", "the inline renderer did not finish"
    assert set(page.charts) == set(CHARTS), "one SVG per chart"
    shapes = {name: counts["point"] + counts["bar"] for name, counts in page.charts.items()}
    assert shapes == {name: expected[name] for name in CHARTS}
    assert all(page.charts[name]["items"] == shapes[name] > 0 for name in CHARTS)
    assert page.charts["volume"]["bar"] == 0 and page.charts["error-rate"]["point"] == 0
    assert page.tables == Counter({"top": expected["top"], "session-rejections": expected["session-rejections"]})
    assert page.tenants["volume"] == set(TENANTS) == page.tenants["latency"]


@pytest.mark.parametrize("tenant", ["globex", "initech"])
def test_the_tenant_filter_narrows_every_chart(dashboard: Path, tmp_path: Path, tenant: str):
    page = dom(dashboard, tmp_path / "profile", tenant)
    expected = expected_counts(tenant)
    assert page.body.get("data-tenant") == tenant
    shapes = {name: counts["point"] + counts["bar"] for name, counts in page.charts.items()}
    assert shapes == {name: expected[name] for name in CHARTS}
    assert shapes != {name: expected_counts(None)[name] for name in CHARTS}
    assert all(seen == {tenant} for seen in page.tenants.values()), page.tenants
    assert page.tables["top"] == 1


def test_screenshots_are_saved_as_artifacts(dashboard: Path, tmp_path: Path):
    for name, suffix in (("dashboard.png", ""), ("dashboard-globex.png", "#tenant=globex")):
        target = ARTIFACTS / name
        target.unlink(missing_ok=True)
        browse(dashboard.as_uri() + suffix, tmp_path / f"profile-{name}", f"--screenshot={target}")
        data = target.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (1280, 2000)
        assert len(data) > 50_000, "a blank page compresses to a few KB; charts do not"


def test_an_empty_range_renders_empty_charts_without_script_errors(tmp_path: Path):
    html_path = render_dashboard(tmp_path / "no-zones", [], tmp_path / "empty.html")
    page = dom(html_path, tmp_path / "profile")
    assert page.body.get("data-rendered") == "true"
    assert set(page.charts) == set(CHARTS)
    assert all(counts["items"] == 0 and counts["point"] + counts["bar"] == 0 for counts in page.charts.values())
