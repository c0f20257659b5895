//! `perfledger import`: detect, parse and store each file (or Locust set) in its own
//! transaction; report per file what happened. One bad file does not stop the others, but
//! makes the exit code 3.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cli::ImportArgs;
use crate::error::{Error, Result};
use crate::import::{self, group, ImportOptions};
use crate::metrics::{REQUESTS, TOTAL};
use crate::model::{parse_label, Parsed};
use crate::output::import::{render, FileResult, Status};
use crate::output::{emit, Format};
use crate::store::{Location, Outcome, Warehouse};

pub struct Request {
    pub paths: Vec<PathBuf>,
    pub tool: Option<String>,
    pub options: ImportOptions,
    /// `--run`: resolved once the warehouse is open.
    pub run: Option<String>,
    /// `import prometheus --url ...`: a live query instead of files.
    pub prometheus: Option<super::resources::Live>,
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
            run: None,
            run_group: a.run_group,
            value_unit: a.value_unit.map(crate::cli::ValueUnitArg::unit),
            statements: None,
        };
        let prometheus = super::resources::Live::from_args(a)?;
        Ok(Request {
            paths: a.paths.clone(),
            tool: a.tool.clone(),
            options,
            run: a.run.clone(),
            prometheus,
            dry_run: a.dry_run,
            format: super::format(a.format)?,
        })
    }
}

