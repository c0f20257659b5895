//! Where shells and habits meet perfledger (part of issue 17): completions and a man page
//! generated from the real options, NO_COLOR, --quiet, and no progress bar when stderr is not
//! a terminal.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use std::process::Command;

use common::{fixture, Workdir};

fn perfledger(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_perfledger"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn completions_know_every_subcommand_and_the_scripts_parse() {
    let subcommands = ["import", "compare", "check", "trend", "report", "baseline"];
    let bash = String::from_utf8(perfledger(&["completions", "bash"]).stdout).unwrap();
    for s in subcommands {
        assert!(bash.contains(s), "bash completion lacks {s}");
    }
    assert!(bash.contains("--min-abs-effect") && bash.contains("--run-group"));
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("perfledger.bash");
    std::fs::write(&f, &bash).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&f).status().unwrap();
    assert!(syntax.success(), "bash -n rejects the completion script");
    let zsh = String::from_utf8(perfledger(&["completions", "zsh"]).stdout).unwrap();
    assert!(
        zsh.starts_with("#compdef perfledger"),
        "{}",
        &zsh[..40.min(zsh.len())]
    );
    let fish = String::from_utf8(perfledger(&["completions", "fish"]).stdout).unwrap();
    assert!(fish.contains("complete -c perfledger") && fish.contains("min-abs-effect"));
    assert_eq!(perfledger(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let out = perfledger(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let man = String::from_utf8(out.stdout).unwrap();
    assert!(
        man.contains(".TH perfledger 1"),
        "{}",
        &man[..80.min(man.len())]
    );
    for s in [
        "import",
        "compare",
        "check",
        "trend",
        "report",
        "completions",
    ] {
        assert!(man.contains(s), "man page lacks {s}");
    }
}

#[test]
fn no_color_and_no_progress_bar_off_a_terminal() {
    let help = perfledger(&["compare", "--help"]);
    assert!(!help.stdout.contains(&0x1b), "escape codes under NO_COLOR");
    // stderr is a pipe here: no progress bar, nothing but what went wrong
    let w = Workdir::new();
    let out = w.run(&["import", fixture("wrk/").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "wrk/ holds a no-results output");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().all(|l| l.starts_with("error:")), "{err}");
    let out = w.run(&[
        "--quiet",
        "import",
        fixture("ab/users_n2000_c10.txt").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
}

/// An import as a person runs it, on a terminal (util-linux `script` gives it one): the bar
/// (bytes read, on stderr) shows, and is gone before the result table is printed; `--quiet`
/// shows none. PERFLEDGER_PROGRESS_AFTER=0 shows the bar at once instead of after 0.5 s.
#[test]
fn a_progress_bar_on_a_terminal_only() {
    if Command::new("script").arg("--version").output().is_err() {
        panic!("util-linux `script` is needed to give the import a terminal");
    }
    let w = Workdir::new();
    let k6 = fixture("k6/shop_points.json");
    let on_tty = |quiet: bool| {
        let cmd = format!(
            "{} {}--db {} import {}",
            env!("CARGO_BIN_EXE_perfledger"),
            if quiet { "--quiet " } else { "" },
            w.db().display(),
            k6.display()
        );
        let log = w.dir.path().join(format!("tty-{quiet}.log"));
        let st = Command::new("script")
            .args(["-qec", &cmd])
            .arg(&log)
            .env("PERFLEDGER_PROGRESS_AFTER", "0")
            .env("COLUMNS", "120")
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        std::fs::read_to_string(&log).unwrap()
    };
    let shown = on_tty(false);
    assert!(shown.contains("KiB"), "no bar on a terminal: {shown}");
    assert!(shown.contains("k6-ndjson"), "{shown}");
    // the bar's line is erased (ESC [2K) before the result: no bar glyph on the table's lines
    for line in shown.lines().filter(|l| l.contains("k6-ndjson")) {
        let last = line.rsplit('\r').next().unwrap_or(line);
        assert!(!last.contains('█'), "bar mixed into the result: {line:?}");
    }
    std::fs::remove_file(w.db()).unwrap();
    let quiet = on_tty(true);
    assert!(!quiet.contains("KiB"), "--quiet showed a bar: {quiet}");
    // off a terminal, even at once: nothing on stderr
    std::fs::remove_file(w.db()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_perfledger"))
        .arg("--db")
        .arg(w.db())
        .arg("import")
        .arg(&k6)
        .env("PERFLEDGER_PROGRESS_AFTER", "0")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
