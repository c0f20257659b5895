//! `perfledger runs`: the runs matching a filter, newest first, with their headline figures.

use duckdb::params_from_iter;

use super::select::RunFilter;
use crate::cli::RunsArgs;
use crate::db::Warehouse;
use crate::error::Result;
use crate::frame;

pub fn frame(
    wh: &Warehouse,
    filter: &RunFilter,
    limit: usize,
) -> Result<polars::prelude::DataFrame> {
    let (cond, mut params) = filter.sql();
    params.push(duckdb::types::Value::BigInt(limit as i64));
    let sql = format!(
        "SELECT r.id, strftime(r.started_at, '%Y-%m-%d %H:%M:%S') AS started_at, r.tool, r.scenario,
                max(m.value) FILTER (WHERE m.metric = 'requests') AS requests,
                max(m.value) FILTER (WHERE m.metric = 'throughput_rps') AS throughput_rps,
                max(m.value) FILTER (WHERE m.metric = 'latency_p95_ms') AS p95_ms,
                max(m.value) FILTER (WHERE m.metric = 'error_rate') AS error_rate,
                (SELECT string_agg(l.key || '=' || l.value, ',' ORDER BY l.key) FROM run_label l
                  WHERE l.run_id = r.id AND l.key <> 'time_source') AS labels
         FROM run r LEFT JOIN measurement m ON m.run_id = r.id AND m.target = 'TOTAL'
         {cond}
         GROUP BY r.id, r.started_at, r.tool, r.scenario
         ORDER BY r.started_at DESC NULLS LAST, r.id DESC
         LIMIT ?"
    );
    frame::query(&wh.conn, &sql, params_from_iter(params))
}

pub fn run(db: &std::path::Path, a: &RunsArgs) -> Result<()> {
    let wh = Warehouse::open_ro(db)?;
    let filter = RunFilter::try_from(&a.filter)?;
    crate::emit(&frame::render(&frame(&wh, &filter, a.limit)?, a.format))?;
    Ok(())
}
