-- perfledger warehouse, schema version 1: runs, targets, measurements, histograms,
-- time series, errors, thresholds and pg_stat_statements snapshots.
-- Every number a tool reported is one row of `measurement` (long format); what a tool
-- did not report has no row, so it reads as NULL in the wide views.

CREATE SEQUENCE run_id_seq START 1;

CREATE TABLE run (
    id              BIGINT PRIMARY KEY DEFAULT nextval('run_id_seq'),
    tool            VARCHAR NOT NULL,          -- locust, k6, wrk, ab, pgbench, artillery, series
    tool_version    VARCHAR,
    format          VARCHAR NOT NULL,          -- importer that read it, e.g. k6-summary-export
    scenario        VARCHAR,
    started_at      TIMESTAMP,
    ended_at        TIMESTAMP,
    duration_s      DOUBLE,
    url             VARCHAR,
    -- load profile: what the tool was asked to do (NULL when the output does not say)
    users           BIGINT,                    -- Locust users, k6 max VUs
    spawn_rate      DOUBLE,
    threads         BIGINT,                    -- wrk -t, pgbench -j
    connections     BIGINT,                    -- wrk -c, ab -c, pgbench -c
    requests_planned BIGINT,                   -- ab -n, pgbench -t x clients
    target_rate     DOUBLE,                    -- arrival rate per second
    content_key     VARCHAR NOT NULL UNIQUE,   -- sha256 over the source files: re-import is a no-op
    imported_at     TIMESTAMP NOT NULL
);

