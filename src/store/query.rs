//! `perfledger sql`: the user's own query on a read-only connection, as a grid of typed cells.

use duckdb::types::{Value, ValueRef};

use super::Warehouse;
use crate::error::{Error, Result};
use crate::grid::{Datum, Grid};

#[expect(clippy::needless_pass_by_value, reason = "the shape map_err wants")]
fn query_err(e: duckdb::Error) -> Error {
    Error::Query(format!("query failed: {e}"))
}

pub(crate) fn datum(v: ValueRef) -> Datum {
    use ValueRef as V;
    match v {
        V::Null => Datum::Null,
        V::Boolean(b) => Datum::Bool(b),
        V::TinyInt(x) => Datum::Int(x.into()),
        V::SmallInt(x) => Datum::Int(x.into()),
        V::Int(x) => Datum::Int(x.into()),
        V::BigInt(x) => Datum::Int(x),
        V::UTinyInt(x) => Datum::Int(x.into()),
        V::USmallInt(x) => Datum::Int(x.into()),
        V::UInt(x) => Datum::Int(x.into()),
        V::Float(x) => Datum::Float(x.into()),
        V::Double(x) => Datum::Float(x),
        // beyond i64 or fractional: as floats, which is how people read them
        V::HugeInt(x) => Datum::Float(x as f64),
        V::UBigInt(x) => Datum::Float(x as f64),
        V::Decimal(d) => d.to_string().parse().map_or(Datum::Null, Datum::Float),
        V::Text(t) => Datum::Text(String::from_utf8_lossy(t).into_owned()),
        V::Blob(b) => Datum::Text(format!("<{} bytes>", b.len())),
        other => match other.to_owned() {
            Value::Timestamp(unit, v) => crate::time::from_micros(unit.to_micros(v))
                .map_or(Datum::Null, |t| Datum::Text(crate::time::display(t))),
            Value::Date32(d) => Datum::Text(
                (chrono::NaiveDate::default() + chrono::Duration::days(d.into())).to_string(),
            ),
            o => Datum::Text(format!("{o:?}")),
        },
    }
}

impl Warehouse {
    /// Runs the user's query (the connection is read-only when the warehouse was opened so).
    pub fn user_query(&self, sql: &str) -> Result<Grid> {
        let mut stmt = self.conn.prepare(sql).map_err(query_err)?;
        let mut rows = stmt.query([]).map_err(query_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(query_err)? {
            let n = row.as_ref().column_count();
            out.push(
                (0..n)
                    .map(|i| row.get_ref(i).map_or(Datum::Null, datum))
                    .collect(),
            );
        }
        drop(rows);
        Ok(Grid {
            columns: stmt.column_names(),
            rows: out,
        })
    }
}
