-- name: unattributed_share_by_profile
-- description: How much of each application inference profile's billed cost (CUR 2.0,
--   unblended) over the day range the per-tenant allocation could NOT attribute, and why:
--   unattributed_no_tokens is the cost of days and token classes without any attributed
--   tokens (no audit record reported tokens for the profile: upstream not reporting usage,
--   failed calls, evaluator or batch traffic, CUR/audit day skew), unattributed_rounding the
--   cents left by rounding the tenant rows. Same allocation as cost_allocated_by_tenant_day;
--   attributed_cost + unattributed_cost = unblended_cost to the cent. Sorted by
--   unattributed_share, largest first: the fidelity check to run before any tenant chargeback.
-- table: cur, audit_curated
-- panel: Cost / Unattributed share per inference profile
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
),
unexplained AS (
    SELECT c.usage_date, c.inference_profile_arn, sum(c.unblended_cost) AS unblended_cost
    FROM profile_cost AS c
    LEFT JOIN token_totals AS tt
        ON tt.usage_date = c.usage_date AND tt.inference_profile_arn = c.inference_profile_arn
    WHERE coalesce(
        CASE c.basis
            WHEN 'input' THEN tt.input_tokens
            WHEN 'output' THEN tt.output_tokens
            ELSE tt.input_tokens + tt.output_tokens
        END, 0) = 0
    GROUP BY c.usage_date, c.inference_profile_arn
),
attributed AS (
    SELECT usage_date, inference_profile_arn, sum(unblended_cost) AS unblended_cost
    FROM tenant_day
    GROUP BY usage_date, inference_profile_arn
),
daily AS (
    SELECT d.usage_date, d.inference_profile_arn, d.app_id, d.agent_name, d.unblended_cost,
        coalesce(a.unblended_cost, 0) AS attributed_cost,
        coalesce(u.unblended_cost, 0) AS no_token_cost,
        tt.usage_date IS NULL AS without_tokens
    FROM profile_day AS d
    LEFT JOIN attributed AS a ON a.usage_date = d.usage_date AND a.inference_profile_arn = d.inference_profile_arn
    LEFT JOIN unexplained AS u ON u.usage_date = d.usage_date AND u.inference_profile_arn = d.inference_profile_arn
    LEFT JOIN token_totals AS tt ON tt.usage_date = d.usage_date AND tt.inference_profile_arn = d.inference_profile_arn
)
SELECT
    inference_profile_arn,
    max(app_id) AS app_id,
    max(agent_name) AS agent_name,
    min(usage_date) AS first_day,
    max(usage_date) AS last_day,
    count(*) AS days,
    count_if(without_tokens) AS days_without_tokens,
    CAST(sum(unblended_cost) AS DECIMAL(18, 2)) AS unblended_cost,
    CAST(sum(attributed_cost) AS DECIMAL(18, 2)) AS attributed_cost,
    CAST(sum(unblended_cost) - sum(attributed_cost) AS DECIMAL(18, 2)) AS unattributed_cost,
    CAST(sum(no_token_cost) AS DECIMAL(18, 2)) AS unattributed_no_tokens,
    CAST(sum(unblended_cost) - sum(attributed_cost) - CAST(sum(no_token_cost) AS DECIMAL(18, 2)) AS DECIMAL(18, 2))
        AS unattributed_rounding,
    CASE
        WHEN sum(unblended_cost) = 0 THEN CAST(NULL AS DOUBLE)
        ELSE CAST(sum(unblended_cost) - sum(attributed_cost) AS DOUBLE) / CAST(sum(unblended_cost) AS DOUBLE)
    END AS unattributed_share
FROM daily
GROUP BY inference_profile_arn
ORDER BY unattributed_share DESC NULLS LAST, inference_profile_arn
