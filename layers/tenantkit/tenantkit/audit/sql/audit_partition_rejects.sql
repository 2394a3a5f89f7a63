-- name: audit_partition_rejects
-- description: What compaction of one day leaves out, for the quarantine: records that cannot
--   be converted (problem says which field and why) and every copy of an event_id whose copies
--   differ in content (copy_rank 1 is the one compact_audit_partition keeps, same ranking;
--   the others are audit.conflict). Identical copies are not listed. fingerprint is the
--   length-prefixed text of the producer's columns: equal fingerprints, equal content. Only
--   event_ids with more than one copy are fingerprinted (a window count first): most have one.
-- table: audit_raw
-- panel: (none)
-- parameters:
--   dt: date   -- the partition (YYYY-MM-DD)
SELECT
    event_id, problem, copy_rank, fingerprint, ts_text, received_from, received_via,
    CAST(received_at AS VARCHAR) AS received_at,
    CAST(schema_version AS VARCHAR) AS schema_version,
    CAST(ts AS VARCHAR) AS ts,
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
    CAST(status AS VARCHAR) AS status,
    CAST(latency_ms AS VARCHAR) AS latency_ms,
    CAST(agent_name AS VARCHAR) AS agent_name,
    CAST(inference_profile_arn AS VARCHAR) AS inference_profile_arn,
    CAST(input_tokens AS VARCHAR) AS input_tokens,
    CAST(output_tokens AS VARCHAR) AS output_tokens,
    CAST(cold_start AS VARCHAR) AS cold_start,
    CAST(function_request_id AS VARCHAR) AS function_request_id
FROM (
    SELECT
        fingerprinted.*,
        row_number() OVER (
            PARTITION BY event_id, problem
            ORDER BY
                source_rank ASC, received_at ASC NULLS LAST, schema_version ASC NULLS LAST, ts ASC NULLS LAST,
                record_type ASC NULLS LAST, event_type ASC NULLS LAST, outcome ASC NULLS LAST,
                reason ASC NULLS LAST, service ASC NULLS LAST, app_id ASC NULLS LAST, tenant_id ASC NULLS LAST,
                principal_id ASC NULLS LAST, principal_type ASC NULLS LAST, session_id ASC NULLS LAST,
                correlation_id ASC NULLS LAST, route ASC NULLS LAST, status ASC NULLS LAST,
                latency_ms ASC NULLS LAST, agent_name ASC NULLS LAST, inference_profile_arn ASC NULLS LAST,
                input_tokens ASC NULLS LAST, output_tokens ASC NULLS LAST, cold_start ASC NULLS LAST,
                function_request_id ASC NULLS LAST
        ) AS copy_rank,
        min(fingerprint) OVER (PARTITION BY event_id, problem) AS lowest_fingerprint,
        max(fingerprint) OVER (PARTITION BY event_id, problem) AS highest_fingerprint
    FROM (
        SELECT
            counted.*,
            concat(
                coalesce(concat(CAST(length(CAST(schema_version AS VARCHAR)) AS VARCHAR), ':', CAST(schema_version AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(ts AS VARCHAR)) AS VARCHAR), ':', CAST(ts AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(record_type AS VARCHAR)) AS VARCHAR), ':', CAST(record_type AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(event_type AS VARCHAR)) AS VARCHAR), ':', CAST(event_type AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(outcome AS VARCHAR)) AS VARCHAR), ':', CAST(outcome AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(reason AS VARCHAR)) AS VARCHAR), ':', CAST(reason AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(service AS VARCHAR)) AS VARCHAR), ':', CAST(service AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(app_id AS VARCHAR)) AS VARCHAR), ':', CAST(app_id AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(tenant_id AS VARCHAR)) AS VARCHAR), ':', CAST(tenant_id AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(principal_id AS VARCHAR)) AS VARCHAR), ':', CAST(principal_id AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(principal_type AS VARCHAR)) AS VARCHAR), ':', CAST(principal_type AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(session_id AS VARCHAR)) AS VARCHAR), ':', CAST(session_id AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(correlation_id AS VARCHAR)) AS VARCHAR), ':', CAST(correlation_id AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(route AS VARCHAR)) AS VARCHAR), ':', CAST(route AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(status AS VARCHAR)) AS VARCHAR), ':', CAST(status AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(latency_ms AS VARCHAR)) AS VARCHAR), ':', CAST(latency_ms AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(agent_name AS VARCHAR)) AS VARCHAR), ':', CAST(agent_name AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(inference_profile_arn AS VARCHAR)) AS VARCHAR), ':', CAST(inference_profile_arn AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(input_tokens AS VARCHAR)) AS VARCHAR), ':', CAST(input_tokens AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(output_tokens AS VARCHAR)) AS VARCHAR), ':', CAST(output_tokens AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(cold_start AS VARCHAR)) AS VARCHAR), ':', CAST(cold_start AS VARCHAR)), '~'),
                coalesce(concat(CAST(length(CAST(function_request_id AS VARCHAR)) AS VARCHAR), ':', CAST(function_request_id AS VARCHAR)), '~')
            ) AS fingerprint
        FROM (
            SELECT typed.*, count(*) OVER (PARTITION BY event_id, problem) AS copies
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
        ) AS counted
        WHERE problem IS NOT NULL OR copies > 1
    ) AS fingerprinted
) AS ranked
WHERE problem IS NOT NULL OR lowest_fingerprint <> highest_fingerprint
ORDER BY event_id ASC NULLS FIRST, problem ASC NULLS FIRST, copy_rank ASC
