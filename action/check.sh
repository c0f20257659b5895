#!/usr/bin/env bash
# The gate. On a pull request: `perfledger check` of the run import.sh imported against the runs
# of the merge base of the PR and its base branch (falling back to the recent history of the base
# branch when the merge base has none), Markdown verdict to the step summary, a JUnit file, and
# outputs verdict / exit-code / baseline / base-sha. On any other event (a push to main): nothing
# to judge, the import was the point (it is the history that pull requests compare to).
#
# Inputs (env): PERFLEDGER_RUN (import.sh's run output), INPUT_GOALS, INPUT_FAIL_ON_REGRESSION,
# INPUT_FALLBACK_BASELINE, INPUT_JUNIT, INPUT_CHECK_ARGS, INPUT_FETCH_DEPTH, INPUT_LAKE,
# INPUT_WAREHOUSE, INPUT_JOB, PERFLEDGER_BIN. GitHub's: GITHUB_EVENT_NAME, GITHUB_BASE_REF,
# GITHUB_SHA, GITHUB_JOB, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
perfledger_env

job="$(ci_job)"
junit="${INPUT_JUNIT:-perfledger-junit.xml}"
set_output junit "$junit"

if ! is_pull_request; then
  summary "No check on \`${GITHUB_EVENT_NAME:-unknown}\` events: the import above is the history that pull requests are compared to." ""
  set_output verdict imported
  set_output exit-code 0
  echo "perfledger: ${GITHUB_EVENT_NAME:-unknown} event: imported, nothing to check"
  exit 0
fi

base="$GITHUB_BASE_REF"
run="${PERFLEDGER_RUN:-}"
[ -n "$run" ] || fail 2 "no run to check: PERFLEDGER_RUN is empty (the import step's run output)"

# --- the merge base of HEAD and the base branch. With actions/checkout's default fetch-depth 1
# neither the base branch nor the history is there: fetch the base branch and deepen both until
# they meet (fetch-depth: 0 in the checkout step makes all of this a no-op).
step="${INPUT_FETCH_DEPTH:-100}"
git_quiet() { git "$@" >/dev/null 2>&1; }
remote_ref="refs/remotes/origin/$base"
merge_base() { git merge-base "$remote_ref" HEAD 2>/dev/null; }
base_sha=""
if git_quiet rev-parse --is-inside-work-tree; then
  shallow=false
  [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = true ] && shallow=true
  if ! git_quiet rev-parse --verify --quiet "$remote_ref"; then
    echo "perfledger: fetching $base from origin"
    if $shallow; then
      git fetch --no-tags --quiet --depth="$step" origin "+refs/heads/$base:$remote_ref" || true
    else
      git fetch --no-tags --quiet origin "+refs/heads/$base:$remote_ref" || true
    fi
  fi
  for attempt in 1 2 3 4 5 last; do
    if base_sha="$(merge_base)"; then break; fi
    base_sha=""
    [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = true ] || break
    if [ "$attempt" = last ]; then
      echo "perfledger: no merge base within the fetched history; fetching all of it"
      git fetch --no-tags --quiet --unshallow origin "+refs/heads/$base:$remote_ref" || true
    else
      echo "perfledger: no merge base yet; deepening the history by $step commits"
      git fetch --no-tags --quiet --deepen="$step" origin "+refs/heads/$base:$remote_ref" || true
    fi
    step=$((step * 2))
  done
  [ -n "$base_sha" ] || base_sha="$(merge_base || true)"
fi

# The labels of a selector (its KEY=VALUE parts), when everything else in it only narrows them
# down (latest, last:N, since-change:N): then `perfledger runs` can tell whether it selects anything.
selector_labels() {
  local part out=()
  local IFS=','
  for part in $1; do
    part="${part#"${part%%[![:space:]]*}"}"
    part="${part%"${part##*[![:space:]]}"}"
    case "$part" in
      '') ;;
      latest | last:* | since-change:*) ;;
      *=*) out+=(--label "$part") ;;
      *) return 1 ;;
    esac
  done
  printf '%s\n' "${out[@]}"
}
# has_runs SELECTOR: 0 when it selects a run, 1 when none, 2 when it cannot tell.
has_runs() {
  local found labels json
  found="$(selector_labels "$1")" || return 2
  [ -n "$found" ] || return 2
  mapfile -t labels <<<"$found"
  json="$("$PERFLEDGER" -q runs --offline --format json --limit 2 "${labels[@]}")" ||
    fail $? "perfledger runs ${labels[*]} failed"
  # The candidate is left out of the baseline: a selector that holds only it holds nothing.
  [ "$(grep -oE '"id": *[0-9]+' <<<"$json" | grep -vcE "\"id\": *$run\$")" -gt 0 ] && return 0
  return 1
}

# Bring the local index up to date with the lake once; every query after this one is --offline,
# so that the runs counted, the Markdown and the JUnit file all see the same history.
if [ -n "${PERFLEDGER_LAKE:-}" ]; then
  "$PERFLEDGER" -q sync >/dev/null || fail $? "perfledger sync with the lake $PERFLEDGER_LAKE failed"
fi

