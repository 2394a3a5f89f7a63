"""The ``bedrock-agentcore`` client on whatever botocore the Lambda runtime provides.

boto3 and botocore are not in the layer (one SDK per process, the runtime's; docs/runtime.md).
A runtime whose botocore predates Amazon Bedrock AgentCore would have no ``bedrock-agentcore``
client, so the layer carries that one service model (``botocore_data/``, ~90 KB) and adds it to
the session's data path only when the runtime's botocore lacks it: the runtime's own model wins
whenever there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SERVICE = "bedrock-agentcore"
MODEL_DIR = Path(__file__).resolve().parent / "botocore_data"


def agentcore_session(botocore_session: Any = None) -> Any:
    """A boto3 Session that can create the ``bedrock-agentcore`` client."""
    import boto3
    import botocore.session

    core = botocore_session or botocore.session.get_session()
    if SERVICE not in core.get_available_services():
        core.get_component("data_loader").search_paths.append(str(MODEL_DIR))
    return boto3.session.Session(botocore_session=core)


def agentcore_client(config: Any = None, botocore_session: Any = None) -> Any:
    return agentcore_session(botocore_session).client(SERVICE, config=config)
