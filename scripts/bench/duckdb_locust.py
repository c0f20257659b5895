"""Yardstick for the Locust history ingest: DuckDB itself storing the same points.

Reads a stats_history.csv with DuckDB's parallel CSV reader, turns its metric columns into
(series id, timestamp, value) rows as perfledger stores them (schema/006_series.sql) and
writes them into a new database file in one transaction. Prints one JSON line: wall seconds
(in-process, Python start not counted), points.

    python3 scripts/bench/duckdb_locust.py HISTORY.csv OUT.duckdb
"""
import json
import os
import sys
import time

import duckdb

history, out = sys.argv[1], sys.argv[2]
for f in (out, out + ".wal"):
    if os.path.exists(f):
        os.remove(f)
t = time.time()
c = duckdb.connect(out)
c.execute("CREATE TABLE series_value (run_id BIGINT, sid INTEGER, ts TIMESTAMP, value DOUBLE)")
cols = ["Requests/s", "Failures/s", "Total Request Count", "Total Failure Count",
        "Total Average Response Time", "50%", "90%", "95%", "99%", "99.9%"]
c.execute("BEGIN")
c.execute(f"""
INSERT INTO series_value
SELECT 1, (hash("Type", "Name", metric) % 1000000)::INTEGER, make_timestamp(CAST("Timestamp" AS BIGINT) * 1000000), TRY_CAST(value AS DOUBLE)
FROM (UNPIVOT (SELECT * FROM read_csv('{history}', all_varchar = true))
      ON {", ".join('"' + x + '"' for x in cols)} INTO NAME metric VALUE value)
WHERE TRY_CAST(value AS DOUBLE) IS NOT NULL
""")
c.execute("COMMIT")
c.execute("CHECKPOINT")
points = c.execute("SELECT count(*) FROM series_value").fetchone()[0]
print(json.dumps({"wall_s": time.time() - t, "points": points}))
