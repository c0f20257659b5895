-- Every pg_stat_statements column the server has (issue 14): the execution time's standard
-- deviation typed (with calls and the total it gives the sum of squares:
-- Q = calls * stddev^2 + total^2 / calls, pg_stat_statements' stddev being the population's),
-- the other columns (planning, WAL, temp, JIT, ...) as a JSON object. The delta view gains each
-- interval's own stddev from two snapshots' sums of squares.

ALTER TABLE pg_statement ADD COLUMN stddev_exec_time_ms DOUBLE;
ALTER TABLE pg_statement ADD COLUMN extra VARCHAR;

CREATE OR REPLACE VIEW pg_statement_delta AS
WITH j AS (
    SELECT q.server, q.id AS snapshot_id, q.prev_id, q.taken_at, q.prev_taken_at, q.run_id,
           r.reset, c.queryid, c.userid, c.dbid, c.toplevel, c.query,
           c.calls, c.total_exec_time_ms, c.rows, c.shared_blks_hit, c.shared_blks_read,
           c.calls * c.stddev_exec_time_ms ^ 2 + c.total_exec_time_ms ^ 2 / nullif(c.calls, 0) AS sumsq,
           p.calls * p.stddev_exec_time_ms ^ 2 + p.total_exec_time_ms ^ 2 / nullif(p.calls, 0) AS p_sumsq,
           p.calls AS p_calls, p.total_exec_time_ms AS p_total, p.rows AS p_rows,
           p.shared_blks_hit AS p_hit, p.shared_blks_read AS p_read,
           (r.reset OR p.calls IS NULL OR c.calls < p.calls OR c.total_exec_time_ms < p.total_exec_time_ms) AS fresh
    FROM pg_snapshot_seq q
    JOIN pg_snapshot_reset r ON r.snapshot_id = q.id
    JOIN pg_statement c ON c.snapshot_id = q.id
    LEFT JOIN pg_statement p ON p.snapshot_id = q.prev_id AND p.queryid = c.queryid
         AND p.userid = c.userid AND p.dbid = c.dbid AND p.toplevel IS NOT DISTINCT FROM c.toplevel
), d AS (
    SELECT *,
        CASE WHEN prev_id IS NULL THEN NULL WHEN fresh THEN calls ELSE calls - p_calls END AS d_calls,
        CASE WHEN prev_id IS NULL THEN NULL WHEN fresh THEN total_exec_time_ms ELSE total_exec_time_ms - p_total END AS d_total,
        CASE WHEN prev_id IS NULL THEN NULL WHEN fresh THEN rows ELSE rows - p_rows END AS d_rows,
        CASE WHEN prev_id IS NULL THEN NULL WHEN fresh THEN shared_blks_hit ELSE shared_blks_hit - p_hit END AS d_hit,
        CASE WHEN prev_id IS NULL THEN NULL WHEN fresh THEN shared_blks_read ELSE shared_blks_read - p_read END AS d_read,
        CASE WHEN prev_id IS NULL THEN NULL WHEN fresh THEN sumsq ELSE sumsq - p_sumsq END AS d_sumsq
    FROM j
)
SELECT server, snapshot_id, prev_id AS prev_snapshot_id, prev_taken_at AS interval_start, taken_at AS interval_end,
       run_id, reset, queryid, userid, dbid, toplevel, query,
       d_calls AS calls, d_total AS total_exec_time_ms, d_rows AS rows,
       d_hit AS shared_blks_hit, d_read AS shared_blks_read,
       CASE WHEN d_calls > 0 THEN d_total / d_calls END AS mean_exec_time_ms,
       CASE WHEN d_hit + d_read > 0 THEN d_hit::DOUBLE / (d_hit + d_read) END AS cache_hit_ratio,
       -- the interval's own population stddev: (sum of squares / n - mean^2), never below 0
       CASE WHEN d_calls > 0 THEN sqrt(greatest(d_sumsq / d_calls - (d_total / d_calls) ^ 2, 0)) END AS stddev_exec_time_ms
FROM d;

CREATE OR REPLACE VIEW statement_metric AS
SELECT run_id, query AS target, m.metric, m.value, m.unit
FROM pg_statement_delta,
     LATERAL (VALUES ('calls', calls::DOUBLE, 'count'),
                     ('total_exec_time_ms', total_exec_time_ms, 'ms'),
                     ('mean_exec_time_ms', mean_exec_time_ms, 'ms'),
                     ('stddev_exec_time_ms', stddev_exec_time_ms, 'ms'),
                     ('rows', rows::DOUBLE, 'count'),
                     ('cache_hit_ratio', cache_hit_ratio, 'ratio')) AS m(metric, value, unit)
WHERE run_id IS NOT NULL AND m.value IS NOT NULL;
