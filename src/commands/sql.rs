//! `perfledger sql`: a query on a read-only connection, so it cannot change the warehouse.

use crate::cli::SqlArgs;
use crate::error::{Error, Result};
use crate::output::{emit, render_grid, Format};
use crate::store::Location;
use crate::store::Warehouse;

pub struct Request {
    pub query: String,
    pub format: Format,
}

impl TryFrom<&SqlArgs> for Request {
    type Error = Error;
    fn try_from(a: &SqlArgs) -> Result<Self> {
        Ok(Request {
            query: a.query.clone(),
            format: super::format(a.format)?,
        })
    }
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let wh = Warehouse::open_read(loc)?;
    emit(&render_grid(&wh.user_query(&r.query)?, r.format))
}
