//! The Recommendations section: reads what the rules of [`crate::analysis::recommend`] need
//! from the latest run of each tool/scenario group and the period's database activity, and
//! the table of latest runs the per-run recommendations link to.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Cell, Table};
use crate::analysis::recommend::{self, LoadPoint, Recommendation};
use crate::error::Result;
use crate::grid::fmt_float;
use crate::metrics::{self, TARGET_METRICS, TOTAL};
use crate::store::resources::ResourceStat;
use crate::store::runs::RunView;
use crate::store::statements::StatementPeriod;
use crate::store::values::{IntervalPoint, TargetRow};
use crate::store::Warehouse;

/// The anchor of the latest-runs table.
pub const LATEST: &str = "latest-runs";

#[derive(Serialize, Default)]
pub struct Section {
    pub items: Vec<Item>,
    pub latest: Table,
}

#[derive(Serialize)]
pub struct Item {
    pub rank: usize,
    #[serde(flatten)]
    pub rec: Recommendation,
}

pub fn section(recs: Vec<Recommendation>, latest: Table) -> Section {
    Section {
        items: recommend::rank(recs)
            .into_iter()
            .enumerate()
            .map(|(i, rec)| Item { rank: i + 1, rec })
            .collect(),
        latest,
    }
}

fn col(metric: &str) -> usize {
    TARGET_METRICS
        .iter()
        .position(|m| *m == metric)
        .unwrap_or(0)
}

/// The per-run rules on one run, from what its page has read already: its view (targets and
/// errors) and its per-interval points. `scope` names the run (`#12 k6 shop`), `anchor` is
/// where the page shows its figures. Returns the run's row of the latest-runs table too.
pub fn run_rules(
    wh: &Warehouse,
    view: &RunView,
    points: &[IntervalPoint],
    scope: &str,
    anchor: &str,
) -> Result<(Vec<Recommendation>, Vec<Cell>)> {
    let run = view.header.id;
    let mut out = Vec::new();
    let http: Vec<&TargetRow> = view.targets.iter().filter(|r| r.kind != "metric").collect();
    let get = |r: &TargetRow, m: &str| r.values[col(m)];
    let total = http.iter().copied().find(|r| r.target == TOTAL);
    // a tool that writes no TOTAL: its endpoints summed
    let requests = total
        .and_then(|t| get(t, metrics::REQUESTS))
        .unwrap_or_else(|| http.iter().filter_map(|r| get(r, metrics::REQUESTS)).sum());
    // endpoints, or the total when the run has one endpoint only (its total is the same)
    let endpoints: Vec<&TargetRow> = if http.iter().filter(|r| r.target != TOTAL).count() > 1 {
        http.iter().copied().filter(|r| r.target != TOTAL).collect()
    } else {
        total.or(http.first().copied()).into_iter().collect()
    };
    for r in endpoints.iter().copied() {
        if let (Some(n), Some(p50), Some(p99)) = (
            get(r, metrics::REQUESTS),
            get(r, metrics::LATENCY_P50),
            get(r, metrics::LATENCY_P99),
        ) {
            let t = recommend::Tail {
                target: &r.target,
                requests: n,
                p50_ms: p50,
                p99_ms: p99,
            };
            out.extend(recommend::tail_latency(scope, &t, anchor));
        }
    }
    let errors: Vec<(String, String, i64)> = view
        .errors
        .iter()
        .filter(|e| e.kind != "check")
        .map(|e| {
            let what = if e.kind == "status" {
                e.message.clone()
            } else {
                format!("{} {}", e.kind, e.message)
            };
            (e.target.clone(), what, e.count)
        })
        .collect();
    out.extend(recommend::error_concentration(
        scope, &errors, requests, anchor,
    ));
    let health = wh.values(
        &[run],
        &[
            "db_pool_utilisation",
            "db_connections",
            "db_connections_busy",
        ],
    )?;
    let at = |server: &str, m: &str| {
        health
            .get(&(server.to_string(), m.to_string()))
            .and_then(|v| v.get(&run))
            .copied()
    };
    for (server, _) in health.keys().filter(|(_, m)| m == "db_pool_utilisation") {
        if let (Some(u), Some(n)) = (
            at(server, "db_pool_utilisation"),
            at(server, "db_connections"),
        ) {
            let p = recommend::Pool {
                server,
                utilisation: u,
                connections: n,
                busy: at(server, "db_connections_busy"),
            };
            out.extend(recommend::pool_saturation(scope, &p, anchor));
        }
    }
    let levels = recommend::load_levels(&load_points(points));
    out.extend(recommend::saturation(scope, &levels, anchor));
    let t = total.or(endpoints.first().copied());
    let row = vec![
        Cell::text(scope),
        Cell::num(Some(requests)),
        Cell::num(t.and_then(|t| get(t, metrics::ERROR_RATE))),
        Cell::num(t.and_then(|t| get(t, metrics::LATENCY_P50))),
        Cell::num(t.and_then(|t| get(t, metrics::LATENCY_P99))),
        Cell::text(match (levels.first(), levels.last()) {
            (Some(a), Some(b)) if levels.len() > 1 => format!(
                "{} → {} users: {} → {} req/s, {} → {} ms",
                fmt_float(a.load),
                fmt_float(b.load),
                fmt_float(a.throughput),
                fmt_float(b.throughput),
                fmt_float(a.latency_ms),
                fmt_float(b.latency_ms)
            ),
            _ => String::new(),
        }),
    ];
    Ok((out, row))
}