/// Where an import stores: nowhere (a dry run), a warehouse open already, or one being opened
/// on a thread of its own while the inputs are parsed. Opening is DuckDB's start and, for a new
/// warehouse, its parse of the 13 migrations (~0.1 s of a 70 MB import, measured); parsing a
/// k6 or Locust file needs none of it.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per import, on the stack for its duration"
)]
enum Store<'s, 'w> {
    DryRun,
    Open(&'w mut Warehouse),
    Opening(std::thread::ScopedJoinHandle<'s, Result<Warehouse>>),
    Opened(Warehouse),
    /// the open failed, and the import with it (never asked again)
    Failed,
}

impl Store<'_, '_> {
    /// The warehouse, waiting for it to open if need be; None on a dry run. A warehouse that
    /// could not be opened fails the import as a whole, as it did before anything was parsed.
    fn get(&mut self) -> Result<Option<&mut Warehouse>> {
        if matches!(self, Store::Opening(_)) {
            if let Store::Opening(h) = std::mem::replace(self, Store::Failed) {
                let opened = h
                    .join()
                    .map_err(|_| Error::Internal("opening the warehouse panicked".into()))?;
                *self = Store::Opened(opened?);
            }
        }
        match self {
            Store::DryRun => Ok(None),
            Store::Open(wh) => Ok(Some(&mut **wh)),
            Store::Opened(wh) => Ok(Some(wh)),
            Store::Opening(_) | Store::Failed => Err(Error::Internal(
                "the warehouse failed to open: the import should have stopped".into(),
            )),
        }
    }
}

/// Imports paths; `wh` is None for a dry run. Every input is parsed first, so that the
/// outputs of one test (see `import::group`) are stored as one run.
pub fn import_paths(
    wh: Option<&mut Warehouse>,
    paths: &[PathBuf],
    tool: Option<&str>,
    opts: &ImportOptions,
) -> Result<Report> {
    let mut store = wh.map_or(Store::DryRun, Store::Open);
    import_into(&mut store, paths, tool, opts)
}

fn import_into(
    wh: &mut Store<'_, '_>,
    paths: &[PathBuf],
    tool: Option<&str>,
    opts: &ImportOptions,
) -> Result<Report> {
    let units = import::collect_units(paths)?;
    // the bar goes by bytes: one large k6 file is most of the work of a folder
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let sizes: Vec<u64> = units
        .iter()
        .map(|(u, _)| size(&u.primary) + u.siblings.values().map(|p| size(p)).sum::<u64>())
        .collect();
    crate::output::progress_bytes(sizes.iter().sum());
    let mut done = 0;
    let mut report = Report {
        results: Vec::new(),
        failed: Vec::new(),
    };
    let mut outputs = Vec::new();
    let mut captures = Vec::new();
    let mut names: Vec<(String, &'static str)> = Vec::new();
    for (i, (unit, explicit)) in units.into_iter().enumerate() {
        crate::progress::stage(&unit.display());
        let file = unit.display();
        names.push((file.clone(), ""));
        crate::output::progress_at(done);
        done += sizes[i];
        // A file found while walking a folder that is not a result (an empty k6.stderr.txt,
        // a README) is skipped and listed; one named on the command line must be a result.
        let imp = match import::detect(&unit, tool) {
            Ok(imp) => imp,
            Err(e) if !explicit => {
                report.results.push(skipped(file, &e));
                continue;
            }
            Err(e) => {
                push_error(&mut report, file, None, e);
                continue;
            }
        };
        names[i].1 = imp.name();
        match import::parse_unit(&unit, imp, opts) {
            Ok(Parsed::Runs(runs)) => {
                outputs.extend(runs.into_iter().map(|run| group::Output { unit: i, run }));
            }
            // stored after the runs: a saved answer binds to a run of the same import
            Ok(Parsed::Resources(c)) => captures.push((file, imp.name(), c)),
            Ok(Parsed::Snapshot(s)) => match snapshot(wh.get()?, &s, opts) {
                Ok((snapshot_id, status)) => report.results.push(FileResult {
                    file,
                    format: Some(imp.name().to_string()),
                    run_id: opts.run.filter(|_| snapshot_id.is_some()),
                    snapshot_id,
                    status,
                    targets: Some(s.statements.len()),
                    requests: None,
                    // a file's notes (hidden statements, ...) as the live snapshot says them
                    message: (!s.notes.is_empty()).then(|| s.notes.join("; ")),
                }),
                Err(e) => push_error(&mut report, file, Some(imp.name()), e),
            },
            Err(e) => push_error(&mut report, file, Some(imp.name()), e),
        }
    }
    crate::output::progress_at(done);
    let mut groups = group::group(outputs, opts.run_group);
    if let (Some(log), [g]) = (&opts.statements, groups.as_mut_slice()) {
        add_statements(&mut g.run, log);
    }
    let n = groups.len();
    for (k, g) in groups.into_iter().enumerate() {
        crate::progress::stage(&format!("storing run {} of {n}", k + 1));
        let stored = match wh.get()? {
            Some(wh) => wh.ingest_run(&g.run).map(|(id, o)| (Some(id), status(o))),
            None => Ok((None, Status::DryRun)),
        };
        let file = g
            .units
            .iter()
            .map(|u| names[*u].0.as_str())
            .collect::<Vec<_>>()
            .join(" + ");
        match stored {
            Ok((run_id, status)) => report.results.push(FileResult {
                file,
                format: Some(g.run.format.to_string()),
                run_id,
                snapshot_id: None,
                status,
                targets: Some(g.run.targets.len()),
                requests: g.run.target(TOTAL).and_then(|t| t.get(REQUESTS)),
                message: (!g.run.warnings.is_empty()).then(|| g.run.warnings.join("; ")),
            }),
            // the lake is unreachable or refuses: the remaining runs would fail the same way
            Err(e @ Error::Lake { .. }) => {
                push_error(&mut report, file, Some(names[g.units[0]].1), e);
                break;
            }
            Err(e) => push_error(&mut report, file, Some(names[g.units[0]].1), e),
        }
    }
    for (file, format, c) in captures {
        match resources(wh.get()?, &c, opts) {
            Ok((run_id, status)) => report.results.push(FileResult {
                file,
                format: Some(format.to_string()),
                run_id,
                snapshot_id: None,
                status,
                targets: Some(c.series.len()),
                requests: None,
                message: None,
            }),
            Err(e) => push_error(&mut report, file, Some(format), e),
        }
    }
    Ok(report)
}

/// A statement log's statements as targets of the run (not its TOTAL: the run's total is its
/// load tool's), and the log as one of its sources.
fn add_statements(run: &mut crate::model::ParsedRun, log: &crate::model::ParsedRun) {
    for t in log.targets.iter().filter(|t| t.name != TOTAL) {
        if run.target(&t.name).is_none() {
            run.targets.push(t.clone());
        }
    }
    run.sources.extend(log.sources.iter().cloned());
    run.format = format!("{}+{}", run.format, log.format).into();
}

fn status(o: Outcome) -> Status {
    match o {
        Outcome::Imported => Status::Imported,
        Outcome::AlreadyImported => Status::AlreadyImported,
    }
}

/// Stores a snapshot (nothing on a dry run): its id and what happened.
fn snapshot(
    wh: Option<&mut Warehouse>,
    s: &crate::model::ParsedSnapshot,
    opts: &ImportOptions,
) -> Result<(Option<i64>, Status)> {
    Ok(match wh {
        Some(wh) => {
            let (id, o) = wh.ingest_snapshot(s, opts.run)?;
            (Some(id), status(o))
        }
        None => (None, Status::DryRun),
    })
}

/// Stores a saved resource answer bound to `--run`, or to the run whose window it overlaps
/// most: the run's id and what happened.
fn resources(
    wh: Option<&mut Warehouse>,
    c: &crate::model::ResourceCapture,
    opts: &ImportOptions,
) -> Result<(Option<i64>, Status)> {
    let Some(wh) = wh else {
        return Ok((opts.run, Status::DryRun));
    };
    let run = match opts.run {
        Some(r) => r,
        None => wh
            .run_overlapping(c.started_at, c.ended_at)?
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{}: no run overlaps its window {} .. {}: pass --run",
                    c.source,
                    crate::time::display(c.started_at),
                    crate::time::display(c.ended_at)
                ))
            })?,
    };
    let (_, o) = wh.ingest_resources(c, run)?;
    Ok((Some(run), status(o)))
}

