#!/usr/bin/env bash
# Imports this job's result files into the lake (or the warehouse file), labelled with the commit,
# the branch and the job, and writes the imported run ids to $GITHUB_OUTPUT (runs=..., run=the
# newest, which check.sh judges).
#
# Inputs (env): INPUT_RESULTS (paths, globs or folders, separated by newlines or spaces),
# INPUT_LABELS (extra KEY=VALUE lines), INPUT_LAKE, INPUT_WAREHOUSE, INPUT_JOB, PERFLEDGER_BIN.
# GitHub's: GITHUB_SHA, GITHUB_REF_NAME, GITHUB_HEAD_REF, GITHUB_JOB, GITHUB_RUN_ID,
# GITHUB_RUN_ATTEMPT, GITHUB_EVENT_NAME, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
perfledger_env

# --- the files: a line that names an existing path is taken whole (a path with spaces);
# otherwise the line is split on spaces and each word is a path or a glob.
files=()
add_word() {
  local w="$1" m
  if [ -e "$w" ]; then
    files+=("$w")
    return
  fi
  local found=0
  while IFS= read -r m; do
    [ -n "$m" ] && files+=("$m") && found=1
  done < <(compgen -G "$w" | LC_ALL=C sort)
  [ "$found" = 1 ] || fail 3 "results: '$w' matches no file (working directory $(pwd))"
}
while IFS= read -r line || [ -n "$line" ]; do
  line="${line#"${line%%[![:space:]]*}"}"
  line="${line%"${line##*[![:space:]]}"}"
  [ -z "$line" ] && continue
  if [ -e "$line" ]; then
    files+=("$line")
  else
    read -r -a words <<<"$line"
    for w in "${words[@]}"; do add_word "$w"; done
  fi
done <<<"${INPUT_RESULTS:-}"
[ "${#files[@]}" -gt 0 ] || fail 2 "input results is empty: give the result files, globs or folders to import"

# --- the labels
labels=()
[ -n "${GITHUB_SHA:-}" ] && labels+=(--label "commit=$GITHUB_SHA")
branch="$(ci_branch)"
[ -n "$branch" ] && labels+=(--label "branch=$branch")
labels+=(--label "job=$(ci_job)")
attempt="$(ci_attempt)"
[ -n "$attempt" ] && labels+=(--label "workflow-run=$attempt")
while IFS= read -r line || [ -n "$line" ]; do
  line="${line#"${line%%[![:space:]]*}"}"
  line="${line%"${line##*[![:space:]]}"}"
  case "$line" in
    '' | '#'*) continue ;;
    *=*) labels+=(--label "$line") ;;
    *) fail 2 "input labels: '$line' is not KEY=VALUE" ;;
  esac
done <<<"${INPUT_LABELS:-}"

# --- the import
tmp="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
out="$(mktemp "$tmp/perfledger-import.XXXXXX")"
err="$(mktemp "$tmp/perfledger-import-err.XXXXXX")"
echo "perfledger import ${labels[*]} ${files[*]}"
set +e
"$PERFLEDGER" -q import --format json "${labels[@]}" "${files[@]}" >"$out" 2>"$err"
rc=$?
set -e
cat "$err" >&2
if [ "$rc" -ne 0 ]; then
  msg="perfledger import failed (exit $rc): $(cat "$err")"
  [ -s "$err" ] || msg="perfledger import failed (exit $rc)"
  fail "$rc" "$msg"
fi

# The run ids, in the order of the pretty JSON the import printed (one "run_id": N per file;
# an output already in the history gives the id of the run it is part of).
mapfile -t runs < <(grep -oE '"run_id": *[0-9]+' "$out" | grep -oE '[0-9]+$' | awk '!seen[$0]++')
[ "${#runs[@]}" -gt 0 ] || fail 3 "perfledger import: no run was imported from ${files[*]}"
run="$(printf '%s\n' "${runs[@]}" | sort -n | tail -n 1)"
set_output runs "${runs[*]}"
set_output run "$run"
echo "perfledger: imported run(s) ${runs[*]}"

where="${PERFLEDGER_LAKE:-$PERFLEDGER_DB}"
{
  echo "### perfledger import"
  echo
  echo "${#runs[@]} run(s) (${runs[*]}) into \`$where\`, labelled \`$(printf '%s ' "${labels[@]}" | sed 's/--label //g; s/ $//')\`."
  echo
} >>"$GITHUB_STEP_SUMMARY"
