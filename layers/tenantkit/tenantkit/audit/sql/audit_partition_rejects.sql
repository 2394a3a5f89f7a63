-- name: audit_partition_rejects
-- description: What compaction of one day leaves out, for the quarantine: records that cannot
--   be converted (problem names the field and why: the same field checks as
--   compact_audit_partition, over the raw fields read as text) and every copy of an event_id
--   whose copies differ in content (copy_rank 1 is the one compact_audit_partition keeps, same ranking;
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
                function_request_id ASC NULLS LAST, received_from ASC NULLS LAST
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
                    schema_version, event_id, ts_instant AS ts, record_type, event_type, outcome, reason, service, app_id,
                    tenant_id, principal_id, principal_type, session_id, correlation_id, route,
                    TRY_CAST(status AS INTEGER) AS status,
                    latency_number AS latency_ms,
                    agent_name, inference_profile_arn,
                    TRY_CAST(input_tokens AS BIGINT) AS input_tokens,
                    TRY_CAST(output_tokens AS BIGINT) AS output_tokens,
                    TRY_CAST(cold_start AS BOOLEAN) AS cold_start,
                    function_request_id, received_from, received_via, received_instant AS received_at,
                    CASE received_via WHEN 'logs' THEN 0 WHEN 'sqs' THEN 1 ELSE 2 END AS source_rank,
                    ts AS ts_text, problem
                FROM (
                    SELECT
                        parsed.*,
                        CASE
                            -- the reader gives a line that is not a JSON object (malformed, an array, a scalar) all nulls;
                            -- an object of record fields lacking event_id is 'event_id: missing' below
                            WHEN schema_version IS NULL AND event_id IS NULL AND ts IS NULL
                                AND record_type IS NULL AND event_type IS NULL AND outcome IS NULL
                                AND reason IS NULL AND service IS NULL AND app_id IS NULL
                                AND tenant_id IS NULL AND principal_id IS NULL AND principal_type IS NULL
                                AND session_id IS NULL AND correlation_id IS NULL AND route IS NULL
                                AND status IS NULL AND latency_ms IS NULL AND agent_name IS NULL
                                AND inference_profile_arn IS NULL AND input_tokens IS NULL
                                AND output_tokens IS NULL AND cold_start IS NULL
                                AND function_request_id IS NULL AND received_from IS NULL
                                AND received_via IS NULL AND received_at IS NULL
                                THEN 'line: not a JSON object of the record'
                            WHEN event_id IS NULL THEN 'event_id: missing'
                            WHEN NOT regexp_like(event_id, '\A[0-9a-f]{32}\z') THEN 'event_id: not 32 lower-case hex digits'
                            WHEN ts IS NULL THEN 'ts: missing'
                            WHEN ts_instant IS NULL OR NOT regexp_like(ts, '\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})\z')
                                THEN 'ts: not an RFC 3339 instant'
                            WHEN CAST(CAST(ts_instant AS DATE) AS VARCHAR) <> partition_dt THEN 'ts: outside the partition day'
                            WHEN schema_version IS NULL THEN 'schema_version: missing'
                            WHEN schema_version <> '1' THEN 'schema_version: not 1'
                            WHEN record_type IS NULL THEN 'record_type: missing'
                            WHEN record_type <> 'audit' THEN 'record_type: not audit'
                            WHEN event_type IS NULL THEN 'event_type: missing'
                            WHEN event_type NOT IN (
                                'authz.allow', 'authz.deny', 'authz.unauthorized', 'session.bound', 'session.continued',
                                'session.rejected', 'session.expired', 'session.deleted', 'tenant.spoof_rejected', 'abac.deny',
                                'request.rejected', 'request.completed', 'upstream.error', 'tenant.onboarded', 'tenant.suspended',
                                'tenant.resumed', 'tenant.offboarded', 'app.registered', 'app.disabled', 'app.enabled'
                            ) THEN 'event_type: not an audit event type'
                            WHEN outcome IS NULL THEN 'outcome: missing'
                            WHEN outcome NOT IN ('allow', 'deny', 'unauthorized', 'rejected', 'success', 'error')
                                THEN 'outcome: not an audit outcome'
                            WHEN reason IS NULL THEN 'reason: missing'
                            WHEN NOT regexp_like(reason, '\A[a-z][a-z0-9_.]{0,127}\z') THEN 'reason: not a snake_case reason code'
                            WHEN length(service) > 128 THEN 'service: longer than 128 characters'
                            WHEN service LIKE '{%}' OR service LIKE '[%]' THEN 'service: an object or array, not text'
                            WHEN NOT regexp_like(app_id, '\A[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}\z') THEN 'app_id: not an identifier'
                            WHEN NOT regexp_like(tenant_id, '\A[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}\z') THEN 'tenant_id: not an identifier'
                            WHEN NOT regexp_like(principal_id, '\A[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}\z')
                                THEN 'principal_id: not an identifier'
                            WHEN principal_type NOT IN ('user', 'service') THEN 'principal_type: not user or service'
                            WHEN NOT regexp_like(session_id, '\A[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}\z') THEN 'session_id: not an identifier'
                            WHEN NOT regexp_like(correlation_id, '\A[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}\z')
                                THEN 'correlation_id: not an identifier'
                            WHEN length(route) > 300 THEN 'route: longer than 300 characters'
                            WHEN route LIKE '{%}' OR route LIKE '[%]' THEN 'route: an object or array, not text'
                            WHEN NOT regexp_like(status, '\A[1-5][0-9]{2}\z') THEN 'status: not an integer from 100 to 599'
                            WHEN latency_number IS NULL AND latency_ms IS NOT NULL OR NOT latency_number BETWEEN 0 AND 1.0E300
                                OR NOT regexp_like(latency_ms, '\A-?[0-9]{1,40}([.][0-9]{1,40})?([eE][+-]?[0-9]{1,3})?\z')
                                THEN 'latency_ms: not a number from 0'
                            WHEN length(agent_name) > 128 THEN 'agent_name: longer than 128 characters'
                            WHEN agent_name LIKE '{%}' OR agent_name LIKE '[%]' THEN 'agent_name: an object or array, not text'
                            WHEN length(inference_profile_arn) > 2048 THEN 'inference_profile_arn: longer than 2048 characters'
                            WHEN inference_profile_arn LIKE '{%}' OR inference_profile_arn LIKE '[%]'
                                THEN 'inference_profile_arn: an object or array, not text'
                            WHEN NOT regexp_like(input_tokens, '\A[0-9]{1,18}\z') THEN 'input_tokens: not an integer from 0'
                            WHEN NOT regexp_like(output_tokens, '\A[0-9]{1,18}\z') THEN 'output_tokens: not an integer from 0'
                            WHEN cold_start NOT IN ('true', 'false') THEN 'cold_start: not true or false'
                            WHEN length(function_request_id) > 128 THEN 'function_request_id: longer than 128 characters'
                            WHEN function_request_id LIKE '{%}' OR function_request_id LIKE '[%]'
                                THEN 'function_request_id: an object or array, not text'
                            WHEN length(received_from) > 2048 THEN 'received_from: longer than 2048 characters'
                            WHEN received_from LIKE '{%}' OR received_from LIKE '[%]' THEN 'received_from: an object or array, not text'
                            WHEN received_via NOT IN ('logs', 'sqs') THEN 'received_via: not logs or sqs'
                            WHEN received_instant IS NULL AND received_at IS NOT NULL OR length(received_at) > 64
                                THEN 'received_at: not an RFC 3339 instant'
                        END AS problem
                    FROM (
                        SELECT
                            CAST(schema_version AS VARCHAR) AS schema_version,
                            CAST(event_id AS VARCHAR) AS event_id,
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
                            CAST(function_request_id AS VARCHAR) AS function_request_id,
                            CAST(received_from AS VARCHAR) AS received_from,
                            CAST(received_via AS VARCHAR) AS received_via,
                            CAST(received_at AS VARCHAR) AS received_at,
                            CAST(try(from_iso8601_timestamp(ts)) AT TIME ZONE 'UTC' AS TIMESTAMP) AS ts_instant,
                            CAST(try(from_iso8601_timestamp(received_at)) AT TIME ZONE 'UTC' AS TIMESTAMP) AS received_instant,
                            TRY_CAST(latency_ms AS DOUBLE) AS latency_number,
                            CAST(dt AS VARCHAR) AS partition_dt
                        FROM audit_raw
                        WHERE dt = ?
                    ) AS parsed
                ) AS checked
            ) AS typed
        ) AS counted
        WHERE problem IS NOT NULL OR copies > 1
    ) AS fingerprinted
) AS ranked
WHERE problem IS NOT NULL OR lowest_fingerprint <> highest_fingerprint
ORDER BY event_id ASC NULLS FIRST, problem ASC NULLS FIRST, copy_rank ASC
