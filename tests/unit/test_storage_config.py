"""AUDIT_STORE: a bad value is a ConfigurationError naming the variable; a key that would leave
the local root is a StorageKeyError. Both belong to the TenantkitError taxonomy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.audit.exceptions import StorageKeyError
from tenantkit.audit.storage import LocalStorage, S3Storage, storage_from_uri
from tenantkit.exceptions import ConfigurationError, TenantkitError


@settings(max_examples=100, deadline=None)
@given(scheme=st.from_regex(r"[a-z][a-z0-9+.-]{1,8}", fullmatch=True).filter(lambda s: s not in ("s3", "file")))
def test_an_unknown_scheme_is_a_configuration_error(scheme):
    with pytest.raises(ConfigurationError) as caught:
        storage_from_uri(f"{scheme}://somewhere/prefix")
    assert caught.value.variable == "AUDIT_STORE" and scheme in caught.value.problem


def test_s3_without_a_bucket_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="AUDIT_STORE"):
        storage_from_uri("s3:///prefix")


def test_the_accepted_forms(tmp_path):
    assert isinstance(storage_from_uri("s3://bucket/audit"), S3Storage)
    assert isinstance(storage_from_uri(f"file://{tmp_path}"), LocalStorage)
    assert isinstance(storage_from_uri(str(tmp_path)), LocalStorage)
    assert isinstance(storage_from_uri(None), LocalStorage)


@pytest.mark.parametrize("key", ["../outside.jsonl.gz", "raw/../../outside", "/etc/passwd"])
def test_a_key_that_leaves_the_root_is_refused(tmp_path, key):
    storage = LocalStorage(tmp_path / "zones")
    with pytest.raises(StorageKeyError) as caught:
        storage.put(key, b"x")
    assert isinstance(caught.value, TenantkitError) and isinstance(caught.value, ValueError)
    assert not (tmp_path / "outside.jsonl.gz").exists()
