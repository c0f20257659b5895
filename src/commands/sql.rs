//! `perfledger sql`: a query on a read-only connection, so it cannot change the warehouse.

use crate::cli::SqlArgs;
use crate::db::Warehouse;
use crate::error::Result;
use crate::frame;

pub fn run(db: &std::path::Path, a: &SqlArgs) -> Result<()> {
    let wh = Warehouse::open_ro(db)?;
    let df = frame::query(&wh.conn, &a.query, [])?;
    crate::emit(&frame::render(&df, a.format))?;
    Ok(())
}
