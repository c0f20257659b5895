//! Run selectors: `42`, `41,42,43`, `latest`, `last:N`, `KEY=VALUE` label filters, a named
//! baseline (`baseline:NAME`, or just `NAME` when such a baseline exists), combined with
//! commas: `last:10,branch=main` = the ten newest runs labelled branch=main.
//! `since-change:N` is the current regime: the newest N runs since the last change point of
//! TOTAL p50 latency (or throughput, where a run has no latency) and since the last deploy or
//! config annotation, whichever is later; a baseline that spans either mixes two regimes.
//! The command's --tool/--scenario/--label filters apply to every non-id selector.

use crate::error::{Error, Result};
use crate::metrics;
use crate::model::parse_label;
use crate::stats::changepoint;
use crate::store::{RunFilter, Warehouse};

#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    Ids(Vec<i64>),
    Query {
        labels: Vec<(String, String)>,
        limit: Option<usize>,
        /// Only the runs since the last change point or annotation (`since-change:N`).
        since_change: bool,
    },
    Baseline(String),
}

pub fn parse(s: &str) -> Result<Selector> {
    let s = s.trim();
    if let Some(name) = s.strip_prefix("baseline:") {
        return Ok(Selector::Baseline(name.to_string()));
    }
    let parts: Vec<&str> = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if let Ok(ids) = parts
        .iter()
        .map(|p| p.parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
    {
        if !ids.is_empty() {
            return Ok(Selector::Ids(ids));
        }
    }
    let (mut labels, mut limit, mut since_change) = (Vec::new(), None, false);
    for p in parts {
        if p == "latest" {
            limit = Some(1);
        } else if let Some(n) = p.strip_prefix("since-change:") {
            since_change = true;
            limit = Some(n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::Usage(format!("selector '{s}': since-change:N needs a positive N"))
            })?);
        } else if let Some(n) = p.strip_prefix("last:") {
            limit = Some(n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::Usage(format!("selector '{s}': last:N needs a positive N"))
            })?);
        } else if p.contains('=') {
            labels.push(parse_label(p)?);
        } else if p.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c)) {
            return Ok(Selector::Baseline(p.to_string()));
        } else {
            return Err(Error::Usage(format!(
                "selector '{s}': expected run ids (42 or 41,42), latest, last:N, KEY=VALUE labels or a baseline name"
            )));
        }
    }
    Ok(Selector::Query {
        labels,
        limit,
        since_change,
    })
}

