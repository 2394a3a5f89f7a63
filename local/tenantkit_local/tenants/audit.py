"""Audit records of registry changes, delivered where the audit sink reads them.

The tool runs outside Lambda, so its records cannot ride the audit shadow log; they go to the
stack's audit queue (output ``AuditQueueUrl``, which the sink consumes) or, for local work, to
a JSON-lines file in the raw-zone record format. The destination is resolved before the edit
starts: a change that cannot be audited is not made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantkit.audit.schema import AuditRecord
from tenantkit_local.tenants import AuditDeliveryError, InvalidInputError
from tenantkit_local.tenants.ops import Change

SERVICE = "tenantkit-cli"


def change_record(change: Change, *, operator: str, parameter: str, version: int) -> AuditRecord:
    """One record per change. ``correlation_id`` names the SSM version the change created."""
    return AuditRecord(event_type=change.event_type, outcome="success", reason="registry_updated",  # type: ignore[arg-type]
                       service=SERVICE, tenant_id=change.tenant_id, app_id=change.app_id,
                       principal_id=operator[:256], principal_type="user",
                       correlation_id=f"ssm:{parameter}:{version}")


@dataclass(frozen=True, slots=True)
class AuditDestination:
    queue_url: str | None = None
    file: Path | None = None
    sqs: Any = None

    def describe(self) -> str:
        return f"SQS {self.queue_url}" if self.queue_url else f"file {self.file}"

    def deliver(self, record: AuditRecord) -> None:
        line = json.dumps(record.model_dump(), separators=(",", ":"), sort_keys=True)
        try:
            if self.queue_url:
                self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=line)
            elif self.file:
                with self.file.open("a", encoding="utf-8") as out:
                    out.write(line + "\n")
        except Exception as exc:
            raise AuditDeliveryError(f"the registry change was written but its audit record could not be "
                                     f"delivered to {self.describe()} ({type(exc).__name__}); deliver this "
                                     f"record by hand: {line}") from None


def resolve_destination(*, queue_url: str | None, file: Path | None, stack_name: str | None,
                        sqs: Any, cloudformation: Any) -> AuditDestination:
    if queue_url and file:
        raise InvalidInputError("give --audit-queue-url or --audit-file, not both")
    if file:
        return AuditDestination(file=file)
    if queue_url:
        return AuditDestination(queue_url=queue_url, sqs=sqs)
    if stack_name:
        try:
            stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        except Exception as exc:
            raise InvalidInputError(f"cannot find the audit queue: stack {stack_name} "
                                    f"({type(exc).__name__}); pass --audit-queue-url") from None
        if "AuditQueueUrl" in outputs:
            return AuditDestination(queue_url=outputs["AuditQueueUrl"], sqs=sqs)
    raise InvalidInputError("no audit destination: pass --audit-queue-url (the stack output AuditQueueUrl) "
                            "or --audit-file; a registry change is never made without its audit record")
