"""The registry parameter in SSM, edited with optimistic concurrency that never loses an edit.

SSM ``PutParameter`` has no compare-and-swap: ``Overwrite=True`` always wins. Two facts of the
API make a correct scheme anyway:

1. ``PutParameter`` *without* ``Overwrite`` is an atomic create-if-absent
   (``ParameterAlreadyExists`` otherwise). The edit lock ``<name>.lock`` is created that way,
   so two ``tenantkit`` editors never interleave: the second is told who holds the lock.
2. Versions are assigned serially per parameter, and ``PutParameter`` returns the version it
   created. A write based on version V that comes back as V+1 had nothing in between. Any
   other number means a writer that does not take the lock (console, CLI, CloudFormation)
   wrote versions V+1..N-1 while we edited. Our write is then undone: the latest of those
   versions is read from the parameter history and written back, and the operator is told
   that their change was not kept. The other writer's edit is what remains current.

So an edit is either applied on exactly the version it was computed from, or refused loudly;
no path overwrites another edit and reports success. ``expect_version`` adds the classic
check for a human decision made on an older ``list``: the edit is refused when the registry
moved since the operator looked at it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tenantkit_local.tenants import ConcurrentEditError, RegistryUnavailableError

LOCK_SUFFIX = ".lock"
LOCK_TTL_SECONDS = 300
TIER = "Intelligent-Tiering"  # Standard while the registry fits in 4 KB, Advanced (8 KB) after


@dataclass(frozen=True, slots=True)
class Snapshot:
    text: str
    version: int
    type: str = "String"


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class RegistryStore:
    def __init__(self, client: Any, name: str, *, owner: str, clock: Callable[[], float] = time.time,
                 lock_ttl_seconds: int = LOCK_TTL_SECONDS) -> None:
        self.client = client
        self.name = name
        self.lock_name = name + LOCK_SUFFIX
        self.owner = owner
        self._clock = clock
        self._lock_ttl = lock_ttl_seconds

    # --- reading ---------------------------------------------------------------------------

    def read(self) -> Snapshot:
        try:
            parameter = self.client.get_parameter(Name=self.name, WithDecryption=True)["Parameter"]
        except Exception as exc:
            if _code(exc) == "ParameterNotFound":
                raise RegistryUnavailableError(
                    f"parameter {self.name} does not exist: the SAM stack creates it (TenantRegistry), "
                    "or run `tenantkit tenants init` against a local endpoint") from None
            raise RegistryUnavailableError(f"cannot read {self.name}: {_code(exc) or type(exc).__name__}") from None
        return Snapshot(parameter["Value"], int(parameter["Version"]), parameter.get("Type", "String"))

    def create(self, text: str) -> int:
        """Create the registry (local stacks; in AWS the SAM stack does). Never overwrites."""
        try:
            return int(self.client.put_parameter(Name=self.name, Value=text, Type="String", Tier=TIER,
                                                 Overwrite=False)["Version"])
        except Exception as exc:
            if _code(exc) == "ParameterAlreadyExists":
                raise RegistryUnavailableError(f"parameter {self.name} already exists") from None
            raise

    # --- the edit lock ---------------------------------------------------------------------

    def lock_holder(self) -> dict[str, Any] | None:
        try:
            value = self.client.get_parameter(Name=self.lock_name)["Parameter"]["Value"]
        except Exception as exc:
            if _code(exc) == "ParameterNotFound":
                return None
            raise
        try:
            holder: dict[str, Any] = json.loads(value)
        except json.JSONDecodeError:
            holder = {"owner": "unknown (unreadable lock)", "expires_at": 0}
        return holder

    @contextmanager
    def locked(self) -> Iterator[None]:
        now = self._clock()
        token = uuid.uuid4().hex
        body = json.dumps({"owner": self.owner, "token": token, "acquired_at": now,
                           "expires_at": now + self._lock_ttl, "host": socket.gethostname(), "pid": os.getpid()})
        try:
            self.client.put_parameter(Name=self.lock_name, Value=body, Type="String", Overwrite=False)
        except Exception as exc:
            if _code(exc) != "ParameterAlreadyExists":
                raise
            holder = self.lock_holder() or {}
            stale = float(holder.get("expires_at", 0)) < now
            raise ConcurrentEditError(
                f"another edit of {self.name} is in progress: locked by {holder.get('owner', 'unknown')} "
                f"since {_iso(float(holder.get('acquired_at', 0)))}"
                + (f"; the lock expired at {_iso(float(holder.get('expires_at', 0)))} - if that edit crashed, "
                   "remove it with `tenantkit tenants unlock`" if stale else "; try again when it finishes")) from None
        try:
            yield
        finally:
            try:
                holder = self.lock_holder()
                if holder is not None and holder.get("token") == token:
                    self.client.delete_parameter(Name=self.lock_name)
            except Exception as exc:  # never mask the edit's own outcome; the lock expires anyway
                print(f"warning: could not release {self.lock_name} ({_code(exc) or type(exc).__name__}); "
                      f"it expires in {self._lock_ttl} s or `tenantkit tenants unlock` removes it",
                      file=sys.stderr)

    def unlock(self, *, force: bool) -> dict[str, Any] | None:
        """Remove a lock left by a crashed edit: only an expired one unless ``force``."""
        holder = self.lock_holder()
        if holder is None:
            return None
        if float(holder.get("expires_at", 0)) >= self._clock() and not force:
            raise ConcurrentEditError(f"the lock of {self.name} is held by {holder.get('owner')} until "
                                      f"{_iso(float(holder.get('expires_at', 0)))}; pass --force only if "
                                      "that edit is certainly dead")
        self.client.delete_parameter(Name=self.lock_name)
        return holder

    # --- writing ---------------------------------------------------------------------------

    def write(self, text: str, based_on: Snapshot) -> int:
        """Write ``text`` computed from ``based_on``; returns the new version or undoes and raises."""
        written = self._put(text, based_on.type)
        if written == based_on.version + 1:
            return written
        # Versions based_on+1 .. written-1 were written without the lock while we edited.
        latest_other = written - 1
        other_text = self._history_value(latest_other)
        restored = self._put(other_text, based_on.type)
        kept = "" if restored == written + 1 else (
            f" Another write landed while restoring (now version {restored}); compare versions "
            f"{based_on.version}..{restored} in the parameter history.")
        raise ConcurrentEditError(
            f"{self.name} changed outside this tool while the edit ran (version {based_on.version} -> "
            f"{latest_other}). Your change was NOT kept: version {written} was undone by restoring version "
            f"{latest_other}'s content as version {restored}. Run the command again to apply it on top.{kept}")

    def _put(self, text: str, type_: str) -> int:
        args: dict[str, Any] = {"Name": self.name, "Value": text, "Type": type_, "Overwrite": True, "Tier": TIER}
        if type_ == "SecureString":
            args["KeyId"] = self._key_id()  # keep the parameter's own KMS key
        return int(self.client.put_parameter(**args)["Version"])

    def _key_id(self) -> str:
        found = self.client.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [self.name]}])
        return str(found["Parameters"][0]["KeyId"])

    def _history_value(self, version: int) -> str:
        paginator = self.client.get_paginator("get_parameter_history")
        for page in paginator.paginate(Name=self.name, WithDecryption=True):
            for entry in page["Parameters"]:
                if int(entry["Version"]) == version:
                    return str(entry["Value"])
        raise ConcurrentEditError(f"{self.name}: version {version} is not in the parameter history")
