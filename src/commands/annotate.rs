//! `perfledger annotate (--at TIME | --run ID) [--kind deploy|config|ack] TEXT`.

use duckdb::params;

use super::select::parse_time_arg;
use crate::cli::{AnnotateArgs, AnnotationKind};
use crate::db::{ts, Warehouse};
use crate::error::{Error, Result};

pub fn run(db: &std::path::Path, a: &AnnotateArgs) -> Result<()> {
    let at =
        a.at.as_deref()
            .map(|s| parse_time_arg("--at", s))
            .transpose()?;
    let kind = match a.kind {
        AnnotationKind::Deploy => "deploy",
        AnnotationKind::Config => "config",
        AnnotationKind::Ack => "ack",
    };
    if a.text.trim().is_empty() {
        return Err(Error::Usage("the annotation text is empty".into()));
    }
    let wh = Warehouse::open_rw(db)?;
    if let Some(r) = a.run {
        let n: i64 = wh
            .conn
            .query_row("SELECT count(*) FROM run WHERE id = ?", [r], |row| {
                row.get(0)
            })
            .map_err(|e| Error::Data(e.to_string()))?;
        if n == 0 {
            return Err(Error::Usage(format!("--run {r}: no such run")));
        }
    }
    let id: i64 = wh
        .conn
        .query_row(
            "INSERT INTO annotation (happened_at, run_id, kind, text, created_at) VALUES (CAST(? AS TIMESTAMP), ?, ?, ?, current_timestamp) RETURNING id",
            params![at.map(ts), a.run, kind, a.text],
            |r| r.get(0),
        )
        .map_err(|e| Error::Data(e.to_string()))?;
    crate::emit(&format!("annotation {id} ({kind}) recorded\n"))
}
