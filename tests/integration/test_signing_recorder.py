"""Negative controls of the suite-wide signing check (tests/support/signing.py): inside a BFF
request for (acme, portal), a table call signed with the harness's own credentials, with a key
issued for another tenant, or naming another tenant's key is each reported; the right key is not."""

from __future__ import annotations

import pytest

from support.signing import RECORDER, SigningRecorder
from tenantkit.observability import begin_request, bind_identity, end_request
from tenantkit_local.cloud import MotoServer, create_table

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto():
    server = MotoServer().start()
    create_table(server.client("dynamodb"), "SessionsTable", "sessions-recorder")
    yield server
    server.stop()


def test_the_recorder_flags_every_wrong_signature(moto):
    recorder = SigningRecorder()
    sts = moto.client("sts")
    recorder.attach(sts)  # learns which key STS issued for which tags
    clients = moto.tenant_scoped_clients(sts_client_factory=lambda: sts)
    acme, globex = clients.client_for("acme", "portal"), clients.client_for("globex", "portal")
    harness = moto.client("dynamodb")
    for client in (acme, globex, harness):
        recorder.attach(client)

    own_key = {"pk": {"S": "T#acme#A#portal#S#s_x"}}
    RECORDER.paused = True  # these wrong calls are deliberate: keep them out of the suite-wide check
    begin_request(None, correlation_id="negative-control")
    try:
        bind_identity(tenant_id="acme", app_id="portal")
        acme.get_item(TableName="sessions-recorder", Key=own_key)
        harness.get_item(TableName="sessions-recorder", Key=own_key)
        globex.get_item(TableName="sessions-recorder", Key=own_key)
        acme.get_item(TableName="sessions-recorder", Key={"pk": {"S": "T#acme2#A#portal#S#s_x"}})
    finally:
        end_request()
        RECORDER.paused = False
    harness.get_item(TableName="sessions-recorder", Key=own_key)  # outside a BFF request: the harness's

    problems = [r.problem for r in recorder.requests]
    assert problems[0] is None
    assert "not issued by AssumeRole" in problems[1]
    assert "issued for ('globex', 'portal')" in problems[2]
    assert "key outside T#acme#A#portal#*" in problems[3]
    assert problems[4] is None and recorder.requests[4].envelope is None
    assert len(recorder.violations()) == 3
