//! Generic series: any tool's numbers as rows of (timestamp, series, value[, unit][, labels]),
//! in CSV (header `timestamp,series,value`, optional `unit` and `labels` columns, labels written
//! `key=value;key=value`) or JSON (an array of objects with the same keys, labels an object).
//! Each distinct timestamp becomes one run of tool `series`. A series named `target/metric`
//! fills that target and metric; a plain name is target NAME, metric `value`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Deserialize;

use super::text::{self, parse_time};
use super::{read_text, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{Parsed, ParsedRun, Target, TargetKind, TOTAL};

pub struct SeriesCsv;
pub struct SeriesJson;

struct Row {
    at: NaiveDateTime,
    series: String,
    value: f64,
    unit: Option<String>,
    labels: BTreeMap<String, String>,
}

fn split_series(name: &str) -> (String, String) {
    match name.rsplit_once('/') {
        Some((t, m)) if !t.is_empty() && !m.is_empty() => (t.to_string(), m.to_string()),
        _ => (name.to_string(), "value".to_string()),
    }
}

fn unit_static(u: Option<&str>) -> &'static str {
    match u.unwrap_or("") {
        "ms" => "ms",
        "s" => "s",
        "req/s" | "rps" => "req/s",
        "ratio" => "ratio",
        "%" | "percent" => "%",
        "count" => "count",
        "bytes" => "bytes",
        _ => "",
    }
}

fn runs(rows: Vec<Row>) -> Vec<ParsedRun> {
    let mut by_time: BTreeMap<NaiveDateTime, Vec<Row>> = BTreeMap::new();
    for r in rows {
        by_time.entry(r.at).or_default().push(r);
    }
    by_time
        .into_iter()
        .map(|(at, rows)| {
            let mut run = ParsedRun::new("series", "series");
            run.started_at = Some(at);
            run.key_suffix = Some(at.to_string());
            run.targets.push(Target::total());
            for r in rows {
                run.labels.extend(r.labels);
                let (target, metric) = split_series(&r.series);
                if run.target(&target).is_none() {
                    run.targets
                        .push(Target::new(target.clone(), TargetKind::Metric));
                }
                #[expect(clippy::expect_used, reason = "inserted just above when missing")]
                let t = run.target_mut(&target).expect("inserted above");
                t.metrics
                    .insert(metric, (r.value, unit_static(r.unit.as_deref())));
            }
            if run.target(TOTAL).is_some_and(|t| t.metrics.is_empty()) && run.targets.len() > 1 {
                run.targets.retain(|t| t.name != TOTAL);
            }
            run
        })
        .collect()
}

impl Importer for SeriesCsv {
    fn name(&self) -> &'static str {
        "series-csv"
    }
    fn tool(&self) -> &'static str {
        "series"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        if p.first_line()
            .replace(' ', "")
            .starts_with("timestamp,series,value")
        {
            Ok(())
        } else {
            Err("first line is not 'timestamp,series,value[,unit][,labels]'".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| Error::input(path, Some(1), format!("bad CSV header: {e}")))?
            .clone();
        let idx = |n: &str| headers.iter().position(|h| h == n);
        let mut rows = Vec::new();
        let mut skipped = 0usize;
        let mut lines = text::Lines::new(&text);
        for rec in rdr.records() {
            let (rec, line) = lines.record(path, rec)?;
            let at = rec.get(0).and_then(parse_time).ok_or_else(|| {
                Error::input(
                    path,
                    line,
                    "expected a timestamp (RFC 3339, 'YYYY-MM-DD HH:MM:SS' or Unix seconds)",
                )
            })?;
            let series = rec
                .get(1)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::input(path, line, "expected a series name"))?;
            // a missing value has no row, as for every tool: skip the cell, count it
            if rec.get(2).is_none_or(str::is_empty) {
                skipped += 1;
                continue;
            }
            let value: f64 = rec
                .get(2)
                .and_then(|v| v.parse().ok())
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| Error::input(path, line, "expected a finite number in value"))?;
            let labels = idx("labels")
                .and_then(|i| rec.get(i))
                .map(|l| {
                    l.split(';')
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            rows.push(Row {
                at,
                series: series.to_string(),
                value,
                unit: idx("unit").and_then(|i| rec.get(i)).map(str::to_string),
                labels,
            });
        }
        if rows.is_empty() {
            return Err(Error::no_results(
                path,
                if skipped > 0 {
                    "every row's value is empty"
                } else {
                    "the file has a header but no rows"
                },
            ));
        }
        let mut runs = runs(rows);
        if skipped > 0 {
            if let Some(r) = runs.first_mut() {
                r.warnings
                    .push(format!("{skipped} empty value cell(s) skipped"));
            }
        }
        Ok(Parsed::Runs(runs))
    }
}

#[derive(Deserialize)]
struct JsonRow {
    timestamp: serde_json::Value,
    series: String,
    value: f64,
    unit: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

impl Importer for SeriesJson {
    fn name(&self) -> &'static str {
        "series-json"
    }
    fn tool(&self) -> &'static str {
        "series"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        if h.starts_with('[')
            && h.contains("\"series\"")
            && h.contains("\"timestamp\"")
            && h.contains("\"value\"")
        {
            Ok(())
        } else {
            Err("not a JSON array of {timestamp, series, value} rows".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let list: Vec<JsonRow> = serde_json::from_str(&text).map_err(|e| {
            Error::input(
                path,
                Some(e.line()),
                format!("expected an array of {{timestamp, series, value}}: {e}"),
            )
        })?;
        let mut rows = Vec::new();
        for (i, r) in list.into_iter().enumerate() {
            let ts = match &r.timestamp {
                serde_json::Value::String(s) => parse_time(s),
                serde_json::Value::Number(n) => n.as_f64().and_then(text::epoch),
                _ => None,
            }
            .ok_or_else(|| {
                Error::input(path, None, format!("row {}: expected a timestamp", i + 1))
            })?;
            if !r.value.is_finite() {
                return Err(Error::input(
                    path,
                    None,
                    format!("row {}: value is not finite", i + 1),
                ));
            }
            rows.push(Row {
                at: ts,
                series: r.series,
                value: r.value,
                unit: r.unit,
                labels: r.labels,
            });
        }
        if rows.is_empty() {
            return Err(Error::no_results(path, "the array is empty"));
        }
        Ok(Parsed::Runs(runs(rows)))
    }
}
