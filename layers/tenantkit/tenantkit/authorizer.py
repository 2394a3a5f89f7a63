"""API Gateway REST ``REQUEST`` authorizer: token in, Allow/Deny policy or 401 out.

Outcomes (the authorizer contract, docs/architecture.md):

* verified and admitted -> Allow, ``context`` = the flat envelope;
* verified but not admitted (tenant, app, scope, role) -> Deny (API Gateway answers 403);
* anything else, including our own failures -> ``Exception("Unauthorized")`` (401).
  Never any other exception: API Gateway turns those into a 500.

Policies cover every method and path of the stage, because API Gateway caches the result
per token and replays it for other routes; a policy naming only the first ``methodArn``
would deny the caller's next request to a different route.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from tenantkit.audit import emit_audit
from tenantkit.audit.schema import EventType, Outcome
from tenantkit.claims import normalize_claims, principal_id_of
from tenantkit.config import AuthorizerConfig
from tenantkit.envelope import IdentityEnvelope
from tenantkit.exceptions import (
    AccessDeniedError,
    ConfigurationError,
    MalformedAuthorizationHeaderError,
    MalformedRequestError,
    MissingTokenError,
    RegistryError,
    TokenRejectedError,
)
from tenantkit.jwks import JwksCache
from tenantkit.observability import bind_identity, get_logger
from tenantkit.observability.contract import IDENTITY_LOG_FIELDS
from tenantkit.observability.handler import correlation_id_of
from tenantkit.observability.settings import ObservabilitySettings
from tenantkit.paths import resource_template
from tenantkit.registry import RegistryProvider
from tenantkit.verifier import JwtVerifier

__all__ = [
    "UNAUTHORIZED",
    "Decision",
    "FailClosedAuthorizer",
    "RequestAuthorizer",
    "allow_policy",
    "api_resource_arn",
    "extract_bearer_token",
    "load_authorizer",
]

UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway maps to 401
_METHOD_ARN = re.compile(
    r"^arn:(aws[a-z-]*):execute-api:([a-z0-9-]+):(\d{12}):([A-Za-z0-9]+)/([A-Za-z0-9_.-]+)/"
)


class RequestAuthorizer:
    def __init__(self, *, verifier: JwtVerifier, registry: RegistryProvider, service: str | None = None) -> None:
        self._verifier = verifier
        self._registry = registry
        self._logger = get_logger(service)

    @classmethod
    def from_config(cls, config: AuthorizerConfig, *, jwks_cache: JwksCache | None = None) -> RequestAuthorizer:
        verifier = JwtVerifier.from_config(config, jwks_cache=jwks_cache)
        registry = RegistryProvider(config.tenant_registry, cache_seconds=config.registry_cache_seconds)
        return cls(verifier=verifier, registry=registry)

    def warm_up(self, jwks_cache: JwksCache) -> None:
        """Init-time work: fetch the JWKS and the registry once.

        A failed JWKS fetch is retried by a later request once the penalty-box interval
        (``JWKS_MIN_REFETCH_SECONDS``) has passed, so an IdP outage is not hammered; requests in
        between are 401 ``jwks_unavailable``. A failed registry load is retried on every request.
        """
        jwks_cache.prefetch(self._verifier.jwks_uri)
        try:
            self._registry.get()
        except RegistryError as exc:
            self._logger.warning("tenant registry not loaded at init", extra={"reason": exc.reason})

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        decision = Decision(event, context)
        try:
            if not isinstance(event, dict):
                raise MalformedRequestError("event is not an object")
            resource = api_resource_arn(event.get("methodArn"))
            claims = self._verifier.verify(extract_bearer_token(event))
            decision.identity["principal_id"] = principal_id_of(claims)
            envelope = normalize_claims(claims, self._registry.get(), correlation_id=decision.correlation_id)
        except AccessDeniedError as denied:
            decision.identity.update(denied.identity)
            decision.record("authz.deny", "deny", denied.reason, 403)
            principal = decision.identity.get("principal_id") or "anonymous"
            return _policy(principal, "Deny", resource, {"reason": denied.reason})
        except (TokenRejectedError, RegistryError) as rejected:
            decision.record("authz.unauthorized", "unauthorized", rejected.reason, 401)
            raise Exception(UNAUTHORIZED) from None
        except Exception as unexpected:  # never a 500: fail closed, log the type only (no token text)
            self._logger.error("authorizer internal error", extra={"error_type": type(unexpected).__name__})
            decision.record("authz.unauthorized", "unauthorized", "internal_error", 401)
            raise Exception(UNAUTHORIZED) from None
        decision.identity.update(envelope.log_fields())
        decision.record("authz.allow", "allow", "verified", 200)
        return allow_policy(envelope, resource)


class Decision:
    """One authorizer decision: binds what is known of the caller, then writes its audit line
    (the audit line is the decision log: event type, outcome, reason, identity, latency)."""

    __slots__ = ("correlation_id", "identity", "route", "started")

    def __init__(self, event: Any, context: Any) -> None:
        self.started = time.perf_counter()
        self.correlation_id = correlation_id_of(event, context) or uuid.uuid4().hex
        self.route = _route(event)
        self.identity: dict[str, Any] = {}

    def record(self, event_type: EventType, outcome: Outcome, reason: str, status: int) -> None:
        fields = {k: v for k, v in self.identity.items() if v is not None}
        fields["correlation_id"] = self.correlation_id
        bind_identity(**{k: v for k, v in fields.items() if k in IDENTITY_LOG_FIELDS})
        latency_ms = round((time.perf_counter() - self.started) * 1000, 3)
        try:
            emit_audit(event_type, outcome, reason, route=self.route, status=status, latency_ms=latency_ms, **fields)
        except Exception as error:  # the decision stands; a broken audit write must not turn into a 500
            get_logger().error("audit record not written", extra={"error_type": type(error).__name__,
                                                                   "event_type": event_type, "reason": reason})


class FailClosedAuthorizer:
    """Stands in when configuration is invalid: every request is a 401 and the log names the
    bad variable, instead of an init crash that API Gateway would turn into 500s."""

    def __init__(self, error: ConfigurationError, service: str | None = None) -> None:
        self._error = error
        self._logger = get_logger(service)
        self._logger.error("authorizer misconfigured", extra={"variable": error.variable, "problem": error.problem})

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        self._logger.error("authorizer misconfigured", extra={"variable": self._error.variable})
        Decision(event, context).record("authz.unauthorized", "unauthorized", self._error.reason, 401)
        raise Exception(UNAUTHORIZED)


def load_authorizer(environ: Mapping[str, str] | None = None) -> RequestAuthorizer | FailClosedAuthorizer:
    """Build the authorizer from the environment once, at init."""
    try:
        ObservabilitySettings.from_env(environ)
        config = AuthorizerConfig.from_env(environ)
    except ConfigurationError as error:
        return FailClosedAuthorizer(error)
    jwks_cache = JwksCache(settings=config.jwks)
    authorizer = RequestAuthorizer.from_config(config, jwks_cache=jwks_cache)
    authorizer.warm_up(jwks_cache)
    from tenantkit.snapstart import register_after_restore

    register_after_restore(jwks_cache.after_restore)
    return authorizer


def extract_bearer_token(event: Mapping[str, Any]) -> str:
    """The token from the one ``Authorization: Bearer <token>`` header, or a typed error."""
    values: list[Any] = []
    for source in ("headers", "multiValueHeaders"):
        headers = event.get(source) or {}
        if not isinstance(headers, dict):
            raise MalformedAuthorizationHeaderError("headers are not an object")
        for name, value in headers.items():
            # the length first: most headers are not 13 characters long, and no other length can
            # lower-case to "authorization" (one character lower-cases to one, or to non-ASCII)
            if isinstance(name, str) and len(name) == 13 and name.lower() == "authorization":
                values.extend(value if source == "multiValueHeaders" and isinstance(value, list) else [value])
    distinct = set(v if isinstance(v, str) else repr(v) for v in values)
    if not values:
        raise MissingTokenError("no Authorization header")
    if len(distinct) != 1 or not isinstance(values[0], str):
        raise MalformedAuthorizationHeaderError("more than one Authorization value")
    parts = values[0].split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise MalformedAuthorizationHeaderError("expected 'Bearer <token>'")
    return parts[1]


def api_resource_arn(method_arn: Any) -> str:
    """All methods and paths of the calling stage: ``arn:...:<api>/<stage>/*``."""
    match = _METHOD_ARN.match(method_arn) if isinstance(method_arn, str) else None
    if match is None:
        raise MalformedRequestError("methodArn is missing or malformed")
    partition, region, account, api_id, stage = match.groups()
    return f"arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/*"


def allow_policy(envelope: IdentityEnvelope, resource: str) -> dict[str, Any]:
    return _policy(envelope.principal_id, "Allow", resource, envelope.to_authorizer_context())


def _policy(principal_id: str, effect: str, resource: str, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


def _route(event: Any) -> str:
    """The API Gateway resource template and method (``GET /v1/{proxy+}``), through the shared
    path normalizer: never the concrete path, so no session or tenant id reaches the record."""
    if not isinstance(event, dict):
        return "unknown"
    method, resource = event.get("httpMethod"), event.get("resource")
    if isinstance(method, str) and isinstance(resource, str):
        return resource_template(method, resource)
    return "unknown"


