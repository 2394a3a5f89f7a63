-- name: session_rejections_by_tenant_principal
-- description: Session ids the BFF refused (session.rejected, answered 404 like an unknown id):
--   per caller (verified tenant and principal) and reason: session_cross_tenant,
--   session_cross_app, session_cross_principal (someone else's session), session_not_found,
--   session_id_malformed, session_not_owned. Rejections, distinct session ids, first and
--   last. Most rejections first.
-- table: audit_curated
-- panel: Security / Session rejections
-- parameters:
--   from_dt: date  -- first UTC day (dt partition), inclusive
--   to_dt: date    -- last UTC day (dt partition), inclusive
SELECT
    tenant_id,
    principal_id,
    reason,
    count(*) AS rejections,
    count(DISTINCT session_id) AS sessions,
    min(ts) AS first_seen,
    max(ts) AS last_seen
FROM audit_curated
WHERE dt BETWEEN ? AND ?
    AND event_type = 'session.rejected'
GROUP BY tenant_id, principal_id, reason
ORDER BY rejections DESC, tenant_id, principal_id, reason
