"""Where audit objects go: S3 on AWS, a local directory for local runs (the embedded default).

Both backends take whole objects under a key; writes replace, so a redelivered batch that
produces the same key overwrites instead of duplicating.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from tenantkit import aws
from tenantkit.audit.exceptions import StorageKeyError
from tenantkit.exceptions import ConfigurationError

__all__ = [
    "AUDIT_STORE",
    "DEFAULT_LOCAL_ROOT",
    "AuditStorage",
    "LocalStorage",
    "S3Storage",
    "StorageDecorator",
    "storage_from_uri",
]

DEFAULT_LOCAL_ROOT = ".tenantkit/audit"
AUDIT_STORE = "AUDIT_STORE"  # the variable the URI comes from


class AuditStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def list(self, prefix: str) -> list[str]: ...
    def describe(self) -> str: ...


class StorageDecorator:
    """Another storage with one behaviour added: subclasses override ``put`` (counting, fault
    injection) and every other call goes to ``inner`` unchanged."""

    def __init__(self, inner: AuditStorage) -> None:
        self.inner = inner

    def put(self, key: str, data: bytes) -> None:
        self.inner.put(key, data)

    def get(self, key: str) -> bytes:
        return self.inner.get(key)

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)

    def describe(self) -> str:
        return self.inner.describe()


class LocalStorage:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def put(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename: a reader never sees half an object, a crash leaves the old one.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def list(self, prefix: str) -> list[str]:
        base = self.root
        return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()
                      and not p.name.startswith(".tmp-") and str(p.relative_to(base)).startswith(prefix))

    def describe(self) -> str:
        return f"file://{self.root}"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise StorageKeyError("key escapes the storage root")
        return path


class S3Storage:
    def __init__(self, bucket: str, prefix: str = "", *, client_factory: Callable[[], Any] | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client_factory = client_factory or _s3_client
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:  # once per container, on first use
            self._client = self._client_factory()
        return self._client

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data,
                               ContentType="application/x-ndjson", ContentEncoding="gzip")

    def get(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()
        return data

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                          Prefix=self.prefix + prefix):
            keys.extend(item["Key"][len(self.prefix):] for item in page.get("Contents", []))
        return sorted(keys)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def storage_from_uri(uri: str | None) -> AuditStorage:
    """``s3://bucket/prefix``, ``file:///abs/dir`` or a plain directory; unset = the local default."""
    if not uri:
        return LocalStorage(DEFAULT_LOCAL_ROOT)
    parts = urlsplit(uri)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigurationError(AUDIT_STORE, "an s3:// URI needs a bucket")
        return S3Storage(parts.netloc, parts.path)
    if parts.scheme == "file":
        return LocalStorage(parts.path)
    if parts.scheme:
        raise ConfigurationError(AUDIT_STORE,
                                 f"unsupported scheme {parts.scheme!r} (use s3://, file:// or a directory)")
    return LocalStorage(uri)


def _s3_client() -> Any:
    return aws.client("s3", max_attempts=3)
