-- name: cost_by_app_agent_day
-- description: EXACT Bedrock model cost per application inference profile and UTC day, from
--   CUR 2.0 line items whose resource id is the profile ARN, with the profile's cost tags
--   (app_id, agent_name, env, cost_center, owner as CUR resource_tags user_<key>; null until
--   the tags are activated for cost allocation). One profile belongs to one app/agent, so this
--   is app/agent-level cost as billed. input_cost covers input and prompt-cache
--   (read/write) token usage types, output_cost output tokens, other_cost any other Bedrock
--   usage type. unblended_cost is line_item_unblended_cost; amortized_cost applies Savings
--   Plan / reservation effective cost (the CUR amortized convention). Money columns are
--   rounded to the cent one by one, so the three parts may differ from the total by a cent.
-- table: cur
-- panel: Cost / Model cost per app and agent per day
-- parameters:
--   from_period: string  -- first CUR partition (billing_period, YYYY-MM)
--   to_period: string    -- last CUR partition (billing_period, YYYY-MM)
--   from_day: date       -- first usage day (UTC, line_item_usage_start_date), inclusive
--   to_day: date         -- last usage day (UTC), inclusive
WITH cur_lines AS (
    SELECT
        CAST(line_item_usage_start_date AS DATE) AS usage_date,
        line_item_resource_id AS inference_profile_arn,
        CASE
            WHEN line_item_usage_type LIKE '%output-token%' THEN 'output'
            WHEN line_item_usage_type LIKE '%input-token%' THEN 'input'
            ELSE 'other'
        END AS token_class,
        element_at(resource_tags, 'user_app_id') AS app_id,
        element_at(resource_tags, 'user_agent_name') AS agent_name,
        element_at(resource_tags, 'user_env') AS env,
        element_at(resource_tags, 'user_cost_center') AS cost_center,
        element_at(resource_tags, 'user_owner') AS owner,
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
)
SELECT
    usage_date,
    inference_profile_arn,
    max(app_id) AS app_id,
    max(agent_name) AS agent_name,
    max(env) AS env,
    max(cost_center) AS cost_center,
    max(owner) AS owner,
    CAST(sum(CASE WHEN token_class = 'input' THEN unblended_cost ELSE 0 END) AS DECIMAL(18, 2)) AS input_cost,
    CAST(sum(CASE WHEN token_class = 'output' THEN unblended_cost ELSE 0 END) AS DECIMAL(18, 2)) AS output_cost,
    CAST(sum(CASE WHEN token_class = 'other' THEN unblended_cost ELSE 0 END) AS DECIMAL(18, 2)) AS other_cost,
    CAST(sum(unblended_cost) AS DECIMAL(18, 2)) AS unblended_cost,
    CAST(sum(amortized_cost) AS DECIMAL(18, 2)) AS amortized_cost
FROM cur_lines
GROUP BY usage_date, inference_profile_arn
ORDER BY usage_date, inference_profile_arn
