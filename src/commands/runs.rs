//! `perfledger runs`: the runs matching a filter, newest first, with their headline figures.

use crate::cli::RunsArgs;
use crate::error::{Error, Result};
use crate::output::{emit, lists, render_grid, Format};
use crate::store::Location;
use crate::store::{RunFilter, Warehouse};

pub struct Request {
    pub filter: RunFilter,
    pub limit: usize,
    pub format: Format,
}

impl TryFrom<&RunsArgs> for Request {
    type Error = Error;
    fn try_from(a: &RunsArgs) -> Result<Self> {
        Ok(Request {
            filter: (&a.filter).try_into()?,
            limit: a.limit,
            format: super::format(a.format)?,
        })
    }
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let wh = Warehouse::open_read(loc)?;
    let rows = wh.run_list(&r.filter, r.limit)?;
    emit(&render_grid(&lists::runs_grid(&rows), r.format))
}
