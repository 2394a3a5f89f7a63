-- name: error_rate_by_tenant_route
-- description: Error rate per tenant and route template over the day range: requests, answers
--   with status 400 or more (errors) and 500 or more (server_errors), and both as a fraction of
--   the requests. Routes are templates (METHOD /v1/sessions/{session_id}/messages), never ids.
-- table: audit_curated
-- panel: Tenant ops / Error rate per tenant
-- parameters:
--   from_dt: date  -- first UTC day (dt partition), inclusive
--   to_dt: date    -- last UTC day (dt partition), inclusive
SELECT
    tenant_id,
    route,
    count(*) AS requests,
    count_if(status >= 400) AS errors,
    count_if(status >= 500) AS server_errors,
    CAST(count_if(status >= 400) AS DOUBLE) / count(*) AS error_rate,
    CAST(count_if(status >= 500) AS DOUBLE) / count(*) AS server_error_rate
FROM audit_curated
WHERE dt BETWEEN ? AND ?
    AND event_type = 'request.completed'
    AND tenant_id IS NOT NULL
GROUP BY tenant_id, route
ORDER BY tenant_id, route
