//! `perfledger snapshot postgres --dsn ...`: a live pg_stat_statements snapshot, stored.

use crate::cli::SnapshotSource;
use crate::error::{Error, Result};
use crate::import::pg_live;
use crate::output::{emit, Format};
use crate::store::Location;
use crate::store::{Outcome, Warehouse};

pub struct Request {
    pub dsn: String,
    pub server: Option<String>,
    pub run: Option<i64>,
    pub explain: Vec<String>,
    pub format: Format,
}

impl TryFrom<&SnapshotSource> for Request {
    type Error = Error;
    fn try_from(s: &SnapshotSource) -> Result<Self> {
        let SnapshotSource::Postgres {
            dsn,
            server,
            run,
            explain,
            format,
        } = s;
        Ok(Request {
            dsn: dsn.clone(),
            server: server.clone(),
            run: *run,
            explain: explain.clone(),
            format: super::format(*format)?,
        })
    }
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let snap = pg_live::take(&r.dsn, r.server.clone(), &r.explain)?;
    let mut wh = Warehouse::open_write(loc)?;
    let (id, outcome) = wh.ingest_snapshot(&snap, r.run)?;
    let status = if outcome == Outcome::Imported {
        "imported"
    } else {
        "already imported"
    };
    let taken = crate::time::display_micros(snap.taken_at);
    let mut notes = snap.notes.clone();
    notes.extend(wh.reset_notes(id)?);
    notes.extend(wh.replication_notes(id)?);
    for n in &notes {
        crate::output::emit_err(&format!("note: {n}\n"));
    }
    emit(&match r.format {
        Format::Json => format!(
            "{}\n",
            serde_json::json!({"snapshot_id": id, "server": snap.server, "taken_at": taken, "statements": snap.statements.len(), "replicas": snap.replicas.len(), "plans": snap.plans.iter().map(|p| serde_json::json!({"statement": p.statement, "shape": p.shape, "top_node": p.top_node, "top_node_ms": p.top_node_ms, "execution_ms": p.execution_ms})).collect::<Vec<_>>(), "notes": notes, "status": status})
        ),
        _ => format!(
            "snapshot {id} of {} at {taken}: {} statements, {} standby(s) ({status})\n",
            snap.server,
            snap.statements.len(),
            snap.replicas.len()
        ),
    })
}
