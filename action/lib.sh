# shellcheck shell=bash
# Shared by the action's scripts (sourced, not run). Outside GitHub the files GitHub provides
# ($GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY) default to /dev/null, so the scripts run anywhere.

: "${GITHUB_OUTPUT:=/dev/null}"
: "${GITHUB_STEP_SUMMARY:=/dev/null}"

# set_output NAME VALUE: a step output; the heredoc form keeps values with newlines intact.
set_output() {
  local delim="perfledger_$RANDOM$RANDOM"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delim" "$2" "$delim" >> "$GITHUB_OUTPUT"
}

# summary TEXT...: appends to the job's step summary (Markdown).
summary() {
  printf '%s\n' "$@" >> "$GITHUB_STEP_SUMMARY"
}

# annotate error|warning|notice MESSAGE: a workflow command (an annotation on the run page).
annotate() {
  local msg="$2"
  msg="${msg//'%'/'%25'}"
  msg="${msg//$'\r'/'%0D'}"
  msg="${msg//$'\n'/'%0A'}"
  printf '::%s title=perfledger::%s\n' "$1" "$msg"
}

# fail CODE MESSAGE: says so in the log, the summary and the outputs, then exits with CODE.
fail() {
  annotate error "$2"
  summary "### perfledger: error (exit $1)" "" '```text' "$2" '```' ""
  set_output verdict error
  set_output exit-code "$1"
  exit "$1"
}

# The options every perfledger command gets: --db (the warehouse, or the lake's local index)
# and, when a lake is given, the lake through PERFLEDGER_LAKE (the env form of --lake).
perfledger_env() {
  if [ -n "${INPUT_LAKE:-}" ]; then
    export PERFLEDGER_LAKE="$INPUT_LAKE"
  fi
  export PERFLEDGER_DB="${INPUT_WAREHOUSE:-perfledger.duckdb}"
  # shellcheck disable=SC2034 # used by the scripts that source this file
  PERFLEDGER="${PERFLEDGER_BIN:-perfledger}"
}

# The labels that identify this job's runs in the history.
ci_job() { printf '%s' "${INPUT_JOB:-${GITHUB_JOB:-perf}}"; }
ci_branch() {
  if [ -n "${GITHUB_HEAD_REF:-}" ]; then printf '%s' "$GITHUB_HEAD_REF"; else printf '%s' "${GITHUB_REF_NAME:-}"; fi
}
# One workflow run attempt: tells a re-run or a concurrent job of the same commit apart.
ci_attempt() {
  if [ -n "${GITHUB_RUN_ID:-}" ]; then printf '%s-%s' "$GITHUB_RUN_ID" "${GITHUB_RUN_ATTEMPT:-1}"; fi
}

is_pull_request() {
  case "${GITHUB_EVENT_NAME:-}" in
    pull_request | pull_request_target) [ -n "${GITHUB_BASE_REF:-}" ] ;;
    *) return 1 ;;
  esac
}
