#!/usr/bin/env bash
# perfledger's benchmarks (issue 5; figures in BENCHMARKS.md).
#
#   scripts/bench.sh            everything
#   scripts/bench.sh k6         k6 NDJSON ingest vs DuckDB read_ndjson (SIZES="1000 4000" MB)
#   scripts/bench.sh locust     long Locust stats_history files (LOCUST_HOURS="2 8 24")
#   scripts/bench.sh warehouse  check / compare / trend / quarterly report on RUNS="100000 1000000" x 50
#                               (each size a warehouse of its own: the growth with 10x the runs)
#   scripts/bench.sh lake       sync of LAKE_RUNS=10000 x 50 from a folder lake into a fresh index,
#                               against DuckDB reading the same files; check/compare in lake mode
#
# Inputs are generated deterministically (examples/bench_gen.rs) into BENCH_DIR
# (default ~/.cache/perfledger-bench) and kept for the next run. Each timing is the best of
# REPEAT (default 3) runs; peak RSS is that run's maximum resident set (GNU time %M).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/perfledger-target}
if command -v ccache >/dev/null; then export CC="ccache gcc" CXX="ccache g++"; fi
BENCH_DIR=${BENCH_DIR:-$HOME/.cache/perfledger-bench}
SIZES=${SIZES:-"1000 4000"}
REPEAT=${REPEAT:-3}
RUNS=${RUNS:-"100000 1000000"}
LOCUST_HOURS=${LOCUST_HOURS:-"2 8 24"}
LAKE_RUNS=${LAKE_RUNS:-10000}
what=${1:-all}

[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install -y time)" >&2; exit 2; }
python3 -c 'import duckdb' 2>/dev/null || pip install --quiet duckdb
cargo build --release --quiet --bin perfledger --example bench_gen --example wide_store
P=$CARGO_TARGET_DIR/release/perfledger
G=$CARGO_TARGET_DIR/release/examples/bench_gen
W=$CARGO_TARGET_DIR/release/examples/wide_store
mkdir -p "$BENCH_DIR"

# best of REPEAT: sets WALL (s) and RSS (MB) of the fastest run; OK_CODES lists accepted exits
OK_CODES="0"
best() {
  local w r i rc
  WALL=; RSS=
  for i in $(seq "$REPEAT"); do
    [ -n "${BEFORE:-}" ] && eval "$BEFORE"
    set +e
    /usr/bin/time -f '%e %M' -o "$BENCH_DIR/time.txt" "$@" >"$BENCH_DIR/out.txt" 2>&1
    rc=$?
    set -e
    if ! [[ " $OK_CODES " == *" $rc "* ]]; then
      echo "failed (exit $rc): $*" >&2; tail -5 "$BENCH_DIR/out.txt" >&2; exit 1
    fi
    read -r w r < <(tail -1 "$BENCH_DIR/time.txt")
    if [ -z "$WALL" ] || awk "BEGIN{exit !($w < $WALL)}"; then WALL=$w; RSS=$((r / 1024)); fi
  done
}

# a warehouse holding one earlier run: imports "into an existing warehouse" start from a copy
base_warehouse() {
  rm -f "$BENCH_DIR/base.duckdb" "$BENCH_DIR/base.duckdb.wal"
  "$P" --db "$BENCH_DIR/base.duckdb" import fixtures/wrk/orders_latency_t2_c8_d3s.txt >/dev/null
}

machine() {
  echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/Mem:/{print $2}') GiB RAM; $(uname -sr)"
  echo "perfledger $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(rustc --version); python duckdb $(python3 -c 'import duckdb; print(duckdb.__version__)')"
  echo
}

