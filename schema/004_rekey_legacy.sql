-- perfledger warehouse, schema version 4: runs keyed by SHA-256 (schemas 1-2) get BLAKE3 keys.
-- Right after this file, the migration re-reads each such run's source files once (where they
-- are still at their recorded paths with the recorded SHA-256), stores their BLAKE3 digests and
-- the run's BLAKE3 content key, and keeps the old key here. Imports then compare BLAKE3 keys
-- only; a SHA-256 pass over an imported file is needed only while runs whose files could not be
-- re-read remain (their content_key still has no 'blake3:' prefix).
ALTER TABLE run ADD COLUMN legacy_key VARCHAR;
