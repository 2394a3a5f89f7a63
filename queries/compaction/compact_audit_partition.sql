-- name: compact_audit_partition
-- description: One day of the raw audit zone as curated rows: typed columns, one row per
--   event_id (the earliest ts wins; copies with equal ts are ranked by the remaining columns
--   in schema order, smallest first, nulls last), sorted by tenant_id, ts, event_id.
--   Athena runs it inside UNLOAD ... TO '<root>/curated/dt=<dt>/' (Parquet, ZSTD); DuckDB
--   inside COPY ... TO '<root>/curated/dt=<dt>/data.parquet'. Nested subqueries, no WITH:
--   the statement is wrapped in UNLOAD as is.
-- table: audit_raw
-- panel: (none)
-- parameters:
--   dt: date   -- the partition to compact (YYYY-MM-DD, UTC day of the record's own ts)
SELECT
    schema_version, event_id, ts, record_type, event_type, outcome, reason, service, app_id, tenant_id,
    principal_id, principal_type, session_id, correlation_id, route, status, latency_ms, agent_name,
    inference_profile_arn, input_tokens, output_tokens, cold_start, function_request_id
FROM (
    SELECT
        typed.*,
        row_number() OVER (
            PARTITION BY event_id
            ORDER BY
                ts ASC NULLS LAST,
                schema_version ASC NULLS LAST, record_type ASC NULLS LAST, event_type ASC NULLS LAST,
                outcome ASC NULLS LAST, reason ASC NULLS LAST, service ASC NULLS LAST, app_id ASC NULLS LAST,
                tenant_id ASC NULLS LAST, principal_id ASC NULLS LAST, principal_type ASC NULLS LAST,
                session_id ASC NULLS LAST, correlation_id ASC NULLS LAST, route ASC NULLS LAST,
                status ASC NULLS LAST, latency_ms ASC NULLS LAST, agent_name ASC NULLS LAST,
                inference_profile_arn ASC NULLS LAST, input_tokens ASC NULLS LAST,
                output_tokens ASC NULLS LAST, cold_start ASC NULLS LAST, function_request_id ASC NULLS LAST
        ) AS copy_rank
    FROM (
        SELECT
            CAST(schema_version AS VARCHAR) AS schema_version,
            CAST(event_id AS VARCHAR) AS event_id,
            CAST(from_iso8601_timestamp(ts) AT TIME ZONE 'UTC' AS TIMESTAMP) AS ts,
            CAST(record_type AS VARCHAR) AS record_type,
            CAST(event_type AS VARCHAR) AS event_type,
            CAST(outcome AS VARCHAR) AS outcome,
            CAST(reason AS VARCHAR) AS reason,
            CAST(service AS VARCHAR) AS service,
            CAST(app_id AS VARCHAR) AS app_id,
            CAST(tenant_id AS VARCHAR) AS tenant_id,
            CAST(principal_id AS VARCHAR) AS principal_id,
            CAST(principal_type AS VARCHAR) AS principal_type,
            CAST(session_id AS VARCHAR) AS session_id,
            CAST(correlation_id AS VARCHAR) AS correlation_id,
            CAST(route AS VARCHAR) AS route,
            CAST(status AS INTEGER) AS status,
            CAST(latency_ms AS DOUBLE) AS latency_ms,
            CAST(agent_name AS VARCHAR) AS agent_name,
            CAST(inference_profile_arn AS VARCHAR) AS inference_profile_arn,
            CAST(input_tokens AS BIGINT) AS input_tokens,
            CAST(output_tokens AS BIGINT) AS output_tokens,
            CAST(cold_start AS BOOLEAN) AS cold_start,
            CAST(function_request_id AS VARCHAR) AS function_request_id
        FROM audit_raw
        WHERE dt = ? AND event_id IS NOT NULL
    ) AS typed
) AS ranked
WHERE copy_rank = 1
ORDER BY tenant_id ASC NULLS LAST, ts ASC NULLS LAST, event_id ASC
