//! Run selectors: `42`, `41,42,43`, `latest`, `last:N`, `KEY=VALUE` label filters, a named
//! baseline (`baseline:NAME`, or just `NAME` when such a baseline exists), combined with
//! commas: `last:10,branch=main` = the ten newest runs labelled branch=main.
//! The command's --tool/--scenario/--label filters apply to every non-id selector.

use duckdb::params_from_iter;

use crate::commands::select::{parse_label, RunFilter};
use crate::db::Warehouse;
use crate::error::{Error, Result};
use crate::frame;

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
    if !parts.is_empty() && parts.iter().all(|p| p.parse::<i64>().is_ok()) {
        return Ok(Selector::Ids(
            parts.iter().map(|p| p.parse().expect("checked")).collect(),
        ));
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
                let n: i64 = wh
                    .conn
                    .query_row("SELECT count(*) FROM run WHERE id = ?", [id], |r| r.get(0))
                    .map_err(|e| Error::Data(e.to_string()))?;
                if n == 0 {
                    return Err(Error::Usage(format!(
                        "run {id}: no such run (see `perfledger runs`)"
                    )));
                }
            }
            ids.clone()
        }
        Selector::Baseline(name) => {
            let df = frame::query(
                &wh.conn,
                "SELECT run_id FROM baseline_run WHERE name = ? ORDER BY run_id DESC",
                [name],
            )?;
            let ids: Vec<i64> = frame::i64_column(&df, "run_id")?
                .into_iter()
                .flatten()
                .collect();
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
            let (cond, mut params) = f.sql();
            let excl = if exclude.is_empty() {
                String::new()
            } else {
                format!(" AND r.id NOT IN ({})", crate::db::id_list(exclude))
            };
            params.push(duckdb::types::Value::BigInt(
                limit.map_or(i64::MAX, |l| l as i64),
            ));
            let df = frame::query(
                &wh.conn,
                &format!("SELECT r.id FROM run r {cond}{excl} ORDER BY r.started_at DESC NULLS LAST, r.id DESC LIMIT ?"),
                params_from_iter(params),
            )?;
            frame::i64_column(&df, "id")?
                .into_iter()
                .flatten()
                .collect()
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