bench_k6() {
  echo "### k6 --out json ingest (perfledger import) vs DuckDB read_ndjson + GROUP BY"
  echo
  echo "| input | lines | perfledger wall | MB/s | lines/s | peak RSS | into an existing warehouse | MB/s | \`wc -l\` floor | DuckDB query (schema given) | DuckDB query (auto-detect) | DuckDB peak RSS | ratio (DuckDB best / perfledger) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  base_warehouse
  for mb in $SIZES; do
    f=$BENCH_DIR/k6_${mb}mb.json
    [ -s "$f" ] || "$G" k6 "$mb" "$f" 2>/dev/null
    [ -s "$f.lines" ] || wc -l <"$f" >"$f.lines"
    local lines bytes
    lines=$(cat "$f.lines"); bytes=$(stat -c %s "$f")
    cat "$f" >/dev/null # page cache, for both sides alike
    best wc -l "$f"
    local floor=$WALL
    BEFORE="rm -f '$BENCH_DIR/k6.duckdb' '$BENCH_DIR/k6.duckdb.wal'" best "$P" --db "$BENCH_DIR/k6.duckdb" import "$f"
    local pw=$WALL prss=$RSS
    BEFORE="cp '$BENCH_DIR/base.duckdb' '$BENCH_DIR/k6.duckdb'; rm -f '$BENCH_DIR/k6.duckdb.wal'" best "$P" --db "$BENCH_DIR/k6.duckdb" import "$f"
    local ew=$WALL
    best python3 scripts/bench/duckdb_k6.py "$f" schema
    local ds drss=$RSS
    ds=$(python3 -c 'import json,sys; print("%.2f" % json.loads(open(sys.argv[1]).read().splitlines()[-1])["wall_s"])' "$BENCH_DIR/out.txt")
    best python3 scripts/bench/duckdb_k6.py "$f" auto
    local da
    da=$(python3 -c 'import json,sys; print("%.2f" % json.loads(open(sys.argv[1]).read().splitlines()[-1])["wall_s"])' "$BENCH_DIR/out.txt")
    [ "$RSS" -gt "$drss" ] && drss=$RSS
    awk -v mb="$mb" -v lines="$lines" -v bytes="$bytes" -v pw="$pw" -v prss="$prss" -v ew="$ew" -v floor="$floor" -v ds="$ds" -v da="$da" -v drss="$drss" 'BEGIN {
      d = (ds < da) ? ds : da
      printf "| %d MB | %d | %.2f s | %.0f | %.2fM | %d MB | %.2f s | %.0f | %.2f s | %.2f s | %.2f s | %d MB | %.1fx |\n",
        mb, lines, pw, bytes / 1e6 / pw, lines / pw / 1e6, prss, ew, bytes / 1e6 / ew, floor, ds, da, drss, d / pw }'
  done
  echo
  echo "perfledger wall = the whole \`perfledger import\` process into a new warehouse (parse, histograms, one transaction, checkpoint); into an existing warehouse = the same into a copy of one holding an earlier run (a wrk file), the case of every import after the first."
  echo "DuckDB = in-process query time only (\`scripts/bench/duckdb_k6.py\`, Python start and import not counted), DuckDB using all cores."
  echo
}

bench_locust() {
  echo "### Locust stats_history of long runs (51 rows per second: 50 endpoints + Aggregated)"
  echo
  echo "| test length | rows | points | size | perfledger wall | MB/s | peak RSS | into an existing warehouse | MB/s | \`wc -l\` floor | DuckDB read_csv into the same table | DuckDB peak RSS | ratio (DuckDB / perfledger) | DuckDB appender alone, the same rows |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  base_warehouse
  for h in $LOCUST_HOURS; do
    local s=$((h * 3600)) pre=$BENCH_DIR/locust_$((h * 3600))s
    [ -s "${pre}_stats_history.csv" ] || "$G" locust "$s" "$pre" 2>/dev/null
    local f=${pre}_stats_history.csv bytes lines
    bytes=$(stat -c %s "$f"); lines=$(wc -l <"$f")
    best wc -l "$f"
    local floor=$WALL
    BEFORE="rm -f '$BENCH_DIR/locust.duckdb' '$BENCH_DIR/locust.duckdb.wal'" best "$P" --db "$BENCH_DIR/locust.duckdb" import "${pre}_stats.csv" "$f"
    local pw=$WALL prss=$RSS points
    points=$("$P" --db "$BENCH_DIR/locust.duckdb" sql "SELECT count(*) FROM series_point" --format csv | tail -1)
    BEFORE="cp '$BENCH_DIR/base.duckdb' '$BENCH_DIR/locust.duckdb'; rm -f '$BENCH_DIR/locust.duckdb.wal'" best "$P" --db "$BENCH_DIR/locust.duckdb" import "${pre}_stats.csv" "$f"
    local ew=$WALL
    best python3 scripts/bench/duckdb_locust.py "$f" "$BENCH_DIR/locust_duckdb.duckdb"
    local dw store
    store=$(store_floor "$BENCH_DIR/locust.duckdb")
    dw=$(python3 -c 'import json,sys; print("%.2f" % json.loads(open(sys.argv[1]).read().splitlines()[-1])["wall_s"])' "$BENCH_DIR/out.txt")
    awk -v h="$h" -v lines="$lines" -v points="$points" -v bytes="$bytes" -v pw="$pw" -v prss="$prss" -v ew="$ew" -v floor="$floor" -v dw="$dw" -v drss="$RSS" -v store="$store" 'BEGIN {
      printf "| %d h | %d | %.1fM | %d MB | %.2f s | %.0f | %d MB | %.2f s | %.0f | %.2f s | %.2f s | %d MB | %.1fx | %.2f s |\n",
        h, lines, points / 1e6, bytes / 1e6, pw, bytes / 1e6 / pw, prss, ew, bytes / 1e6 / ew, floor, dw, drss, dw / pw, store }'
  done
  echo
  echo "perfledger wall = the whole \`perfledger import\` of the stats.csv + stats_history.csv set into a new warehouse; into an existing warehouse = the same into a copy of one holding an earlier run (a wrk file)."
  echo "DuckDB = in-process time of \`scripts/bench/duckdb_locust.py\` (its parallel CSV reader, a row of the metric columns per line as in \`series_wide\`, one transaction, checkpoint), all cores."
  echo "DuckDB appender alone = \`examples/wide_store.rs\`: the rows the import stored, held in memory, appended to a new database as the import's store step does (Arrow batches of a feed block, 32 MB, one thread), commit and close: the part of the import no parser speed can remove."
  echo
}

