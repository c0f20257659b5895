//! `perfledger import`: detect, parse and store each file (or Locust set) in its own
//! transaction; report per file what happened. One bad file does not stop the others, but
//! makes the exit code 3.

use std::collections::BTreeMap;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::ImportArgs;
use crate::error::{Error, Result};
use crate::import::{self, ImportOptions};
use crate::metrics::{REQUESTS, TOTAL};
use crate::model::{parse_label, Parsed};
use crate::output::import::{render, FileResult, Status};
use crate::output::{emit, Format};
use crate::store::{Outcome, Warehouse};

pub struct Request {
    pub paths: Vec<PathBuf>,
    pub tool: Option<String>,
    pub options: ImportOptions,
    pub dry_run: bool,
    pub format: Format,
}

pub struct Report {
    pub results: Vec<FileResult>,
    pub failed: Vec<Error>,
}

impl TryFrom<&ImportArgs> for Request {
    type Error = Error;
    fn try_from(a: &ImportArgs) -> Result<Self> {
        if let Some(t) = &a.tool {
            let known = import::tool_names();
            if !known.contains(&t.as_str()) {
                return Err(Error::Usage(format!(
                    "--tool {t}: unknown tool; expected one of {}",
                    known.join(", ")
                )));
            }
        }
        let options = ImportOptions {
            labels: a
                .labels
                .iter()
                .map(|l| parse_label(l))
                .collect::<Result<BTreeMap<_, _>>>()?,
            scenario: a.scenario.clone(),
            at: super::opt_time("--at", a.at.as_deref())?,
            server: a.server.clone(),
            run: a.run,
        };
        Ok(Request {
            paths: a.paths.clone(),
            tool: a.tool.clone(),
            options,
            dry_run: a.dry_run,
            format: super::format(a.format)?,
        })
    }
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
    #[expect(clippy::expect_used, reason = "a constant template")]
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
                    status: Status::Skipped,
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
        status: Status::Error,
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
    let row = |run_id, snapshot_id, status, targets, requests| FileResult {
        file: file.to_string(),
        format: Some(format.to_string()),
        run_id,
        snapshot_id,
        status,
        targets,
        requests,
        message: None,
    };
    let status = |o: Outcome| match o {
        Outcome::Imported => Status::Imported,
        Outcome::AlreadyImported => Status::AlreadyImported,
    };
    match (parsed, wh) {
        (Parsed::Runs(runs), None) => Ok(runs
            .iter()
            .map(|r| {
                row(
                    None,
                    None,
                    Status::DryRun,
                    Some(r.targets.len()),
                    r.target(TOTAL).and_then(|t| t.get(REQUESTS)),
                )
            })
            .collect()),
        (Parsed::Snapshot(s), None) => Ok(vec![row(
            None,
            None,
            Status::DryRun,
            Some(s.statements.len()),
            None,
        )]),
        (Parsed::Runs(runs), Some(wh)) => runs
            .iter()
            .map(|r| {
                let (id, o) = wh.ingest_run(r)?;
                Ok(row(
                    Some(id),
                    None,
                    status(o),
                    Some(r.targets.len()),
                    r.target(TOTAL).and_then(|t| t.get(REQUESTS)),
                ))
            })
            .collect(),
        (Parsed::Snapshot(s), Some(wh)) => {
            let (id, o) = wh.ingest_snapshot(&s, opts.run)?;
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

pub fn run(db_path: &std::path::Path, r: &Request) -> Result<()> {
    let tool = r.tool.as_deref();
    let report = if r.dry_run {
        import_paths(None, &r.paths, tool, &r.options)?
    } else {
        let mut wh = Warehouse::open_rw(db_path)?;
        import_paths(Some(&mut wh), &r.paths, tool, &r.options)?
    };
    if report.failed.is_empty() {
        return emit(&render(&report.results, r.format));
    }
    if report.results.len() == 1 {
        if let Some(e) = report.failed.into_iter().next() {
            return Err(e);
        }
        return Ok(());
    }
    emit(&render(&report.results, r.format))?;
    for e in &report.failed {
        crate::output::error(e);
    }
    Err(Error::Partial {
        failed: report.failed.len(),
        total: report.results.len(),
    })
}