CREATE TABLE run_label (
    run_id  BIGINT NOT NULL,
    key     VARCHAR NOT NULL,
    value   VARCHAR NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE source_file (
    run_id  BIGINT NOT NULL,
    path    VARCHAR NOT NULL,
    role    VARCHAR NOT NULL,                  -- stats, history, failures, points, ...
    sha256  VARCHAR NOT NULL,
    bytes   BIGINT NOT NULL
);

-- One row per endpoint / request name / k6 tag set / SQL statement of a run.
-- Every run has a target 'TOTAL' holding the run-wide figures.
CREATE TABLE target (
    run_id  BIGINT NOT NULL,
    target  VARCHAR NOT NULL,
    kind    VARCHAR NOT NULL,                  -- http, transaction, metric, total
    method  VARCHAR,
    url     VARCHAR,
    tags    VARCHAR,                           -- JSON object of k6 tags
    PRIMARY KEY (run_id, target)
);

CREATE TABLE measurement (
    run_id  BIGINT NOT NULL,
    target  VARCHAR NOT NULL,
    metric  VARCHAR NOT NULL,                  -- stable names: see README "Metric names"
    value   DOUBLE NOT NULL,
    unit    VARCHAR NOT NULL
);

-- HdrHistogram (V2 serialization, microseconds, 2 significant digits = <= 1% relative error)
CREATE TABLE histogram (
    run_id  BIGINT NOT NULL,
    target  VARCHAR NOT NULL,
    count   BIGINT NOT NULL,
    hdr     BLOB NOT NULL,
    PRIMARY KEY (run_id, target)
);

CREATE TABLE series_point (
    run_id  BIGINT NOT NULL,
    target  VARCHAR NOT NULL,
    ts      TIMESTAMP NOT NULL,
    metric  VARCHAR NOT NULL,
    value   DOUBLE NOT NULL
);

CREATE TABLE error (
    run_id  BIGINT NOT NULL,
    target  VARCHAR NOT NULL,
    kind    VARCHAR NOT NULL,                  -- failure, exception, status, check, socket, ab
    message VARCHAR NOT NULL,
    count   BIGINT NOT NULL
);

CREATE TABLE threshold (
    run_id     BIGINT NOT NULL,
    metric     VARCHAR NOT NULL,
    expression VARCHAR NOT NULL,
    passed     BOOLEAN NOT NULL
);

CREATE SEQUENCE pg_snapshot_id_seq START 1;

CREATE TABLE pg_snapshot (
    id          BIGINT PRIMARY KEY DEFAULT nextval('pg_snapshot_id_seq'),
    server      VARCHAR NOT NULL,
    taken_at    TIMESTAMP NOT NULL,
    stats_reset TIMESTAMP,                     -- pg_stat_statements_info.stats_reset (live snapshots)
    run_id      BIGINT,
    source      VARCHAR NOT NULL,
    content_key VARCHAR NOT NULL UNIQUE,
    imported_at TIMESTAMP NOT NULL
);

CREATE TABLE pg_statement (
    snapshot_id      BIGINT NOT NULL,
    queryid          VARCHAR NOT NULL,
    userid           VARCHAR NOT NULL,
    dbid             VARCHAR NOT NULL,
    toplevel         BOOLEAN,
    query            VARCHAR NOT NULL,
    calls            BIGINT NOT NULL,
    total_exec_time_ms DOUBLE NOT NULL,
    rows             BIGINT,
    shared_blks_hit  BIGINT,
    shared_blks_read BIGINT
);

-- The previous snapshot of the same server, for every snapshot.
CREATE VIEW pg_snapshot_seq AS
SELECT id, server, taken_at, stats_reset, run_id,
       LAG(id)          OVER w AS prev_id,
       LAG(taken_at)    OVER w AS prev_taken_at,
       LAG(stats_reset) OVER w AS prev_stats_reset
FROM pg_snapshot
WINDOW w AS (PARTITION BY server ORDER BY taken_at, id);

-- A snapshot follows a reset when its stats_reset time moved, or when at least half of the
-- statements it shares with the previous snapshot have fewer calls than before.
CREATE VIEW pg_snapshot_reset AS
SELECT q.id AS snapshot_id,
       count(p.queryid) AS common,
       count(p.queryid) FILTER (WHERE c.calls < p.calls OR c.total_exec_time_ms < p.total_exec_time_ms) AS decreased,
       (q.stats_reset IS NOT NULL AND q.prev_stats_reset IS NOT NULL AND q.stats_reset <> q.prev_stats_reset)
         OR (count(p.queryid) > 0 AND 2 * count(p.queryid) FILTER (WHERE c.calls < p.calls OR c.total_exec_time_ms < p.total_exec_time_ms) >= count(p.queryid))
         AS reset
FROM pg_snapshot_seq q
LEFT JOIN pg_statement c ON c.snapshot_id = q.id
LEFT JOIN pg_statement p ON p.snapshot_id = q.prev_id AND p.queryid = c.queryid
     AND p.userid = c.userid AND p.dbid = c.dbid AND p.toplevel IS NOT DISTINCT FROM c.toplevel
GROUP BY q.id, q.stats_reset, q.prev_stats_reset;

-- Per-interval activity of each statement between a snapshot and the previous one of its
-- server. After a reset (or for a statement new since the previous snapshot, or one whose own
-- counters went down) the interval is what the counters hold now: never a negative delta.
-- The first snapshot of a server has no interval: its deltas are NULL.
CREATE VIEW pg_statement_delta AS
WITH j AS (
    SELECT q.server, q.id AS snapshot_id, q.prev_id, q.taken_at, q.prev_taken_at, q.run_id,
           r.reset, c.queryid, c.userid, c.dbid, c.toplevel, c.query,
           c.calls, c.total_exec_time_ms, c.rows, c.shared_blks_hit, c.shared_blks_read,
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
        CASE WHEN prev_id IS NULL THEN NULL WHEN fresh THEN shared_blks_read ELSE shared_blks_read - p_read END AS d_read
    FROM j
)
SELECT server, snapshot_id, prev_id AS prev_snapshot_id, prev_taken_at AS interval_start, taken_at AS interval_end,
       run_id, reset, queryid, userid, dbid, toplevel, query,
       d_calls AS calls, d_total AS total_exec_time_ms, d_rows AS rows,
       d_hit AS shared_blks_hit, d_read AS shared_blks_read,
       CASE WHEN d_calls > 0 THEN d_total / d_calls END AS mean_exec_time_ms,
       CASE WHEN d_hit + d_read > 0 THEN d_hit::DOUBLE / (d_hit + d_read) END AS cache_hit_ratio
FROM d;

-- Every number addressable by a stable name. Statements attached to a run contribute the
-- interval that ends at that run's snapshot, under target = the normalised query text.
CREATE VIEW metrics AS
SELECT run_id, target, metric, value, unit FROM measurement
UNION ALL
SELECT run_id, query, m.metric, m.value, m.unit
FROM pg_statement_delta,
     LATERAL (VALUES ('calls', calls::DOUBLE, 'count'),
                     ('total_exec_time_ms', total_exec_time_ms, 'ms'),
                     ('mean_exec_time_ms', mean_exec_time_ms, 'ms'),
                     ('rows', rows::DOUBLE, 'count'),
                     ('cache_hit_ratio', cache_hit_ratio, 'ratio')) AS m(metric, value, unit)
WHERE run_id IS NOT NULL AND m.value IS NOT NULL;
