//! Run selection shared by the commands: filters by tool, scenario, labels and time, and run
//! references (`42`, `latest`). Every user value is a bound parameter.

use chrono::NaiveDateTime;
use duckdb::types::Value;
use duckdb::OptionalExt;

use crate::cli::RunFilterArgs;
use crate::db::{ts, Warehouse};
use crate::error::{Error, Result};
use crate::import::text::parse_time;

#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub tool: Option<String>,
    pub scenario: Option<String>,
    pub labels: Vec<(String, String)>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

pub fn parse_label(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(Error::Usage(format!(
            "label '{s}' must be KEY=VALUE, e.g. branch=main"
        ))),
    }
}

pub fn parse_time_arg(flag: &str, s: &str) -> Result<NaiveDateTime> {
    parse_time(s).ok_or_else(|| {
        Error::Usage(format!("{flag} '{s}': expected a time such as 2026-11-27, '2026-11-27 14:00:00' or 2026-11-27T14:00:00Z"))
    })
}

impl TryFrom<&RunFilterArgs> for RunFilter {
    type Error = Error;
    fn try_from(a: &RunFilterArgs) -> Result<Self> {
        Ok(RunFilter {
            tool: a.tool.clone(),
            scenario: a.scenario.clone(),
            labels: a
                .labels
                .iter()
                .map(|l| parse_label(l))
                .collect::<Result<_>>()?,
            since: a
                .since
                .as_deref()
                .map(|s| parse_time_arg("--since", s))
                .transpose()?,
            until: a
                .until
                .as_deref()
                .map(|s| parse_time_arg("--until", s))
                .transpose()?,
        })
    }
}

impl RunFilter {
    /// `WHERE ...` over table alias `r`, with its parameters.
    pub fn sql(&self) -> (String, Vec<Value>) {
        let mut conds = vec!["TRUE".to_string()];
        let mut params = Vec::new();
        if let Some(t) = &self.tool {
            conds.push("r.tool = ?".into());
            params.push(Value::Text(t.clone()));
        }
        if let Some(s) = &self.scenario {
            conds.push("r.scenario = ?".into());
            params.push(Value::Text(s.clone()));
        }
        for (k, v) in &self.labels {
            conds.push("EXISTS (SELECT 1 FROM run_label l WHERE l.run_id = r.id AND l.key = ? AND l.value = ?)".into());
            params.push(Value::Text(k.clone()));
            params.push(Value::Text(v.clone()));
        }
        if let Some(s) = self.since {
            conds.push("r.started_at >= CAST(? AS TIMESTAMP)".into());
            params.push(Value::Text(ts(s)));
        }
        if let Some(u) = self.until {
            conds.push("r.started_at < CAST(? AS TIMESTAMP)".into());
            params.push(Value::Text(ts(u)));
        }
        (format!("WHERE {}", conds.join(" AND ")), params)
    }
}

/// A run id or `latest`.
pub fn resolve_run(wh: &Warehouse, s: &str) -> Result<i64> {
    let id = if s == "latest" {
        wh.conn
            .query_row(
                "SELECT id FROM run ORDER BY started_at DESC NULLS LAST, id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
    } else {
        let n: i64 = s
            .parse()
            .map_err(|_| Error::Usage(format!("run '{s}': expected a run id or 'latest'")))?;
        wh.conn
            .query_row("SELECT id FROM run WHERE id = ?", [n], |r| r.get(0))
            .optional()
    };
    id.map_err(|e| Error::Data(e.to_string()))?.ok_or_else(|| {
        Error::Usage(format!(
            "run '{s}': no such run in {} (see `perfledger runs`)",
            wh.path.display()
        ))
    })
}
