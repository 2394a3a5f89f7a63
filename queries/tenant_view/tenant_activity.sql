-- name: tenant_activity
-- description: Everything one tenant may see about itself: its own audit records, per UTC
--   hour, app, route, event type, outcome and reason, with counts, distinct principals and
--   sessions, p95 latency and model tokens. Filtered on tenant_id = the parameter in the
--   outermost WHERE (a conjunct, never under OR), so a tenant-scoped dashboard bound to its
--   tenant reads no other tenant's rows. Platform internals (function request ids, inference
--   profile ARNs, correlation ids) are not returned.
-- table: audit_curated
-- panel: Tenant view / My activity
-- parameters:
--   from_dt: date      -- first UTC day (dt partition), inclusive
--   to_dt: date        -- last UTC day (dt partition), inclusive
--   tenant_id: string  -- the tenant the dashboard is scoped to (from its verified identity)
SELECT
    tenant_id,
    date_trunc('hour', ts) AS hour_start,
    app_id,
    route,
    event_type,
    outcome,
    reason,
    count(*) AS events,
    count(DISTINCT principal_id) AS principals,
    count(DISTINCT session_id) AS sessions,
    approx_percentile(latency_ms, 0.95) AS p95_latency_ms,
    coalesce(sum(input_tokens), 0) AS input_tokens,
    coalesce(sum(output_tokens), 0) AS output_tokens
FROM audit_curated
WHERE dt BETWEEN ? AND ?
    AND tenant_id = ?
GROUP BY tenant_id, date_trunc('hour', ts), app_id, route, event_type, outcome, reason
ORDER BY hour_start, app_id, route NULLS LAST, event_type, outcome, reason
