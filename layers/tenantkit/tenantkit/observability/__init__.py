"""The observability contract shared by every function: logs, audit lines, traces, metrics.

Import cost stays small: Powertools, the X-Ray SDK and EMF load only when first used.
"""

from __future__ import annotations

from tenantkit.observability.logger import get_logger
from tenantkit.observability.state import begin_request, bind_identity, current_state, end_request

__all__ = ["begin_request", "bind_identity", "current_state", "end_request", "get_logger"]
