#!/usr/bin/env bash
# What the lake tests need beside perfledger itself:
# - s3s-fs, a real S3-protocol server (ListObjectsV2, multipart upload, signature V4) that keeps
#   objects as files, so a stopped server restarts with its data; built from crates.io once into
#   ~/.cache/perfledger-tools (rustc 1.95 takes s3s-fs 0.14.1; 0.17 wants 1.96);
# - python3 with duckdb and polars, to read the lake as other engines do.
set -euo pipefail
TOOLS="${PERFLEDGER_TOOLS:-$HOME/.cache/perfledger-tools}"
if [ ! -x "$TOOLS/bin/s3s-fs" ]; then
  CARGO_TARGET_DIR="$HOME/.cache/s3s-target" cargo install s3s-fs@0.14.1 --features binary \
    --locked --root "$TOOLS" --quiet
fi
if ! python3 -c "import duckdb, polars" >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check duckdb polars
fi
echo "lake tools: $TOOLS/bin/s3s-fs, python3 $(python3 -c 'import duckdb, polars; print("duckdb", duckdb.__version__, "polars", polars.__version__)')"
