"""The DuckDB side of the k6 NDJSON benchmark: read the same file with read_ndjson and
aggregate it to what perfledger keeps per target and second (requests, failures, mean latency)
plus each target's totals and p50/p95/p99. Prints wall seconds and output rows as JSON.

usage: python3 duckdb_k6.py FILE.json [auto|schema]
  auto   = read_ndjson with DuckDB's schema detection (what a user types first)
  schema = read_ndjson with the columns spelled out (DuckDB's fastest path)
"""
import json
import sys
import time

import duckdb

path, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "schema")
if mode == "schema":
    src = f"""read_ndjson('{path}', columns={{type: 'VARCHAR', metric: 'VARCHAR',
        data: 'STRUCT(time VARCHAR, value DOUBLE, tags STRUCT(method VARCHAR, name VARCHAR, url VARCHAR, status VARCHAR))'}})"""
else:
    src = f"read_ndjson_auto('{path}', maximum_object_size=1048576)"
points = f"""SELECT metric, data.value AS value,
        trim(coalesce(data.tags.method, '') || ' ' || coalesce(data.tags.name, data.tags.url, '?')) AS target,
        epoch(CAST(data.time AS TIMESTAMPTZ))::BIGINT AS sec
    FROM {src}
    WHERE type = 'Point' AND metric IN ('http_reqs', 'http_req_failed', 'http_req_duration')"""
con = duckdb.connect()
t0 = time.perf_counter()
con.execute(f"CREATE TEMP TABLE p AS {points}")
con.execute("""CREATE TEMP TABLE per_second AS
    SELECT target, sec,
           count(*) FILTER (WHERE metric = 'http_reqs') AS requests,
           count(*) FILTER (WHERE metric = 'http_req_failed' AND value <> 0) AS failures,
           avg(value) FILTER (WHERE metric = 'http_req_duration') AS latency_mean_ms
    FROM p GROUP BY target, sec""")
con.execute("""CREATE TEMP TABLE per_target AS
    SELECT target, count(*) AS n,
           quantile_cont(value, [0.5, 0.95, 0.99]) AS q
    FROM p WHERE metric = 'http_req_duration' GROUP BY target""")
wall = time.perf_counter() - t0
rows = con.execute("SELECT count(*) FROM per_second").fetchone()[0]
reqs = con.execute("SELECT sum(requests) FROM per_second").fetchone()[0]
print(json.dumps({"wall_s": wall, "per_second_rows": rows, "requests": int(reqs),
                  "duckdb": duckdb.__version__, "threads": con.execute("SELECT current_setting('threads')").fetchone()[0]}))
