-- name: compact_audit_partition
-- description: One day of the raw audit zone as curated rows: typed columns and the sink's
--   provenance, one row per event_id, sorted by tenant_id, ts, event_id. Copies are ranked
--   by source first (received_via logs, the authorizer's and BFF's own log groups, before sqs,
--   before unstamped), then the first stored (earliest received_at), whatever their ts; copies
--   still tied by the remaining columns in schema order, smallest first, nulls last. Records
--   without a valid event_id or with a ts that is not an RFC 3339 instant of the day are left
--   out (compaction/audit_partition_rejects reports them). Athena runs it inside UNLOAD ... TO
--   a staging prefix (Parquet, ZSTD); DuckDB inside COPY ... TO a staging file. Nested
--   subqueries, no WITH: the statement is wrapped in UNLOAD as is.
-- table: audit_raw
-- panel: (none)
-- parameters:
--   dt: date   -- the partition to compact (YYYY-MM-DD, UTC day of the record's own ts)
SELECT
    schema_version, event_id, ts, record_type, event_type, outcome, reason, service, app_id, tenant_id,
    principal_id, principal_type, session_id, correlation_id, route, status, latency_ms, agent_name,
    inference_profile_arn, input_tokens, output_tokens, cold_start, function_request_id,
    received_from, received_via, received_at
FROM (
    SELECT
        typed.*,
        row_number() OVER (
            PARTITION BY event_id
            ORDER BY
                source_rank ASC, received_at ASC NULLS LAST, schema_version ASC NULLS LAST, ts ASC NULLS LAST,
                record_type ASC NULLS LAST, event_type ASC NULLS LAST, outcome ASC NULLS LAST,
                reason ASC NULLS LAST, service ASC NULLS LAST, app_id ASC NULLS LAST, tenant_id ASC NULLS LAST,
                principal_id ASC NULLS LAST, principal_type ASC NULLS LAST, session_id ASC NULLS LAST,
                correlation_id ASC NULLS LAST, route ASC NULLS LAST, status ASC NULLS LAST,
                latency_ms ASC NULLS LAST, agent_name ASC NULLS LAST, inference_profile_arn ASC NULLS LAST,
                input_tokens ASC NULLS LAST, output_tokens ASC NULLS LAST, cold_start ASC NULLS LAST,
                function_request_id ASC NULLS LAST
        ) AS copy_rank
    FROM (
        SELECT
            parsed.*,
            CASE
                WHEN event_id IS NULL THEN 'event_id: missing'
                WHEN NOT regexp_like(event_id, '^[0-9a-f]{32}$') THEN 'event_id: not 32 lower-case hex digits'
                WHEN ts_text IS NULL THEN 'ts: missing'
                WHEN ts IS NULL OR NOT regexp_like(ts_text, '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$')
                    THEN 'ts: not an RFC 3339 instant'
                WHEN CAST(CAST(ts AS DATE) AS VARCHAR) <> partition_dt THEN 'ts: outside the partition day'
            END AS problem
        FROM (
            SELECT
                CAST(schema_version AS VARCHAR) AS schema_version,
                CAST(event_id AS VARCHAR) AS event_id,
                CAST(try(from_iso8601_timestamp(ts)) AT TIME ZONE 'UTC' AS TIMESTAMP) AS ts,
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
                CAST(function_request_id AS VARCHAR) AS function_request_id,
                CAST(received_from AS VARCHAR) AS received_from,
                CAST(received_via AS VARCHAR) AS received_via,
                CAST(try(from_iso8601_timestamp(received_at)) AT TIME ZONE 'UTC' AS TIMESTAMP) AS received_at,
                CASE received_via WHEN 'logs' THEN 0 WHEN 'sqs' THEN 1 ELSE 2 END AS source_rank,
                CAST(ts AS VARCHAR) AS ts_text,
                CAST(dt AS VARCHAR) AS partition_dt
            FROM audit_raw
            WHERE dt = ?
        ) AS parsed
    ) AS typed
    WHERE problem IS NULL
) AS ranked
WHERE copy_rank = 1
ORDER BY tenant_id ASC NULLS LAST, ts ASC NULLS LAST, event_id ASC