pub fn latest_table(rows: Vec<Vec<Cell>>) -> Table {
    Table::new(
        &[
            "run",
            "requests",
            "error rate",
            "p50 ms",
            "p99 ms",
            "load levels (lowest → highest, medians per second)",
        ],
        rows,
    )
}

/// Seconds of a run with its load, throughput and response time. Load: Locust's `users` or
/// k6's `vus`. Throughput: the difference of Locust's cumulative total `requests` over the
/// interval (its `throughput_rps` is a 10-second rolling mean that lags a ramp by seconds),
/// else `throughput_rps`, else the second's `requests` summed over endpoints (k6 writes
/// one-second buckets). Response time: the current p50 where the
/// tool writes one (Locust's window; its `latency_mean_ms` is cumulative since the start),
/// else the request-weighted mean of the second.
pub fn load_points(points: &[IntervalPoint]) -> Vec<LoadPoint> {
    #[derive(Default)]
    struct Sec {
        load: Option<f64>,
        rps: Option<f64>,
        p50: Option<f64>,
        n: f64,
        weighted: f64,
        cumulative: Option<f64>,
    }
    let mut secs: BTreeMap<i64, Sec> = BTreeMap::new();
    // k6 writes means per endpoint and second; pair each with that endpoint's count
    let mut counts: BTreeMap<(i64, &str), f64> = BTreeMap::new();
    for p in points {
        if p.metric == metrics::REQUESTS && p.target != TOTAL {
            counts.insert((p.time_us, &p.target), p.value);
        }
    }
    for p in points {
        let s = secs.entry(p.time_us).or_default();
        let total = p.target == TOTAL;
        match p.metric.as_str() {
            "vus" | "users" if total => s.load = Some(p.value),
            metrics::REQUESTS if total => s.cumulative = Some(p.value),
            metrics::THROUGHPUT if total => s.rps = Some(p.value),
            metrics::LATENCY_P50 if total => s.p50 = Some(p.value),
            metrics::REQUESTS if !total => s.n += p.value,
            metrics::LATENCY_MEAN if !total => {
                let n = counts
                    .get(&(p.time_us, p.target.as_str()))
                    .copied()
                    .unwrap_or(0.0);
                s.weighted += n * p.value;
            }
            _ => {}
        }
    }
    let mut prev: Option<(i64, f64)> = None;
    secs.iter()
        .filter_map(|(t, s)| {
            let counted = match (s.cumulative, prev) {
                (Some(c), Some((t0, c0))) if *t > t0 && c >= c0 => {
                    Some((c - c0) / ((*t - t0) as f64 / 1e6))
                }
                _ => None,
            };
            if let Some(c) = s.cumulative {
                prev = Some((*t, c));
            }
            let load = s.load?;
            let throughput = if s.cumulative.is_some() {
                counted?
            } else {
                s.rps.or((s.n > 0.0).then_some(s.n))?
            };
            // a tool with its own rate (Locust) has only cumulative means besides its p50
            let mean = (s.rps.is_none() && s.n > 0.0).then(|| s.weighted / s.n);
            let latency_ms = s.p50.or(mean)?;
            Some(LoadPoint {
                load,
                throughput,
                latency_ms,
            })
        })
        .collect()
}

/// The CPU rule over runs with resources: per host, the run it fires on with the highest
/// mean, and on how many of the runs it fired. `scope` names a run.
pub fn cpu_rules(stats: &[ResourceStat], scope: &dyn Fn(i64) -> String) -> Vec<Recommendation> {
    let mut by_host: std::collections::BTreeMap<&str, Vec<&ResourceStat>> =
        std::collections::BTreeMap::new();
    for r in stats.iter().filter(|r| r.metric == metrics::CPU_BUSY) {
        by_host.entry(&r.target).or_default().push(r);
    }
    let mut out = Vec::new();
    for (host, runs) in by_host {
        let fired: Vec<(Recommendation, f64)> = runs
            .iter()
            .filter_map(|r| {
                let c = recommend::Cpu {
                    host,
                    mean: r.mean?,
                    p95: r.p95?,
                    max: r.max?,
                };
                // the host's figures are in the resource section of either page
                recommend::cpu_saturation(&scope(r.run_id), &c, super::resources_section::ANCHOR)
                    .map(|rec| (rec, c.mean))
            })
            .collect();
        let n = fired.len();
        if let Some((mut rec, _)) = fired.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
            if runs.len() > 1 {
                rec.evidence +=
                    &format!("; saturated in {n} of {} runs with resources", runs.len());
            }
            out.push(rec);
        }
    }
    out
}

/// The database rule over the period's statements.
pub fn db_rules(p: &StatementPeriod) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for s in &p.top {
        let Some(total_ms) = s.total_ms else { continue };
        let server_total = p
            .server_total_ms
            .iter()
            .find(|(srv, _)| *srv == s.server)
            .map_or(0.0, |x| x.1);
        let Some(c) = p
            .changes
            .iter()
            .find(|c| c.server == s.server && c.statement == s.statement)
        else {
            continue;
        };
        if let (Some(first), Some(last)) = (c.first_mean_ms, c.last_mean_ms) {
            out.extend(recommend::db_hotspot(&recommend::Statement {
                server: &s.server,
                statement: &s.statement,
                total_ms,
                server_total_ms: server_total,
                first_mean_ms: first,
                last_mean_ms: last,
            }));
        }
    }
    out
}
