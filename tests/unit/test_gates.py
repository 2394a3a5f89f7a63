"""The viability gates fail when their evidence is broken."""

from __future__ import annotations

from pathlib import Path

import yaml

from tenantkit_local.gates import GATES, evaluate, format_results, gate_markers_for

ROOT = Path(__file__).resolve().parents[2]


def all_passing_report() -> dict[str, list[str]]:
    passed = [prefix + "_x" if "::" in prefix else prefix + "::test_x" for g in GATES for prefix in g.evidence]
    return {"passed": passed, "failed": []}


def test_the_repository_template_passes_every_static_check():
    results = evaluate(all_passing_report(), ROOT / "template.yaml")
    assert all(r.ok for r in results), format_results(results)
    assert "7/7 viability gates pass" in format_results(results)


def _copy_without_authorizer(tmp_path: Path) -> Path:
    text = (ROOT / "template.yaml").read_text()
    # a new route added without `security`: the kind of mistake the gate exists for
    broken = text.replace("          /v1/whoami:\n", "          /v1/open:\n            get:\n"
                          "              responses: {}\n              x-amazon-apigateway-integration:\n"
                          "                type: mock\n          /v1/whoami:\n", 1)
    path = tmp_path / "template.yaml"
    path.write_text(broken)
    return path


def test_a_route_without_the_authorizer_fails_the_cross_tenant_gate(tmp_path):
    results = {r.gate.id: r for r in evaluate(all_passing_report(), _copy_without_authorizer(tmp_path))}
    assert not results["cross_tenant"].ok
    assert any("GET /v1/open" in detail for _, ok, detail in results["cross_tenant"].static if not ok)
    assert results["identity"].ok  # the other gates are unaffected


def test_cache_key_and_metric_dimension_checks(tmp_path):
    text = (ROOT / "template.yaml").read_text()
    text = text.replace("identitySource: method.request.header.Authorization",
                        "identitySource: method.request.header.X-Api-Client")
    text = text.replace("              Value: $.outcome", "              Value: $.tenant_id")
    path = tmp_path / "template.yaml"
    path.write_text(text)
    results = {r.gate.id: r for r in evaluate(all_passing_report(), path)}
    assert not results["cross_tenant"].ok and not results["traces"].ok


def test_a_failed_or_missing_evidence_test_fails_its_gate():
    report = all_passing_report()
    moved = next(n for n in report["passed"] if n.startswith("tests/unit/test_abac.py"))
    report["passed"].remove(moved)
    report["failed"].append(moved)
    results = {r.gate.id: r for r in evaluate(report, ROOT / "template.yaml")}
    assert not results["abac"].ok and results["abac"].failed == 1
    empty = {r.gate.id: r for r in evaluate({"passed": [], "failed": []}, ROOT / "template.yaml")}
    assert not any(r.ok for r in empty.values())  # no evidence is not a pass


def test_every_evidence_prefix_names_an_existing_test_file():
    for gate in GATES:
        for prefix in gate.evidence:
            assert (ROOT / prefix.split("::")[0]).exists(), prefix
    assert gate_markers_for("tests/integration/test_bff_sessions.py::test_foreign_session_is_not_found[x]") == [
        "gate_cross_tenant"]


def test_template_copy_is_still_valid_yaml(tmp_path):
    from tenantkit_local.template import load_template

    assert "/v1/open" in yaml.dump(load_template(_copy_without_authorizer(tmp_path))["Resources"]["TenantApi"])
