//! `perfledger baseline set|list|show|delete`.

use duckdb::params;

use super::select::RunFilter;
use crate::analysis::selector;
use crate::cli::BaselineCmd;
use crate::db::Warehouse;
use crate::error::{Error, Result};
use crate::frame;

fn dberr(e: duckdb::Error) -> Error {
    Error::Data(e.to_string())
}

pub fn run(db: &std::path::Path, cmd: &BaselineCmd) -> Result<()> {
    match cmd {
        BaselineCmd::Set {
            name,
            selector: sel,
            filter,
        } => {
            if name.parse::<i64>().is_ok() || name.contains(['=', ',', ':']) || name == "latest" {
                return Err(Error::Usage(format!("baseline name '{name}' would read as a selector; use a name such as 2025-12 or release-1.4")));
            }
            let mut wh = Warehouse::open_rw(db)?;
            let ids = selector::resolve(
                &wh,
                &selector::parse(sel)?,
                &RunFilter::try_from(filter)?,
                &[],
            )?;
            let tx = wh.conn.transaction().map_err(dberr)?;
            tx.execute("DELETE FROM baseline_run WHERE name = ?", params![name])
                .map_err(dberr)?;
            tx.execute("DELETE FROM baseline WHERE name = ?", params![name])
                .map_err(dberr)?;
            tx.execute(
                "INSERT INTO baseline VALUES (?, ?, current_timestamp)",
                params![name, sel],
            )
            .map_err(dberr)?;
            for id in &ids {
                tx.execute("INSERT INTO baseline_run VALUES (?, ?)", params![name, id])
                    .map_err(dberr)?;
            }
            tx.commit().map_err(dberr)?;
            crate::emit(&format!("baseline '{name}' = runs {ids:?}\n"))
        }
        BaselineCmd::List { format } => {
            let wh = Warehouse::open_ro(db)?;
            let df = frame::query(
                &wh.conn,
                "SELECT b.name, b.selector, strftime(b.created_at, '%Y-%m-%d %H:%M:%S') AS created_at, count(r.run_id) AS runs
                 FROM baseline b LEFT JOIN baseline_run r USING (name) GROUP BY ALL ORDER BY b.name",
                [],
            )?;
            crate::emit(&frame::render(&df, *format))
        }
        BaselineCmd::Show { name, format } => {
            let wh = Warehouse::open_ro(db)?;
            let df = frame::query(
                &wh.conn,
                "SELECT r.id, strftime(r.started_at, '%Y-%m-%d %H:%M:%S') AS started_at, r.tool, r.scenario FROM baseline_run b JOIN run r ON r.id = b.run_id WHERE b.name = ? ORDER BY r.started_at",
                [name],
            )?;
            if df.height() == 0 {
                return Err(Error::Usage(format!("no baseline named '{name}'")));
            }
            crate::emit(&frame::render(&df, *format))
        }
        BaselineCmd::Delete { name } => {
            let mut wh = Warehouse::open_rw(db)?;
            let tx = wh.conn.transaction().map_err(dberr)?;
            let n = tx
                .execute("DELETE FROM baseline WHERE name = ?", params![name])
                .map_err(dberr)?;
            tx.execute("DELETE FROM baseline_run WHERE name = ?", params![name])
                .map_err(dberr)?;
            tx.commit().map_err(dberr)?;
            if n == 0 {
                return Err(Error::Usage(format!("no baseline named '{name}'")));
            }
            crate::emit(&format!("baseline '{name}' deleted\n"))
        }
    }
}
