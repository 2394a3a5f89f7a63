"""Converse through the application inference profile (botocore Stubber on a real
bedrock-runtime client): exact parameters, tenant attribution in requestMetadata and nothing
secret, usage mapped to the audit record's cost fields."""

from __future__ import annotations

import hashlib
import hmac
import os
import re

import boto3
import pytest
from botocore.stub import Stubber

from tenantkit.audit.schema import AuditRecord
from tenantkit.cost import (
    METADATA_KEYS,
    CostAttributionError,
    InferenceProfileConfig,
    converse,
    request_metadata,
    usage_of,
)
from tenantkit.envelope import IdentityEnvelope
from tenantkit.exceptions import ConfigurationError
from tenantkit.observability.pseudonym import reset_session_id_policy

PROFILE_ARN = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6"
SESSION = "s_" + "Q" * 43
MESSAGES = [{"role": "user", "content": [{"text": "What is my invoice total?"}]}]
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
ALICE = IdentityEnvelope(
    app_id="portal", tenant_id="acme", principal_id="alice@example.com", principal_type="user",
    session_id=SESSION, correlation_id="req-42", issuer="https://login.microsoftonline.com/acme/v2.0",
    roles=("Agent.User",), scopes=("agent.invoke",), auth_time=1795867200,
)
PROFILE = InferenceProfileConfig.from_arn(PROFILE_ARN, agent_name="support-bot")


def keyed_hash(value: str) -> str:
    """Independent HMAC-SHA256 under the key tests/conftest.py sets for every test."""
    key = os.environ["TENANTKIT_LOG_HASH_KEY"].encode()
    return "h1:" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture
def client():
    return boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def converse_response(usage: dict | None = None) -> dict:
    response = {
        "output": {"message": {"role": "assistant", "content": [{"text": "42 EUR"}]}},
        "stopReason": "end_turn",
        "metrics": {"latencyMs": 321},
    }
    if usage is not None:
        response["usage"] = usage
    return response


def test_converse_parameters_metadata_and_usage(client):
    expected_metadata = {"tenant_id": "acme", "app_id": "portal", "session_id": keyed_hash(SESSION),
                         "agent_name": "support-bot"}
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            converse_response({"inputTokens": 1200, "outputTokens": 85, "totalTokens": 1285}),
            expected_params={
                "modelId": PROFILE_ARN,
                "messages": MESSAGES,
                "inferenceConfig": {"maxTokens": 256},
                "requestMetadata": expected_metadata,
            },
        )
        result = converse(client, ALICE, session_id=SESSION, agent_name="support-bot", messages=MESSAGES,
                          profile=PROFILE, inferenceConfig={"maxTokens": 256})
        stub.assert_no_pending_responses()
    assert result.response["output"]["message"]["content"][0]["text"] == "42 EUR"
    assert result.usage == {"input_tokens": 1200, "output_tokens": 85}
    assert result.audit_fields() == {"agent_name": "support-bot", "inference_profile_arn": PROFILE_ARN,
                                     "input_tokens": 1200, "output_tokens": 85}
    # The cost fields are exactly the audit record's: they validate as one.
    record = AuditRecord(event_type="request.completed", outcome="success", reason="http_200",
                         **result.audit_fields())
    assert record.input_tokens == 1200 and record.inference_profile_arn == PROFILE_ARN


def test_request_metadata_carries_the_envelope_fields_and_nothing_secret():
    metadata = request_metadata(ALICE, session_id=SESSION, agent_name="support-bot")
    assert tuple(metadata) == METADATA_KEYS
    assert metadata["tenant_id"] == ALICE.tenant_id and metadata["app_id"] == ALICE.app_id
    assert metadata["session_id"] == keyed_hash(SESSION) and SESSION not in str(metadata)
    text = repr(metadata)
    for secret in (ALICE.principal_id, "example.com", ALICE.correlation_id, ALICE.issuer, "Agent.User", "eyJ"):
        assert secret not in text


def test_request_metadata_respects_the_botocore_shape(client):
    shape = client.meta.service_model.operation_model("Converse").input_shape.members["requestMetadata"]
    key_rule = re.compile(shape.key.metadata["pattern"])
    value_rule = re.compile(shape.value.metadata["pattern"])
    metadata = request_metadata(ALICE, session_id=SESSION, agent_name="support-bot")
    assert shape.metadata["min"] <= len(metadata) <= shape.metadata["max"]
    for key, value in metadata.items():
        assert key_rule.fullmatch(key) and shape.key.metadata["min"] <= len(key) <= shape.key.metadata["max"]
        assert value_rule.fullmatch(value) and len(value) <= shape.value.metadata["max"]


