"""AWS plumbing every adapter shares: client creation, botocore error codes, jittered backoff.

boto3 costs about 200 ms to import, so :func:`client` imports it on first use (an adapter
calls it once per container, on its first request), never at module import.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["client", "error_code", "jittered_backoff"]


def client(service: str, *, max_attempts: int, connect_timeout: float | None = None,
           read_timeout: float | None = None, credentials: Mapping[str, str] | None = None) -> Any:
    """A boto3 client with botocore's ``standard`` retry mode and explicit attempts and timeouts,
    instrumented for tracing (one CLIENT span per call while an invocation is traced).

    ``max_attempts=1`` turns botocore's retries off, for callers that retry with their own
    backoff (Cloud Map) or must answer within a request's budget (AgentCore). ``credentials``
    (``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``) sign with other
    credentials than the function's own (the tenant-scoped sessions-table clients)."""
    import boto3
    from botocore.config import Config

    from tenantkit.observability.spans import instrument_client

    # Only the timeouts given: botocore reads an explicit None as "no timeout at all".
    timeouts: dict[str, Any] = {name: value for name, value in (("connect_timeout", connect_timeout),
                                                                 ("read_timeout", read_timeout)) if value is not None}
    create: Callable[..., Any] = boto3.client  # any service name, so not one of the stubs' literal overloads
    config = Config(retries={"max_attempts": max_attempts, "mode": "standard"}, **timeouts)
    return instrument_client(create(service, config=config, **(credentials or {})))


def sigv4_headers(url: str, body: bytes, headers: dict[str, str], *, service: str,
                  region: str | None = None) -> dict[str, str]:
    """``headers`` plus the SigV4 signature of one POST, with the function's own credentials.

    botocore (in the runtime) is imported on first use. ``region``: the session's, else us-east-1.
    No credentials: ``LookupError``."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = botocore.session.get_session()
    credentials = session.get_credentials()
    if credentials is None:
        raise LookupError("no AWS credentials to sign the request")
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(credentials, service, region or session.get_config_variable("region") or "us-east-1").add_auth(request)
    return dict(request.headers.items())


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (``ThrottlingException``...), else None."""
    response = getattr(exc, "response", None)
    if not isinstance(response, Mapping):
        return None
    error = response.get("Error")
    code = error.get("Code") if isinstance(error, Mapping) else None
    return str(code) if code else None


def jittered_backoff(rng: random.Random, attempt: int, *, base: float, cap: float, equal: bool = False) -> float:
    """The delay before retry number ``attempt`` (0 = the first retry): exponential, capped at ``cap``.

    Full jitter (the default) draws from ``[0, step]``, which spreads a fleet of callers best;
    ``equal=True`` keeps half the step fixed, for a poller that should not hammer early."""
    step = min(cap, base * 2.0 ** min(attempt, 32))
    if equal:
        return step / 2 + rng.uniform(0, step / 2)
    return rng.uniform(0, step)
