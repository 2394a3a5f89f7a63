"""One field contract across functions: every function of template.yaml that has recorded
events is replayed over all of them, and every stdout line it writes is checked against the
exported contract (docs/schemas/log-contract.json) and the audit record schema."""

from __future__ import annotations

import json

import pytest
from xray_capture import ROOT, TEMPLATE, function_runner, json_lines, recorded_events

from support.tokens import rsa_key
from tenantkit.audit import AuditRecord
from tenantkit.observability.contract import LOG_FIELDS
from tenantkit_local.events import render
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.jwks_server import JwksServer
from tenantkit_local.template import resources_of_type

pytestmark = pytest.mark.e2e

# template.yaml logical id -> folder under events/. Add the BFF and audit functions here when
# their recorded events land (with whatever local dependencies their replay needs).
FUNCTIONS = {
    "AuthorizerFunction": "authorizer",
}
CONTRACT = json.loads((ROOT / "docs" / "schemas" / "log-contract.json").read_text())


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer(rsa_key(name="consistency-issuer"))


@pytest.fixture(scope="module")
def replays(issuer: LocalIssuer) -> dict[str, dict]:
    """Per function: init lines, and per recorded event the invocation's stdout lines."""
    results: dict[str, dict] = {}
    with JwksServer(issuer.jwks_bytes()) as server:
        for logical_id, folder in FUNCTIONS.items():
            # Event logging on, so every invocation writes log lines as well as its audit line.
            runner = function_runner(logical_id, OIDC_JWKS_URI=server.jwks_uri, POWERTOOLS_LOGGER_LOG_EVENT="true")
            invocations = {case: runner.invoke(render(event, issuer)) for case, event in recorded_events(folder)}
            results[logical_id] = {"init": runner.init_log_lines, "invocations": invocations,
                                   "service": runner.spec.environment["POWERTOOLS_SERVICE_NAME"]}
    return results


def test_the_table_names_real_functions_with_recorded_events():
    functions = set(resources_of_type(TEMPLATE, "AWS::Serverless::Function"))
    for logical_id, folder in FUNCTIONS.items():
        assert logical_id in functions
        assert len(recorded_events(folder)) >= 1


def test_the_exported_contract_is_the_code_contract():
    assert CONTRACT["log_fields"] == list(LOG_FIELDS)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_line_is_a_contract_log_line_or_a_valid_audit_line(logical_id, replays):
    replay = replays[logical_id]
    lines = list(replay["init"])
    for invocation in replay["invocations"].values():
        lines += invocation.log_lines
    kinds = []
    for record, text in zip(json_lines(lines), lines, strict=True):
        assert set(CONTRACT["log_fields"]) <= set(record), text
        assert record["service"] == replay["service"], text
        if record.get("record_type") == "audit":
            AuditRecord.model_validate_json(text)
            kinds.append("audit")
        else:
            assert {"level", "message", "timestamp"} <= set(record), text
            kinds.append("log")
    assert kinds.count("audit") == kinds.count("log") == len(replay["invocations"])  # neither check is vacuous


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_decision_writes_exactly_one_audit_line(logical_id, replays):
    invocations = replays[logical_id]["invocations"]
    assert len(invocations) == len(recorded_events(FUNCTIONS[logical_id]))
    for case, invocation in invocations.items():
        audits = [r for r in invocation.log_records() if r.get("record_type") == "audit"]
        assert len(audits) == 1, case
        (audit,) = audits
        assert audit["service"] == replays[logical_id]["service"]
        assert audit["function_request_id"] is not None and audit["correlation_id"] is not None
        expected_outcome = ("unauthorized" if invocation.error_type else
                            invocation.response["policyDocument"]["Statement"][0]["Effect"].lower())
        assert audit["outcome"] == expected_outcome, case
    assert not [r for r in replays[logical_id]["init"] if json.loads(r).get("record_type") == "audit"]


def test_field_names_are_identical_across_functions(replays):
    """The contract keys every function writes are one set: the exported document's."""
    seen = {}
    for logical_id, replay in replays.items():
        keys = set()
        for invocation in replay["invocations"].values():
            for record in invocation.log_records():
                keys |= set(record) & (set(LOG_FIELDS) | set(AuditRecord.model_fields))
        seen[logical_id] = keys & set(CONTRACT["log_fields"])
    assert all(keys == set(CONTRACT["log_fields"]) for keys in seen.values()), seen
