-- name: cost_allocated_by_tenant_day
-- description: DERIVED per-tenant Bedrock cost: each application inference profile's billed
--   cost per UTC day (CUR 2.0, exact) allocated to tenants in proportion to the tokens the
--   audit records attribute to them (request.completed with inference_profile_arn and token
--   counts). Input and output are priced separately: the cost of input and prompt-cache token
--   usage types is shared by input tokens, output-token cost by output tokens, any other
--   usage type by input + output tokens. Per profile and day one extra row, tenant_id
--   '(unattributed)', allocation 'unattributed', holds the cost no attributed token explains
--   (a day or token class without attributed tokens) plus the rounding of the tenant rows, so
--   the rows of a profile/day always sum to its billed total to the cent (it may be -0.01 when
--   every tenant rounded up). Tokens the upstream never reported are invisible here: the
--   attributed tenants carry their cost (see docs/cost-attribution.md, limits).
-- table: cur, audit_curated
-- panel: Cost / Model cost per tenant per day (derived)
-- parameters:
--   from_period: string  -- first CUR partition (billing_period, YYYY-MM)
--   to_period: string    -- last CUR partition (billing_period, YYYY-MM)
--   from_day: date       -- first usage day (UTC, line_item_usage_start_date), inclusive
--   to_day: date         -- last usage day (UTC), inclusive
--   from_dt: date        -- first audit_curated dt partition: the same day as from_day
--   to_dt: date          -- last audit_curated dt partition: the same day as to_day
WITH cur_lines AS (
    SELECT
        CAST(line_item_usage_start_date AS DATE) AS usage_date,
        line_item_resource_id AS inference_profile_arn,
        CASE
            WHEN line_item_usage_type LIKE '%output-token%' THEN 'output'
            WHEN line_item_usage_type LIKE '%input-token%' THEN 'input'
            ELSE 'total'
        END AS basis,
        element_at(resource_tags, 'user_app_id') AS app_id,
        element_at(resource_tags, 'user_agent_name') AS agent_name,
        CAST(line_item_unblended_cost AS DECIMAL(38, 10)) AS unblended_cost,
        CAST(
            CASE line_item_line_item_type
                WHEN 'SavingsPlanCoveredUsage' THEN savings_plan_savings_plan_effective_cost
                WHEN 'SavingsPlanNegation' THEN CAST(0 AS DOUBLE)
                WHEN 'DiscountedUsage' THEN reservation_effective_cost
                ELSE line_item_unblended_cost
            END AS DECIMAL(38, 10)
        ) AS amortized_cost
    FROM cur
    WHERE billing_period BETWEEN ? AND ?
        AND CAST(line_item_usage_start_date AS DATE) BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
        AND line_item_product_code = 'AmazonBedrock'
        AND line_item_resource_id LIKE 'arn:%:bedrock:%:application-inference-profile/%'
),
profile_cost AS (
    SELECT usage_date, inference_profile_arn, basis,
        sum(unblended_cost) AS unblended_cost, sum(amortized_cost) AS amortized_cost
    FROM cur_lines
    GROUP BY usage_date, inference_profile_arn, basis
),
profile_day AS (
    SELECT usage_date, inference_profile_arn, max(app_id) AS app_id, max(agent_name) AS agent_name,
        CAST(sum(unblended_cost) AS DECIMAL(18, 2)) AS unblended_cost,
        CAST(sum(amortized_cost) AS DECIMAL(18, 2)) AS amortized_cost
    FROM cur_lines
    GROUP BY usage_date, inference_profile_arn
),
tenant_tokens AS (
    SELECT CAST(ts AS DATE) AS usage_date, inference_profile_arn, tenant_id,
        sum(coalesce(input_tokens, 0)) AS input_tokens, sum(coalesce(output_tokens, 0)) AS output_tokens
    FROM audit_curated
    WHERE dt BETWEEN ? AND ?
        AND event_type = 'request.completed'
        AND inference_profile_arn IS NOT NULL
        AND tenant_id IS NOT NULL
        AND (input_tokens > 0 OR output_tokens > 0)
    GROUP BY CAST(ts AS DATE), inference_profile_arn, tenant_id
),
token_totals AS (
    SELECT usage_date, inference_profile_arn,
        sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
    FROM tenant_tokens
    GROUP BY usage_date, inference_profile_arn
),
shares AS (
    SELECT c.usage_date, c.inference_profile_arn, t.tenant_id, c.unblended_cost, c.amortized_cost,
        CASE c.basis
            WHEN 'input' THEN CAST(t.input_tokens AS DOUBLE) / nullif(tt.input_tokens, 0)
            WHEN 'output' THEN CAST(t.output_tokens AS DOUBLE) / nullif(tt.output_tokens, 0)
            ELSE CAST(t.input_tokens + t.output_tokens AS DOUBLE) / nullif(tt.input_tokens + tt.output_tokens, 0)
        END AS share
    FROM profile_cost AS c
    JOIN token_totals AS tt ON tt.usage_date = c.usage_date AND tt.inference_profile_arn = c.inference_profile_arn
    JOIN tenant_tokens AS t ON t.usage_date = c.usage_date AND t.inference_profile_arn = c.inference_profile_arn
),
tenant_day AS (
    SELECT usage_date, inference_profile_arn, tenant_id,
        CAST(sum(CAST(unblended_cost AS DOUBLE) * share) AS DECIMAL(18, 2)) AS unblended_cost,
        CAST(sum(CAST(amortized_cost AS DOUBLE) * share) AS DECIMAL(18, 2)) AS amortized_cost
    FROM shares
    WHERE share IS NOT NULL
    GROUP BY usage_date, inference_profile_arn, tenant_id
)
SELECT d.usage_date, d.inference_profile_arn, d.app_id, d.agent_name, td.tenant_id, 'derived' AS allocation,
    CAST(td.unblended_cost AS DECIMAL(18, 2)) AS unblended_cost,
    CAST(td.amortized_cost AS DECIMAL(18, 2)) AS amortized_cost,
    t.input_tokens, t.output_tokens
FROM tenant_day AS td
JOIN profile_day AS d ON d.usage_date = td.usage_date AND d.inference_profile_arn = td.inference_profile_arn
JOIN tenant_tokens AS t
    ON t.usage_date = td.usage_date AND t.inference_profile_arn = td.inference_profile_arn AND t.tenant_id = td.tenant_id
UNION ALL
SELECT d.usage_date, d.inference_profile_arn, d.app_id, d.agent_name, '(unattributed)' AS tenant_id,
    'unattributed' AS allocation,
    CAST(d.unblended_cost - coalesce(sum(td.unblended_cost), 0) AS DECIMAL(18, 2)) AS unblended_cost,
    CAST(d.amortized_cost - coalesce(sum(td.amortized_cost), 0) AS DECIMAL(18, 2)) AS amortized_cost,
    CAST(NULL AS BIGINT) AS input_tokens, CAST(NULL AS BIGINT) AS output_tokens
FROM profile_day AS d
LEFT JOIN tenant_day AS td ON td.usage_date = d.usage_date AND td.inference_profile_arn = d.inference_profile_arn
GROUP BY d.usage_date, d.inference_profile_arn, d.app_id, d.agent_name, d.unblended_cost, d.amortized_cost
ORDER BY usage_date, inference_profile_arn, allocation, tenant_id
