"""CloudWatch metrics (EMF via Powertools) with a closed dimension set.

Tenant, session and principal ids are unbounded: as dimensions they would create one metric
per tenant (cost and quota blow-up), so they are refused here and tenant analytics go
through the Athena query packs.
"""

from __future__ import annotations

from tenantkit.observability.contract import FORBIDDEN_METRIC_DIMENSIONS, METRIC_DIMENSIONS
from tenantkit.observability.exceptions import ForbiddenDimensionError
from tenantkit.observability.logger import service_name
from tenantkit.observability.settings import observability_settings

__all__ = [
    "check_dimensions",
    "emit_metric",
]


def check_dimensions(dimensions: dict[str, str | None]) -> None:
    for name in dimensions:
        if name in FORBIDDEN_METRIC_DIMENSIONS:
            raise ForbiddenDimensionError(f"{name} is never a metric dimension; use the Athena query packs")
        if name not in METRIC_DIMENSIONS:
            allowed = ", ".join(sorted(METRIC_DIMENSIONS))
            raise ForbiddenDimensionError(f"{name} is not an allowed dimension ({allowed})")


def emit_metric(name: str, value: float = 1, unit: str = "Count", **dimensions: str | None) -> None:
    """Emit one EMF metric line now, with ``service`` plus the given bounded dimensions."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    check_dimensions(dimensions)  # names, not values: a forbidden dimension fails even while still None
    given = {k: v for k, v in dimensions.items() if v is not None}
    namespace = observability_settings().metrics_namespace
    with single_metric(name=name, unit=MetricUnit(unit), value=value, namespace=namespace,
                       default_dimensions={"service": service_name()}) as metric:
        for key, dimension_value in given.items():
            metric.add_dimension(name=key, value=str(dimension_value)[:250])
