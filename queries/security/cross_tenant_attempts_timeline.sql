-- name: cross_tenant_attempts_timeline
-- description: Cross-tenant attempts per UTC hour, by the caller's verified tenant and kind:
--   spoofed identity values (tenant.spoof_rejected), another tenant's session id
--   (session.rejected with reason session_cross_tenant) and Cedar tenant mismatches
--   (abac.deny with reason tenant_mismatch). Attempts and distinct principals. Every one was
--   rejected; a rising line is someone probing.
-- table: audit_curated
-- panel: Security / Cross-tenant attempts over time
-- parameters:
--   from_dt: date  -- first UTC day (dt partition), inclusive
--   to_dt: date    -- last UTC day (dt partition), inclusive
SELECT
    date_trunc('hour', ts) AS hour_start,
    tenant_id,
    event_type,
    count(*) AS attempts,
    count(DISTINCT principal_id) AS principals
FROM audit_curated
WHERE dt BETWEEN ? AND ?
    AND (
        event_type = 'tenant.spoof_rejected'
        OR (event_type = 'session.rejected' AND reason = 'session_cross_tenant')
        OR (event_type = 'abac.deny' AND reason = 'tenant_mismatch')
    )
GROUP BY date_trunc('hour', ts), tenant_id, event_type
ORDER BY hour_start, tenant_id, event_type
