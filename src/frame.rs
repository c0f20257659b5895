//! The in-memory frames between the warehouse and the analysis and output layers: a DuckDB
//! query becomes a polars `DataFrame` (one typed column per result column), and every command
//! prints frames through one renderer (table, JSON, CSV, Markdown).

use duckdb::types::ValueRef;
use duckdb::{Connection, Params};
use polars::prelude::*;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Format {
    Table,
    Json,
    Csv,
    Markdown,
    Junit,
}

enum Cells {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Text(Vec<Option<String>>),
}

fn cell_text(v: ValueRef) -> Option<String> {
    Some(match v {
        ValueRef::Null => return None,
        ValueRef::Boolean(b) => b.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
        other => match other.to_owned() {
            duckdb::types::Value::Timestamp(unit, v) => {
                let micros = unit.to_micros(v);
                chrono::DateTime::from_timestamp_micros(micros)
                    .map(|d| d.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default()
            }
            duckdb::types::Value::Date32(d) => (chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                .expect("epoch")
                + chrono::Duration::days(d as i64))
            .to_string(),
            o => format!("{o:?}"),
        },
    })
}

/// Runs a query and returns its result as a DataFrame.
pub fn query(conn: &Connection, sql: &str, params: impl Params) -> Result<DataFrame> {
    let mut stmt = conn
        .prepare(sql)
        .map_err(|e| Error::Data(format!("query failed: {e}")))?;
    let mut rows = stmt
        .query(params)
        .map_err(|e| Error::Data(format!("query failed: {e}")))?;
    let mut raw: Vec<Vec<duckdb::types::Value>> = Vec::new();
    while let Some(row) = rows
        .next()
        .map_err(|e| Error::Data(format!("query failed: {e}")))?
    {
        let n = row.as_ref().column_count();
        raw.push(
            (0..n)
                .map(|i| {
                    row.get_ref(i)
                        .map(|v| v.to_owned())
                        .unwrap_or(duckdb::types::Value::Null)
                })
                .collect(),
        );
    }
    drop(rows);
    let names: Vec<String> = stmt.column_names();
    let height = raw.len();
    let columns = names
        .iter()
        .enumerate()
        .map(|(i, name)| to_column(name, raw.iter().map(|r| ValueRef::from(&r[i]))))
        .collect();
    DataFrame::new(height, columns).map_err(|e| Error::Data(format!("frame: {e}")))
}

fn to_column<'a>(name: &str, values: impl Iterator<Item = ValueRef<'a>> + Clone) -> Column {
    use ValueRef as V;
    let kind = values.clone().find(|v| !matches!(v, V::Null));
    let cells = match kind {
        Some(
            V::TinyInt(_)
            | V::SmallInt(_)
            | V::Int(_)
            | V::BigInt(_)
            | V::UTinyInt(_)
            | V::USmallInt(_)
            | V::UInt(_),
        ) => Cells::Int(
            values
                .map(|v| match v {
                    V::TinyInt(x) => Some(x as i64),
                    V::SmallInt(x) => Some(x as i64),
                    V::Int(x) => Some(x as i64),
                    V::BigInt(x) => Some(x),
                    V::UTinyInt(x) => Some(x as i64),
                    V::USmallInt(x) => Some(x as i64),
                    V::UInt(x) => Some(x as i64),
                    _ => None,
                })
                .collect(),
        ),
        Some(V::Float(_) | V::Double(_) | V::HugeInt(_) | V::UBigInt(_) | V::Decimal(_)) => {
            Cells::Float(
                values
                    .map(|v| match v {
                        V::Float(x) => Some(x as f64),
                        V::Double(x) => Some(x),
                        V::HugeInt(x) => Some(x as f64),
                        V::UBigInt(x) => Some(x as f64),
                        V::Decimal(d) => d.to_string().parse().ok(),
                        V::BigInt(x) => Some(x as f64),
                        _ => None,
                    })
                    .collect(),
            )
        }
        Some(V::Boolean(_)) => Cells::Bool(
            values
                .map(|v| if let V::Boolean(b) = v { Some(b) } else { None })
                .collect(),
        ),
        _ => Cells::Text(values.map(cell_text).collect()),
    };
    let name: PlSmallStr = name.into();
    match cells {
        Cells::Int(v) => Column::new(name, v),
        Cells::Float(v) => Column::new(name, v),
        Cells::Bool(v) => Column::new(name, v),
        Cells::Text(v) => Column::new(name, v),
    }
}

/// A cell as JSON: numbers stay numbers, NULL is null.
pub fn cell_json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        AnyValue::Null => J::Null,
        AnyValue::Boolean(b) => J::Bool(*b),
        AnyValue::Int64(x) => J::from(*x),
        AnyValue::Int32(x) => J::from(*x),
        AnyValue::UInt32(x) => J::from(*x),
        AnyValue::UInt64(x) => J::from(*x),
        AnyValue::Float64(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
        AnyValue::Float32(x) => serde_json::Number::from_f64(*x as f64).map_or(J::Null, J::Number),
        AnyValue::String(s) => J::String(s.to_string()),
        AnyValue::StringOwned(s) => J::String(s.to_string()),
        other => J::String(other.to_string()),
    }
}

