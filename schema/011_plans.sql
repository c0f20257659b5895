-- Query plans with a snapshot (`snapshot postgres --explain SQL`, issue 14): EXPLAIN (ANALYZE,
-- BUFFERS, FORMAT JSON) of a statement, its shape (node types, relations, indexes; no costs
-- or times) and its hottest node (largest exclusive time), for `compare` to say when a plan
-- changed and where its time goes.
CREATE TABLE pg_plan (
    snapshot_id  BIGINT NOT NULL,
    statement    VARCHAR NOT NULL,   -- normalised as pg_stat_statements writes it
    query        VARCHAR NOT NULL,   -- as explained
    shape        VARCHAR NOT NULL,
    top_node     VARCHAR NOT NULL,
    top_node_ms  DOUBLE NOT NULL,
    planning_ms  DOUBLE,
    execution_ms DOUBLE,
    plan         VARCHAR NOT NULL    -- the JSON PostgreSQL wrote
);
