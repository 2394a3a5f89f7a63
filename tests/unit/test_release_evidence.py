"""Promotion evidence: building from CI variables + Deployments API data, verifying lineage,
approvals and rollback, the closeout block, and the CLI's exit codes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.cli import main
from tenantkit_local.release import ReleaseError
from tenantkit_local.release.evidence import (
    SCHEMA_FILE,
    Approver,
    CiContext,
    PromotionEvidence,
    artifact_digest,
    build_evidence,
    load_evidence,
    schema_document,
)
from tenantkit_local.release.gitlab import load_approvals, load_deployments
from tenantkit_local.release.verify import RUNTIME_BOUNDARY, closeout, verify

EXAMPLES = PROJECT_ROOT / "docs" / "examples" / "release"
SHA = "3f5c1e9a7b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e"
PREVIOUS = "9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d"
OTHER = "c0ffee0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b"
NOW = datetime(2026, 11, 21, 10, 45, tzinfo=UTC)
ARTIFACTS = ["packaged.yaml@sha256:4be1e2a6f2b0b3c1d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5",
             "tenantkit-layer.zip@sha256:0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c"]


def ci_env() -> dict[str, str]:
    lines = (EXAMPLES / "ci.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def raw_deployments() -> list[dict]:
    return json.loads((EXAMPLES / "deployments.json").read_text())


def build(deployments: list[dict] | None = None, env: dict[str, str] | None = None, tmp: Path | None = None,
          **kwargs) -> PromotionEvidence:
    path = EXAMPLES / "deployments.json"
    if deployments is not None:
        assert tmp is not None
        path = tmp / "deployments.json"
        path.write_text(json.dumps(deployments))
    return build_evidence(CiContext.from_env({**ci_env(), **(env or {})}), load_deployments(path),
                          approvals=load_approvals(EXAMPLES / "approvals.json"),
                          artifacts=[artifact_digest(a) for a in ARTIFACTS], now=NOW, **kwargs)


def example() -> PromotionEvidence:
    return load_evidence(EXAMPLES / "evidence.json")


def failures(evidence: PromotionEvidence, **kwargs) -> dict[str, str]:
    return {c.name: c.detail for c in verify(evidence, **kwargs).failures}


# --- building -----------------------------------------------------------------------------------


def test_example_record_is_what_the_builder_produces():
    assert build() == example()
    assert schema_document() == SCHEMA_FILE.read_text(), "run `tenantkit release schema`"


def test_builder_records_lineage_approvals_and_rollback():
    evidence = build()
    assert [(s.environment, s.sha, s.deployment_id) for s in evidence.lineage] == [
        ("dev", SHA, 110), ("staging", SHA, 111)]  # dev's newer feature-branch deployment 112 is not lineage
    assert (evidence.environment, evidence.promoted_sha, evidence.deployment_id) == ("prod", SHA, 113)
    assert evidence.pipeline_id == 5010 and evidence.tag == "v1.4.0"
    assert evidence.project_path == "acme-platform/teams/portal/portal-agents"
    assert [(a.username, a.approved_at.isoformat()) for a in evidence.approvers] == [
        ("priya.raman", "2026-11-21T10:30:05+00:00")]
    assert evidence.rollback_sha == PREVIOUS
    assert [p.deployment_id for p in evidence.prior_promotions] == [103]
    assert evidence.deployed_at == datetime(2026, 11, 21, 10, 41, 37, tzinfo=UTC)  # finished, not created (blocked)


def test_builder_records_a_mismatch_instead_of_hiding_it(tmp_path):
    deployments = [d for d in raw_deployments() if d["id"] != 111]
    deployments.append({**next(d for d in raw_deployments() if d["id"] == 111), "id": 120, "sha": OTHER})
    staging = build(deployments, tmp=tmp_path).lineage[1]
    assert (staging.deployment_id, staging.sha) == (120, OTHER)


def test_builder_without_any_staging_deployment_records_an_empty_step(tmp_path):
    deployments = [d for d in raw_deployments() if d["environment"]["name"] != "staging"]
    staging = build(deployments, tmp=tmp_path).lineage[1]
    assert (staging.environment, staging.sha, staging.deployment_id) == ("staging", None, None)


def test_ci_context_names_every_missing_variable():
    with pytest.raises(ReleaseError, match="CI_PIPELINE_ID, CI_COMMIT_SHA"):
        CiContext.from_env({"CI_PROJECT_PATH": "g/p", "CI_ENVIRONMENT_NAME": "prod"})
    with pytest.raises(ReleaseError, match="must be an integer"):
        CiContext.from_env({**ci_env(), "CI_PIPELINE_ID": "abc"})
    assert CiContext.from_env(ci_env(), environment="staging").environment == "staging"


def test_environment_outside_the_chain_is_refused():
    with pytest.raises(ReleaseError, match="not in the promotion chain"):
        build(env={"CI_ENVIRONMENT_NAME": "qa"})


def test_artifact_digest_of_a_file_and_a_given_digest(tmp_path):
    path = tmp_path / "packaged.yaml"
    path.write_bytes(b"Resources: {}\n")
    assert artifact_digest(str(path)).sha256 == hashlib.sha256(b"Resources: {}\n").hexdigest()
    with pytest.raises(ReleaseError, match="64 hex"):
        artifact_digest("x@sha256:abc")
    with pytest.raises(ReleaseError, match="no such file"):
        artifact_digest(str(tmp_path / "missing.zip"))


# --- verification -------------------------------------------------------------------------------


def test_valid_promotion_passes_every_check():
    result = verify(example(), deployments=load_deployments(EXAMPLES / "deployments.json"))
    assert result.ok, result.failures
    assert [c.name for c in result.checks] == [
        "lineage", "deployment", "approvals", "tag", "rollback", "artifacts", "cross-check"]


def test_missing_approval_on_a_protected_environment_fails():
    unapproved = example().model_copy(update={"approvers": []})
    assert "prod is protected and has no approval" in failures(unapproved)["approvals"]
    # staging protected as well: its deployment carries no approval in the example
    assert "staging is protected and has no approval" in failures(example(), protected=("staging", "prod"))["approvals"]


def test_self_approval_is_refused_on_production_only():
    evidence = example()
    own = Approver(username="dana.okafor", approved_at=evidence.approvers[0].approved_at)
    assert "approved their own deployment" in failures(evidence.model_copy(update={"approvers": [own]}))["approvals"]
    staging = evidence.lineage[1].model_copy(update={"approvers": [own.model_copy(
        update={"approved_at": evidence.lineage[1].deployed_at - timedelta(minutes=1)})]})
    relaxed = evidence.model_copy(update={"lineage": [evidence.lineage[0], staging]})
    assert verify(relaxed, protected=("staging", "prod")).ok  # staging is not production


def test_rejection_and_badly_timed_approvals_fail():
    evidence = example()
    approval = evidence.approvers[0]
    rejected = approval.model_copy(update={"username": "sam.lee", "status": "rejected"})
    assert "rejected by sam.lee" in failures(evidence.model_copy(update={"approvers": [approval, rejected]}))[
        "approvals"]
    early = approval.model_copy(update={"approved_at": datetime(2026, 11, 19, tzinfo=UTC)})
    assert "before the previous environment" in failures(evidence.model_copy(update={"approvers": [early]}))[
        "approvals"]


def test_sha_mismatch_between_staging_and_prod_fails():
    evidence = example()
    staging = evidence.lineage[1].model_copy(update={"sha": OTHER})
    detail = failures(evidence.model_copy(update={"lineage": [evidence.lineage[0], staging]}))["lineage"]
    assert detail == f"SHA mismatch: staging ran {OTHER[:12]} (deployment 111) but prod promotes {SHA[:12]}"


def test_missing_lineage_step_fails(tmp_path):
    deployments = [d for d in raw_deployments() if d["environment"]["name"] != "staging"]
    detail = failures(build(deployments, tmp=tmp_path))["lineage"]
    assert "lineage step missing: no successful deployment to staging" in detail
    dropped = example().model_copy(update={"lineage": example().lineage[:1]})
    assert "lineage must be dev -> staging, got dev" in failures(dropped)["lineage"]


def test_rollback_to_a_never_promoted_sha_fails():
    assert "was never promoted to prod" in failures(example().model_copy(update={"rollback_sha": OTHER}))["rollback"]
    assert "is the promoted SHA itself" in failures(example().model_copy(update={"rollback_sha": SHA}))["rollback"]
    assert "rollback SHA missing" in failures(example().model_copy(update={"rollback_sha": None}))["rollback"]
    first = example().model_copy(update={"rollback_sha": None, "prior_promotions": []})
    assert "rollback" not in failures(first)


def test_prod_needs_a_tag_and_artifacts():
    assert failures(example().model_copy(update={"tag": None}))["tag"].startswith("prod must be promoted from")
    assert failures(example().model_copy(update={"artifacts": []}))["artifacts"] == "no artifact digests recorded"


def test_deployment_order_and_cross_check():
    late_staging = example().lineage[1].model_copy(update={"deployed_at": datetime(2026, 11, 22, tzinfo=UTC)})
    reordered = example().model_copy(update={"lineage": [example().lineage[0], late_staging]})
    assert "prod was deployed before staging" in failures(reordered)["deployment"]
    forged = example().model_copy(update={"deployment_id": 999})
    data = load_deployments(EXAMPLES / "deployments.json")
    assert "prod deployment 999 is not a successful deployment" in failures(forged, deployments=data)["cross-check"]


def test_closeout_block():
    text = closeout(verify(example(), deployments=load_deployments(EXAMPLES / "deployments.json")))
    assert text.startswith("### Promotion evidence: prod PASSED")
    assert f"| promoted SHA | `{SHA}` |" in text
    assert "dev `3f5c1e9a7b2d` → staging `3f5c1e9a7b2d` → **prod** `3f5c1e9a7b2d`" in text
    assert "- [x] lineage:" in text and RUNTIME_BOUNDARY in text
    assert text == (EXAMPLES / "closeout.md").read_text()
    failed = closeout(verify(example().model_copy(update={"approvers": []})))
    assert "prod FAILED" in failed and "- [ ] approvals: prod is protected and has no approval" in failed


# --- CLI -------------------------------------------------------------------------------------------


def test_cli_evidence_then_verify(tmp_path, monkeypatch, capsys):
    for name, value in ci_env().items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "evidence.json"
    args = ["release", "evidence", "--deployments", str(EXAMPLES / "deployments.json"),
            "--approvals", str(EXAMPLES / "approvals.json"), "--created-at", "2026-11-21T10:45:00Z", "-o", str(out)]
    assert main([*args, *(a for spec in ARTIFACTS for a in ("--artifact", spec))]) == 0
    assert out.read_text() == (EXAMPLES / "evidence.json").read_text()
    closeout_file = tmp_path / "closeout.md"
    assert main(["release", "verify", str(out), "--closeout", str(closeout_file)]) == 0
    assert closeout_file.read_text() == capsys.readouterr().out


def test_cli_verify_exit_1_with_clear_messages(tmp_path, capsys):
    bad = tmp_path / "evidence.json"
    bad.write_text(example().model_copy(update={"approvers": [], "rollback_sha": OTHER}).model_dump_json())
    assert main(["release", "verify", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "release verify: approvals: prod is protected and has no approval" in err
    assert f"release verify: rollback: rollback SHA {OTHER[:12]} was never promoted to prod" in err


def test_cli_input_errors_exit_2(tmp_path, monkeypatch, capsys):
    for name in ("CI_PIPELINE_ID", "CI_COMMIT_SHA", "CI_ENVIRONMENT_NAME", "CI_PROJECT_PATH"):
        monkeypatch.delenv(name, raising=False)
    assert main(["release", "evidence", "--deployments", str(EXAMPLES / "deployments.json")]) == 2
    assert "missing GitLab CI variables: CI_PIPELINE_ID" in capsys.readouterr().err
    broken = tmp_path / "evidence.json"
    broken.write_text("{not json")
    assert main(["release", "verify", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({**json.loads((EXAMPLES / "evidence.json").read_text()), "tenant_id": "acme"}))
    assert main(["release", "verify", str(extra)]) == 2
    assert "not a promotion evidence record: tenant_id: Extra inputs are not permitted" in capsys.readouterr().err
    assert main(["release", "verify", str(tmp_path / "missing.json")]) == 2
