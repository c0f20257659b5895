-- perfledger warehouse, schema version 5: the warehouse as the index of a shared lake
-- (`--lake URL`, see the README, "Team history"). The lake's Parquet files are the source of truth; these
-- tables record which lake this index follows and which of its files it has read, so that
-- `perfledger sync` reads only files it has not seen.
CREATE TABLE lake_binding (
    url       VARCHAR NOT NULL,
    bound_at  TIMESTAMP NOT NULL
);

CREATE TABLE lake_file (
    path     VARCHAR PRIMARY KEY,                -- relative to the lake root
    bytes    BIGINT NOT NULL,
    seen_at  TIMESTAMP NOT NULL
);

-- Events of the shared mutable state (baselines, annotations), folded last-writer-wins by
-- (event_at, writer, file) per entity; op 'delete' is a tombstone.
CREATE TABLE lake_event (
    file     VARCHAR PRIMARY KEY,
    event_at TIMESTAMP NOT NULL,
    writer   VARCHAR NOT NULL,
    entity   VARCHAR NOT NULL,                   -- baseline:<name> | annotation:<global id>
    op       VARCHAR NOT NULL,                   -- set | delete
    body     VARCHAR NOT NULL                    -- the event as written (JSON)
);

ALTER TABLE annotation ADD COLUMN global_id VARCHAR;
