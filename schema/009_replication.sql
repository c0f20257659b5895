-- Streaming replication with each live snapshot of a primary (issue 14): pg_stat_replication's
-- standbys, their write/flush/replay lags and the WAL bytes they have yet to replay.

CREATE TABLE pg_replication (
    snapshot_id BIGINT NOT NULL,
    application_name VARCHAR NOT NULL,
    client_addr VARCHAR,
    state VARCHAR,                 -- NULL without pg_read_all_stats
    sync_state VARCHAR,
    write_lag_ms DOUBLE,           -- NULL once caught up with no new WAL (PostgreSQL's rule)
    flush_lag_ms DOUBLE,
    replay_lag_ms DOUBLE,
    lag_bytes BIGINT               -- sent_lsn - replay_lsn
);

-- The health figures of 007 (now `pg_database_metric`), and per live snapshot of a run (one
-- with pg_stat_database rows): db_replicas (the standbys streaming, 0 when none),
-- db_replication_lag_ms (the largest replay lag; 0 for a standby with nothing left to replay)
-- and db_replication_lag_bytes. Views are bound by name when read: `metrics` reads this one.
ALTER VIEW pg_health_metric RENAME TO pg_database_metric;

CREATE VIEW pg_health_metric AS
SELECT run_id, target, metric, value, unit FROM pg_database_metric
UNION ALL
SELECT s.run_id, s.server, m.metric, m.value, m.unit
FROM (
    SELECT d.snapshot_id, count(r.snapshot_id)::DOUBLE AS n,
           max(coalesce(r.replay_lag_ms, CASE WHEN r.lag_bytes = 0 THEN 0.0 END)) AS lag_ms,
           max(r.lag_bytes)::DOUBLE AS lag_bytes
    FROM (SELECT DISTINCT snapshot_id FROM pg_database_stat) d
    LEFT JOIN pg_replication r ON r.snapshot_id = d.snapshot_id
    GROUP BY d.snapshot_id
) x JOIN pg_snapshot s ON s.id = x.snapshot_id,
LATERAL (VALUES ('db_replicas', x.n, 'replicas'),
                ('db_replication_lag_ms', x.lag_ms, 'ms'),
                ('db_replication_lag_bytes', x.lag_bytes, 'bytes')) AS m(metric, value, unit)
WHERE s.run_id IS NOT NULL AND m.value IS NOT NULL;
