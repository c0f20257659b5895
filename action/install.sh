#!/usr/bin/env bash
# The perfledger binary for the action's later steps.
#
#   install.sh key      writes key=<cache key> to $GITHUB_OUTPUT (for actions/cache)
#   install.sh install  writes bin=<path of perfledger> to $GITHUB_OUTPUT
#
# Inputs (env): INPUT_BINARY (an existing binary: nothing is built), INPUT_VERSION (a git ref of
# the perfledger repository; empty: the action's own source in $GITHUB_ACTION_PATH), CACHE_HIT
# (actions/cache's cache-hit output), PERFLEDGER_REPOSITORY (owner/name for INPUT_VERSION; default:
# the action's own repository).
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ACTION_DIR="${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
INSTALL_ROOT="$HOME/.cargo"
CACHED="$INSTALL_ROOT/bin/perfledger"

# What the binary is built from: a git ref, or a digest of the source files that go into it
# (so that a repo-local `uses: ./` rebuilds only when the source changes, not on every commit).
source_id() {
  if [ -n "${INPUT_VERSION:-}" ]; then
    printf 'git-%s' "$(printf '%s' "$INPUT_VERSION" | tr -c 'A-Za-z0-9._-' '_')"
  else
    local digest sha=(sha256sum)
    command -v sha256sum >/dev/null 2>&1 || sha=(shasum -a 256) # macOS
    digest=$(cd "$ACTION_DIR" &&
      find Cargo.toml Cargo.lock src reports schema fixtures -type f -print0 2>/dev/null |
      LC_ALL=C sort -z | xargs -0 "${sha[@]}" | "${sha[@]}" | cut -c1-16)
    printf 'src-%s' "$digest"
  fi
}

case "${1:-}" in
  key)
    # ImageOS (ubuntu22, ubuntu24, ...) on GitHub-hosted runners: a binary linked against one
    # image's glibc may not start on an older one.
    key="perfledger-${RUNNER_OS:-$(uname -s)}-${RUNNER_ARCH:-$(uname -m)}-${ImageOS:-any}-$(source_id)"
    set_output key "$key"
    echo "perfledger cache key: $key"
    ;;
  install)
    if [ -n "${INPUT_BINARY:-}" ]; then
      bin="$INPUT_BINARY"
      if [ ! -x "$bin" ] || [ -d "$bin" ]; then
        fail 2 "input binary: '$bin' is not an executable file"
      fi
      bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
      echo "perfledger: using the given binary $bin"
    elif [ "${CACHE_HIT:-}" = "true" ] && [ -x "$CACHED" ]; then
      bin="$CACHED"
      echo "perfledger: restored from the cache: $bin"
    else
      command -v cargo >/dev/null 2>&1 ||
        fail 2 "perfledger is not cached and cargo is not installed: add a Rust toolchain step (dtolnay/rust-toolchain@stable) or give the input binary"
      if [ -n "${INPUT_VERSION:-}" ]; then
        # github.action_repository is empty inside composite actions (actions/runner#2525):
        # a remote action lives in .../_actions/OWNER/REPO/REF, a repo-local one (uses: ./)
        # is the workflow's own repository.
        repo="${PERFLEDGER_REPOSITORY:-}"
        if [ -z "$repo" ] && [[ "$ACTION_DIR" =~ /_actions/([^/]+)/([^/]+)/[^/]+$ ]]; then
          repo="${BASH_REMATCH[1]}/${BASH_REMATCH[2]}"
        fi
        repo="${repo:-${GITHUB_REPOSITORY:-}}"
        [ -n "$repo" ] || fail 2 "input version: no repository to install from (PERFLEDGER_REPOSITORY)"
        url="${GITHUB_SERVER_URL:-https://github.com}/$repo"
        if [[ "$INPUT_VERSION" =~ ^[0-9a-f]{7,40}$ ]]; then
          ref=(--rev "$INPUT_VERSION")
        elif git ls-remote --exit-code --tags "$url" "refs/tags/$INPUT_VERSION" >/dev/null 2>&1; then
          ref=(--tag "$INPUT_VERSION")
        else
          ref=(--branch "$INPUT_VERSION")
        fi
        echo "perfledger: cargo install --locked --git $url ${ref[*]}"
        cargo install --locked --force --root "$INSTALL_ROOT" --git "$url" "${ref[@]}" --bin perfledger perfledger
      else
        echo "perfledger: cargo install --locked --path $ACTION_DIR"
        cargo install --locked --force --root "$INSTALL_ROOT" --path "$ACTION_DIR" --bin perfledger
      fi
      bin="$CACHED"
    fi
    version=$("$bin" --version 2>&1) || fail 2 "'$bin --version' failed: $version"
    echo "perfledger: $version"
    set_output bin "$bin"
    # Later steps of the job can call `perfledger` too.
    if [ -n "${GITHUB_PATH:-}" ]; then dirname "$bin" >> "$GITHUB_PATH"; fi
    ;;
  *)
    echo "usage: install.sh key|install" >&2
    exit 2
    ;;
esac
