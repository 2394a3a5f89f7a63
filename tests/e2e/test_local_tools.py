"""The local tools as a user scripts them: `tenantkit local up --json` in a subprocess (started
the way a shell script starts a background job), a token minted with `--claims`, the API called
over HTTP, the fake agent's `/_received` read, events rendered against the running stack and
replayed in-process, and a clean stop on SIGTERM and on SIGINT."""

from __future__ import annotations

import gzip
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantkit_local import cli
from tenantkit_local.cloud import FAKE_CREDENTIALS, environment
from tenantkit_local.events import event_files, load_event, placeholders_left
from tenantkit_local.replay import authorizer_outcome, proxy_outcome
from tenantkit_local.runner import FunctionRunner
from tenantkit_local.template import function_spec, load_env_vars

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = json.loads((ROOT / "events" / "outcomes.json").read_text())


class Stack:
    """A `tenantkit local up --json` process and its ready line."""

    def __init__(self, state: Path, *extra: str, ignore_sigint: bool = True, command: str = "up") -> None:
        self.state = state
        command = [sys.executable, "-m", "tenantkit_local.cli", "local", command, "--port", "0", "--issuer-port", "0",
                   "--otlp-port", "0", "--state-dir", str(state), "--json", *extra]
        # A non-interactive shell starts `cmd &` with SIGINT ignored: the stack must still stop on it.
        preexec = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,  # noqa: S603
                                        preexec_fn=preexec, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.info = json.loads(self._line(timeout=60))

    def _line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            self.process.kill()
            raise AssertionError(f"no line from local up in {timeout} s: {self.process.stderr.read()}")
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"local up exited {self.process.wait()}: {self.process.stderr.read()}")
        return line

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return code, self.process.stdout.read() if self.process.stdout else ""

    def ports(self) -> list[int]:
        return [self.info["api_port"], self.info["issuer_port"], int(self.info["moto_endpoint"].rsplit(":", 1)[1]),
                int(self.info["agent_url"].split(":")[2].split("/")[0])]


def http(method: str, url: str, *, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw) if raw else None


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def audit_records(store: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(store.glob("raw/dt=*/**/*")):
        if path.is_file() and not path.name.startswith("."):
            data = path.read_bytes()
            text = gzip.decompress(data).decode() if data[:2] == b"\x1f\x8b" else data.decode()
            records.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return records


def mint(state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], persona: str,
         claims: str | None = None) -> str:
    monkeypatch.setenv("TENANTKIT_STATE_DIR", str(state))  # the stack's issuer key
    capsys.readouterr()
    assert cli.main(["token", "--persona", persona, *(["--claims", claims] if claims else [])]) == 0
    return capsys.readouterr().out.strip()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("state"), "--parameter-overrides", "AgentName=param-agent")
    yield running
    if running.process.poll() is None:
        running.stop()


def test_ready_line_tells_a_script_everything(stack: Stack):
    info = stack.info
    assert info["event"] == "ready"
    assert info["state_dir"] == str(stack.state.resolve())
    assert info["audit_store"] == str(stack.state.resolve() / "audit")
    assert info["agent_received_url"].endswith("/_received")
    assert set(info["tables"]) == {"SessionsTable"}
    assert all(port_open(port) for port in stack.ports())
    assert json.loads((stack.state / "local-stack.json").read_text())["api_url"] == info["api_url"]


def test_script_mints_a_token_with_claims_calls_the_api_and_reads_the_agent(
        stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    token = mint(stack.state, monkeypatch, capsys, "acme-user-v2", '{"name": "Script User", "roles": ["Reader"]}')
    claims = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["name"] == "Script User" and claims["roles"] == ["Reader"]
    assert http("DELETE", stack.info["agent_received_url"])[0] == 200
    status, created = http("POST", f"{stack.info['api_url']}/v1/sessions", token=token)
    assert status == 201, created
    status, reply = http("POST", f"{stack.info['api_url']}/v1/sessions/{created['session_id']}/messages",
                         token=token, body={"text": "hello from a script"})
    assert status == 200, reply
    status, received = http("GET", stack.info["agent_received_url"])
    assert status == 200 and received["count"] == 1
    request = received["requests"][0]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert isinstance(request["body"], dict) and request["body"]["text"] == "hello from a script"
    assert headers["x-tenant-id"] == "acme" and "authorization" not in headers
    assert token not in json.dumps(received)


def test_parameter_override_reaches_the_functions(stack: Stack, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]):
    token = mint(stack.state, monkeypatch, capsys, "globex-b2b-guest")
    _, created = http("POST", f"{stack.info['api_url']}/v1/sessions", token=token)
    http("POST", f"{stack.info['api_url']}/v1/sessions/{created['session_id']}/messages", token=token,
         body={"text": "cost"})
    turns = [r for r in audit_records(Path(stack.info["audit_store"]))
             if r["event_type"] == "request.completed" and r.get("agent_name")]
    assert turns and {r["agent_name"] for r in turns} == {"param-agent"}


