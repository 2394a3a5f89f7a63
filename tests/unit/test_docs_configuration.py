"""docs/architecture.md's configuration tables are checked against the settings objects: every
variable an object reads is listed, every listed variable is read, and the defaults match."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tenantkit.audit.compaction import CompactionConfig
from tenantkit.audit.storage import AUDIT_STORE, DEFAULT_LOCAL_ROOT
from tenantkit.bff.config import BffConfig
from tenantkit.config import AuthorizerConfig
from tenantkit.cost import InferenceProfileConfig
from tenantkit.discovery.cloudmap import CloudMapResolver
from tenantkit.observability.settings import ObservabilitySettings

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "architecture.md").read_text()
SECTION = TEXT[TEXT.index("## Configuration\n"):TEXT.index("\n## ", TEXT.index("## Configuration\n") + 5)]
ROW = re.compile(r"^\| `(?P<name>[A-Z][A-Z0-9_]+)` \| (?P<default>[^|]+) \|", re.MULTILINE)
PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
# Required by every BFF mode: the per-tenant data role and the registry statuses are re-checked against.
BFF_REQUIRED = {"TENANT_DATA_ROLE_ARN": "arn:aws:iam::123456789012:role/tenantkit-TenantDataRole",
                "TENANT_REGISTRY": '{"tenants": {}, "apps": {}}'}


class RecordingEnv(dict[str, str]):
    """A mapping that remembers every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def _reads(reader: Any, values: dict[str, str]) -> tuple[set[str], Any]:
    env = RecordingEnv(values)
    result = reader(env)
    return env.read, result


READERS: dict[str, tuple[Any, dict[str, str]]] = {
    "authorizer": (AuthorizerConfig.from_env, {
        "OIDC_ISSUER": "https://login.microsoftonline.com/{tenantid}/v2.0",
        "OIDC_JWKS_URI": "https://idp.invalid/keys", "OIDC_AUDIENCE": "api://x",
        "TENANT_REGISTRY": '{"tenants": {}, "apps": {}}'}),
    "observability": (ObservabilitySettings.from_env, {}),
    "bff": (BffConfig.from_env, {"UPSTREAM_MODE": "http", "UPSTREAM_URL": "http://127.0.0.1:9/",
                                 "SESSIONS_TABLE": "sessions", **BFF_REQUIRED}),
    "bff_agentcore": (BffConfig.from_env, {"UPSTREAM_MODE": "agentcore", "SESSIONS_TABLE": "sessions",
                                           "AGENT_RUNTIME_ARN": "arn:aws:bedrock-agentcore:x", **BFF_REQUIRED}),
    "cloudmap": (CloudMapResolver.from_env, {"CLOUDMAP_NAMESPACE": "ns", "CLOUDMAP_SERVICE": "svc",
                                             "CLOUDMAP_ALLOWED_HOST_SUFFIXES": "agents.internal"}),
    "compaction": (CompactionConfig.from_env, {"AUDIT_STORE": "s3://audit-bucket/audit", "ATHENA_WORKGROUP": "wg",
                                               "ATHENA_DATABASE": "db"}),
    "cost": (InferenceProfileConfig.from_env, {"INFERENCE_PROFILE_ARN": PROFILE_ARN}),
}


def _documented() -> dict[str, str]:
    return {m["name"]: m["default"].strip() for m in ROW.finditer(SECTION)}


def test_every_variable_a_settings_object_reads_is_documented_and_nothing_else():
    read = {AUDIT_STORE}  # read by AuditSink.from_env through storage_from_uri
    for reader, values in READERS.values():
        names, _ = _reads(reader, values)
        read |= names
    documented = set(_documented()) | set(re.findall(r"`([A-Z][A-Z0-9_]{3,})`", SECTION.split("### Cost")[1]))
    assert sorted(read - documented) == []
    assert sorted(set(_documented()) - read) == []


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return "false" if not value else "true"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_documented_defaults_are_the_objects_defaults():
    documented = _documented()
    attributes = {
        "authorizer": {"OIDC_ALGORITHMS": "algorithms", "OIDC_CLOCK_LEEWAY_SECONDS": "clock_leeway_seconds",
                       "TOKEN_MAX_BYTES": "max_token_bytes",
                       "TENANT_REGISTRY_CACHE_SECONDS": "registry_cache_seconds",
                       "JWKS_FETCH_TIMEOUT_SECONDS": "jwks.fetch_timeout_seconds",
                       "JWKS_MIN_REFETCH_SECONDS": "jwks.min_refetch_interval_seconds",
                       "JWKS_REFRESH_AFTER_SECONDS": "jwks.refresh_after_seconds",
                       "JWKS_STALE_MAX_SECONDS": "jwks.stale_max_seconds"},
        "observability": {name: attr for name, attr in ObservabilitySettings.FIELDS.items()
                          if name != "TENANTKIT_LOG_HASH_KEY"},
        "bff": {"SESSION_TTL_SECONDS": "session_ttl_seconds", "UPSTREAM_TIMEOUT_SECONDS": "upstream_timeout_seconds",
                "MAX_BODY_BYTES": "max_body_bytes", "AGENT_NAME": "agent_name",
                "TENANT_CREDENTIALS_SECONDS": "tenant_credentials_seconds"},
        "cloudmap": {"CLOUDMAP_CACHE_TTL_SECONDS": "_ttl", "CLOUDMAP_STALE_MAX_SECONDS": "_stale_max"},
        "compaction": {"COMPACTION_MAX_WAIT_SECONDS": "max_wait_seconds",
                       "COMPACTION_RETIRE_AFTER_SECONDS": "retire_after_seconds",
                       "COMPACTION_RAW_RETENTION_DAYS": "raw_retention_days"},
    }
    checked = 0
    for reader_name, names in attributes.items():
        reader, values = READERS[reader_name]
        _, config = _reads(reader, values)
        for name, path in names.items():
            value: Any = config
            for part in path.split("."):
                value = getattr(value, part)
            assert documented[name] == f"`{_default_text(value)}`", name
            checked += 1
    assert documented[AUDIT_STORE] == f"`{DEFAULT_LOCAL_ROOT}`"
    assert checked >= 20
    assert documented["TENANTKIT_LOG_HASH_KEY"] == "none" and ObservabilitySettings.from_env({}).log_hash_key is None
