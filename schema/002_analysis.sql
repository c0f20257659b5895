-- schema version 2: named baselines and annotations (issue: regression analysis).

CREATE TABLE baseline (
    name       VARCHAR PRIMARY KEY,
    selector   VARCHAR NOT NULL,               -- the selector it was set from, for the record
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE baseline_run (
    name   VARCHAR NOT NULL,
    run_id BIGINT NOT NULL,
    PRIMARY KEY (name, run_id)
);

CREATE SEQUENCE annotation_id_seq START 1;

CREATE TABLE annotation (
    id         BIGINT PRIMARY KEY DEFAULT nextval('annotation_id_seq'),
    happened_at TIMESTAMP,
    run_id     BIGINT,
    kind       VARCHAR NOT NULL,               -- deploy, config, ack
    text       VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);