/// A run reference: an id, `latest` (the newest run of the filter), `key:PREFIX` (a run's
/// global id, its content key, as `runs` shows it) or `KEY=VALUE[,KEY=VALUE]` (the newest run
/// with those labels: how a CI job finds its own run in a shared history).
pub fn resolve_run(wh: &Warehouse, s: &str, filter: &RunFilter) -> Result<i64> {
    let id = if s == "latest" {
        wh.select_runs(filter, Some(1), &[])?.first().copied()
    } else if let Some(prefix) = s.strip_prefix("key:") {
        let ids = wh.runs_with_key_prefix(prefix)?;
        if ids.len() > 1 {
            return Err(Error::Usage(format!(
                "run '{s}': {} runs have keys starting so (ids {}): give more digits",
                ids.len(),
                ids.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        ids.first().copied()
    } else if s.contains('=') {
        let mut f = filter.clone();
        for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            f.labels.push(parse_label(p)?);
        }
        wh.select_runs(&f, Some(1), &[])?.first().copied()
    } else {
        let n: i64 = s.parse().map_err(|_| {
            Error::Usage(format!(
                "run '{s}': expected a run id, latest, key:PREFIX or KEY=VALUE labels"
            ))
        })?;
        wh.run_exists(n)?.then_some(n)
    };
    id.ok_or_else(|| {
        Error::Usage(format!(
            "run '{s}': no such run in {} (see `perfledger runs`)",
            wh.path().display()
        ))
    })
}

/// Candidate runs first, then the baseline without them.
pub fn resolve_pair(
    wh: &Warehouse,
    filter: &RunFilter,
    baseline: &Selector,
    candidate: &Selector,
) -> Result<(Vec<i64>, Vec<i64>, Option<String>)> {
    let cand = resolve(wh, candidate, filter, &[])?;
    let (base, why) = resolve_why(wh, baseline, filter, &cand)?;
    Ok((base, cand, why))
}

/// The run ids a selector stands for, newest first, leaving out `exclude`.
pub fn resolve(
    wh: &Warehouse,
    sel: &Selector,
    base: &RunFilter,
    exclude: &[i64],
) -> Result<Vec<i64>> {
    resolve_why(wh, sel, base, exclude).map(|(ids, _)| ids)
}

/// The newest `n` runs of the current regime, and why they are the ones.
fn regime(wh: &Warehouse, f: &RunFilter, n: usize, exclude: &[i64]) -> Result<(Vec<i64>, String)> {
    // enough history for the change point detector to see a regime of n runs and its edge
    let history = wh.select_runs(f, Some((4 * n).max(40)), exclude)?;
    if history.is_empty() {
        return Ok((history, String::new()));
    }
    let mut oldest_first = history.clone();
    oldest_first.reverse();
    let mut start = 0;
    let mut why = format!(
        "the newest {n} runs; no change point or deploy annotation among the last {}",
        history.len()
    );
    let values = wh.values(&oldest_first, &[metrics::LATENCY_P50, metrics::THROUGHPUT])?;
    // TOTAL p50 where the runs have it, else throughput
    let series = [metrics::LATENCY_P50, metrics::THROUGHPUT]
        .into_iter()
        .find_map(|m| Some((m, values.get(&(metrics::TOTAL.to_string(), m.to_string()))?)));
    if let Some((metric, series)) = series {
        let (ids, v): (Vec<i64>, Vec<f64>) = oldest_first
            .iter()
            .filter_map(|id| Some((*id, *series.get(id)?)))
            .unzip();
        let last = changepoint::detect(&v, &changepoint::Params::default())
            .and_then(|c| c.last().copied());
        if let Some(cp) = last {
            if let Some(at) = oldest_first.iter().position(|id| *id == ids[cp.index]) {
                start = at;
                why = format!(
                    "the runs since the change point of TOTAL {metric} at run {} ({:+.1}%)",
                    ids[cp.index],
                    cp.relative_change * 100.0
                );
            }
        }
    }
    let headers = wh.run_headers(&oldest_first)?;
    let started: std::collections::HashMap<i64, Option<chrono::NaiveDateTime>> =
        headers.iter().map(|h| (h.id, h.started_at)).collect();
    let times: Vec<Option<chrono::NaiveDateTime>> = oldest_first
        .iter()
        .map(|id| started.get(id).copied().flatten())
        .collect();
    if let (Some(Some(first)), Some(Some(last))) = (times.first(), times.last()) {
        for (a, in_window) in wh.annotations(*first, *last)? {
            let cut = match (a.kind.as_str(), a.happened_at, a.run_id) {
                ("deploy" | "config", Some(t), _) if in_window => {
                    times.iter().position(|x| x.is_some_and(|x| x >= t))
                }
                ("deploy" | "config", None, Some(r)) => oldest_first.iter().position(|id| *id == r),
                _ => None,
            };
            if let Some(c) = cut.filter(|c| *c > start) {
                start = c;
                why = format!(
                    "the runs since {} annotation #{} ({})",
                    a.kind, a.id, a.text
                );
            }
        }
    }
    let regime: Vec<i64> = oldest_first[start..]
        .iter()
        .rev()
        .take(n)
        .copied()
        .collect();
    let why = format!("{why}: {} run(s), at most {n}", regime.len());
    Ok((regime, why))
}

/// The run ids a selector stands for, newest first, leaving out `exclude`, and for
/// `since-change:N` why the baseline holds them.
pub fn resolve_why(
    wh: &Warehouse,
    sel: &Selector,
    base: &RunFilter,
    exclude: &[i64],
) -> Result<(Vec<i64>, Option<String>)> {
    let mut reason = None;
    let ids = match sel {
        Selector::Ids(ids) => {
            for id in ids {
                if !wh.run_exists(*id)? {
                    return Err(Error::Usage(format!(
                        "run {id}: no such run (see `perfledger runs`)"
                    )));
                }
            }
            ids.clone()
        }
        Selector::Baseline(name) => {
            let ids = wh.baseline_runs(name)?;
            if ids.is_empty() {
                return Err(Error::Usage(format!(
                    "no baseline named '{name}' (see `perfledger baseline list`)"
                )));
            }
            ids
        }
        Selector::Query {
            labels,
            limit,
            since_change,
        } => {
            let mut f = base.clone();
            f.labels.extend(labels.iter().cloned());
            if *since_change {
                let (ids, why) = regime(wh, &f, limit.unwrap_or(20), exclude)?;
                reason = Some(why);
                ids
            } else {
                wh.select_runs(&f, *limit, exclude)?
            }
        }
    };
    let all = ids.len();
    let ids: Vec<i64> = ids.into_iter().filter(|i| !exclude.contains(i)).collect();
    if ids.is_empty() && all > 0 {
        return Err(Error::Usage(format!(
            "the baseline selector matches only the candidate run(s) {}: a run is not compared with itself",
            exclude.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        )));
    }
    if ids.is_empty() {
        return Err(Error::Usage(
            "the selector matches no run (check --tool, --scenario and --label)".into(),
        ));
    }
    Ok((ids, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse("42").unwrap(), Selector::Ids(vec![42]));
        assert_eq!(parse("41, 42").unwrap(), Selector::Ids(vec![41, 42]));
        assert_eq!(
            parse("latest").unwrap(),
            Selector::Query {
                labels: vec![],
                limit: Some(1),
                since_change: false
            }
        );
        assert_eq!(
            parse("last:10,branch=main").unwrap(),
            Selector::Query {
                labels: vec![("branch".into(), "main".into())],
                limit: Some(10),
                since_change: false
            }
        );
        assert_eq!(
            parse("2025-12").unwrap(),
            Selector::Baseline("2025-12".into())
        );
        assert_eq!(parse("baseline:x").unwrap(), Selector::Baseline("x".into()));
        assert!(parse("last:0").is_err());
        assert!(parse("a b").is_err());
    }
}
