-- name: active_sessions_per_tenant
-- description: Sessions per tenant and app over the day range. A session is active when it
--   was bound (session.bound) or used (session.continued) in the range and did not end in
--   it (no session.deleted or session.expired). Expiry is audited only when the owner reads
--   an expired session, so a session left to its TTL still counts: an upper bound. The
--   sessions table's by-tenant index has the live count. session.rejected records are not
--   counted: their session id belongs to someone else. Needs session ids logged hashed with a
--   key, or raw.
-- table: audit_curated
-- panel: Sessions / Active sessions per tenant
-- parameters:
--   from_dt: date  -- first UTC day (dt partition), inclusive
--   to_dt: date    -- last UTC day (dt partition), inclusive
SELECT
    tenant_id,
    app_id,
    sum(CASE WHEN touched = 1 AND ended = 0 THEN 1 ELSE 0 END) AS active_sessions,
    sum(bound) AS sessions_bound,
    sum(ended) AS sessions_ended,
    sum(turns) AS turns
FROM (
    SELECT
        tenant_id,
        app_id,
        session_id,
        max(CASE WHEN event_type = 'session.bound' THEN 1 ELSE 0 END) AS bound,
        max(CASE WHEN event_type IN ('session.bound', 'session.continued') THEN 1 ELSE 0 END) AS touched,
        max(CASE WHEN event_type IN ('session.deleted', 'session.expired') THEN 1 ELSE 0 END) AS ended,
        count_if(event_type = 'session.continued') AS turns
    FROM audit_curated
    WHERE dt BETWEEN ? AND ?
        AND event_type IN ('session.bound', 'session.continued', 'session.deleted', 'session.expired')
        AND tenant_id IS NOT NULL
        AND session_id IS NOT NULL
    GROUP BY tenant_id, app_id, session_id
) AS per_session
GROUP BY tenant_id, app_id
ORDER BY tenant_id, app_id
