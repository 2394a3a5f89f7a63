"""`tenantkit events scrub`: a captured event becomes a committable fixture."""

from __future__ import annotations

import json
from pathlib import Path

from support.tokens import authorizer_event, entra_claims, sign
from tenantkit_local import cli
from tenantkit_local.events import TOKEN_REFERENCE, scrub

ROOT = Path(__file__).resolve().parents[2]


def captured() -> dict:
    token = sign(entra_claims())
    event = authorizer_event(f"Bearer {token}", extra_headers={
        "Cookie": "portal_session=SECRET-COOKIE-1", "X-Amz-Security-Token": "SECRET-STS-2",
        "Referer": f"https://portal/callback?code=SECRET-CODE-3&id_token={token}"})
    event["requestContext"]["authorizer"] = {"tenant_id": "acme", "principalId": "x"}
    event["body"] = json.dumps({"note": f"pasted {token}"})
    return event


def test_scrub_removes_every_secret_and_keeps_replayable_references():
    event = captured()
    token = event["headers"]["Authorization"].split()[1]
    cleaned = scrub(event, "acme-user-v2")
    text = json.dumps(cleaned)
    for secret in (token, *token.split("."), "SECRET-COOKIE-1", "SECRET-STS-2", "SECRET-CODE-3"):
        assert secret not in text
    assert cleaned["headers"]["Authorization"] == "Bearer {{token:acme-user-v2}}"
    assert cleaned["multiValueHeaders"]["Authorization"] == ["Bearer {{token:acme-user-v2}}"]
    assert cleaned["requestContext"]["authorizer"] == "{{envelope:acme-user-v2}}"
    assert TOKEN_REFERENCE.findall(text) == ["acme-user-v2", "acme-user-v2"]
    assert event["headers"]["Cookie"] == "portal_session=SECRET-COOKIE-1"  # the input is not modified
    assert cleaned["methodArn"] == event["methodArn"] and cleaned["httpMethod"] == "GET"


def test_cli_writes_the_fixture(tmp_path, capsys):
    source = tmp_path / "captured.json"
    source.write_text(json.dumps(captured()))
    out = tmp_path / "events" / "fixture.json"
    assert cli.main(["events", "scrub", str(source), "--persona", "acme-user-v2", "-o", str(out)]) == 0
    assert "SECRET" not in out.read_text() and "{{token:acme-user-v2}}" in out.read_text()
    assert cli.main(["events", "scrub", str(source), "--persona", "nobody"]) == 2
