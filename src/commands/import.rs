//! `perfledger import`: detect, parse and store each file (or Locust set) in its own
//! transaction; report per file what happened. One bad file does not stop the others, but
//! makes the exit code 3.

use std::collections::BTreeMap;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::select::{parse_label, parse_time_arg};
use crate::cli::ImportArgs;
use crate::db::{self, Outcome, Warehouse};
use crate::error::{Error, Result};
use crate::frame::{self, Format};
use crate::import::{self, ImportOptions};
use crate::model::{Parsed, TOTAL};

#[derive(Debug, Serialize)]
pub struct FileResult {
    pub file: String,
    pub format: Option<String>,
    pub run_id: Option<i64>,
    pub snapshot_id: Option<i64>,
    pub status: String,
    pub targets: Option<usize>,
    pub requests: Option<f64>,
    pub message: Option<String>,
}

pub struct Report {
    pub results: Vec<FileResult>,
    pub failed: Vec<Error>,
}

pub fn options(a: &ImportArgs) -> Result<ImportOptions> {
    if let Some(t) = &a.tool {
        let known = import::tool_names();
        if !known.contains(&t.as_str()) {
            return Err(Error::Usage(format!(
                "--tool {t}: unknown tool; expected one of {}",
                known.join(", ")
            )));
        }
    }
    Ok(ImportOptions {
        labels: a
            .labels
            .iter()
            .map(|l| parse_label(l))
            .collect::<Result<BTreeMap<_, _>>>()?,
        scenario: a.scenario.clone(),
        at: a
            .at
            .as_deref()
            .map(|s| parse_time_arg("--at", s))
            .transpose()?,
        server: a.server.clone(),
        run: a.run,
    })
}

/// Imports paths; `wh` is None for a dry run.
pub fn import_paths(
    mut wh: Option<&mut Warehouse>,
    paths: &[std::path::PathBuf],
    tool: Option<&str>,
    opts: &ImportOptions,
) -> Result<Report> {
    let units = import::collect_units(paths)?;
    let bar = ProgressBar::new(units.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}").expect("static template"),
    );
    let mut report = Report {
        results: Vec::new(),
        failed: Vec::new(),
    };
    for (unit, explicit) in units {
        bar.set_message(unit.display());
        let file = unit.display();
        let result = import::detect(&unit, tool).and_then(|imp| {
            let parsed = import::parse_unit(&unit, imp, opts)?;
            Ok((imp.name(), parsed))
        });
        match result {
            Ok((format, parsed)) => match store(wh.as_deref_mut(), &file, format, parsed, opts) {
                Ok(mut rows) => report.results.append(&mut rows),
                Err(e) => push_error(&mut report, file, Some(format), e),
            },
            Err(Error::Unrecognized { .. }) if !explicit => {
                report.results.push(FileResult {
                    file,
                    format: None,
                    run_id: None,
                    snapshot_id: None,
                    status: "skipped".into(),
                    targets: None,
                    requests: None,
                    message: Some("not a recognised format".into()),
                });
            }
            Err(e) => push_error(&mut report, file, None, e),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(report)
}

fn push_error(report: &mut Report, file: String, format: Option<&str>, e: Error) {
    report.results.push(FileResult {
        file,
        format: format.map(str::to_string),
        run_id: None,
        snapshot_id: None,
        status: "error".into(),
        targets: None,
        requests: None,
        message: Some(e.to_string()),
    });
    report.failed.push(e);
}

fn store(
    wh: Option<&mut Warehouse>,
    file: &str,
    format: &str,
    parsed: Parsed,
    opts: &ImportOptions,
) -> Result<Vec<FileResult>> {
    let row = |run_id, snapshot_id, status: &str, targets, requests| FileResult {
        file: file.to_string(),
        format: Some(format.to_string()),
        run_id,
        snapshot_id,
        status: status.to_string(),
        targets,
        requests,
        message: None,
    };
    let status = |o: Outcome| match o {
        Outcome::Imported => "imported",
        Outcome::AlreadyImported => "already imported",
    };
    match (parsed, wh) {
        (Parsed::Runs(runs), None) => Ok(runs
            .iter()
            .map(|r| {
                row(
                    None,
                    None,
                    "parsed (dry run)",
                    Some(r.targets.len()),
                    r.target(TOTAL).and_then(|t| t.get("requests")),
                )
            })
            .collect()),
        (Parsed::Snapshot(s), None) => Ok(vec![row(
            None,
            None,
            "parsed (dry run)",
            Some(s.statements.len()),
            None,
        )]),
        (Parsed::Runs(runs), Some(wh)) => runs
            .iter()
            .map(|r| {
                let (id, o) = db::ingest_run(wh, r)?;
                Ok(row(
                    Some(id),
                    None,
                    status(o),
                    Some(r.targets.len()),
                    r.target(TOTAL).and_then(|t| t.get("requests")),
                ))
            })
            .collect(),
        (Parsed::Snapshot(s), Some(wh)) => {
            let (id, o) = db::ingest_snapshot(wh, &s, opts.run)?;
            Ok(vec![row(
                opts.run,
                Some(id),
                status(o),
                Some(s.statements.len()),
                None,
            )])
        }
    }
}

pub fn render(results: &[FileResult], format: Format) -> String {
    match format {
        Format::Json | Format::Junit => {
            serde_json::to_string_pretty(results).expect("serialisable") + "\n"
        }
        _ => {
            let header: Vec<String> = ["file", "format", "run", "status", "targets", "requests"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|r| {
                    let status = match (&r.status[..], r.run_id, r.snapshot_id) {
                        ("already imported", Some(id), _) => {
                            format!("already imported as run {id}")
                        }
                        ("already imported", None, Some(s)) => {
                            format!("already imported as snapshot {s}")
                        }
                        ("imported", None, Some(s)) => format!("imported as snapshot {s}"),
                        _ => r.status.clone(),
                    };
                    vec![
                        r.file.clone(),
                        r.format.clone().unwrap_or_default(),
                        r.run_id.map(|i| i.to_string()).unwrap_or_default(),
                        status,
                        r.targets.map(|t| t.to_string()).unwrap_or_default(),
                        r.requests.map(frame::fmt_float).unwrap_or_default(),
                    ]
                })
                .collect();
            frame::render_rows(&header, &rows, format)
        }
    }
}

pub fn run(db_path: &std::path::Path, a: &ImportArgs) -> Result<()> {
    let opts = options(a)?;
    let report = if a.dry_run {
        import_paths(None, &a.paths, a.tool.as_deref(), &opts)?
    } else {
        let mut wh = Warehouse::open_rw(db_path)?;
        import_paths(Some(&mut wh), &a.paths, a.tool.as_deref(), &opts)?
    };
    if report.failed.is_empty() {
        crate::emit(&render(&report.results, a.format))?;
        return Ok(());
    }
    if report.results.len() == 1 {
        return Err(report.failed.into_iter().next().expect("one failure"));
    }
    crate::emit(&render(&report.results, a.format))?;
    for e in &report.failed {
        eprintln!("error: {e}");
    }
    Err(Error::Data(format!(
        "{} of {} inputs failed to import; the others were imported",
        report.failed.len(),
        report.results.len()
    )))
}
