//! The demo's quarter: real nightly captures of a small shop service on PostgreSQL
//! (fixtures/quarter, captured back to back by fixtures/capture/capture_quarter.sh), re-dated
//! to one night each from 2026-07-01. Each night: a database-health export, a k6 run, an
//! export, a Locust run, an export, and Prometheus' CPU and memory of the k6 run's window. The
//! deploy of v3.1 (2026-08-12) made the search case-insensitive, `lower(code) = lower($1)`, which
//! no index serves (a Seq Scan: a changed plan, a slower search, a lower cache hit ratio); v3.2
//! (2026-09-09) added the index on `lower(code)`.
//!
//! NIGHTS.tsv gives each step's real time; a step's demo time is its night's 02:00 UTC plus its
//! offset from that night's k6 start, so intervals between snapshots stay what they were. The
//! Prometheus answers' sample times move by the same offset (in the extracted copy).

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use include_dir::{include_dir, Dir};

use crate::error::{Error, Result};
use crate::import::ImportOptions;
use crate::store::meta::AnnotationKind;
use crate::store::Warehouse;

static QUARTER: Dir = include_dir!("$CARGO_MANIFEST_DIR/fixtures/quarter");

/// The database's name in the demo (the captures' server is a throwaway port).
pub const SERVER: &str = "shop-db";
pub const SCENARIO: &str = "shop";

/// One night of NIGHTS.tsv.
struct Night {
    dir: String,
    date: NaiveDate,
    version: String,
    /// real epoch seconds: pg_before, k6 start, pg_mid, locust start, pg_after
    times: [f64; 5],
}

fn nights() -> Result<Vec<Night>> {
    let text = QUARTER
        .get_file("NIGHTS.tsv")
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| Error::Internal("fixtures/quarter/NIGHTS.tsv is not embedded".into()))?;
    let bad =
        |line: usize| Error::Internal(format!("fixtures/quarter/NIGHTS.tsv:{line}: malformed"));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let num = |k: usize| {
            f.get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| bad(i + 1))
        };
        let night: usize = f
            .first()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(i + 1))?;
        out.push(Night {
            dir: format!("n{night:02}"),
            date: f
                .get(1)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| bad(i + 1))?,
            version: f.get(2).ok_or_else(|| bad(i + 1))?.to_string(),
            times: [num(3)?, num(4)?, num(6)?, num(7)?, num(9)?],
        });
    }
    Ok(out)
}

/// The runs of the quarter: each night's k6 run, (story date, version, run id), in night order.
pub struct Quarter {
    pub k6: Vec<(NaiveDate, String, i64)>,
}

fn import_one(wh: &mut Warehouse, path: &Path, opts: &ImportOptions) -> Result<Option<i64>> {
    let report = super::import::import_paths(Some(wh), &[path.to_path_buf()], None, opts)?;
    if let Some(e) = report.failed.into_iter().next() {
        return Err(e);
    }
    Ok(report.results.first().and_then(|r| r.run_id))
}

/// A file that must give a run (a load tool's output): its id.
fn import_run(wh: &mut Warehouse, path: &Path, opts: &ImportOptions) -> Result<i64> {
    import_one(wh, path, opts)?
        .ok_or_else(|| Error::Internal(format!("{}: no run", path.display())))
}

/// Moves every sample time of a saved Prometheus `query_range` answer by `secs`, as the
/// night's other steps are moved: the points then lie in the re-dated run's window.
fn redate_answer(path: &Path, secs: f64) -> Result<()> {
    let bad = |what: &str| Error::Internal(format!("{}: {what}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| Error::output(path, e))?;
    let mut doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    let results = doc["data"]["result"]
        .as_array_mut()
        .ok_or_else(|| bad("no data.result"))?;
    for series in results {
        for pair in series["values"].as_array_mut().into_iter().flatten() {
            let t = pair[0]
                .as_f64()
                .ok_or_else(|| bad("a sample without a time"))?;
            let moved = t + secs;
            pair[0] = if moved.fract() == 0.0 {
                serde_json::json!(moved as i64)
            } else {
                serde_json::json!(moved)
            };
        }
    }
    std::fs::write(path, doc.to_string()).map_err(|e| Error::output(path, e))
}

/// Writes the captures under `dir` and imports the quarter.
pub fn import(wh: &mut Warehouse, dir: &Path) -> Result<Quarter> {
    let root = dir.join("quarter");
    std::fs::create_dir_all(&root).map_err(|e| Error::output(&root, e))?;
    QUARTER
        .extract(&root)
        .map_err(|e| Error::output(&root, e))?;
    let mut q = Quarter { k6: Vec::new() };
    for night in nights()? {
        let base = night
            .date
            .and_hms_opt(2, 0, 0)
            .ok_or_else(|| Error::Internal("night time".into()))?;
        let at = |real: f64| -> Option<NaiveDateTime> {
            crate::time::shift(base, real - night.times[1])
        };
        let d = root.join(&night.dir);
        let snapshot = |at: Option<NaiveDateTime>, run: Option<i64>| ImportOptions {
            at,
            run,
            server: Some(SERVER.into()),
            ..Default::default()
        };
        let run_opts = |at: Option<NaiveDateTime>| {
            let mut o = ImportOptions {
                at,
                scenario: Some(SCENARIO.into()),
                ..Default::default()
            };
            for (k, v) in [
                ("version", night.version.as_str()),
                ("branch", "main"),
                ("env", "nightly"),
            ] {
                o.labels.insert(k.into(), v.into());
            }
            o
        };
        import_one(
            wh,
            &d.join("pg_before.json"),
            &snapshot(at(night.times[0]), None),
        )?;
        let k6 = import_run(
            wh,
            &d.join("k6_summary.json"),
            &run_opts(at(night.times[1])),
        )?;
        import_one(
            wh,
            &d.join("pg_mid.json"),
            &snapshot(at(night.times[2]), Some(k6)),
        )?;
        for m in ["cpu_busy_ratio", "mem_used_ratio"] {
            let p = d.join("prometheus").join(format!("{m}.json"));
            if p.exists() {
                redate_answer(&p, crate::time::epoch_secs(base) - night.times[1])?;
                import_one(
                    wh,
                    &p,
                    &ImportOptions {
                        run: Some(k6),
                        ..Default::default()
                    },
                )?;
            }
        }
        let locust = import_run(
            wh,
            &d.join("locust_stats.csv"),
            &run_opts(at(night.times[3])),
        )?;
        import_one(
            wh,
            &d.join("pg_after.json"),
            &snapshot(at(night.times[4]), Some(locust)),
        )?;
        q.k6.push((night.date, night.version, k6));
    }
    for (day, text) in [
        (
            "2026-08-12T00:00:00Z",
            "deploy v3.1: case-insensitive search, lower(code) = lower($1)",
        ),
        (
            "2026-09-09T00:00:00Z",
            "deploy v3.2: index items_code_lower on lower(code)",
        ),
    ] {
        wh.annotate(
            crate::time::parse_time(day),
            None,
            AnnotationKind::Deploy,
            text,
        )?;
    }
    Ok(q)
}
