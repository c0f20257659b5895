-- Database health with each snapshot (issue 14): pg_stat_database per database and the
-- connections of pg_stat_activity by state against max_connections.

CREATE TABLE pg_database_stat (
    snapshot_id BIGINT NOT NULL,
    datname VARCHAR NOT NULL,
    xact_commit BIGINT,
    xact_rollback BIGINT,
    blks_read BIGINT,
    blks_hit BIGINT,
    temp_files BIGINT,
    temp_bytes BIGINT,
    deadlocks BIGINT,
    stats_reset TIMESTAMP
);

CREATE TABLE pg_connection (
    snapshot_id BIGINT NOT NULL,
    -- pg_stat_activity.state of client backends: active, idle, idle in transaction, ...
    state VARCHAR NOT NULL,
    count BIGINT NOT NULL,
    max_connections BIGINT
);

-- Per-interval database activity between a snapshot and the previous one of its server (and
-- database). After a reset (stats_reset moved, or a counter went down: a restart or
-- pg_stat_reset()) the interval is what the counters hold now: never a negative delta.
CREATE VIEW pg_database_delta AS
WITH j AS (
    SELECT q.server, q.id AS snapshot_id, q.prev_id, q.prev_taken_at, q.taken_at, q.run_id, c.datname,
           c.xact_commit, c.xact_rollback, c.blks_read, c.blks_hit, c.temp_files, c.temp_bytes, c.deadlocks,
           p.xact_commit AS p_commit, p.xact_rollback AS p_rollback, p.blks_read AS p_read, p.blks_hit AS p_hit,
           p.temp_files AS p_temp_files, p.temp_bytes AS p_temp_bytes, p.deadlocks AS p_deadlocks,
           (p.datname IS NULL
            OR c.stats_reset IS DISTINCT FROM p.stats_reset
            OR c.xact_commit < p.xact_commit OR c.xact_rollback < p.xact_rollback
            OR c.blks_read < p.blks_read OR c.blks_hit < p.blks_hit
            OR c.temp_files < p.temp_files OR c.temp_bytes < p.temp_bytes OR c.deadlocks < p.deadlocks) AS reset
    FROM pg_snapshot_seq q
    JOIN pg_database_stat c ON c.snapshot_id = q.id
    LEFT JOIN pg_database_stat p ON p.snapshot_id = q.prev_id AND p.datname = c.datname
    WHERE q.prev_id IS NOT NULL
), d AS (
    SELECT server, snapshot_id, prev_id, prev_taken_at, taken_at, run_id, datname, reset,
        CASE WHEN reset THEN xact_commit ELSE xact_commit - p_commit END AS commits,
        CASE WHEN reset THEN xact_rollback ELSE xact_rollback - p_rollback END AS rollbacks,
        CASE WHEN reset THEN blks_read ELSE blks_read - p_read END AS blks_read,
        CASE WHEN reset THEN blks_hit ELSE blks_hit - p_hit END AS blks_hit,
        CASE WHEN reset THEN temp_files ELSE temp_files - p_temp_files END AS temp_files,
        CASE WHEN reset THEN temp_bytes ELSE temp_bytes - p_temp_bytes END AS temp_bytes,
        CASE WHEN reset THEN deadlocks ELSE deadlocks - p_deadlocks END AS deadlocks
    FROM j
)
SELECT server, snapshot_id, prev_id AS prev_snapshot_id, prev_taken_at AS interval_start,
       taken_at AS interval_end, run_id, datname, reset,
       commits, rollbacks, blks_read, blks_hit, temp_files, temp_bytes, deadlocks
FROM d;

-- The health figures of a run: the intervals ending at the run's snapshots (database-wide
-- sums over the server's databases, target = the server) and the connections at that moment.
CREATE VIEW pg_health_metric AS
SELECT run_id, server AS target, m.metric, m.value, m.unit
FROM (
    SELECT run_id, server,
           sum(blks_hit)::DOUBLE / nullif(sum(blks_hit) + sum(blks_read), 0) AS hit,
           sum(rollbacks)::DOUBLE / nullif(sum(commits) + sum(rollbacks), 0) AS rb,
           sum(deadlocks)::DOUBLE AS dl, sum(temp_bytes)::DOUBLE AS tb,
           sum(commits + rollbacks)::DOUBLE / nullif(epoch(max(interval_end)) - epoch(min(interval_start)), 0) AS tps
    FROM pg_database_delta WHERE run_id IS NOT NULL GROUP BY run_id, server
) h,
LATERAL (VALUES ('db_cache_hit_ratio', hit, 'ratio'),
                ('db_rollback_ratio', rb, 'ratio'),
                ('db_deadlocks', dl, 'count'),
                ('db_temp_bytes', tb, 'bytes'),
                ('db_transactions_per_s', tps, 'tx/s')) AS m(metric, value, unit)
WHERE m.value IS NOT NULL
UNION ALL
SELECT s.run_id, s.server, m.metric, m.value, m.unit
FROM (
    SELECT snapshot_id, sum(count)::DOUBLE AS used,
           sum(count) FILTER (WHERE state <> 'idle')::DOUBLE AS busy, max(max_connections)::DOUBLE AS max_conn
    FROM pg_connection GROUP BY snapshot_id
) c JOIN pg_snapshot s ON s.id = c.snapshot_id,
LATERAL (VALUES ('db_connections', c.used, 'connections'),
                ('db_connections_busy', c.busy, 'connections'),
                ('db_pool_utilisation', c.used / nullif(c.max_conn, 0), 'ratio')) AS m(metric, value, unit)
WHERE s.run_id IS NOT NULL AND m.value IS NOT NULL;

CREATE OR REPLACE VIEW metrics AS
SELECT run_id, target, metric, value, unit FROM measurement
UNION ALL
SELECT run_id, query, m.metric, m.value, m.unit
FROM pg_statement_delta,
     LATERAL (VALUES ('calls', calls::DOUBLE, 'count'),
                     ('total_exec_time_ms', total_exec_time_ms, 'ms'),
                     ('mean_exec_time_ms', mean_exec_time_ms, 'ms'),
                     ('rows', rows::DOUBLE, 'count'),
                     ('cache_hit_ratio', cache_hit_ratio, 'ratio')) AS m(metric, value, unit)
WHERE run_id IS NOT NULL AND m.value IS NOT NULL
UNION ALL
SELECT run_id, target, metric, value, unit FROM pg_health_metric;