/// A cell as text for tables and CSV: floats with up to 6 significant decimals, NULL empty.
pub fn cell_str(v: &AnyValue) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::Float64(x) => fmt_float(*x),
        AnyValue::Float32(x) => fmt_float(*x as f64),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    }
}

pub fn fmt_float(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.2}")
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn rows(df: &DataFrame) -> Vec<Vec<AnyValue<'_>>> {
    (0..df.height())
        .map(|i| {
            df.columns()
                .iter()
                .map(|c| c.get(i).unwrap_or(AnyValue::Null))
                .collect()
        })
        .collect()
}

fn names(df: &DataFrame) -> Vec<String> {
    df.get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect()
}

/// JSON array of row objects.
pub fn to_json_rows(df: &DataFrame) -> serde_json::Value {
    let names = names(df);
    serde_json::Value::Array(
        rows(df)
            .iter()
            .map(|r| {
                serde_json::Value::Object(
                    names.iter().cloned().zip(r.iter().map(cell_json)).collect(),
                )
            })
            .collect(),
    )
}

pub fn render(df: &DataFrame, format: Format) -> String {
    match format {
        Format::Json | Format::Junit => {
            serde_json::to_string_pretty(&to_json_rows(df)).expect("JSON values serialise") + "\n"
        }
        f => {
            let cells: Vec<Vec<String>> = rows(df)
                .iter()
                .map(|r| r.iter().map(cell_str).collect())
                .collect();
            render_rows(&names(df), &cells, f)
        }
    }
}

/// Header and rows as CSV, Markdown or an aligned table (JSON callers serialise their own shape).
pub fn render_rows(header: &[String], rows: &[Vec<String>], format: Format) -> String {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(header).expect("in-memory write");
            for r in rows {
                w.write_record(r).expect("in-memory write");
            }
            String::from_utf8(w.into_inner().expect("in-memory flush"))
                .expect("UTF-8 in, UTF-8 out")
        }
        Format::Markdown => markdown(header, rows),
        _ => table(header, rows),
    }
}

/// A plain aligned text table; numbers right-aligned.
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // one buffer for the whole table: a trend prints 100,000 rows
    let mut out =
        String::with_capacity((widths.iter().sum::<usize>() + 2 * widths.len()) * (rows.len() + 2));
    let line = |out: &mut String, cells: &[String]| {
        let start = out.len();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = w.saturating_sub(c.chars().count());
            let numeric = !c.is_empty() && c.parse::<f64>().is_ok();
            if numeric {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(c);
            } else {
                out.push_str(c);
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let end = out.trim_end().len().max(start);
        out.truncate(end);
        out.push('\n');
    };
    line(&mut out, header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, &rule);
    for r in rows {
        line(&mut out, r);
    }
    out
}

pub fn markdown(header: &[String], rows: &[Vec<String>]) -> String {
    let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "| {} |\n",
        header
            .iter()
            .map(|h| esc(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    out += &format!("|{}\n", header.iter().map(|_| "---|").collect::<String>());
    for r in rows {
        out += &format!(
            "| {} |\n",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    out
}

/// A column's cells through `cell`; NULLs and other types as None.
fn cells<T>(
    df: &DataFrame,
    name: &str,
    cell: impl Fn(AnyValue) -> Option<T>,
) -> Result<Vec<Option<T>>> {
    let c = df
        .column(name)
        .map_err(|e| Error::Data(format!("frame has no column {name}: {e}")))?;
    Ok((0..df.height())
        .map(|i| c.get(i).ok().and_then(&cell))
        .collect())
}

/// Column of f64 values (ints widened), NULLs as None.
pub fn f64_column(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    cells(df, name, |v| match v {
        AnyValue::Float64(x) => Some(x),
        AnyValue::Int64(x) => Some(x as f64),
        AnyValue::Int32(x) => Some(x as f64),
        _ => None,
    })
}

pub fn str_column(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    cells(df, name, |v| match v {
        AnyValue::Null => None,
        v => Some(cell_str(&v)),
    })
}

pub fn bool_column(df: &DataFrame, name: &str) -> Result<Vec<Option<bool>>> {
    cells(df, name, |v| match v {
        AnyValue::Boolean(b) => Some(b),
        _ => None,
    })
}

pub fn i64_column(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    cells(df, name, |v| match v {
        AnyValue::Int64(x) => Some(x),
        AnyValue::Int32(x) => Some(x as i64),
        AnyValue::Float64(x) => Some(x as i64),
        _ => None,
    })
}
