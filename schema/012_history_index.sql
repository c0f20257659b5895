-- One series read without scanning the others (issue 16). `measurement` lies in run order, so a
-- trend of one (target, metric) over a long history scanned every row of every series. This is
-- a copy of `measurement` in blocks of runs, each block ordered by series: DuckDB's zone maps on
-- `series_id` skip the row groups of other series. Runs above `history_cover.run_id` (the latest
-- imports) are read from `measurement` itself, where zone maps on `run_id` skip the older rows.
-- A local index only (never in the lake); maintained by `Warehouse::index_history` after imports.
CREATE TABLE history_key (
    id      INTEGER NOT NULL,
    target  VARCHAR NOT NULL,
    metric  VARCHAR NOT NULL
);
CREATE TABLE history_value (
    series_id INTEGER NOT NULL,
    run_id    BIGINT NOT NULL,
    value     DOUBLE NOT NULL
);
-- runs with id <= run_id are in history_value, all of their measurements
CREATE TABLE history_cover (run_id BIGINT NOT NULL);
INSERT INTO history_cover VALUES (0);