# best of REPEAT of examples/wide_store.rs on a warehouse's series_wide rows, in seconds
store_floor() {
  local i ms best=
  for i in $(seq "$REPEAT"); do
    ms=$("$W" "$1" "$BENCH_DIR/store.duckdb" | sed -n 's/^[0-9]* rows: \([0-9]*\) ms.*/\1/p')
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  rm -f "$BENCH_DIR/store.duckdb" "$BENCH_DIR/store.duckdb.wal"
  awk -v ms="$best" 'BEGIN { printf "%.2f", ms / 1000 }'
}

bench_warehouse() {
  # h: made by the generator that streams in blocks and leaves the history index (schema 012)
  # as imports leave it
  local runs=$1 w=$BENCH_DIR/warehouse_h$1.duckdb gen gw gr
  if [ -s "$w" ]; then
    gen="generated by an earlier run (kept in BENCH_DIR)"
  else
    /usr/bin/time -f '%e %M' -o "$BENCH_DIR/gen.txt" "$G" warehouse "$runs" 50 "$w" 2>"$BENCH_DIR/gen.log"
    read -r gw gr < <(tail -1 "$BENCH_DIR/gen.txt")
    gen="generated in $gw s, peak RSS $((gr / 1024)) MB: $(grep -h 'history index' "$BENCH_DIR/gen.log")"
  fi
  echo "### Analysis on a warehouse of $runs runs x 50 targets ($(du -h "$w" | cut -f1))"
  echo
  echo "\`bench_gen warehouse $runs 50\`: $gen"
  echo
  echo "| command | wall | peak RSS |"
  echo "|---|---|---|"
  local row
  row() { echo "| \`$1\` | ${WALL} s | ${RSS} MB |"; }
  OK_CODES="0 5"
  best "$P" --db "$w" check --baseline last:20 --goals scripts/bench/goals.toml latest; row "check --baseline last:20 --goals goals.toml latest"
  best "$P" --db "$w" compare --baseline last:20 --candidate latest; row "compare --baseline last:20 --candidate latest"
  best "$P" --db "$w" compare --baseline last:1000 --candidate last:5; row "compare --baseline last:1000 --candidate last:5"
  OK_CODES="0"
  best "$P" --db "$w" trend latency_p95_ms --target "GET /api/endpoint-7"; row "trend latency_p95_ms --target 'GET /api/endpoint-7' ($runs points)"
  best "$P" --db "$w" trend latency_p95_ms --scenario suite-03; row "trend latency_p95_ms --scenario suite-03 ($((runs / 17)) points)"
  best "$P" --db "$w" report quarterly --quarter 2026Q3 --goals scripts/bench/goals.toml --out "$BENCH_DIR/quarterly"; row "report quarterly --quarter 2026Q3 --goals goals.toml (51 series)"
  echo
}

