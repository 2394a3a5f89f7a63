-- name: requests_per_tenant_hour
-- description: BFF requests per tenant per UTC hour (one request.completed record per request
--   that reached the BFF), with the 4xx and 5xx answers among them. Requests the authorizer
--   refused never reach the BFF: they are in the security pack. Records without a verified
--   tenant are left out.
-- table: audit_curated
-- panel: Tenant ops / Volume per tenant over time
-- parameters:
--   from_dt: date  -- first UTC day (dt partition), inclusive
--   to_dt: date    -- last UTC day (dt partition), inclusive
SELECT
    tenant_id,
    date_trunc('hour', ts) AS hour_start,
    count(*) AS requests,
    count_if(status BETWEEN 400 AND 499) AS client_errors,
    count_if(status >= 500) AS server_errors
FROM audit_curated
WHERE dt BETWEEN ? AND ?
    AND event_type = 'request.completed'
    AND tenant_id IS NOT NULL
GROUP BY tenant_id, date_trunc('hour', ts)
ORDER BY hour_start, tenant_id
