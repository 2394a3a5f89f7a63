"""Make sure the JWKS URI a function is configured with is served by the local issuer."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from tenantkit.exceptions import TenantkitError
from tenantkit_local.issuer import LocalIssuer
from tenantkit_local.jwks_server import JWKS_PATH, JwksServer

LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}


class IssuerPortError(TenantkitError, RuntimeError):
    pass


def ensure_local_issuer(jwks_uri: str, issuer: LocalIssuer) -> JwksServer | None:
    """Start a JWKS server for ``jwks_uri`` if it is loopback and nothing serves it yet.

    Returns the server started (the caller stops it), or None when the URI is not local or
    the local issuer is already being served (e.g. by ``tenantkit issuer serve``).
    """
    parts = urlsplit(jwks_uri)
    if parts.hostname not in LOOPBACK_HOSTS:
        return None
    if parts.path != JWKS_PATH:
        raise IssuerPortError(f"local JWKS URI must use the path {JWKS_PATH}, got {parts.path!r}")
    port = parts.port or 80
    try:
        with urllib.request.urlopen(jwks_uri, timeout=1.0) as response:  # noqa: S310 - loopback only
            served = json.loads(response.read())
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            return JwksServer(issuer.jwks_bytes(), port=port).start()
        raise IssuerPortError(f"127.0.0.1:{port} does not answer as a JWKS server: {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise IssuerPortError(f"127.0.0.1:{port} is taken by something that is not a JWKS server: {exc}") from None
    kids = {key.get("kid") for key in served.get("keys", [])} if isinstance(served, dict) else set()
    if issuer.kid not in kids:
        raise IssuerPortError(
            f"127.0.0.1:{port} serves a JWKS without the local issuer's key; stop it or change OIDC_JWKS_URI"
        )
    return None
