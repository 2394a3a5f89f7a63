-- name: authz_denials_by_reason
-- description: Authorization denials by reason: authorizer 403s (authz.deny), authorizer 401s
--   (authz.unauthorized, usually without a verified tenant, so tenant_id is null) and Cedar
--   denials in the BFF (abac.deny), per tenant, event type, reason and status, with the
--   number of distinct principals. Most denials first.
-- table: audit_curated
-- panel: Security / Denials by reason
-- parameters:
--   from_dt: date  -- first UTC day (dt partition), inclusive
--   to_dt: date    -- last UTC day (dt partition), inclusive
SELECT
    tenant_id,
    event_type,
    reason,
    status,
    count(*) AS denials,
    count(DISTINCT principal_id) AS principals
FROM audit_curated
WHERE dt BETWEEN ? AND ?
    AND event_type IN ('authz.deny', 'authz.unauthorized', 'abac.deny')
GROUP BY tenant_id, event_type, reason, status
ORDER BY denials DESC, event_type, reason, tenant_id NULLS LAST
