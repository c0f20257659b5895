//! `perfledger show RUN`: the run's summary, a per-target table, its errors and thresholds.

use crate::analysis::selection;
use crate::cli::ShowArgs;
use crate::error::{Error, Result};
use crate::output::{emit, Format};
use crate::store::Location;
use crate::store::{RunFilter, Warehouse};

pub struct Request {
    pub run: String,
    pub format: Format,
}

impl TryFrom<&ShowArgs> for Request {
    type Error = Error;
    fn try_from(a: &ShowArgs) -> Result<Self> {
        Ok(Request {
            run: a.run.clone(),
            format: super::format(a.format)?,
        })
    }
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let wh = Warehouse::open_read(loc)?;
    let id = selection::resolve_run(&wh, &r.run, &RunFilter::default())?;
    emit(&crate::output::show::render(&wh.run_view(id)?, r.format))
}
