//! `perfledger export FORMAT [RUNS]`: the selected runs for other tools, as OpenMetrics text
//! (Prometheus) or as one Parquet/CSV/JSON file per table (notebooks, other engines).

use std::path::PathBuf;

use crate::analysis::selection::{self, Selector};
use crate::cli::{ExportArgs, ExportFormat};
use crate::error::{Error, Result};
use crate::output::{emit, emit_err, lists, openmetrics, quiet, remote_write, render_grid, Format};
use crate::store::export::FileFormat;
use crate::store::{Location, RunFilter, Warehouse};

pub enum Target {
    OpenMetrics(Option<PathBuf>),
    RemoteWrite(String),
    Files(FileFormat, PathBuf),
}

pub struct Request {
    pub target: Target,
    pub runs: Option<Selector>,
    pub filter: RunFilter,
}

impl TryFrom<&ExportArgs> for Request {
    type Error = Error;
    fn try_from(a: &ExportArgs) -> Result<Self> {
        let files = |f| {
            a.out.clone().map(|d| Target::Files(f, d)).ok_or_else(|| {
                Error::Usage(
                    "export parquet|csv|json writes one file per table: say where with --out DIR"
                        .into(),
                )
            })
        };
        let target = match a.format {
            ExportFormat::Openmetrics => Target::OpenMetrics(a.out.clone()),
            ExportFormat::RemoteWrite => Target::RemoteWrite(
                a.url.clone().filter(|u| u.starts_with("http://") || u.starts_with("https://")).ok_or_else(|| {
                    Error::Usage(
                        "export remote-write needs --url http(s)://HOST:PORT/PATH, e.g. http://127.0.0.1:9090/api/v1/write"
                            .into(),
                    )
                })?,
            ),
            ExportFormat::Parquet => files(FileFormat::Parquet)?,
            ExportFormat::Csv => files(FileFormat::Csv)?,
            ExportFormat::Json => files(FileFormat::Ndjson)?,
        };
        Ok(Request {
            target,
            runs: a.runs.as_deref().map(selection::parse).transpose()?,
            filter: (&a.filter).try_into()?,
        })
    }
}

/// The selected run ids, oldest first.
fn selected(wh: &Warehouse, r: &Request) -> Result<Vec<i64>> {
    let mut ids = match &r.runs {
        Some(sel) => selection::resolve(wh, sel, &r.filter, &[])?,
        None => wh.select_runs(&r.filter, None, &[])?,
    };
    ids.sort_unstable();
    Ok(ids)
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let wh = Warehouse::open_read(loc)?;
    let ids = selected(&wh, r)?;
    if ids.is_empty() {
        return Err(Error::Usage(
            "no run matches the selection: nothing to export (see `perfledger runs`)".into(),
        ));
    }
    match &r.target {
        Target::OpenMetrics(out) => export_openmetrics(&wh, &ids, out.as_deref()),
        Target::RemoteWrite(url) => {
            let (series, untimed) = remote_write::series(&run_metrics(&wh, &ids)?);
            note_untimed(untimed);
            let n = remote_write::push(url, &series)?;
            emit(&format!(
                "{} run(s), {n} series written to {url}\n",
                ids.len() - untimed
            ))
        }
        Target::Files(f, dir) => {
            let tables = wh.export_files(&ids, dir, *f)?;
            emit(&render_grid(
                &lists::export_grid(&tables, ids.len()),
                Format::Table,
            ))
        }
    }
}

/// Each selected run with its measurements and histograms, by run id.
fn run_metrics(wh: &Warehouse, ids: &[i64]) -> Result<Vec<openmetrics::RunMetrics>> {
    let mut headers = wh.run_headers(ids)?;
    headers.sort_by_key(|h| h.id);
    let mut values = wh.measurements(ids)?.into_iter().peekable();
    let mut hists = wh.histograms_of(ids)?.into_iter().peekable();
    let mut runs = Vec::with_capacity(headers.len());
    for header in headers {
        let mut mine = Vec::new();
        // measurements and histograms come ordered by run id, as the headers do
        while let Some((_, t, m, v, u)) = values.next_if(|x| x.0 <= header.id) {
            mine.push((t, m, v, u));
        }
        let mut histograms = Vec::new();
        while let Some((_, target, h)) = hists.next_if(|x| x.0 <= header.id) {
            histograms.push((target, h));
        }
        runs.push(openmetrics::RunMetrics {
            header,
            values: mine,
            histograms,
        });
    }
    Ok(runs)
}

fn note_untimed(untimed: usize) {
    if untimed > 0 && !quiet() {
        emit_err(&format!(
            "note: {untimed} run(s) have no start or end time and were left out (Prometheus samples need one)\n"
        ));
    }
}

fn export_openmetrics(wh: &Warehouse, ids: &[i64], out: Option<&std::path::Path>) -> Result<()> {
    let (text, untimed) = openmetrics::render(&run_metrics(wh, ids)?);
    note_untimed(untimed);
    match out {
        None => emit(&text),
        Some(path) => {
            crate::output::write_file(path, text.as_bytes())?;
            crate::output::wrote(
                &format!("{} run(s) as OpenMetrics", ids.len() - untimed),
                path,
            )
        }
    }
}