def test_session_id_is_hashed_even_when_logs_are_raw(monkeypatch):
    monkeypatch.setenv("TENANTKIT_SESSION_ID_LOGGING", "raw")
    reset_session_id_policy()
    assert request_metadata(ALICE, session_id=SESSION, agent_name="a")["session_id"] == keyed_hash(SESSION)
    monkeypatch.delenv("TENANTKIT_LOG_HASH_KEY")
    reset_session_id_policy()
    assert request_metadata(ALICE, session_id=SESSION, agent_name="a")["session_id"] == "redacted:no-hash-key"


def test_session_id_defaults_to_the_envelope_and_is_omitted_without_one():
    assert request_metadata(ALICE, session_id=None, agent_name="a")["session_id"] == keyed_hash(SESSION)
    unbound = ALICE.model_copy(update={"session_id": None})
    assert "session_id" not in request_metadata(unbound, session_id=None, agent_name="evaluator")
    already_hashed = keyed_hash(SESSION)
    assert request_metadata(ALICE, session_id=already_hashed, agent_name="a")["session_id"] == already_hashed


@pytest.mark.parametrize("agent_name", ["", "has space", "x" * 257, "naïve", "a\nb", ID_TOKEN, "access_token=abc",
                                        "X-Amz-Security-Token=abc"])
def test_bad_or_secret_looking_agent_names_are_refused(agent_name):
    with pytest.raises(CostAttributionError):
        request_metadata(ALICE, session_id=SESSION, agent_name=agent_name)


def test_model_and_metadata_cannot_be_overridden(client):
    for extra in ({"modelId": "anthropic.claude-3-haiku-20240307-v1:0"}, {"requestMetadata": {"tenant_id": "globex"}}):
        with Stubber(client), pytest.raises(TypeError, match="sets"):
            converse(client, ALICE, session_id=SESSION, agent_name="a", messages=MESSAGES, profile=PROFILE, **extra)


def test_profile_comes_from_the_environment(client, monkeypatch):
    monkeypatch.setenv("INFERENCE_PROFILE_ARN", PROFILE_ARN)
    with Stubber(client) as stub:
        stub.add_response("converse", converse_response({"inputTokens": 7, "outputTokens": 2, "totalTokens": 9}),
                          expected_params={
            "modelId": PROFILE_ARN, "messages": MESSAGES,
            "requestMetadata": {"tenant_id": "acme", "app_id": "portal", "session_id": keyed_hash(SESSION),
                                "agent_name": "judge"}})
        result = converse(client, ALICE, session_id=SESSION, agent_name="judge", messages=MESSAGES)
    assert result.audit_fields() == {"agent_name": "judge", "inference_profile_arn": PROFILE_ARN,
                                     "input_tokens": 7, "output_tokens": 2}


def test_config_from_env():
    env = {"INFERENCE_PROFILE_ARN": f"  {PROFILE_ARN} ", "AGENT_NAME": "support-bot"}
    config = InferenceProfileConfig.from_env(env)
    assert (config.inference_profile_arn, config.region, config.account, config.agent_name) == (
        PROFILE_ARN, "us-east-1", "111122223333", "support-bot")
    gov = "arn:aws-us-gov:bedrock:us-gov-west-1:111122223333:application-inference-profile/abc123"
    assert InferenceProfileConfig.from_env({"INFERENCE_PROFILE_ARN": gov}).region == "us-gov-west-1"


@pytest.mark.parametrize("value", [
    "",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:us-east-1:1111:application-inference-profile/abc",
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/",
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc/extra",
])
def test_config_rejects_anything_but_an_application_profile_arn(value):
    with pytest.raises(ConfigurationError) as info:
        InferenceProfileConfig.from_env({"INFERENCE_PROFILE_ARN": value})
    assert info.value.variable == "INFERENCE_PROFILE_ARN"


@pytest.mark.parametrize(("usage", "expected"), [
    ({"inputTokens": 3, "outputTokens": 0, "totalTokens": 3}, {"input_tokens": 3, "output_tokens": 0}),
    ({"inputTokens": 3}, {"input_tokens": 3}),
    ({"inputTokens": -1, "outputTokens": True}, {}),
    (None, {}),
])
def test_usage_mapping(usage, expected):
    assert usage_of({} if usage is None else {"usage": usage}) == expected
