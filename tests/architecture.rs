//! The boundary rules of docs/architecture.md, as the greps the page names: each must find
//! nothing. A file that breaks a rule is named with the offending line.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// (file relative to the crate, line number, line) of every line matching `hit` in files
/// under `src/` accepted by `scope`.
fn offenders(scope: impl Fn(&str) -> bool, hit: impl Fn(&str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for f in rust_files(&root.join("src")) {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !scope(&rel) {
            continue;
        }
        for (i, line) in std::fs::read_to_string(&f).unwrap().lines().enumerate() {
            if hit(line) {
                out.push(format!("{rel}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    out
}

#[test]
fn only_the_store_names_duckdb() {
    let bad = offenders(|f| !f.starts_with("src/store/"), |l| l.contains("duckdb"));
    assert!(
        bad.is_empty(),
        "duckdb outside src/store/:\n{}",
        bad.join("\n")
    );
}

#[test]
fn lower_layers_never_import_commands_or_cli() {
    let lower = ["src/analysis/", "src/report/", "src/store/", "src/import/"];
    let bad = offenders(
        |f| lower.iter().any(|d| f.starts_with(d)),
        |l| l.contains("crate::commands") || l.contains("crate::cli"),
    );
    assert!(bad.is_empty(), "upward imports:\n{}", bad.join("\n"));
}

#[test]
fn only_the_output_layer_prints() {
    let bad = offenders(
        |f| !f.starts_with("src/output/"),
        |l| l.contains("println!") || l.contains("print!"),
    );
    assert!(
        bad.is_empty(),
        "printing outside src/output/:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_rules_find_what_they_look_for() {
    // the scan itself works: the store does name duckdb, commands do import cli, and output
    // does write to stdout
    assert!(!offenders(|f| f.starts_with("src/store/"), |l| l.contains("duckdb")).is_empty());
    assert!(!offenders(
        |f| f.starts_with("src/commands/"),
        |l| l.contains("crate::cli")
    )
    .is_empty());
    assert!(!offenders(|f| f.starts_with("src/output/"), |l| l.contains("stdout()")).is_empty());
}
