-- System resources of the host(s) under test during a run (issue 14): per-step series from
-- Prometheus (`import prometheus --url`, or a saved query_range answer), bound to a run,
-- and their run summaries (mean, p95, max), computed on import.

CREATE SEQUENCE resource_capture_id_seq START 1;

CREATE TABLE resource_capture (
    id          BIGINT PRIMARY KEY DEFAULT nextval('resource_capture_id_seq'),
    source      VARCHAR NOT NULL,          -- the Prometheus URL, or the file read
    started_at  TIMESTAMP NOT NULL,
    ended_at    TIMESTAMP NOT NULL,
    step_s      DOUBLE NOT NULL,
    run_id      BIGINT,
    content_key VARCHAR NOT NULL UNIQUE,
    imported_at TIMESTAMP NOT NULL
);

-- The queries a capture ran (provenance: every number can be asked again).
CREATE TABLE resource_query (
    capture_id BIGINT NOT NULL,
    metric     VARCHAR NOT NULL,
    unit       VARCHAR NOT NULL,
    query      VARCHAR NOT NULL
);

CREATE TABLE resource_point (
    capture_id BIGINT NOT NULL,
    target     VARCHAR NOT NULL,           -- instance, and the labels that tell series apart
    metric     VARCHAR NOT NULL,
    ts         TIMESTAMP NOT NULL,
    value      DOUBLE NOT NULL
);

-- <metric> (mean over the window), <metric>_p95 and <metric>_max, per target.
CREATE TABLE resource_summary (
    capture_id BIGINT NOT NULL,
    target     VARCHAR NOT NULL,
    metric     VARCHAR NOT NULL,
    value      DOUBLE NOT NULL,
    unit       VARCHAR NOT NULL
);

CREATE VIEW resource_metric AS
SELECT c.run_id, s.target, s.metric, s.value, s.unit
FROM resource_summary s JOIN resource_capture c ON c.id = s.capture_id
WHERE c.run_id IS NOT NULL;

-- The statements' per-interval figures as metric rows (they were written into `metrics` itself
-- by 007): a view of their own, so that a later schema that adds one redefines this view only.
CREATE VIEW statement_metric AS
SELECT run_id, query AS target, m.metric, m.value, m.unit
FROM pg_statement_delta,
     LATERAL (VALUES ('calls', calls::DOUBLE, 'count'),
                     ('total_exec_time_ms', total_exec_time_ms, 'ms'),
                     ('mean_exec_time_ms', mean_exec_time_ms, 'ms'),
                     ('rows', rows::DOUBLE, 'count'),
                     ('cache_hit_ratio', cache_hit_ratio, 'ratio')) AS m(metric, value, unit)
WHERE run_id IS NOT NULL AND m.value IS NOT NULL;

-- Every metric of every run: one view per source.
CREATE OR REPLACE VIEW metrics AS
SELECT run_id, target, metric, value, unit FROM measurement
UNION ALL
SELECT run_id, target, metric, value, unit FROM statement_metric
UNION ALL
SELECT run_id, target, metric, value, unit FROM pg_health_metric
UNION ALL
SELECT run_id, target, metric, value, unit FROM resource_metric;
