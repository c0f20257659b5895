"""Yardstick for the Locust history ingest: DuckDB itself storing the same points.

Reads a stats_history.csv with DuckDB's parallel CSV reader and stores each line as one row of
its metric columns, as perfledger stores them (`series_wide`, schema/013_series_wide.sql), into
a new database file in one transaction. Prints one JSON line: wall seconds
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
vcols = ", ".join(f"v{i} DOUBLE" for i in range(12))
c.execute(f"CREATE TABLE series_wide (run_id BIGINT, sid0 INTEGER, ts TIMESTAMP, {vcols})")
cols = ["Requests/s", "Failures/s", "Total Request Count", "Total Failure Count",
        "Total Average Response Time", "50%", "90%", "95%", "99%", "99.9%"]
cells = ", ".join(f'TRY_CAST("{x}" AS DOUBLE)' for x in cols)
c.execute("BEGIN")
c.execute(f"""
INSERT INTO series_wide
SELECT 1, (hash("Type", "Name") % 1000000)::INTEGER * 16, make_timestamp(CAST("Timestamp" AS BIGINT) * 1000000),
       CASE WHEN "Name" = 'Aggregated' THEN TRY_CAST("User Count" AS DOUBLE) END, {cells}, NULL
FROM read_csv('{history}', all_varchar = true)
""")
c.execute("COMMIT")
c.execute("CHECKPOINT")
points = c.execute("SELECT " + " + ".join(f"count(v{i})" for i in range(11)) + " FROM series_wide").fetchone()[0]
print(json.dumps({"wall_s": time.time() - t, "points": points}))