bench_lake() {
  local d=$BENCH_DIR/lake_${LAKE_RUNS}
  mkdir -p "$d"
  # the lake: a generated warehouse pushed run by run, as `import` writes each run
  if [ ! -s "$d/lake.done" ]; then
    rm -rf "$d/lake" "$d/compacted" "$d/src.duckdb" "$d/src.duckdb.wal" "$d/c.duckdb"
    "$G" warehouse "$LAKE_RUNS" 50 "$d/src.duckdb" 2>/dev/null
    "$P" --db "$d/src.duckdb" --lake "$d/lake" lake push --quiet >/dev/null
    cp -r "$d/lake" "$d/compacted"
    for m in $(ls "$d/compacted/v1/run/"*/ | grep -o 'month=[^/]*' | sort -u | cut -d= -f2); do
      "$P" --db "$d/c.duckdb" --lake "$d/compacted" lake compact --month "$m" >/dev/null
    done
    touch "$d/lake.done"
  fi
  local files cfiles
  files=$(find "$d/lake" -name '*.parquet' | wc -l); cfiles=$(find "$d/compacted" -name '*.parquet' | wc -l)
  echo "### Lake: sync of $LAKE_RUNS runs x 50 targets into a fresh index (folder lake)"
  echo
  echo "| lake | files | perfledger sync | peak RSS | DuckDB: the same files into tables | DuckDB peak RSS | ratio (DuckDB / perfledger) |"
  echo "|---|---|---|---|---|---|---|"
  local lake n
  for lake in lake compacted; do
    n=$files; [ "$lake" = compacted ] && n=$cfiles
    BEFORE="rm -f '$d/fresh.duckdb' '$d/fresh.duckdb.wal'" best "$P" --db "$d/fresh.duckdb" --lake "$d/$lake" sync
    local pw=$WALL prss=$RSS
    BEFORE="rm -f '$d/yard.duckdb' '$d/yard.duckdb.wal'" best python3 scripts/bench/duckdb_lake.py "$d/$lake" "$d/yard.duckdb"
    awk -v l="$lake" -v n="$n" -v pw="$pw" -v prss="$prss" -v dw="$WALL" -v drss="$RSS" 'BEGIN {
      printf "| %s | %d | %.2f s | %d MB | %.2f s | %d MB | %.2fx |\n", l, n, pw, prss, dw, drss, dw / pw }'
  done
  echo
  echo "DuckDB = \`scripts/bench/duckdb_lake.py\`: one CREATE TABLE AS read_parquet per table over the same files (no dedup, no ids), whole process."
  echo
  # CI right after an import: the lake-mode command syncs one new run first
  local k6=fixtures/k6/shop_summary_export.json
  rm -f "$d/ci.duckdb" "$d/ci.duckdb.wal"
  cp "$d/fresh.duckdb" "$d/ci.duckdb"
  rm -f "$d/local.duckdb" "$d/local.duckdb.wal"
  cp "$d/src.duckdb" "$d/local.duckdb"
  "$P" --db "$d/local.duckdb" import --quiet "$k6" >/dev/null
  echo "| command ($LAKE_RUNS runs) | local file | lake mode (index synced before the import) | difference |"
  echo "|---|---|---|---|"
  local cmd
  OK_CODES="0 5"
  # the fixture's load differs from the generated runs': both sides compare anyway
  for cmd in "check --allow-different-load --baseline last:20 --goals scripts/bench/goals.toml latest" "compare --allow-different-load --baseline last:20 --candidate latest"; do
    # shellcheck disable=SC2086
    best "$P" --db "$d/local.duckdb" $cmd; local lw=$WALL
    # shellcheck disable=SC2086
    BEFORE="rm -f '$d/ci.duckdb.wal'; cp '$d/fresh.duckdb' '$d/ci.duckdb'; rm -rf '$d/lake2'; cp -r '$d/compacted' '$d/lake2'; '$P' --db '$d/ci.duckdb' --lake '$d/lake2' lake rebuild --quiet >/dev/null; '$P' --db '$d/ci.duckdb' --lake '$d/lake2' import --quiet $k6 >/dev/null" \
      best "$P" --db "$d/ci.duckdb" --lake "$d/lake2" $cmd
    awk -v c="$cmd" -v lw="$lw" -v kw="$WALL" 'BEGIN { printf "| `%s` | %.2f s | %.2f s | %+.2f s |\n", c, lw, kw, kw - lw }'
  done
  OK_CODES="0"
  echo
}

machine
case $what in
  k6) bench_k6 ;;
  locust) bench_locust ;;
  warehouse) for r in $RUNS; do bench_warehouse "$r"; done ;;
  lake) bench_lake ;;
  all) bench_k6; bench_locust; for r in $RUNS; do bench_warehouse "$r"; done; bench_lake ;;
  *) echo "usage: scripts/bench.sh [k6|locust|warehouse|lake|all]" >&2; exit 2 ;;
esac
