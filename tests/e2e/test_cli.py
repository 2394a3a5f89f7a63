"""The `tenantkit` CLI as a developer uses it: invoke, replay, token, events render."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import jwt
import pytest

from tenantkit_local import cli
from tenantkit_local.issuer import LocalIssuer

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """local/env.json with the JWKS on a free port, and the issuer key in a temp state dir."""
    monkeypatch.setenv("TENANTKIT_STATE_DIR", str(tmp_path / ".tenantkit"))
    data = json.loads((ROOT / "local" / "env.json").read_text())
    data["AuthorizerFunction"]["OIDC_JWKS_URI"] = f"http://127.0.0.1:{_free_port()}/common/discovery/v2.0/keys"
    path = tmp_path / "env.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.e2e
@pytest.mark.parametrize("command", [["invoke"], ["local", "invoke"]])
def test_invoke_allows_a_persona_event_and_prints_policy(command: list[str], env_file: Path,
                                                          capsys: pytest.CaptureFixture[str]):
    code = cli.main([*command, "AuthorizerFunction", "-e", str(ROOT / "events/authorizer/acme-user-v2.json"),
                     "--env-vars", str(env_file)])
    out, err = capsys.readouterr()
    assert code == 0
    response = json.loads(out)
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert response["context"]["tenant_id"] == "acme"
    assert '"reason":"verified"' in err.replace(" ", "")


@pytest.mark.e2e
def test_invoke_reports_unauthorized_like_lambda(env_file: Path, capsys: pytest.CaptureFixture[str]):
    code = cli.main(["invoke", "AuthorizerFunction", "-e", str(ROOT / "events/authorizer/acme-expired.json"),
                     "--env-vars", str(env_file)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert json.loads(out) == {"errorType": "Exception", "errorMessage": "Unauthorized"}


@pytest.mark.e2e
def test_replay_prints_the_decision_table(env_file: Path, capsys: pytest.CaptureFixture[str]):
    code = cli.main(["replay", str(ROOT / "events/authorizer"), "--env-vars", str(env_file)])
    out, _ = capsys.readouterr()
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line and not line.startswith("17 ")}
    assert rows["globex-b2b-guest"][1:4] == ["Allow", "200", "verified"]
    assert rows["not-onboarded-user"][1:4] == ["Deny", "403", "tenant_not_onboarded"]
    assert "17 events replayed" in out and "0 errors" in out


@pytest.mark.e2e
def test_port_taken_by_something_else_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TENANTKIT_STATE_DIR", str(tmp_path / ".tenantkit"))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        data = json.loads((ROOT / "local" / "env.json").read_text())
        data["AuthorizerFunction"]["OIDC_JWKS_URI"] = f"http://127.0.0.1:{port}/common/discovery/v2.0/keys"
        env = tmp_path / "env.json"
        env.write_text(json.dumps(data))
        squatter.settimeout(0.1)
        code = cli.main(["replay", str(ROOT / "events/authorizer"), "--env-vars", str(env)])
    _, err = capsys.readouterr()
    assert code == 2
    assert f"127.0.0.1:{port}" in err


def test_token_and_render_use_the_generated_issuer_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("TENANTKIT_STATE_DIR", str(tmp_path / ".tenantkit"))
    assert cli.main(["token", "--persona", "acme-service"]) == 0
    token = capsys.readouterr().out.strip()
    key_file = tmp_path / ".tenantkit" / "issuer" / "signing-key.pem"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    issuer = LocalIssuer(key_path=key_file)
    claims = jwt.decode(token, jwt.PyJWK(issuer.public_jwk).key, algorithms=["RS256"],
                        audience="5f1d2c3b-4a59-4e68-9d7c-6b5a4f3e2d1c")
    assert claims["idtyp"] == "app" and claims["iss"].endswith("/v2.0")

    out_dir = tmp_path / "rendered"
    assert cli.main(["events", "render", str(ROOT / "events/authorizer"), "--out", str(out_dir)]) == 0
    rendered = sorted(p for p in out_dir.rglob("*.json") if p.name != "env.json")
    assert len(rendered) == 17 and (out_dir / "env.json").is_file()
    for path in rendered:
        assert "{{token:" not in path.read_text()
    event = json.loads((out_dir / "authorizer" / "acme-user-v1.json").read_text())
    v1 = jwt.decode(event["headers"]["Authorization"][7:], jwt.PyJWK(issuer.public_jwk).key, algorithms=["RS256"],
                    audience="api://tenantkit")
    assert v1["iss"] == "https://sts.windows.net/6e1c3a4b-2f7d-4c1e-9a8b-0d5f3e2a1b7c/" and v1["ver"] == "1.0"


def test_unknown_persona_is_a_clear_error(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["token", "--persona", "nobody"]) == 2
    assert "unknown persona 'nobody'" in capsys.readouterr().err
