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
