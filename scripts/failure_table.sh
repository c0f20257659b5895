#!/usr/bin/env bash
# Runs every kind of bad input and failure perfledger knows and prints the README's table of
# what each gets (exit code and the first line of the message). Usage: scripts/failure_table.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/perfledger-target}
P=${PERFLEDGER:-$CARGO_TARGET_DIR/release/perfledger}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
W=$T/w.duckdb
$P --db "$W" import fixtures/ab/users_n2000_c10.txt >/dev/null
for i in 1 2 3 4 5 6 7 8; do $P --db "$W" import "fixtures/history/wrk_base_$i.json" >/dev/null; done
$P --db "$W" import fixtures/history/wrk_slow20_1.json >/dev/null # run 10
F=fixtures/broken

row() { # description, then the command (run from the repo, warehouse $W)
  local what=$1; shift
  local out rc
  out=$("$@" 2>&1 >/dev/null); rc=$?
  [ -z "$out" ] && out=$("$@" 2>&1 | tail -1)
  out=$(echo "$out" | head -1 | sed "s|$T|/tmp/x|g; s/|/\\\\|/g; s/\`/'/g")
  printf '| %s | %s | `%s` |\n' "$what" "$rc" "$out"
}

# a file with one 70 MB line
python3 -c "import sys; sys.stdout.write('{\"metric\":\"http_reqs\",\"type\":\"Point\",\"data\":{\"time\":\"' + 'x' * 70000000 + '\"}}\n')" >"$T/long_line.json"
printf 'not a database' >"$T/not_a_db.duckdb"

echo "| input or situation | exit | message (first line) |"
echo "|---|---|---|"
row "empty file" $P --db "$W" import $F/empty.txt
row "binary file" $P --db "$W" import $F/binary.bin
row "text of no known tool" $P --db "$W" import $F/unknown_format.txt
row "missing file" $P --db "$W" import "$T/nope.json"
row "truncated k6 summary JSON" $P --db "$W" import $F/truncated_k6_summary.json
row "truncated wrk output" $P --db "$W" import $F/truncated_wrk.txt
row "truncated gzip stream (k6 points)" $P --db "$W" import $F/truncated_points.json.gz
row "malformed Locust CSV row" $P --db "$W" import $F/bad_row_locust_stats.csv
row "k6 NDJSON line over 64 MB" $P --db "$W" import "$T/long_line.json"
row "forced format that does not fit (--tool)" $P --db "$W" import --tool wrk fixtures/ab/users_n2000_c10.txt
row "same file imported again" $P --db "$W" import fixtures/ab/users_n2000_c10.txt
row "unknown option" $P --db "$W" import --bogus x
row "bad run selector" $P --db "$W" compare --baseline "a b" --candidate latest
row "bad --since time" $P --db "$W" runs --since yesterday-ish
row "no warehouse at --db" $P --db "$T/none.duckdb" runs
row "--db is not a DuckDB file" $P --db "$T/not_a_db.duckdb" runs
row "write statement in sql (read-only)" $P --db "$W" sql "DELETE FROM run"
row "bad SQL" $P --db "$W" sql "SELEC 1"
row "goals file missing" $P --db "$W" check --goals "$T/none.toml"
row "regression found by the CI gate" $P --db "$W" check --baseline 2,3,4,5,6,7,8,9 10
# another writer holding the lock longer than PERFLEDGER_LOCK_TIMEOUT
python3 -c "import duckdb,time,sys; c=duckdb.connect(sys.argv[1]); time.sleep(8)" "$W" &
sleep 2
row "warehouse locked by another writer past PERFLEDGER_LOCK_TIMEOUT=1" env PERFLEDGER_LOCK_TIMEOUT=1 $P --db "$W" import fixtures/wrk/users_lua_report.json
row "reading while a writer holds the lock past PERFLEDGER_LOCK_TIMEOUT=1" env PERFLEDGER_LOCK_TIMEOUT=1 $P --db "$W" runs
wait
# full and read-only disks, in a private mount namespace with a 16 MB tmpfs
if unshare -rm true 2>/dev/null; then
  mkdir -p "$T/disk"
  unshare -rm bash -c '
    T=$1; P=$2
    mount -t tmpfs -o size=16m tmpfs "$T/disk"
    $P --db "$T/disk/w.duckdb" import fixtures/ab/users_n2000_c10.txt >/dev/null 2>&1
    dd if=/dev/zero of="$T/disk/fill" bs=16k >/dev/null 2>&1
    $P --db "$T/disk/w.duckdb" import fixtures/k6/shop_points.json >/dev/null 2>"$T/full.err"; echo $? >"$T/full.rc"
    rm "$T/disk/fill"; mount -o remount,ro "$T/disk"
    $P --db "$T/disk/w.duckdb" import fixtures/k6/shop_points.json >/dev/null 2>"$T/ro.err"; echo $? >"$T/ro.rc"
  ' bash "$T" "$P"
  for c in full ro; do
    what="disk full during import"; [ $c = ro ] && what="warehouse on a read-only file system"
    printf '| %s | %s | `%s` |\n' "$what" "$(cat "$T/$c.rc")" "$(head -1 "$T/$c.err" | sed "s|$T|/tmp/x|g")"
  done
fi
