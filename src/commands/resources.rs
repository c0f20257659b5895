//! `perfledger import prometheus --url URL --run N`: the system resources of a run's window,
//! queried from Prometheus and stored bound to the run.

use std::path::PathBuf;

use crate::cli::ImportArgs;
use crate::error::{Error, Result};
use crate::import::prometheus::{self, Window};
use crate::output::resources::{render, CaptureReport};
use crate::output::{emit, Format};
use crate::store::{Location, RunFilter, Warehouse};

/// A validated live query.
#[derive(Debug, Clone)]
pub struct Live {
    pub url: String,
    pub queries: Vec<prometheus::Query>,
    pub step_s: Option<f64>,
    pub save: Option<PathBuf>,
}

impl Live {
    /// `Some` for `import prometheus --url ...`; refuses the live options elsewhere.
    pub fn from_args(a: &ImportArgs) -> Result<Option<Live>> {
        let named = a.paths.len() == 1 && a.paths[0].as_os_str() == "prometheus";
        let Some(url) = &a.url else {
            if named && !a.paths[0].exists() {
                return Err(Error::Usage(
                    "import prometheus: --url is missing (e.g. --url http://127.0.0.1:9090); to import a saved answer, name its file".into(),
                ));
            }
            for (flag, set) in [
                ("--queries", a.queries.is_some()),
                ("--step", a.step.is_some()),
                ("--save", a.save.is_some()),
            ] {
                if set {
                    return Err(Error::Usage(format!(
                        "{flag} goes with `import prometheus --url URL`"
                    )));
                }
            }
            return Ok(None);
        };
        if !named {
            return Err(Error::Usage(
                "--url goes with `import prometheus --url URL` (no files)".into(),
            ));
        }
        let step_s = a
            .step
            .as_deref()
            .map(|s| {
                prometheus::parse_duration(s).ok_or_else(|| {
                    Error::Usage(format!("--step {s}: expected a duration like 1s, 15s, 1m"))
                })
            })
            .transpose()?;
        Ok(Some(Live {
            url: url.clone(),
            queries: prometheus::queries(a.queries.as_deref())?,
            step_s,
            save: a.save.clone(),
        }))
    }
}

pub fn run(loc: &Location, live: &Live, run: Option<&str>, format: Format) -> Result<()> {
    let mut wh = Warehouse::open_write_synced(loc)?;
    let run_id = crate::analysis::selection::resolve_run(
        &wh,
        run.unwrap_or("latest"),
        &RunFilter::default(),
    )?;
    let got = capture(&wh, live, run_id)?;
    let (capture_id, outcome) = wh.ingest_resources(&got.capture, run_id)?;
    let stats = wh.resource_stats(&[run_id])?;
    emit(&render(
        &CaptureReport {
            run_id,
            capture_id,
            outcome,
            capture: &got.capture,
            empty: &got.empty,
            stats: &stats,
        },
        format,
    ))
}

/// Prometheus' answers over the run's window (saved where `--save` says), refused when no
/// query found a series there.
pub fn capture(wh: &Warehouse, live: &Live, run_id: i64) -> Result<prometheus::LiveCapture> {
    let (start, end) = wh.run_window(run_id)?.ok_or_else(|| {
        Error::Usage(format!(
            "run {run_id} has no start time: import it with --at to give it one"
        ))
    })?;
    let got = prometheus::query_range(
        &live.url,
        &live.queries,
        Window {
            start,
            end,
            step_s: live.step_s,
        },
    )?;
    if let Some(dir) = &live.save {
        save(dir, &got.answers)?;
    }
    if got.capture.series.is_empty() {
        return Err(Error::Source {
            what: format!("Prometheus {}", got.capture.source),
            msg: format!(
                "no series between {} and {} (run {run_id}) for any query: is node_exporter scraped, and was Prometheus up during the run?",
                crate::time::display(start),
                crate::time::display(end)
            ),
        });
    }
    Ok(got)
}

/// Each answer as `<dir>/<metric>.json`.
fn save(
    dir: &std::path::Path,
    answers: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Result<()> {
    let err = |p: &std::path::Path, e: std::io::Error| Error::Output {
        path: p.to_path_buf(),
        msg: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    for (metric, v) in answers {
        let path = dir.join(format!("{metric}.json"));
        let text = serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))?;
        std::fs::write(&path, text).map_err(|e| err(&path, e))?;
    }
    Ok(())
}
