-- perfledger warehouse, schema version 3: file digests and content keys are BLAKE3.
-- SHA-256 of a multi-gigabyte k6 file cost more than parsing it; BLAKE3 (also a cryptographic
-- hash) is about 2.5x faster here. Rows written before keep their SHA-256 values and content
-- keys; new rows have `blake3` set, `sha256` NULL and content keys starting 'blake3:'.
-- Importing a file that an older version imported is still recognised (see store::ingest).
ALTER TABLE source_file ALTER COLUMN sha256 DROP NOT NULL;
ALTER TABLE source_file ADD COLUMN blake3 VARCHAR;