fallback="${INPUT_FALLBACK_BASELINE:-since-change:10,branch=$base,job=$job}"
notes=()
baseline=""
if [ -n "$base_sha" ]; then
  primary="commit=$base_sha,job=$job"
  set +e
  has_runs "$primary"
  found=$?
  set -e
  if [ "$found" = 0 ]; then
    baseline="$primary"
    notes+=("**Baseline:** \`$baseline\`: the runs of \`$base_sha\`, the merge base of this pull request and \`origin/$base\`.")
  else
    notes+=("**No runs of the merge base** \`$base_sha\` (\`$primary\`) in the history, so the baseline is the fallback \`$fallback\` (input \`fallback-baseline\`).")
  fi
else
  notes+=("**No merge base** of HEAD and \`origin/$base\` (not a git checkout, or the fetch failed), so the baseline is the fallback \`$fallback\` (input \`fallback-baseline\`).")
fi
if [ -z "$baseline" ]; then
  set +e
  has_runs "$fallback"
  found=$?
  set -e
  if [ "$found" = 1 ]; then
    notes+=("**The fallback \`$fallback\` selects no runs either:** nothing to compare with yet (the push workflow on \`$base\` builds the history).")
  else
    baseline="$fallback"
  fi
fi

set_output base-sha "$base_sha"
set_output baseline "$baseline"

args=(--offline)
if [ -n "${INPUT_GOALS:-}" ]; then args+=(--goals "$INPUT_GOALS"); fi
if [ -n "$baseline" ]; then args+=(--baseline "$baseline"); fi
if [ -n "${INPUT_CHECK_ARGS:-}" ]; then
  read -r -a extra <<<"$INPUT_CHECK_ARGS"
  args+=("${extra[@]}")
fi

if [ -z "$baseline" ] && [ -z "${INPUT_GOALS:-}" ]; then
  summary "## perfledger check: no baseline (run $run)" "" "${notes[@]}" ""
  annotate warning "no baseline for run $run: ${notes[*]}"
  set_output verdict no-baseline
  set_output exit-code 0
  exit 0
fi

tmp="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
md="$(mktemp "$tmp/perfledger-check.XXXXXX")"
err="$(mktemp "$tmp/perfledger-check-err.XXXXXX")"
echo "perfledger check ${args[*]} $run"
set +e
"$PERFLEDGER" -q check "${args[@]}" --format markdown "$run" >"$md" 2>"$err"
rc=$?
"$PERFLEDGER" -q check "${args[@]}" --format junit "$run" >"$junit.tmp" 2>/dev/null
jrc=$?
# the comment links to this workflow run, where the step summary holds the full tables
comment="${INPUT_COMMENT:-perfledger-comment.md}"
run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/${GITHUB_RUN_ID:-}"
"$PERFLEDGER" -q check "${args[@]}" --format comment --report-url "$run_url" "$run" >"$comment.tmp" 2>/dev/null
crc=$?
set -e
cat "$md"
cat "$err" >&2
message="$(cat "$err")"

if [ "$rc" = 0 ] || [ "$rc" = 5 ]; then
  mv -f "$junit.tmp" "$junit"
  mv -f "$comment.tmp" "$comment"
  set_output comment "$comment"
  [ "$crc" = "$rc" ] || annotate warning "check --format comment exited $crc, --format markdown $rc"
  [ "$jrc" = "$rc" ] || annotate warning "check --format junit exited $jrc, --format markdown $rc"
  verdict="$(sed -nE '1s/^## perfledger check: ([A-Z]+).*/\1/p' "$md" | tr '[:upper:]' '[:lower:]')"
  [ -n "$verdict" ] || { [ "$rc" = 0 ] && verdict=pass || verdict=fail; }
  {
    cat "$md"
    echo
    printf '%s\n\n' "${notes[@]}"
  } >>"$GITHUB_STEP_SUMMARY"
else
  rm -f "$junit.tmp" "$comment.tmp"
  verdict=error
  esc() { sed -e 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s/"/\&quot;/g'; }
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<testsuites name="perfledger" tests="1" errors="1">'
    echo '  <testsuite name="perfledger.check" tests="1" errors="1">'
    printf '    <testcase classname="perfledger.check" name="check"><error message="exit %s">%s</error></testcase>\n' \
      "$rc" "$(printf '%s' "$message" | esc)"
    echo '  </testsuite>'
    echo '</testsuites>'
  } >"$junit"
  {
    echo "## perfledger check: error (exit $rc, run $run)"
    echo
    printf '%s\n\n' "${notes[@]}"
    echo '```text'
    echo "$message"
    echo '```'
    echo
  } >>"$GITHUB_STEP_SUMMARY"
fi
set_output verdict "$verdict"
set_output exit-code "$rc"

case "$rc" in
  0) exit 0 ;;
  5)
    if [ "${INPUT_FAIL_ON_REGRESSION:-true}" = true ]; then
      annotate error "performance gate failed: ${message:-exit 5}"
      exit 5
    fi
    annotate warning "performance gate failed (fail-on-regression is off): ${message:-exit 5}"
    exit 0
    ;;
  *)
    annotate error "perfledger check failed (exit $rc): $message"
    exit "$rc"
    ;;
esac
