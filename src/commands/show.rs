//! `perfledger show RUN`: the run's summary, a per-target table, its errors and thresholds.

use polars::prelude::DataFrame;

use super::select::resolve_run;
use crate::cli::ShowArgs;
use crate::db::Warehouse;
use crate::error::Result;
use crate::frame::{self, Format};

pub struct RunView {
    pub summary: DataFrame,
    pub targets: DataFrame,
    pub errors: DataFrame,
    pub thresholds: DataFrame,
}

/// Standard per-target columns, in the order a reader scans them.
pub const TARGET_METRICS: [&str; 11] = [
    "requests",
    "failures",
    "error_rate",
    "throughput_rps",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "bytes_received",
];

pub fn view(wh: &Warehouse, id: i64) -> Result<RunView> {
    let summary = frame::query(
        &wh.conn,
        "SELECT r.id, r.tool, r.tool_version, r.format, r.scenario,
                strftime(r.started_at, '%Y-%m-%d %H:%M:%S') AS started_at,
                strftime(r.ended_at, '%Y-%m-%d %H:%M:%S') AS ended_at, r.duration_s, r.url,
                r.users, r.threads, r.connections, r.requests_planned, r.target_rate,
                (SELECT string_agg(l.key || '=' || l.value, ', ' ORDER BY l.key) FROM run_label l WHERE l.run_id = r.id) AS labels,
                (SELECT string_agg(s.path || ' (' || s.role || ', ' || coalesce('blake3 ' || s.blake3, 'sha256 ' || s.sha256) || ')', '; ') FROM source_file s WHERE s.run_id = r.id) AS sources
         FROM run r WHERE r.id = ?",
        [id],
    )?;
    let cols: String = TARGET_METRICS
        .iter()
        .map(|m| format!(", max(m.value) FILTER (WHERE m.metric = '{m}') AS {m}"))
        .collect();
    let targets = frame::query(
        &wh.conn,
        &format!(
            "SELECT t.target, t.kind {cols}
             FROM target t LEFT JOIN measurement m ON m.run_id = t.run_id AND m.target = t.target
             WHERE t.run_id = ? AND t.kind <> 'metric'
             GROUP BY t.target, t.kind
             ORDER BY t.kind = 'total' DESC, t.target"
        ),
        [id],
    )?;
    let errors = frame::query(&wh.conn, "SELECT target, kind, message, count FROM error WHERE run_id = ? ORDER BY count DESC, target", [id])?;
    let thresholds = frame::query(
        &wh.conn,
        "SELECT metric, expression, passed FROM threshold WHERE run_id = ? ORDER BY metric",
        [id],
    )?;
    Ok(RunView {
        summary,
        targets,
        errors,
        thresholds,
    })
}

pub fn run(db: &std::path::Path, a: &ShowArgs) -> Result<()> {
    let wh = Warehouse::open_ro(db)?;
    let id = resolve_run(&wh, &a.run)?;
    let v = view(&wh, id)?;
    match a.format {
        Format::Json | Format::Junit => {
            let doc = serde_json::json!({
                "run": frame::to_json_rows(&v.summary).get(0).cloned().unwrap_or_default(),
                "targets": frame::to_json_rows(&v.targets),
                "errors": frame::to_json_rows(&v.errors),
                "thresholds": frame::to_json_rows(&v.thresholds),
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&doc).expect("serialisable")
            );
        }
        Format::Csv => print!("{}", frame::render(&v.targets, Format::Csv)),
        f => {
            let rows = frame::to_json_rows(&v.summary);
            if let Some(obj) = rows.get(0).and_then(|r| r.as_object()) {
                for (k, val) in obj.iter().filter(|(_, v)| !v.is_null()) {
                    let s = val.as_str().map_or_else(|| val.to_string(), str::to_string);
                    println!("{k:>17}: {s}");
                }
            }
            println!();
            crate::emit(&frame::render(&v.targets, f))?;
            if v.errors.height() > 0 {
                println!("\nErrors");
                crate::emit(&frame::render(&v.errors, f))?;
            }
            if v.thresholds.height() > 0 {
                println!("\nThresholds");
                crate::emit(&frame::render(&v.thresholds, f))?;
            }
        }
    }
    Ok(())
}
