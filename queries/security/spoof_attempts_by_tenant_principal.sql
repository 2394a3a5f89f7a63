-- name: spoof_attempts_by_tenant_principal
-- description: Tenant spoofing attempts the BFF rejected (tenant.spoof_rejected, 403): a body,
--   query, path or header named another tenant, app or principal than the verified token. Per
--   caller (its verified tenant, app and principal): attempts, distinct routes, first and last
--   attempt. Most attempts first.
-- table: audit_curated
-- panel: Security / Spoof attempts
-- parameters:
--   from_dt: date  -- first UTC day (dt partition), inclusive
--   to_dt: date    -- last UTC day (dt partition), inclusive
SELECT
    tenant_id,
    app_id,
    principal_id,
    count(*) AS attempts,
    count(DISTINCT route) AS routes,
    min(ts) AS first_seen,
    max(ts) AS last_seen
FROM audit_curated
WHERE dt BETWEEN ? AND ?
    AND event_type = 'tenant.spoof_rejected'
GROUP BY tenant_id, app_id, principal_id
ORDER BY attempts DESC, tenant_id, app_id, principal_id
