//! Run selectors: `42`, `41,42,43`, `latest`, `last:N`, `KEY=VALUE` label filters, a named
//! baseline (`baseline:NAME`, or just `NAME` when such a baseline exists), combined with
//! commas: `last:10,branch=main` = the ten newest runs labelled branch=main.
//! The command's --tool/--scenario/--label filters apply to every non-id selector.

use crate::error::{Error, Result};
use crate::model::parse_label;
use crate::store::{RunFilter, Warehouse};

#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    Ids(Vec<i64>),
    Query {
        labels: Vec<(String, String)>,
        limit: Option<usize>,
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
    let (mut labels, mut limit) = (Vec::new(), None);
    for p in parts {
        if p == "latest" {
            limit = Some(1);
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
    Ok(Selector::Query { labels, limit })
}

/// A run reference: an id or `latest` (the newest run of the filter).
pub fn resolve_run(wh: &Warehouse, s: &str, filter: &RunFilter) -> Result<i64> {
    let id = if s == "latest" {
        wh.select_runs(filter, Some(1), &[])?.first().copied()
    } else {
        let n: i64 = s
            .parse()
            .map_err(|_| Error::Usage(format!("run '{s}': expected a run id or 'latest'")))?;
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
) -> Result<(Vec<i64>, Vec<i64>)> {
    let cand = resolve(wh, candidate, filter, &[])?;
    let base = resolve(wh, baseline, filter, &cand)?;
    Ok((base, cand))
}

/// The run ids a selector stands for, newest first, leaving out `exclude`.
pub fn resolve(
    wh: &Warehouse,
    sel: &Selector,
    base: &RunFilter,
    exclude: &[i64],
) -> Result<Vec<i64>> {
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
        Selector::Query { labels, limit } => {
            let mut f = base.clone();
            f.labels.extend(labels.iter().cloned());
            wh.select_runs(&f, *limit, exclude)?
        }
    };
    let ids: Vec<i64> = ids.into_iter().filter(|i| !exclude.contains(i)).collect();
    if ids.is_empty() {
        return Err(Error::Usage(
            "the selector matches no run (check --tool, --scenario and --label)".into(),
        ));
    }
    Ok(ids)
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
                limit: Some(1)
            }
        );
        assert_eq!(
            parse("last:10,branch=main").unwrap(),
            Selector::Query {
                labels: vec![("branch".into(), "main".into())],
                limit: Some(10)
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
