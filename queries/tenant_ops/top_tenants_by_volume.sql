-- name: top_tenants_by_volume
-- description: The busiest tenants over the day range, ranked by BFF requests (ties by
--   tenant_id): requests, share of all tenants' requests, errors, distinct principals, model
--   input and output tokens. Only the first top_n ranks are returned.
-- table: audit_curated
-- panel: Tenant ops / Top tenants by volume
-- parameters:
--   from_dt: date     -- first UTC day (dt partition), inclusive
--   to_dt: date       -- last UTC day (dt partition), inclusive
--   top_n: integer    -- how many tenants to return
SELECT
    volume_rank,
    tenant_id,
    requests,
    share_of_requests,
    errors,
    principals,
    input_tokens,
    output_tokens
FROM (
    SELECT
        tenant_id,
        count(*) AS requests,
        CAST(count(*) AS DOUBLE) / sum(count(*)) OVER () AS share_of_requests,
        count_if(status >= 400) AS errors,
        count(DISTINCT principal_id) AS principals,
        coalesce(sum(input_tokens), 0) AS input_tokens,
        coalesce(sum(output_tokens), 0) AS output_tokens,
        row_number() OVER (ORDER BY count(*) DESC, tenant_id ASC) AS volume_rank
    FROM audit_curated
    WHERE dt BETWEEN ? AND ?
        AND event_type = 'request.completed'
        AND tenant_id IS NOT NULL
    GROUP BY tenant_id
) AS ranked
WHERE volume_rank <= ?
ORDER BY volume_rank
