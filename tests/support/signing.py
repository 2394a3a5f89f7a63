"""Which credentials signed each DynamoDB request, and whose were they?

botocore event hooks (installed for every botocore session of the test process):

* ``provide-client-params.sts.AssumeRole`` + ``after-call.sts.AssumeRole`` map every access key
  STS issues to the ``tenant_id``/``app_id`` session tags it was requested with;
* ``before-send.dynamodb`` reads the access key from the ``Authorization`` header actually sent
  and the partition key from the body, and notes the envelope of the BFF request in flight on
  this thread (the observability state the BFF binds before any table call).

A DynamoDB request made inside a BFF request is a violation unless it was signed with a key
issued for exactly that envelope's (tenant, app) and its key starts with that pair's prefix.
Requests outside any request (test set-up and assertions, with the harness's credentials) are
recorded but are not the BFF's.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_UNIQUE = "tenantkit-signing-recorder"


@dataclass(frozen=True)
class SignedRequest:
    operation: str
    access_key: str
    issued_for: tuple[str, str] | None  # (tenant, app) the key was issued for; None: not from AssumeRole
    envelope: tuple[str, str] | None  # (tenant, app) of the BFF request in flight; None: not a BFF request
    keys: tuple[str, ...]  # partition keys the request names

    @property
    def problem(self) -> str | None:
        if self.envelope is None:
            return None
        if self.issued_for is None:
            return "signed with credentials not issued by AssumeRole (the BFF's own or the harness's)"
        if self.issued_for != self.envelope:
            return f"signed with a key issued for {self.issued_for}, request is for {self.envelope}"
        prefix = f"T#{self.envelope[0]}#A#{self.envelope[1]}#"
        if not self.keys or not all(key.startswith(prefix) for key in self.keys):
            return f"key outside {prefix}*"
        return None


class SigningRecorder:
    def __init__(self) -> None:
        self.issued: dict[str, tuple[str, str]] = {}
        self.requests: list[SignedRequest] = []
        self.paused = False
        self._lock = threading.Lock()

    # --- installation ---------------------------------------------------------------------
    def handlers(self) -> list[tuple[str, Any]]:
        return [("provide-client-params.sts.AssumeRole", self._on_assume_params),
                ("after-call.sts.AssumeRole", self._on_assume_result),
                ("before-send.dynamodb", self._on_dynamodb_send)]

    def install_globally(self) -> None:
        """Every botocore session created from now on, and boto3's default session if it exists."""
        import boto3
        import botocore.handlers

        for event, handler in self.handlers():
            if (event, handler) not in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.append((event, handler))
        if boto3.DEFAULT_SESSION is not None:
            self.attach(boto3.DEFAULT_SESSION._session)

    def attach(self, emitter_owner: Any) -> None:
        """Register on one botocore session or one client's event emitter."""
        register = emitter_owner.meta.events.register if hasattr(emitter_owner, "meta") else emitter_owner.register
        for event, handler in self.handlers():
            register(event, handler, unique_id=f"{_UNIQUE}-{id(self)}-{event}")

    # --- hooks ----------------------------------------------------------------------------
    def _on_assume_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        tags = {t.get("Key"): t.get("Value") for t in params.get("Tags") or []}
        context["tenantkit_requested_tags"] = (tags.get("tenant_id"), tags.get("app_id"))

    def _on_assume_result(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        credentials = parsed.get("Credentials") or {}
        tags = context.get("tenantkit_requested_tags")
        if credentials.get("AccessKeyId") and tags and None not in tags:
            with self._lock:
                self.issued[credentials["AccessKeyId"]] = tags

    def _on_dynamodb_send(self, request: Any, **_: Any) -> None:
        if self.paused:
            return
        from tenantkit.observability import current_state

        authorization = request.headers.get("Authorization") or b""
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        match = _CREDENTIAL.search(authorization)
        access_key = match.group(1) if match else ""
        target = request.headers.get("X-Amz-Target") or b""
        operation = (target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]
        state = current_state()
        envelope = None
        if state is not None:
            envelope = (str(state.identity.get("tenant_id")), str(state.identity.get("app_id")))
        with self._lock:
            self.requests.append(SignedRequest(operation, access_key, self.issued.get(access_key), envelope,
                                               _partition_keys(request.body)))

    # --- queries --------------------------------------------------------------------------
    def bff_requests(self, since: int = 0) -> list[SignedRequest]:
        with self._lock:
            return [r for r in self.requests[since:] if r.envelope is not None]

    def violations(self, since: int = 0) -> list[tuple[SignedRequest, str]]:
        with self._lock:
            return [(r, r.problem) for r in self.requests[since:] if r.problem is not None]

    def cursor(self) -> int:
        with self._lock:
            return len(self.requests)


def _partition_keys(body: Any) -> tuple[str, ...]:
    try:
        data = json.loads(body.decode() if isinstance(body, bytes) else body or "{}")
    except (ValueError, UnicodeDecodeError):
        return ()
    found = []
    for holder in (data.get("Key"), data.get("Item")):
        if isinstance(holder, dict) and isinstance(holder.get("pk"), dict):
            found.append(str(holder["pk"].get("S")))
    return tuple(found)


RECORDER = SigningRecorder()
