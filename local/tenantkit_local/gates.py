"""Viability gates: "ready for pooled multi-tenancy" as seven checks with evidence.

Each gate is proven by the tests mapped to it here (the test suite marks them ``gate_<id>``)
plus static checks on ``template.yaml``. ``tenantkit gates`` runs the mapped tests, runs the
static checks, prints one row per gate with its evidence, and exits non-zero on any failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.template import load_template

FORBIDDEN_DIMENSIONS = ("tenant_id", "session_id", "principal_id")
BFF = "tests/integration/test_bff_sessions.py::"


@dataclass(frozen=True)
class Gate:
    id: str
    title: str
    evidence: tuple[str, ...]  # test node-id prefixes ("path" or "path::test_name_prefix")
    static: tuple[str, ...] = ()  # names of static checks below


GATES: tuple[Gate, ...] = (
    Gate("identity", "tenant_id derived from validated identity only", (
        "tests/unit/test_verifier_rejections.py", "tests/unit/test_authorizer_handler.py",
        "tests/unit/test_authorizer_fuzz.py", BFF + "test_spoofed",
        BFF + "test_missing_envelope")),
    Gate("session_binding", "session binding enforced and tested", (
        BFF + "test_create_binds", BFF + "test_continuity",
        BFF + "test_expired", BFF + "test_bind_race",
        BFF + "test_delete")),
    Gate("abac", "ABAC/policy checks enforce tenant/resource match", (
        "tests/unit/test_abac.py", BFF + "test_abac")),
    Gate("partitioning", "persistent data partitioned by AppID + TenantID", (
        BFF + "test_create_binds", "tests/unit/test_session_keys_property.py"), ("sessions_table_partitioning",)),
    Gate("audit_fields", "audit logs include app_id, tenant_id, session_id, outcomes", (
        "tests/unit/test_audit_schema.py", "tests/e2e/test_schema_consistency.py")),
    Gate("traces", "traces correlate tenant/app/session without secrets", (
        "tests/integration/test_tracing_xray.py", "tests/e2e/test_canary_all_outputs.py"),
        ("no_tenant_metric_dimensions",)),
    Gate("cross_tenant", "negative tests prove cross-tenant rejection", (
        BFF + "test_foreign_session", BFF + "test_one_assume_role", BFF + "test_sts_failure",
        "tests/unit/test_tenant_data_role.py", "tests/e2e/test_bff_replay.py",
        "tests/e2e/test_local_stack.py"), ("authorizer_on_every_route", "authorizer_cache_key_is_the_token")),
)


def gate_markers_for(nodeid: str) -> list[str]:
    return [f"gate_{g.id}" for g in GATES if any(nodeid.startswith(prefix) for prefix in g.evidence)]


# --- static checks on template.yaml -------------------------------------------------------------


def _api_body(template: dict[str, Any]) -> dict[str, Any]:
    apis = [r for r in template["Resources"].values() if r.get("Type") == "AWS::Serverless::Api"]
    return apis[0]["Properties"]["DefinitionBody"] if apis else {}


def authorizer_on_every_route(template: dict[str, Any]) -> tuple[bool, str]:
    body = _api_body(template)
    open_routes = [f"{method.upper()} {path}" for path, ops in body.get("paths", {}).items()
                   for method, op in ops.items() if not op.get("security")]
    routes = sum(len(ops) for ops in body.get("paths", {}).values())
    return (not open_routes and routes > 0,
            f"{routes} route(s), all behind an authorizer" if not open_routes else f"no authorizer: {open_routes}")


def authorizer_cache_key_is_the_token(template: dict[str, Any]) -> tuple[bool, str]:
    schemes = _api_body(template).get("components", {}).get("securitySchemes", {})
    problems = []
    for name, scheme in schemes.items():
        spec = scheme.get("x-amazon-apigateway-authorizer", {})
        if spec.get("identitySource") != "method.request.header.Authorization":
            problems.append(f"{name}: identitySource {spec.get('identitySource')!r}")
    detail = "identitySource = the Authorization header" if not problems else "; ".join(problems)
    return not problems and bool(schemes), detail


def no_tenant_metric_dimensions(template: dict[str, Any]) -> tuple[bool, str]:
    text = json.dumps([r for r in template["Resources"].values()
                       if r.get("Type") in ("AWS::Logs::MetricFilter", "AWS::CloudWatch::Dashboard")])
    found = [d for d in FORBIDDEN_DIMENSIONS if d in text]
    return not found, "metric filters and dashboards use no tenant/session/principal dimension" if not found \
        else f"forbidden dimensions: {found}"


def sessions_table_partitioning(template: dict[str, Any]) -> tuple[bool, str]:
    tables = {k: r["Properties"] for k, r in template["Resources"].items() if r.get("Type") == "AWS::DynamoDB::Table"}
    props = tables.get("SessionsTable", {})
    gsi = [i for i in props.get("GlobalSecondaryIndexes", []) if i["KeySchema"][0]["AttributeName"] == "tenant_key"]
    return bool(gsi), "SessionsTable: by-tenant index on T#<tenant>#A#<app>#SHARD#<n>" if gsi else "no tenant_key index"


STATIC_CHECKS: dict[str, Callable[[dict[str, Any]], tuple[bool, str]]] = {
    "authorizer_on_every_route": authorizer_on_every_route,
    "authorizer_cache_key_is_the_token": authorizer_cache_key_is_the_token,
    "no_tenant_metric_dimensions": no_tenant_metric_dimensions,
    "sessions_table_partitioning": sessions_table_partitioning,
}


# --- evaluation -------------------------------------------------------------------------------------


@dataclass
class GateResult:
    gate: Gate
    passed: int
    failed: int
    static: list[tuple[str, bool, str]]

    @property
    def ok(self) -> bool:
        return self.passed > 0 and self.failed == 0 and all(ok for _, ok, _ in self.static)


def evaluate(report: dict[str, list[str]], template_path: Path) -> list[GateResult]:
    """``report``: {"passed": [nodeid, ...], "failed": [...]} from the gate-marked test run."""
    template = load_template(template_path)
    results = []
    for gate in GATES:
        def mine(nodeids: list[str], gate: Gate = gate) -> int:
            return sum(1 for n in nodeids if any(n.startswith(p) for p in gate.evidence))

        static = [(name, *STATIC_CHECKS[name](template)) for name in gate.static]
        results.append(GateResult(gate, mine(report.get("passed", [])), mine(report.get("failed", [])), static))
    return results


def run_gate_tests(root: Path = PROJECT_ROOT) -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "gates.json"
        markers = " or ".join(f"gate_{g.id}" for g in GATES)
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", markers],  # noqa: S603
                       cwd=root, env={**os.environ, "TENANTKIT_GATES_REPORT": str(report_path)},
                       stdout=subprocess.DEVNULL, check=False)
        return json.loads(report_path.read_text()) if report_path.exists() else {"passed": [], "failed": []}


def format_results(results: list[GateResult]) -> str:
    lines = []
    for result in results:
        status = "PASS" if result.ok else "FAIL"
        lines.append(f"{status}  {result.gate.id:<16} {result.gate.title}")
        lines.append(f"      tests: {result.passed} passed, {result.failed} failed "
                     f"({', '.join(result.gate.evidence[:3])}{', ...' if len(result.gate.evidence) > 3 else ''})")
        for name, ok, detail in result.static:
            lines.append(f"      static {name}: {'ok' if ok else 'FAILED'} - {detail}")
    passed = sum(r.ok for r in results)
    lines.append(f"\n{passed}/{len(results)} viability gates pass")
    return "\n".join(lines)
