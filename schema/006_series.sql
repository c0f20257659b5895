-- Series points keep their target and metric once per series, not once per point: a day-long
-- Locust history has 40 M points over 600 series, and a name per point made DuckDB store,
-- compress and scan 40 M strings. `series_point` stays, as a view with the same columns.
CREATE TABLE series (
    run_id  BIGINT NOT NULL,
    sid     INTEGER NOT NULL,
    target  VARCHAR NOT NULL,
    metric  VARCHAR NOT NULL,
    PRIMARY KEY (run_id, sid)
);

CREATE TABLE series_value (
    run_id  BIGINT NOT NULL,
    sid     INTEGER NOT NULL,
    ts      TIMESTAMP NOT NULL,
    value   DOUBLE NOT NULL
);

INSERT INTO series
SELECT run_id, (row_number() OVER (PARTITION BY run_id ORDER BY target, metric) - 1)::INTEGER,
       target, metric
FROM (SELECT DISTINCT run_id, target, metric FROM series_point);

INSERT INTO series_value
SELECT p.run_id, s.sid, p.ts, p.value
FROM series_point p JOIN series s USING (run_id, target, metric)
ORDER BY p.rowid;

DROP TABLE series_point;

-- `rowid` is the points' insertion order (the lake writes a run's points in that order, so
-- the same run always gives the same file bytes).
CREATE VIEW series_point AS
SELECT v.run_id, s.target, v.ts, s.metric, v.value, v.rowid AS rowid
FROM series_value v JOIN series s USING (run_id, sid);
