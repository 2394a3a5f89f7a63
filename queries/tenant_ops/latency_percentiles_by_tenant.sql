-- name: latency_percentiles_by_tenant
-- description: BFF latency percentiles per tenant per UTC hour: p50, p95 and p99 of latency_ms
--   over the request.completed records (approx_percentile on Athena, approx_quantile on
--   DuckDB: both approximate, within about 1 percent in rank), and the maximum.
-- table: audit_curated
-- panel: Tenant ops / Latency percentiles per tenant over time
-- parameters:
--   from_dt: date  -- first UTC day (dt partition), inclusive
--   to_dt: date    -- last UTC day (dt partition), inclusive
SELECT
    tenant_id,
    date_trunc('hour', ts) AS hour_start,
    count(*) AS requests,
    approx_percentile(latency_ms, 0.5) AS p50_ms,
    approx_percentile(latency_ms, 0.95) AS p95_ms,
    approx_percentile(latency_ms, 0.99) AS p99_ms,
    max(latency_ms) AS max_ms
FROM audit_curated
WHERE dt BETWEEN ? AND ?
    AND event_type = 'request.completed'
    AND tenant_id IS NOT NULL
    AND latency_ms IS NOT NULL
GROUP BY tenant_id, date_trunc('hour', ts)
ORDER BY hour_start, tenant_id