def test_claims_can_make_an_identity_no_fixture_has(stack: Stack, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]):
    unknown_tenant = mint(stack.state, monkeypatch, capsys, "acme-user-v2",
                          '{"tid": "00000000-0000-4000-8000-000000000001"}')
    assert http("GET", f"{stack.info['api_url']}/v1/me", token=unknown_tenant)[0] == 403
    wrong_scope = mint(stack.state, monkeypatch, capsys, "acme-user-v2", '{"scp": "User.Read"}')
    assert http("GET", f"{stack.info['api_url']}/v1/me", token=wrong_scope)[0] == 403
    no_scope = mint(stack.state, monkeypatch, capsys, "acme-user-v2", '{"scp": null}')  # null removes the claim
    assert http("GET", f"{stack.info['api_url']}/v1/me", token=no_scope)[0] == 403
    reasons = [r["reason"] for r in audit_records(Path(stack.info["audit_store"])) if r["event_type"] == "authz.deny"]
    # no scp and no roles: an app-only token, which this app does not admit
    assert {"tenant_not_onboarded", "scope_missing", "service_principal_not_permitted"} <= set(reasons), reasons


def test_rendered_events_have_no_placeholder_and_replay_to_their_documented_outcome(
        stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("TENANTKIT_STATE_DIR", str(stack.state))  # finds the running stack's file
    out = tmp_path / "rendered"
    assert cli.main(["events", "render", "-o", str(out)]) == 0
    printed = capsys.readouterr()
    sources = event_files([ROOT / "events"])
    rendered = sorted(p for p in out.rglob("*.json") if p.name != "env.json")
    assert len(rendered) == len(sources), printed.err  # sessions bound in the stack: nothing skipped
    for path in rendered:
        assert placeholders_left(load_event(path)) == set(), path
    env_vars = load_env_vars(out / "env.json")
    assert env_vars["BffProxyFunction"]["SESSIONS_TABLE"] == stack.info["tables"]["SessionsTable"]

    authorizer = FunctionRunner(function_spec(ROOT / "template.yaml", "AuthorizerFunction", env_vars=env_vars))
    for name, expected in OUTCOMES["authorizer"].items():
        outcome = authorizer_outcome(name, authorizer.invoke(load_event(out / "authorizer" / f"{name}.json")))
        assert (outcome.decision, outcome.status, outcome.reason) == (
            expected["decision"], expected["status"], expected["audit_reason"]), name
    bff_env = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": stack.info["moto_endpoint"]}
    with environment(bff_env):
        bff = FunctionRunner(function_spec(ROOT / "template.yaml", "BffProxyFunction", env_vars=env_vars))
        for name, expected in OUTCOMES["bff_proxy"].items():
            outcome = proxy_outcome(name, bff.invoke(load_event(out / "bff_proxy" / f"{name}.json")))
            assert (outcome.status, outcome.audit) == (expected["status"], " ".join(expected["audit"]) or "-"), name


def test_readme_sam_local_invoke_line_is_what_render_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("TENANTKIT_STATE_DIR", str(tmp_path / "no-stack"))
    monkeypatch.chdir(ROOT)
    out = tmp_path / "rendered"
    assert cli.main(["events", "render", "-o", str(out)]) == 0
    printed = capsys.readouterr()
    line = next(line for line in printed.out.splitlines() if line.startswith("sam local invoke"))
    assert line.replace(str(out), ".tenantkit/rendered-events") in (ROOT / "README.md").read_text()
    assert "continue a session" in printed.err  # no stack running: session events are named, not faked
    assert (out / "env.json").is_file()


def test_every_documented_event_exists_and_every_event_is_documented():
    for kind in ("authorizer", "bff_proxy"):
        assert {p.stem for p in event_files([ROOT / "events" / kind])} == set(OUTCOMES[kind])


def test_sigterm_stops_the_stack_and_frees_every_port(tmp_path: Path):
    running = Stack(tmp_path)
    ports = running.ports()
    code, rest = running.stop(signal.SIGTERM)
    assert code == 0
    assert json.loads(rest.strip().splitlines()[-1]) == {"event": "stopped"}
    assert not any(port_open(port) for port in ports)
    assert not (tmp_path / "local-stack.json").exists()


def test_sigint_stops_a_stack_started_with_sigint_ignored_and_env_vars_win_over_parameters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"BffProxyFunction": {"AGENT_NAME": "env-file-agent"}}))
    running = Stack(tmp_path / "state", "--env-vars", str(env_file), "--parameter-overrides", "AgentName=param-agent")
    token = mint(running.state, monkeypatch, capsys, "initech-user-v2")
    _, created = http("POST", f"{running.info['api_url']}/v1/sessions", token=token)
    http("POST", f"{running.info['api_url']}/v1/sessions/{created['session_id']}/messages", token=token,
         body={"text": "x"})
    ports = running.ports()
    code, _ = running.stop(signal.SIGINT)
    assert code == 0
    assert not any(port_open(port) for port in ports)
    names = {r.get("agent_name") for r in audit_records(Path(running.info["audit_store"]))
             if r["event_type"] == "request.completed"}
    assert "env-file-agent" in names and "param-agent" not in names


def test_start_api_serves_the_api_without_the_audit_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]):
    running = Stack(tmp_path, command="start-api")
    try:
        assert running.info["audit_store"] is None
        token = mint(tmp_path, monkeypatch, capsys, "acme-user-v2")
        assert http("GET", f"{running.info['api_url']}/v1/me", token=token)[0] == 200
        assert http("GET", f"{running.info['api_url']}/v1/me")[0] == 401
    finally:
        code, _ = running.stop(signal.SIGTERM)
    assert code == 0
    assert not (tmp_path / "audit").exists()  # like `sam local start-api`: audit lines stay in the logs
