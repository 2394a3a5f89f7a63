"""``tenantkit sessions migrate-keys``: move session items from the old ``SESSION#<id>`` key to
the tenant-prefixed ``T#<tenant>#A#<app>#S#<id>`` key (docs/bff.md, "Migrating old keys").

Run with operator credentials (the BFF's tenant-scoped credentials cannot read old-format items,
by design). Each live item is copied under its new key with a conditional put, then the old item
is deleted with a condition that it still holds the same binding; an expired item is only
deleted. The run is idempotent: after a crash, run it again and it continues with what is left.
Items whose identity attributes are missing or unusable in a key are left in place and counted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tenantkit.bff.sessions import partition_key, tenant_key

OLD_PREFIX = "SESSION#"


@dataclass
class MigrationReport:
    scanned: int = 0
    copied: int = 0
    already_copied: int = 0
    expired_dropped: int = 0
    left_invalid: int = 0
    changed_during_run: int = 0
    invalid_keys: list[str] = field(default_factory=list)

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would be" if dry_run else "were"
        return [f"old-format items scanned: {self.scanned}",
                f"  copied to the tenant-prefixed key: {self.copied} ({verb} copied)",
                f"  already present under the new key (old item removed): {self.already_copied}",
                f"  expired, old item removed without copy: {self.expired_dropped}",
                f"  changed while migrating (left for the next run): {self.changed_during_run}",
                f"  left in place, identity attributes unusable: {self.left_invalid}"]


def migrate_session_keys(client: Any, table: str, *, dry_run: bool = False, page_size: int = 100,
                         clock: Callable[[], float] = time.time) -> MigrationReport:
    report = MigrationReport()
    for item in _old_items(client, table, page_size):
        report.scanned += 1
        new_item = _migrated(item)
        if new_item is None:
            report.left_invalid += 1
            report.invalid_keys.append(item["pk"]["S"])
            continue
        expired = int(item.get("expires_at", {}).get("N", "0")) <= clock()
        if dry_run:
            if expired:
                report.expired_dropped += 1
            else:
                report.copied += 1
            continue
        if expired:
            if _delete_old(client, table, item):
                report.expired_dropped += 1
            else:
                report.changed_during_run += 1
            continue
        try:
            client.put_item(TableName=table, Item=new_item, ConditionExpression="attribute_not_exists(pk)")
            copied = True
        except Exception as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
            copied = False  # an earlier run copied it and stopped before the delete
        if not _delete_old(client, table, item):
            report.changed_during_run += 1
        elif copied:
            report.copied += 1
        else:
            report.already_copied += 1
    return report


def _old_items(client: Any, table: str, page_size: int) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"TableName": table, "Limit": page_size, "ConsistentRead": True,
                              "FilterExpression": "begins_with(pk, :old)",
                              "ExpressionAttributeValues": {":old": {"S": OLD_PREFIX}}}
    while True:
        page = client.scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _migrated(item: dict[str, Any]) -> dict[str, Any] | None:
    try:
        session_id = item["session_id"]["S"]
        tenant_id, app_id = item["tenant_id"]["S"], item["app_id"]["S"]
        if item["pk"]["S"] != OLD_PREFIX + session_id:
            return None
        return {**item, "pk": {"S": partition_key(tenant_id, app_id, session_id)},
                "tenant_key": {"S": tenant_key(app_id, tenant_id, session_id)}}
    except (KeyError, TypeError, ValueError):
        return None


def _delete_old(client: Any, table: str, item: dict[str, Any]) -> bool:
    """Delete the old item only if it still holds the binding we copied."""
    try:
        client.delete_item(
            TableName=table, Key={"pk": item["pk"]},
            ConditionExpression="tenant_id = :t AND app_id = :a AND principal_id = :p AND expires_at = :e",
            ExpressionAttributeValues={":t": item["tenant_id"], ":a": item["app_id"], ":p": item["principal_id"],
                                       ":e": item["expires_at"]})
        return True
    except Exception as exc:
        if _error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def cmd_migrate_keys(args: argparse.Namespace) -> int:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=args.endpoint_url, region_name=args.region)
    report = migrate_session_keys(client, args.table, dry_run=args.dry_run)
    for line in report.lines(args.dry_run):
        print(line)
    for key in report.invalid_keys[:20]:
        print(f"  unusable: {key}")
    return 1 if report.left_invalid or report.changed_during_run else 0


def register(sub: Any) -> None:
    sessions = sub.add_parser("sessions", help="the sessions table")
    sessions_sub = sessions.add_subparsers(dest="sessions_command", required=True)
    migrate = sessions_sub.add_parser("migrate-keys", help="move SESSION#<id> items to T#<tenant>#A#<app>#S#<id>")
    migrate.add_argument("--table", required=True, help="the sessions table name (stack output SessionsTableName)")
    migrate.add_argument("--dry-run", action="store_true", help="count what would move, change nothing")
    migrate.add_argument("--endpoint-url", help="a DynamoDB endpoint other than AWS's (e.g. a local moto server)")
    migrate.add_argument("--region", help="AWS region (default: the environment's)")
    migrate.set_defaults(func=cmd_migrate_keys)
