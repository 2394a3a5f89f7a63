"""Audit-record builders and CloudWatch Logs / SQS event builders for sink tests."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from typing import Any

from tenantkit.audit.schema import AuditRecord

# When the services received the test deliveries: 2026-11-28T12:00:00Z, after every record
# these builders make by default (the sink bounds ts by the arrival time).
ARRIVAL_MS = 1795867200000


def record(tenant: str = "acme", event_type: str = "request.completed", ts: str = "2026-11-28T10:15:00.000Z",
           **fields: Any) -> dict[str, Any]:
    values = {"event_type": event_type, "outcome": "success", "reason": "http_200", "tenant_id": tenant,
              "app_id": "portal", "ts": ts, "event_id": uuid.uuid4().hex, "status": 200, **fields}
    return json.loads(AuditRecord(**values).model_dump_json())


def cloudwatch_event(messages: list[str], *, group: str = "/aws/lambda/tenantkit-bff", stream: str = "2026/11/28/x",
                     first_id: int = 1000, message_type: str = "DATA_MESSAGE",
                     arrival_ms: int = ARRIVAL_MS) -> dict[str, Any]:
    payload = {
        "messageType": message_type, "owner": "123456789012", "logGroup": group, "logStream": stream,
        "subscriptionFilters": ["BffAuditSubscription"],
        "logEvents": [{"id": str(first_id + i), "timestamp": arrival_ms + i, "message": m}
                      for i, m in enumerate(messages)],
    }
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    return {"awslogs": {"data": data}}


def sqs_event(bodies: list[tuple[str, str]], *, arrival_ms: int = ARRIVAL_MS,
              queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:tenantkit-audit") -> dict[str, Any]:
    """``bodies`` = [(message_id, body)]."""
    return {"Records": [{
        "messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(arrival_ms),
                       "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1795860900001"},
        "messageAttributes": {}, "md5OfBody": "0" * 32, "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn, "awsRegion": "us-east-1",
    } for message_id, body in bodies]}
