"""The local cloud: a moto server on 127.0.0.1 with resources created from template.yaml.

Tables are created from the template's own ``AWS::DynamoDB::Table`` properties, so there is no
second copy of the key schema to drift.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tenantkit_local import PROJECT_ROOT
from tenantkit_local.runner import patched_environ as environment  # noqa: F401 - re-exported
from tenantkit_local.template import load_template

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


# local/env.json gives the BFF this role; moto's STS issues credentials for it (account
# 123456789012 is moto's default, so the issued keys reach the same backend as the tables).
LOCAL_TENANT_DATA_ROLE_ARN = "arn:aws:iam::123456789012:role/tenantkit-local-TenantDataRole"


class MotoServer:
    """moto in server mode on 127.0.0.1 (an ephemeral port unless one is given)."""

    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint = ""

    def start(self) -> MotoServer:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call otherwise
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def environment(self) -> dict[str, str]:
        """Variables that point boto3 (and the functions under test) at this server."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=FAKE_CREDENTIALS["AWS_REGION"],
                            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def tenant_scoped_clients(self, role_arn: str = LOCAL_TENANT_DATA_ROLE_ARN, **options: Any) -> Any:
        """The BFF's credential path against this server (:func:`tenant_scoped_clients`)."""
        return tenant_scoped_clients(self.endpoint, role_arn, **options)


def tenant_scoped_clients(endpoint: str, role_arn: str = LOCAL_TENANT_DATA_ROLE_ARN, **options: Any) -> Any:
    """The BFF's credential path against the moto server at ``endpoint``: AssumeRole on moto's
    STS (signed with the fake operator credentials), DynamoDB clients signed with the issued keys."""
    import boto3

    from tenantkit.bff.credentials import TenantScopedClients

    def client(service: str, access_key: str, secret_key: str, token: str | None = None) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=FAKE_CREDENTIALS["AWS_REGION"],
                            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                            aws_session_token=token)

    def dynamodb(credentials: Any) -> Any:
        return client("dynamodb", credentials.access_key_id, credentials.secret_access_key, credentials.session_token)

    options.setdefault("sts_client_factory", lambda: client(
        "sts", FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]))
    return TenantScopedClients(role_arn, client_factory=dynamodb, **options)


def table_definition(logical_id: str, template_path: Path | None = None) -> dict[str, Any]:
    """``create_table`` arguments from the template's resource (intrinsics are not allowed there)."""
    template = load_template(template_path or PROJECT_ROOT / "template.yaml")
    resource = template["Resources"][logical_id]
    if resource.get("Type") != "AWS::DynamoDB::Table":
        raise ValueError(f"{logical_id} is not an AWS::DynamoDB::Table")
    props = resource["Properties"]
    definition: dict[str, Any] = {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return definition


def create_table(client: Any, logical_id: str, table_name: str, template_path: Path | None = None) -> None:
    client.create_table(TableName=table_name, **table_definition(logical_id, template_path))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    ttl = load_template(template_path or PROJECT_ROOT / "template.yaml")["Resources"][logical_id]["Properties"].get(
        "TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)


class LocalServices:
    """Everything a function under replay talks to, on 127.0.0.1: moto with the template's
    tables, and a fake agent runtime. Use as a context manager."""

    def __init__(self, template_path: Path | None = None) -> None:
        from tenantkit_local.fake_agent import FakeAgentRuntime

        self.template_path = template_path or PROJECT_ROOT / "template.yaml"
        self.moto = MotoServer()
        self.agent = FakeAgentRuntime()
        self.resource_names: dict[str, str] = {}

    def __enter__(self) -> LocalServices:
        from tenantkit_local.template import resources_of_type

        self.moto.start()
        self.agent.start()
        dynamodb = self.moto.client("dynamodb")
        for logical_id in resources_of_type(self.template_path, "AWS::DynamoDB::Table"):
            # moto keeps its state per process, not per server: unique names keep stacks apart
            name = f"tenantkit-local-{logical_id}-{uuid.uuid4().hex[:8]}"
            create_table(dynamodb, logical_id, name, self.template_path)
            self.resource_names[logical_id] = name
        return self

    def __exit__(self, *exc: object) -> None:
        self.agent.stop()
        self.moto.stop()

    def function_overrides(self) -> dict[str, str]:
        """Per-function variables that point at these services (SAM env-vars semantics)."""
        return {"UPSTREAM_URL": self.agent.url, "UPSTREAM_MODE": "http"}
