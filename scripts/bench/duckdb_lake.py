"""Yardstick for `perfledger sync`: DuckDB reading the same lake files into tables, one
CREATE TABLE AS per table (no deduplication, no id mapping). Usage: duckdb_lake.py LAKE OUT.duckdb"""
import os
import sys

import duckdb

lake, out = sys.argv[1], sys.argv[2]
c = duckdb.connect(out)
for table in sorted(os.listdir(os.path.join(lake, "v1"))):
    if table == "event":
        continue
    c.execute(
        f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{lake}/v1/{table}/*/*/*.parquet', union_by_name = true)"
    )
c.close()
