"""Route templates: ids never reach a ``route`` field, a metric dimension or a span name."""

from __future__ import annotations

import re

_ID_SEGMENTS = re.compile(r"/(sessions|tenants|apps|principals|users)/([^/]+)")
_PLACEHOLDERS = {"sessions": "{session_id}", "tenants": "{tenant_id}", "apps": "{app_id}",
                 "principals": "{principal_id}", "users": "{principal_id}"}


def path_template(path: str) -> str:
    """``/v1/sessions/s_abc/messages`` -> ``/v1/sessions/{session_id}/messages``."""
    return _ID_SEGMENTS.sub(lambda m: f"/{m.group(1)}/{_PLACEHOLDERS[m.group(1)]}", path)


def route_template(method: str, path: str) -> str:
    """``POST /v1/sessions/s_abc/messages`` -> ``POST /v1/sessions/{session_id}/messages``.

    Ids never reach the ``route`` field: not session ids, and not the tenant names a spoof
    attempt puts in a path (``/v1/tenants/globex/...`` is audited under the caller's tenant).
    """
    return f"{method} {path_template(path)}"[:300]