fn skipped(file: String, e: &Error) -> FileResult {
    let why = match e {
        Error::Unrecognized { .. } => "not a recognised format".to_string(),
        e => format!("not a result: {e}"),
    };
    FileResult {
        file,
        format: None,
        run_id: None,
        snapshot_id: None,
        status: Status::Skipped,
        targets: None,
        requests: None,
        message: Some(why),
    }
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

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    if let Some(live) = &r.prometheus {
        return super::resources::run(loc, live, r.run.as_deref(), r.format);
    }
    let tool = r.tool.as_deref();
    let mut report = if r.dry_run {
        import_paths(None, &r.paths, tool, &r.options)?
    } else if let Some(s) = &r.run {
        // --run may name a run another machine imported: its key must be in the index
        let mut wh = Warehouse::open_write_synced(loc)?;
        let mut opts = r.options.clone();
        opts.run = Some(crate::analysis::selection::resolve_run(
            &wh,
            s,
            &crate::store::RunFilter::default(),
        )?);
        import_paths(Some(&mut wh), &r.paths, tool, &opts)?
    } else {
        std::thread::scope(|scope| {
            let opening = scope.spawn(|| Warehouse::open_write(loc));
            let mut store = Store::Opening(opening);
            import_into(&mut store, &r.paths, tool, &r.options)
        })?
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
    // a lake failure is the warehouse's exit code (4), not bad input
    if let Some(i) = report
        .failed
        .iter()
        .position(|e| matches!(e, Error::Lake { .. }))
    {
        let lake = report.failed.swap_remove(i);
        for e in &report.failed {
            crate::output::error(e);
        }
        return Err(lake);
    }
    for e in &report.failed {
        crate::output::error(e);
    }
    Err(Error::Partial {
        failed: report.failed.len(),
        total: report.results.len(),
    })
}
