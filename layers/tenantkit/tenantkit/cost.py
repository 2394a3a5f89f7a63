"""Cost attribution at the model call: the app/agent's application inference profile, and
Converse calls that carry the tenant in Bedrock's ``requestMetadata``.

Runtimes and evaluators read the profile ARN from ``INFERENCE_PROFILE_ARN`` (the Terraform
module ``terraform/modules/inference_profile`` outputs it) and call models only through it, so
CUR 2.0 bills every token to the app/agent's tagged profile (exact), and Bedrock model
invocation logs carry ``tenant_id``, ``app_id``, ``session_id`` (keyed hash) and ``agent_name``
on every call (the input of the per-tenant allocation, see docs/cost-attribution.md).

boto3 is never imported here: the caller passes its bedrock-runtime client (created once per
container, in ``profile.region``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenantkit.config import env_required
from tenantkit.envelope import IdentityEnvelope
from tenantkit.exceptions import ArgumentTypeError, ConfigurationError, CostAttributionError
from tenantkit.observability.pseudonym import SessionIdPolicy, session_id_policy
from tenantkit.observability.redaction import redact_text
from tenantkit.observability.settings import observability_settings

__all__ = [
    "METADATA_KEYS",
    "PROFILE_ARN",
    "ConverseResult",
    "InferenceProfileConfig",
    "attributed_session_id",
    "converse",
    "request_metadata",
    "usage_of",
]

PROFILE_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12})"
    r":application-inference-profile/(?P<id>[a-zA-Z0-9]{1,64})\Z"
)
# botocore's bedrock-runtime model: RequestMetadata is a map of 1-16 entries whose keys
# (1-256) and values (0-256) match [a-zA-Z0-9\s:_@$#=/+,-.]. Ours are identifiers, so the
# value rule here is that set without whitespace (which also keeps "Bearer <token>" out).
METADATA_KEYS = ("tenant_id", "app_id", "session_id", "agent_name")
_METADATA_VALUE = re.compile(r"^[a-zA-Z0-9:_@$#=/+,.-]{1,256}\Z")
_RESERVED_KWARGS = frozenset({"modelId", "requestMetadata"})


@dataclass(frozen=True, slots=True)
class InferenceProfileConfig:
    """The application inference profile a runtime or evaluator must invoke models through."""

    inference_profile_arn: str
    region: str
    account: str
    agent_name: str | None = None

    @classmethod
    def from_arn(cls, arn: str, *, agent_name: str | None = None) -> InferenceProfileConfig:
        match = PROFILE_ARN.match(arn)
        if match is None:
            raise ConfigurationError(
                "INFERENCE_PROFILE_ARN",
                "must be arn:aws:bedrock:<region>:<account>:application-inference-profile/<id> "
                "(an application inference profile, not a model id or a system profile)",
            )
        return cls(arn, match["region"], match["account"], agent_name)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InferenceProfileConfig:
        env = os.environ if environ is None else environ
        arn = env_required(env, "INFERENCE_PROFILE_ARN")
        return cls.from_arn(arn, agent_name=env.get("AGENT_NAME", "").strip() or None)


@dataclass(frozen=True, slots=True)
class ConverseResult:
    response: dict[str, Any]
    usage: dict[str, int]  # input_tokens / output_tokens, when Bedrock reported them
    inference_profile_arn: str
    agent_name: str

    def audit_fields(self) -> dict[str, Any]:
        """The audit record's cost fields (``emit_audit(..., **result.audit_fields())``), or the
        ``{"usage": {...}}`` an agent returns to the BFF, which copies it to request.completed."""
        return {"agent_name": self.agent_name, "inference_profile_arn": self.inference_profile_arn, **self.usage}


def attributed_session_id(session_id: str | None) -> str | None:
    """The keyed hash of the session id, also when logs are configured raw: invocation logs
    are another store with other readers, and the raw id is a bearer of session continuity."""
    policy = session_id_policy()
    if policy.mode != "hashed":
        policy = SessionIdPolicy("hashed", observability_settings().log_hash_key)
    return policy.apply(session_id)


def request_metadata(envelope: IdentityEnvelope, *, session_id: str | None, agent_name: str) -> dict[str, str]:
    """``{tenant_id, app_id, session_id, agent_name}`` from the envelope: nothing else (no
    principal, no token), each value checked against Bedrock's constraints."""
    values = {
        "tenant_id": envelope.tenant_id,
        "app_id": envelope.app_id,
        "session_id": attributed_session_id(session_id if session_id is not None else envelope.session_id),
        "agent_name": agent_name,
    }
    metadata: dict[str, str] = {}
    for key in METADATA_KEYS:
        value = values[key]
        if value is None:
            continue  # an evaluator outside a session: the key is left out, never sent empty
        if not _METADATA_VALUE.match(value):
            raise CostAttributionError(f"requestMetadata {key} must be 1-256 characters of "
                                       "a-z A-Z 0-9 : _ @ $ # = / + , . -")
        if redact_text(value) != value:
            raise CostAttributionError(f"requestMetadata {key} looks like a credential")
        metadata[key] = value
    return metadata


def usage_of(response: Mapping[str, Any]) -> dict[str, int]:
    """Converse ``usage.inputTokens`` / ``outputTokens`` under the audit record's names."""
    usage = response.get("usage")
    if not isinstance(usage, Mapping):
        return {}
    mapped = {"input_tokens": usage.get("inputTokens"), "output_tokens": usage.get("outputTokens")}
    return {k: v for k, v in mapped.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0}


def converse(
    client: Any,
    envelope: IdentityEnvelope,
    *,
    session_id: str | None,
    agent_name: str,
    messages: Sequence[Mapping[str, Any]],
    profile: InferenceProfileConfig | None = None,
    **kwargs: Any,
) -> ConverseResult:
    """``bedrock-runtime`` Converse through the profile, with the tenant in requestMetadata.

    ``kwargs`` are further Converse parameters (``system``, ``inferenceConfig``,
    ``toolConfig``, ...); ``modelId`` and ``requestMetadata`` are set here and cannot be
    overridden, so no call through this function escapes the profile or the attribution.
    """
    reserved = sorted(_RESERVED_KWARGS & kwargs.keys())
    if reserved:
        raise ArgumentTypeError(f"converse() sets {', '.join(reserved)} itself")
    profile = profile or InferenceProfileConfig.from_env()
    metadata = request_metadata(envelope, session_id=session_id, agent_name=agent_name)
    response = client.converse(modelId=profile.inference_profile_arn, messages=list(messages),
                               requestMetadata=metadata, **kwargs)
    return ConverseResult(response=response, usage=usage_of(response),
                          inference_profile_arn=profile.inference_profile_arn, agent_name=agent_name)
