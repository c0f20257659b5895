//! The text people read, pinned: `compare` and `check` as a table and as Markdown, and `show`.
//! Inputs are real fixtures (fixtures/history: 4 wrk runs against the normal server, 4 against
//! the same server made 20% slower, interleaved captures); the checkout's path is redacted.
//! After an intended change of wording: `INSTA_UPDATE=always cargo test --release --test
//! snapshots`, then review the diff of tests/snapshots/.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use common::{fixture, Workdir};

fn setup() -> Workdir {
    let w = Workdir::new();
    for (i, kind) in ["base", "base", "base", "base", "slow20", "slow20"]
        .iter()
        .enumerate()
    {
        let n = if i < 4 { i + 1 } else { i - 3 };
        let f = fixture(&format!("history/wrk_{kind}_{n}.json"));
        let at = format!("2026-10-{:02}T02:00:00Z", i + 1);
        w.ok(
            &[
                "import",
                "--label",
                &format!("commit=c{i}"),
                "--scenario",
                "orders",
                "--at",
                &at,
                f.to_str().unwrap(),
            ],
            0,
        );
    }
    w
}

fn redact(s: &str) -> String {
    s.replace(fixture("").to_str().unwrap(), "[fixtures]/")
}

fn out(w: &Workdir, args: &[&str], code: i32) -> String {
    redact(&w.ok(args, code))
}

#[test]
fn compare_table_and_markdown() {
    let w = setup();
    let args = ["compare", "--baseline", "1,2,3,4", "--candidate", "5,6"];
    insta::assert_snapshot!("compare_table", out(&w, &args, 5));
    let md = [&args[..], &["--format", "markdown"]].concat();
    insta::assert_snapshot!("compare_markdown", out(&w, &md, 5));
    let single = ["compare", "--baseline", "1", "--candidate", "2"];
    insta::assert_snapshot!("compare_single_runs", out(&w, &single, 0));
}

#[test]
fn check_table_and_markdown() {
    let w = setup();
    let goals = fixture("demo_goals.toml");
    let g = goals.to_str().unwrap();
    let args = ["check", "--goals", g, "--baseline", "1,2,3,4", "6"];
    insta::assert_snapshot!("check_table", out(&w, &args, 5));
    let md = [&args[..], &["--format", "markdown"]].concat();
    insta::assert_snapshot!("check_markdown", out(&w, &md, 5));
}

#[test]
fn show_a_run() {
    let w = setup();
    insta::assert_snapshot!("show", out(&w, &["show", "1"], 0));
    let w = Workdir::new();
    let ab = fixture("ab/users_n2000_c10.txt");
    w.ok(
        &[
            "import",
            "--at",
            "2026-11-01T02:00:00Z",
            ab.to_str().unwrap(),
        ],
        0,
    );
    insta::assert_snapshot!("show_ab", out(&w, &["show", "latest"], 0));
}

/// The forms of code review: the pull-request comment (a bot updates it in place, so the
/// same results must give the same bytes), GitLab's metrics and Code Quality reports.
#[test]
fn check_for_code_review() {
    let w = setup();
    let goals = fixture("demo_goals.toml");
    let g = goals.to_str().unwrap();
    let base = ["check", "--goals", g, "--baseline", "1,2,3,4", "6"];
    fn with<'a>(base: &[&'a str], f: &[&'a str]) -> Vec<&'a str> {
        [base, f].concat()
    }
    let url = [
        "--format",
        "comment",
        "--report-url",
        "https://ci.example/jobs/42",
    ];
    let comment = out(&w, &with(&base, &url), 5);
    insta::assert_snapshot!("check_comment", comment);
    assert_eq!(
        out(&w, &with(&base, &url), 5),
        comment,
        "the comment is stable"
    );
    assert!(comment.starts_with("<!-- perfledger-check job=default -->\n"));
    insta::assert_snapshot!(
        "check_gitlab_metrics",
        out(&w, &with(&base, &["--format", "gitlab-metrics"]), 5)
    );
    let cq = out(&w, &with(&base, &["--format", "codequality"]), 5);
    insta::assert_snapshot!("check_codequality", cq);
    let findings: serde_json::Value = serde_json::from_str(&cq).unwrap();
    // one finding per regression and failed or warning goal, each with a distinct fingerprint
    let json: serde_json::Value =
        serde_json::from_str(&out(&w, &with(&base, &["--format", "json"]), 5)).unwrap();
    let count = |list: &serde_json::Value, key: &str, v: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|x| x[key] == v)
            .count()
    };
    let regressed = count(&json["comparison"]["results"], "verdict", "regressed");
    let fails = count(&json["goals"], "status", "fail") + count(&json["goals"], "status", "warn");
    let fingerprints: std::collections::BTreeSet<_> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert!(regressed > 0 && fails > 0, "{json}");
    assert_eq!(
        findings.as_array().unwrap().len(),
        regressed + fails,
        "{cq}"
    );
    assert_eq!(fingerprints.len(), regressed + fails, "{cq}");
    // a passing check: an empty Code Quality report, a PASS comment
    let pass = ["check", "--baseline", "1,2,3", "4"];
    assert_eq!(
        out(&w, &[&pass[..], &["--format", "codequality"]].concat(), 0),
        "[]\n"
    );
    assert!(out(&w, &[&pass[..], &["--format", "comment"]].concat(), 0)
        .contains("✅ perfledger check: PASS"));
}
