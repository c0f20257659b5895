-- Long histories stored a row per line, not a row per point (issue 16). A Locust
-- stats_history has ten metrics per endpoint and second: as rows of `series_value` that is
-- four columns per point, and DuckDB's cost of storing a 24-hour history (44 M points) was
-- mostly the compression analysis of run_id, sid and ts, three times over per line. Here a
-- line is one row: column `vN` is the series `sid0 + N` of its run (a NULL: the line lacks
-- that metric). `series_point` keeps its columns and its order: a run's `series_value` points
-- first, then each wide row's cells in column order, which is the order the points were read.
CREATE TABLE series_wide (
    run_id  BIGINT NOT NULL,
    sid0    INTEGER NOT NULL,
    ts      TIMESTAMP NOT NULL,
    v0      DOUBLE,
    v1      DOUBLE,
    v2      DOUBLE,
    v3      DOUBLE,
    v4      DOUBLE,
    v5      DOUBLE,
    v6      DOUBLE,
    v7      DOUBLE,
    v8      DOUBLE,
    v9      DOUBLE,
    v10      DOUBLE,
    v11      DOUBLE
);

CREATE OR REPLACE VIEW series_point AS
SELECT v.run_id, s.target, v.ts, s.metric, v.value, v.rowid AS rowid
FROM series_value v JOIN series s USING (run_id, sid)
UNION ALL
SELECT w.run_id, s.target, w.ts, s.metric, w.value, w.rowid
FROM (
    SELECT run_id, sid0 + 0 AS sid, ts, v0 AS value, (1::BIGINT << 50) + rowid * 16 + 0 AS rowid
    FROM series_wide WHERE v0 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 1 AS sid, ts, v1 AS value, (1::BIGINT << 50) + rowid * 16 + 1 AS rowid
    FROM series_wide WHERE v1 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 2 AS sid, ts, v2 AS value, (1::BIGINT << 50) + rowid * 16 + 2 AS rowid
    FROM series_wide WHERE v2 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 3 AS sid, ts, v3 AS value, (1::BIGINT << 50) + rowid * 16 + 3 AS rowid
    FROM series_wide WHERE v3 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 4 AS sid, ts, v4 AS value, (1::BIGINT << 50) + rowid * 16 + 4 AS rowid
    FROM series_wide WHERE v4 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 5 AS sid, ts, v5 AS value, (1::BIGINT << 50) + rowid * 16 + 5 AS rowid
    FROM series_wide WHERE v5 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 6 AS sid, ts, v6 AS value, (1::BIGINT << 50) + rowid * 16 + 6 AS rowid
    FROM series_wide WHERE v6 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 7 AS sid, ts, v7 AS value, (1::BIGINT << 50) + rowid * 16 + 7 AS rowid
    FROM series_wide WHERE v7 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 8 AS sid, ts, v8 AS value, (1::BIGINT << 50) + rowid * 16 + 8 AS rowid
    FROM series_wide WHERE v8 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 9 AS sid, ts, v9 AS value, (1::BIGINT << 50) + rowid * 16 + 9 AS rowid
    FROM series_wide WHERE v9 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 10 AS sid, ts, v10 AS value, (1::BIGINT << 50) + rowid * 16 + 10 AS rowid
    FROM series_wide WHERE v10 IS NOT NULL
    UNION ALL
    SELECT run_id, sid0 + 11 AS sid, ts, v11 AS value, (1::BIGINT << 50) + rowid * 16 + 11 AS rowid
    FROM series_wide WHERE v11 IS NOT NULL
) w JOIN series s USING (run_id, sid);
