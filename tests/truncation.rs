//! Outputs cut short (issue 13, defect 1): each real text fixture of ab, wrk, pgbench and hey is cut
//! at every line boundary and in the middle of every line; every cut either imports exactly the
//! full file's numbers (the cut fell after the output's end) or fails. Never other numbers.

use std::collections::BTreeMap;
use std::path::Path;

use perfledger::import::{collect_units, detect, parse_unit};
use perfledger::model::Parsed;

/// (target, metric) -> value of every run the file gives, or None when it does not import.
fn numbers(path: &Path) -> Option<Vec<BTreeMap<(String, String), f64>>> {
    let units = collect_units(&[path.to_path_buf()]).ok()?;
    let (unit, _) = units.first()?;
    let imp = detect(unit, None).ok()?;
    match parse_unit(unit, imp, &Default::default()).ok()? {
        Parsed::Runs(runs) => Some(
            runs.iter()
                .map(|r| {
                    r.targets
                        .iter()
                        .flat_map(|t| {
                            t.metrics
                                .iter()
                                .map(|(m, (v, _))| ((t.name.clone(), m.clone()), *v))
                        })
                        .collect()
                })
                .collect(),
        ),
        Parsed::Snapshot(_) | Parsed::Resources(_) => None,
    }
}

fn cuts(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '\n' {
            out.push(i + 1);
            let mid = start + (i - start) / 2;
            if text.is_char_boundary(mid) && mid > start {
                out.push(mid);
            }
            start = i + 1;
        }
    }
    out.retain(|c| *c < text.len());
    out
}

#[test]
fn a_cut_output_imports_its_full_numbers_or_fails() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut refused = 0;
    for folder in ["ab", "wrk", "pgbench", "hey", "siege", "h2load"] {
        for e in std::fs::read_dir(root.join(folder)).unwrap() {
            let f = e.unwrap().path();
            if f.extension().is_none_or(|x| x != "txt" && x != "html") {
                continue;
            }
            let Some(full) = numbers(&f) else {
                continue; // an output with no results: nothing to cut
            };
            let text = std::fs::read_to_string(&f).unwrap();
            for at in cuts(&text) {
                let cut = dir.path().join(f.file_name().unwrap());
                std::fs::write(&cut, &text[..at]).unwrap();
                match numbers(&cut) {
                    None => refused += 1,
                    Some(got) => assert_eq!(
                        got,
                        full,
                        "{} cut at byte {at} of {} imported other numbers",
                        f.display(),
                        text.len()
                    ),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "{checked} cuts");
    assert!(
        refused * 10 > checked * 8,
        "{refused} of {checked} cuts refused"
    );
}

#[test]
fn the_message_says_truncated_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    // a pgbench summary cut inside "processed: 8291" of the aggregate run
    let text = std::fs::read_to_string(root.join("pgbench/tpcb_c2_t50.txt")).unwrap();
    let at = text.find("processed: 100").unwrap() + "processed: 10".len();
    let cut = dir.path().join("pgbench.txt");
    std::fs::write(&cut, &text[..at]).unwrap();
    let units = collect_units(std::slice::from_ref(&cut)).unwrap();
    let imp = detect(&units[0].0, None).unwrap();
    let err = parse_unit(&units[0].0, imp, &Default::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("truncated: expected pgbench's final 'tps = "),
        "{msg}"
    );
    assert_eq!(err.exit_code(), perfledger::error::exit::BAD_INPUT);
}
