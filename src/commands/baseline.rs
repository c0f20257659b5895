//! `perfledger baseline set|list|show|delete`.

use crate::analysis::selection::{self, Selector};
use crate::cli::BaselineCmd;
use crate::error::{Error, Result};
use crate::output::{emit, lists, render_grid, Format};
use crate::store::Location;
use crate::store::{RunFilter, Warehouse};

pub enum Request {
    Set {
        name: String,
        text: String,
        selector: Selector,
        filter: RunFilter,
    },
    List(Format),
    Show(String, Format),
    Delete(String),
}

impl TryFrom<&BaselineCmd> for Request {
    type Error = Error;
    fn try_from(c: &BaselineCmd) -> Result<Self> {
        Ok(match c {
            BaselineCmd::Set {
                name,
                selector,
                filter,
            } => {
                if name.parse::<i64>().is_ok() || name.contains(['=', ',', ':']) || name == "latest"
                {
                    return Err(Error::Usage(format!("baseline name '{name}' would read as a selector; use a name such as 2025-12 or release-1.4")));
                }
                Request::Set {
                    name: name.clone(),
                    text: selector.clone(),
                    selector: selection::parse(selector)?,
                    filter: filter.try_into()?,
                }
            }
            BaselineCmd::List { format } => Request::List(super::format(*format)?),
            BaselineCmd::Show { name, format } => {
                Request::Show(name.clone(), super::format(*format)?)
            }
            BaselineCmd::Delete { name } => Request::Delete(name.clone()),
        })
    }
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    match r {
        Request::Set {
            name,
            text,
            selector,
            filter,
        } => {
            let mut wh = Warehouse::open_write_synced(loc)?;
            let ids = selection::resolve(&wh, selector, filter, &[])?;
            wh.set_baseline(name, text, &ids)?;
            emit(&format!("baseline '{name}' = runs {ids:?}\n"))
        }
        Request::List(format) => {
            let wh = Warehouse::open_read(loc)?;
            emit(&render_grid(
                &lists::baselines_grid(&wh.baselines()?),
                *format,
            ))
        }
        Request::Show(name, format) => {
            let wh = Warehouse::open_read(loc)?;
            let runs = wh.run_headers(&wh.baseline_runs(name)?)?;
            if runs.is_empty() {
                return Err(Error::Usage(format!("no baseline named '{name}'")));
            }
            emit(&render_grid(&lists::baseline_runs_grid(&runs), *format))
        }
        Request::Delete(name) => {
            let mut wh = Warehouse::open_write_synced(loc)?;
            if !wh.delete_baseline(name)? {
                return Err(Error::Usage(format!("no baseline named '{name}'")));
            }
            emit(&format!("baseline '{name}' deleted\n"))
        }
    }
}
