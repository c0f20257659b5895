#!/usr/bin/env bash
# Renders every report the demo writes in headless Chromium (Debian's `chromium`): no console
# errors, every image loads, a screenshot per report. Run from the repository root after
# `cargo build --release`; installs Chromium and playwright-core when missing (as root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${PERFLEDGER_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/perfledger-target}/release/perfledger}
if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq chromium poppler-utils >/dev/null
fi
(cd "$root/scripts/render" && [ -d node_modules/playwright-core ] || npm install --silent --no-audit --no-fund >/dev/null)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && "$bin" demo >/dev/null)
# a report whose names hold HTML: Locust's "<legacy & "quoted">" endpoint
"$bin" --db "$work/perfledger-demo/demo.duckdb" report run 1 --out "$work/perfledger-demo/report-locust" >/dev/null
"$bin" --db "$work/perfledger-demo/demo.duckdb" report compare --baseline 2026-10 --candidate latest --scenario orders-api --out "$work/perfledger-demo/report-compare" >/dev/null
# a run with no per-request data (ab's text output): its printed percentile table is the chart
run=$("$bin" --db "$work/perfledger-demo/demo.duckdb" import --format json "$root/fixtures/ab/orders_timelimit_t2.txt" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])')
"$bin" --db "$work/perfledger-demo/demo.duckdb" report run "$run" --out "$work/perfledger-demo/report-ab" >/dev/null
reports=$(ls "$work"/perfledger-demo/report-*/index.html)
node "$root/scripts/render/render.mjs" $reports
dest=${RENDER_OUT:-$root/target-render}
mkdir -p "$dest"
for r in $reports; do cp "$(dirname "$r")/screenshot.png" "$dest/$(basename "$(dirname "$r")").png"; done
# the audit documents as "Save as PDF" makes them: Chromium's own --print-to-pdf, then
# pdftoppm draws each page; a page count of 0 or an unreadable PDF fails
for r in "$work"/perfledger-demo/report-20*/index.html "$work"/perfledger-demo/report-shop-20*/index.html; do
  name=$(basename "$(dirname "$r")")
  chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer --print-to-pdf="$dest/$name.pdf" "file://$r" 2>/dev/null
  pages=$(pdfinfo "$dest/$name.pdf" | awk '/^Pages:/ {print $2}')
  pdftoppm -r 40 -png "$dest/$name.pdf" "$dest/$name-page"
  drawn=$(ls "$dest/$name"-page*.png | wc -l)
  if [ "${pages:-0}" -lt 1 ] || [ "$drawn" -ne "$pages" ]; then
    echo "FAIL $name.pdf: $pages pages, $drawn drawn" >&2; exit 1
  fi
  echo "ok   $name.pdf: $pages A4 pages, each drawn by pdftoppm"
done
