"""CloudWatch Logs subscription payloads, decoded by Powertools' CloudWatchLogsEvent: whatever
arrives under ``awslogs.data``, the sink either stores it or raises SinkEventError."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.audit.exceptions import SinkEventError
from tenantkit.audit.sink import AuditSink
from tenantkit.audit.storage import LocalStorage

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=8)
payloads = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
    st.binary(max_size=40).map(lambda b: base64.b64encode(gzip.compress(b)).decode()),
    json_values.map(lambda v: base64.b64encode(gzip.compress(json.dumps(v).encode())).decode()),
    st.fixed_dictionaries({"messageType": st.just("DATA_MESSAGE"), "logGroup": json_values,
                           "logStream": json_values, "logEvents": json_values | st.lists(json_values, max_size=3)})
    .map(lambda v: base64.b64encode(gzip.compress(json.dumps(v).encode())).decode()),
    st.integers(),
    st.none(),
)


@settings(max_examples=150, deadline=None)
@given(data=payloads)
def test_any_awslogs_payload_is_stored_or_a_typed_error(tmp_path_factory, data):
    sink = AuditSink(LocalStorage(tmp_path_factory.mktemp("zones")))
    try:
        result = sink.handle({"awslogs": {"data": data}})
    except SinkEventError:
        return
    assert set(result) >= {"written"} or result.get("messageType") is not None


def test_a_control_message_writes_nothing(tmp_path):
    body = {"messageType": "CONTROL_MESSAGE", "logGroup": "", "logStream": "", "logEvents": []}
    data = base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()
    assert AuditSink(LocalStorage(tmp_path)).handle({"awslogs": {"data": data}}) == {
        "messageType": "CONTROL_MESSAGE", "written": 0}


def test_a_payload_that_is_not_an_object_is_rejected(tmp_path):
    data = base64.b64encode(gzip.compress(b"[1, 2]")).decode()
    with pytest.raises(SinkEventError, match="not a JSON object"):
        AuditSink(LocalStorage(tmp_path)).handle({"awslogs": {"data": data}})
