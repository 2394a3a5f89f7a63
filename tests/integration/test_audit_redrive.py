"""``tenantkit audit redrive`` against moto (SQS and S3 on 127.0.0.1): a CloudWatch Logs delivery
that exhausted its retries (a Lambda on-failure destination record in its own queue) and SQS
messages in the dead-letter queue are recovered 100 %, with the original provenance and keys,
counted as stored, duplicate and quarantined; a message that still fails stays queued."""

from __future__ import annotations

import gzip
import json

import pytest

from support.audit import cloudwatch_event, record
from tenantkit_local import cli
from tenantkit_local.cloud import MotoServer

pytestmark = pytest.mark.integration

BFF_GROUP = "/aws/lambda/tenantkit-bff"


@pytest.fixture
def moto(monkeypatch):
    server = MotoServer().start()
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", server.environment().get("AWS_REGION", "us-east-1"))
    yield server
    server.stop()


@pytest.fixture
def queues(moto):
    sqs = moto.client("sqs")
    dlq = sqs.create_queue(QueueName="audit-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    main = sqs.create_queue(QueueName="audit", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})})["QueueUrl"]
    failures = sqs.create_queue(QueueName="audit-logs-failures")["QueueUrl"]
    main_arn = sqs.get_queue_attributes(QueueUrl=main, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    moto.client("s3").create_bucket(Bucket="audit-lake")
    return sqs, {"dlq": dlq, "main_arn": main_arn, "failures": failures}


def destination_record(event: dict) -> str:
    """What Lambda sends to an asynchronous on-failure destination after the last retry."""
    return json.dumps({
        "version": "1.0", "timestamp": "2026-11-28T12:00:05.000Z",
        "requestContext": {"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:sink",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "injected S3 failure", "errorType": "ConnectionError"},
    })


def raw_records(s3, prefix: str = "lake/raw/") -> list[dict]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="audit-lake", Prefix=prefix).get("Contents", [])]
    return [json.loads(line) for key in keys
            for line in gzip.decompress(s3.get_object(Bucket="audit-lake", Key=key)["Body"].read()).splitlines()]


def test_exhausted_deliveries_and_dead_letters_are_recovered_completely(moto, queues, capsys):
    sqs, q = queues
    logged = [record(ts=f"2026-11-28T10:0{i}:00.000Z") for i in range(5)]
    delivery = cloudwatch_event([json.dumps(r) for r in logged] + ['{"level":"INFO","message":"not audit"}'],
                                group=BFF_GROUP)
    sqs.send_message(QueueUrl=q["failures"], MessageBody=destination_record(delivery))
    queued = [record(ts="2026-11-28T11:00:00.000Z", tenant="globex") for _ in range(3)]
    sqs.send_message(QueueUrl=q["dlq"], MessageBody="\n".join(json.dumps(r) for r in queued))
    sqs.send_message(QueueUrl=q["dlq"], MessageBody=json.dumps({**record(), "ts": "2026-11-28T25:00:00Z"}))

    assert cli.main(["audit", "redrive", "--queue-url", q["failures"], "--queue-url", q["dlq"],
                     "--store", "s3://audit-lake/lake"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (report["messages"], report["stored"], report["duplicate"], report["quarantined"], report["failed"]) == (
        3, 8, 0, 1, 0)

    s3 = moto.client("s3")
    stored = raw_records(s3)
    assert sorted(r["event_id"] for r in stored) == sorted(r["event_id"] for r in logged + queued)  # 100 %
    provenance = {r["event_id"]: (r["received_via"], r["received_from"]) for r in stored}
    assert {provenance[r["event_id"]] for r in logged} == {("logs", BFF_GROUP)}  # the original log group
    assert {provenance[r["event_id"]] for r in queued} == {("sqs", q["main_arn"])}  # the audit queue, not the DLQ
    assert {r["received_at"] for r in stored if r["received_via"] == "logs"} >= {"2026-11-28T12:00:00.000Z"}
    for url in (q["failures"], q["dlq"]):
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)

    # the same failed delivery parked again (a second redrive): nothing new, all duplicates
    sqs.send_message(QueueUrl=q["failures"], MessageBody=destination_record(delivery))
    assert cli.main(["audit", "redrive", "--queue-url", q["failures"], "--store", "s3://audit-lake/lake"]) == 0
    again = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (again["stored"], again["duplicate"], again["failed"]) == (0, 5, 0)
    assert len(raw_records(s3)) == len(stored)


def test_a_message_that_still_fails_stays_in_its_queue(moto, queues, capsys):
    sqs, q = queues
    sqs.send_message(QueueUrl=q["failures"], MessageBody=destination_record({"awslogs": {"data": "not gzip"}}))
    assert cli.main(["audit", "redrive", "--queue-url", q["failures"], "--store", "s3://audit-lake/lake"]) == 1
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (report["messages"], report["failed"]) == (1, 1)
    counts = sqs.get_queue_attributes(QueueUrl=q["failures"], AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert int(counts["ApproximateNumberOfMessages"]) + int(counts["ApproximateNumberOfMessagesNotVisible"]) == 1
